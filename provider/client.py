"""`KmsClient`: the service's actions as methods over any backend, typed objects in and out.

It holds a backend and a default region; `in_region` gives the same client for another region. Each
method builds one action of provider/domain/model.py and answers its typed result: keys are
`model.Key`, binary values are bytes. A key argument is an id, a TRN, an alias name or a
`model.KeyRef` (keyring + name).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from .backend import Backend
from .domain import model
from .domain.errors import UndefinedError

T = TypeVar("T")
KeyArg = str | model.KeyRef
PAGE = 1000


class KmsClient:
    def __init__(self, backend: Backend, region: str) -> None:
        self.backend = backend
        self.region = region

    def in_region(self, region: str) -> KmsClient:
        return KmsClient(self.backend, region)

    def execute(self, action: model.Action, answer: type[T]) -> T:
        """Run one action in this client's region; its result must be of type `answer`."""
        result = self.backend.execute(self.region, action)
        if not isinstance(result, answer):
            raise UndefinedError(f"{action.action_name()} answered {type(result).__name__}, expected {answer.__name__}")
        return result

    def _key(self, action: model.Action) -> model.Key:
        return self.execute(action, model.Key)

    # --- keys ---------------------------------------------------------------------------------------
    def create_key(
        self,
        key_name: str,
        *,
        key_spec: str = "AES_256",
        key_usage: str | None = None,
        origin: str | None = None,
        keyring_name: str | None = None,
        description: str | None = None,
        enterprise_project: str | None = None,
        tags: Mapping[str, str] | None = None,
        client_token: str | None = None,
        rotation_days: int | None = None,
        multi_region: bool | None = None,
    ) -> model.Key:
        """`multi_region`: created replicable where the cloud needs it so (Volcengine's MultiRegion)."""
        return self._key(
            model.CreateKey(
                name=key_name,
                keyring=keyring_name,
                spec=key_spec,
                usage=key_usage,
                origin=origin,
                description=description,
                enterprise_project=enterprise_project,
                tags=dict(tags or {}),
                client_token=client_token,
                rotation_days=rotation_days,
                multi_region=multi_region,
            )
        )

    def describe_key(self, key_id: KeyArg) -> model.Key:
        return self._key(model.DescribeKey(key=model.KeyRef.of(key_id)))

    def describe_keys(
        self,
        *,
        offset: int = 0,
        limit: int = 100,
        keyring_name: str | None = None,
        tags: Mapping[str, tuple[str, ...]] | None = None,
    ) -> model.KeyPage:
        """One page of the region's keys in (keyring, name) order, with the total that match.
        `tags` filters: each tag key must be present with one of the values (any value when empty)."""
        action = model.DescribeKeys(keyring=keyring_name, offset=offset, limit=limit, tag_filters=dict(tags or {}))
        return self.execute(action, model.KeyPage)

    def list_keys(self, keyring_name: str | None = None) -> list[model.Key]:
        def page(offset: int) -> tuple[tuple[model.Key, ...], int]:
            found = self.describe_keys(offset=offset, limit=PAGE, keyring_name=keyring_name)
            return found.keys, found.total

        return _every(page)

    def update_key(
        self,
        key_id: KeyArg,
        *,
        new_key_name: str | None = None,
        description: str | None = None,
        enterprise_project: str | None = None,
    ) -> model.Key:
        return self._key(
            model.UpdateKey(
                key=model.KeyRef.of(key_id),
                new_name=new_key_name,
                description=description,
                enterprise_project=enterprise_project,
            )
        )

    def enable_key(self, key_id: KeyArg) -> model.Key:
        return self._key(model.EnableKey(key=model.KeyRef.of(key_id)))

    def disable_key(self, key_id: KeyArg) -> model.Key:
        return self._key(model.DisableKey(key=model.KeyRef.of(key_id)))

    def schedule_key_deletion(self, key_id: KeyArg, pending_days: int | None = None) -> model.Key:
        return self._key(model.ScheduleKeyDeletion(key=model.KeyRef.of(key_id), pending_days=pending_days))

    def cancel_key_deletion(self, key_id: KeyArg) -> model.Key:
        return self._key(model.CancelKeyDeletion(key=model.KeyRef.of(key_id)))

    def replicate_key(
        self,
        key_id: KeyArg,
        replica_region: str,
        *,
        replica_key_name: str | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        enterprise_project: str | None = None,
        client_token: str | None = None,
    ) -> model.Key:
        return self._key(
            model.ReplicateKey(
                key=model.KeyRef.of(key_id),
                replica_region=replica_region,
                replica_name=replica_key_name,
                description=description,
                tags=dict(tags or {}),
                enterprise_project=enterprise_project,
                client_token=client_token,
            )
        )

    def enable_key_rotation(self, key_id: KeyArg, interval_days: int | None = None) -> model.Key:
        return self._key(model.EnableKeyRotation(key=model.KeyRef.of(key_id), rotation_days=interval_days))

    def disable_key_rotation(self, key_id: KeyArg) -> model.Key:
        return self._key(model.DisableKeyRotation(key=model.KeyRef.of(key_id)))

    def tag_resources(self, key_id: KeyArg, tags: Mapping[str, str]) -> model.Key:
        return self._key(model.TagKey(key=model.KeyRef.of(key_id), tags=dict(tags)))

    def untag_resources(self, key_id: KeyArg, tag_keys: list[str]) -> model.Key:
        return self._key(model.UntagKey(key=model.KeyRef.of(key_id), tag_keys=tuple(tag_keys)))

    # --- keyrings -----------------------------------------------------------------------------------
    def create_keyring(self, keyring_name: str, description: str | None = None) -> model.Keyring:
        return self.execute(model.CreateKeyring(name=keyring_name, description=description), model.Keyring)

    def describe_keyrings(self, *, offset: int = 0, limit: int = 100) -> model.KeyringPage:
        return self.execute(model.DescribeKeyrings(offset=offset, limit=limit), model.KeyringPage)

    def list_keyrings(self) -> list[model.Keyring]:
        def page(offset: int) -> tuple[tuple[model.Keyring, ...], int]:
            found = self.describe_keyrings(offset=offset, limit=PAGE)
            return found.keyrings, found.total

        return _every(page)

    def update_keyring(self, keyring_name: str, description: str | None = None) -> model.Keyring:
        return self.execute(model.UpdateKeyring(name=keyring_name, description=description), model.Keyring)

    def delete_keyring(self, keyring_name: str) -> None:
        self.execute(model.DeleteKeyring(name=keyring_name), model.Done)

    # --- aliases ------------------------------------------------------------------------------------
    def create_alias(self, alias_name: str, key_id: KeyArg) -> model.Alias:
        return self.execute(model.CreateAlias(alias=alias_name, key=model.KeyRef.of(key_id)), model.Alias)

    def update_alias(self, alias_name: str, key_id: KeyArg) -> model.Alias:
        return self.execute(model.UpdateAlias(alias=alias_name, key=model.KeyRef.of(key_id)), model.Alias)

    def delete_alias(self, alias_name: str, key_id: KeyArg | None = None) -> None:
        """`key_id`: the key the alias names, where known (Huawei Cloud's delete-alias takes it; else found)."""
        key = model.KeyRef.of(key_id) if key_id is not None else None
        self.execute(model.DeleteAlias(alias=alias_name, key=key), model.Done)

    def list_aliases(self, key_id: KeyArg | None = None) -> list[model.Alias]:
        key = model.KeyRef.of(key_id) if key_id is not None else None
        return list(self.execute(model.ListAliases(key=key), tuple))

    # --- cryptography -------------------------------------------------------------------------------
    def encrypt(
        self, key_id: KeyArg, plaintext: bytes, context: Mapping[str, str] | None = None, algorithm: str | None = None
    ) -> bytes:
        return self.encrypt_naming_key(key_id, plaintext, context, algorithm)[1]

    def encrypt_naming_key(
        self, key_id: KeyArg, plaintext: bytes, context: Mapping[str, str] | None = None, algorithm: str | None = None,
        *, data_key: bool = False,
    ) -> tuple[str, bytes]:
        """The ciphertext and the id of the key that made it (`key_id` may be an alias or a TRN). `data_key`:
        the plaintext is a data key (a cloud may wrap those with its own operation, as Huawei Cloud does)."""
        action = model.Encrypt(
            key=model.KeyRef.of(key_id), plaintext=plaintext, context=_ctx(context), algorithm=algorithm,
            data_key=data_key,
        )
        r = self.execute(action, model.Ciphertext)
        return r.key_id, r.ciphertext

    def decrypt(
        self,
        blob: bytes,
        context: Mapping[str, str] | None = None,
        key_id: KeyArg | None = None,
        algorithm: str | None = None,
        *,
        data_key: bool = False,
    ) -> tuple[str, bytes]:
        """The plaintext and the id of the key of this region that opened it ("" where the cloud does not
        say, as Volcengine's Decrypt does not). `data_key`: `blob` is a wrapped data key (Huawei Cloud opens
        those with decrypt-datakey, which needs `key_id`)."""
        key = model.KeyRef.of(key_id) if key_id is not None else None
        r = self.execute(
            model.Decrypt(ciphertext=blob, key=key, context=_ctx(context), algorithm=algorithm, data_key=data_key),
            model.Plaintext,
        )
        return r.key_id, r.plaintext

    def generate_data_key(
        self, key_id: KeyArg, number_of_bytes: int = 32, context: Mapping[str, str] | None = None
    ) -> tuple[str, bytes, bytes]:
        """(key id, plaintext data key, encrypted data key)."""
        action = model.GenerateDataKey(
            key=model.KeyRef.of(key_id), number_of_bytes=number_of_bytes, context=_ctx(context)
        )
        r = self.execute(action, model.DataKey)
        if r.plaintext is None:
            raise UndefinedError("GenerateDataKey answered no plaintext data key")
        return r.key_id, r.plaintext, r.ciphertext

    def generate_data_key_without_plaintext(
        self, key_id: KeyArg, number_of_bytes: int = 32, context: Mapping[str, str] | None = None
    ) -> bytes:
        action = model.GenerateDataKey(
            key=model.KeyRef.of(key_id), number_of_bytes=number_of_bytes, context=_ctx(context), with_plaintext=False
        )
        return self.execute(action, model.DataKey).ciphertext

    def re_encrypt(
        self,
        blob: bytes,
        new_key_id: KeyArg,
        old_context: Mapping[str, str] | None = None,
        new_context: Mapping[str, str] | None = None,
    ) -> bytes:
        action = model.ReEncrypt(
            ciphertext=blob,
            new_key=model.KeyRef.of(new_key_id),
            old_context=_ctx(old_context),
            new_context=_ctx(new_context),
        )
        return self.execute(action, model.Ciphertext).ciphertext

    def sign(self, key_id: KeyArg, message: bytes, algorithm: str, digest: bool = False) -> bytes:
        action = model.Sign(key=model.KeyRef.of(key_id), message=message, algorithm=algorithm, digest=digest)
        return self.execute(action, model.Signature).signature

    def verify(self, key_id: KeyArg, message: bytes, signature: bytes, algorithm: str, digest: bool = False) -> bool:
        action = model.Verify(
            key=model.KeyRef.of(key_id), message=message, signature=signature, algorithm=algorithm, digest=digest
        )
        return self.execute(action, model.Verdict).valid

    def get_public_key(self, key_id: KeyArg) -> str:
        """The key's public key as PEM."""
        return self.execute(model.GetPublicKey(key=model.KeyRef.of(key_id)), model.PublicKey).pem

    def generate_mac(self, key_id: KeyArg, message: bytes, algorithm: str | None = None) -> bytes:
        action = model.GenerateMac(key=model.KeyRef.of(key_id), message=message, algorithm=algorithm)
        return self.execute(action, model.Mac).mac

    def verify_mac(self, key_id: KeyArg, message: bytes, mac: bytes, algorithm: str | None = None) -> bool:
        action = model.VerifyMac(key=model.KeyRef.of(key_id), message=message, mac=mac, algorithm=algorithm)
        return self.execute(action, model.Verdict).valid

    def get_parameters_for_import(
        self, key_id: KeyArg, wrapping_algorithm: str = "RSAES_OAEP_SHA_256"
    ) -> model.ImportParameters:
        action = model.GetParametersForImport(key=model.KeyRef.of(key_id), wrapping_algorithm=wrapping_algorithm)
        return self.execute(action, model.ImportParameters)

    def import_key_material(self, key_id: KeyArg, import_token: str, encrypted_key_material: bytes) -> model.Key:
        return self._key(
            model.ImportKeyMaterial(
                key=model.KeyRef.of(key_id), import_token=import_token, encrypted_material=encrypted_key_material
            )
        )

    def import_material(self, key_id: KeyArg, material: bytes) -> model.Key:
        """The whole import recipe: fetch wrapping parameters, wrap `material` with RSA-OAEP-SHA256, import."""
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        params = self.get_parameters_for_import(key_id)
        public = serialization.load_der_public_key(params.public_key_der)
        assert isinstance(public, rsa.RSAPublicKey)
        wrapped = public.encrypt(
            material, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
        )
        return self.import_key_material(key_id, params.import_token, wrapped)

    def advance_clock(self, seconds: int) -> model.Clock:
        """Emulator only: move the service clock so that deletions and rotations come due."""
        return self.execute(model.AdvanceClock(seconds=seconds), model.Clock)


def _ctx(context: Mapping[str, str] | None) -> dict[str, str] | None:
    return dict(context) if context else None


# The tag a Pulumi stack puts on each key it creates: a digest of the resource's URN, so that the next
# `up` finds a key whose create the engine lost (provider/resources/_common.py). Not one of the program's tags.
OWNER_TAG = "pulumi-owner"


def tags_of(key: model.Key) -> dict[str, str]:
    """A key's tags as a plain dict, without the owner mark (it is the provider's, not the program's)."""
    return {k: v for k, v in key.tags.items() if k != OWNER_TAG}


def _every(page: Callable[[int], tuple[tuple[T, ...], int]]) -> list[T]:
    """Every item of a paged listing: pages fetched from offset 0 until the total is reached."""
    items: list[T] = []
    while True:
        found, total = page(len(items))
        items.extend(found)
        if not found or len(items) >= total:
            return items
