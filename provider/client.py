"""`KmsClient`: typed calls over any backend, bytes in and out instead of base64.

It holds a backend and a default region; `in_region` gives the same client for another region.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from .backend import Backend

Result = dict[str, Any]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


class KmsClient:
    def __init__(self, backend: Backend, region: str) -> None:
        self.backend = backend
        self.region = region

    def in_region(self, region: str) -> KmsClient:
        return KmsClient(self.backend, region)

    def call(self, action: str, **params: Any) -> Result:
        """One action with PascalCase parameters; `None` values are left out."""
        return self.backend.call(self.region, action, {k: v for k, v in params.items() if v is not None})

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
    ) -> Result:
        return self.call(
            "CreateKey",
            KeyName=key_name,
            KeySpec=key_spec,
            KeyUsage=key_usage,
            Origin=origin,
            KeyringName=keyring_name,
            Description=description,
            EnterpriseProject=enterprise_project,
            Tags=_tags(tags),
            ClientToken=client_token,
        )["Key"]

    def describe_key(self, key_id: str) -> Result:
        return self.call("DescribeKey", KeyID=key_id)["Key"]

    def list_keys(self, keyring_name: str | None = None) -> list[Result]:
        keys: list[Result] = []
        marker: str | None = None
        while True:
            page = self.call("DescribeKeys", KeyringName=keyring_name, Marker=marker, Limit=1000)
            keys.extend(page["Keys"])
            marker = page.get("NextMarker")
            if not marker:
                return keys

    def update_key(
        self,
        key_id: str,
        *,
        new_key_name: str | None = None,
        description: str | None = None,
        enterprise_project: str | None = None,
    ) -> Result:
        return self.call(
            "UpdateKey",
            KeyID=key_id,
            NewKeyName=new_key_name,
            Description=description,
            EnterpriseProject=enterprise_project,
        )["Key"]

    def enable_key(self, key_id: str) -> Result:
        return self.call("EnableKey", KeyID=key_id)["Key"]

    def disable_key(self, key_id: str) -> Result:
        return self.call("DisableKey", KeyID=key_id)["Key"]

    def schedule_key_deletion(self, key_id: str, pending_days: int | None = None) -> Result:
        return self.call("ScheduleKeyDeletion", KeyID=key_id, PendingWindowInDays=pending_days)["Key"]

    def cancel_key_deletion(self, key_id: str) -> Result:
        return self.call("CancelKeyDeletion", KeyID=key_id)["Key"]

    def replicate_key(
        self,
        key_id: str,
        replica_region: str,
        *,
        replica_key_name: str | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        enterprise_project: str | None = None,
        client_token: str | None = None,
    ) -> Result:
        return self.call(
            "ReplicateKey",
            KeyID=key_id,
            ReplicaRegion=replica_region,
            ReplicaKeyName=replica_key_name,
            Description=description,
            Tags=_tags(tags),
            EnterpriseProject=enterprise_project,
            ClientToken=client_token,
        )["ReplicaKey"]

    def enable_key_rotation(self, key_id: str, interval_days: int | None = None) -> Result:
        return self.call("EnableKeyRotation", KeyID=key_id, RotationIntervalInDays=interval_days)["Key"]

    def disable_key_rotation(self, key_id: str) -> Result:
        return self.call("DisableKeyRotation", KeyID=key_id)["Key"]

    def tag_resources(self, key_id: str, tags: Mapping[str, str]) -> Result:
        return self.call("TagResources", KeyID=key_id, Tags=_tags(tags))["Key"]

    def untag_resources(self, key_id: str, tag_keys: list[str]) -> Result:
        return self.call("UntagResources", KeyID=key_id, TagKeys=list(tag_keys))["Key"]

    # --- aliases ------------------------------------------------------------------------------------
    def create_alias(self, alias_name: str, key_id: str) -> Result:
        return self.call("CreateAlias", AliasName=alias_name, KeyID=key_id)["Alias"]

    def update_alias(self, alias_name: str, key_id: str) -> Result:
        return self.call("UpdateAlias", AliasName=alias_name, KeyID=key_id)["Alias"]

    def delete_alias(self, alias_name: str) -> None:
        self.call("DeleteAlias", AliasName=alias_name)

    def list_aliases(self, key_id: str | None = None) -> list[Result]:
        aliases: list[Result] = self.call("ListAliases", KeyID=key_id)["Aliases"]
        return aliases

    # --- cryptography -------------------------------------------------------------------------------
    def encrypt(
        self, key_id: str, plaintext: bytes, context: Mapping[str, str] | None = None, algorithm: str | None = None
    ) -> bytes:
        return self.encrypt_naming_key(key_id, plaintext, context, algorithm)[1]

    def encrypt_naming_key(
        self, key_id: str, plaintext: bytes, context: Mapping[str, str] | None = None, algorithm: str | None = None
    ) -> tuple[str, bytes]:
        """The ciphertext and the id of the key that made it (`key_id` may be an alias or a TRN)."""
        r = self.call(
            "Encrypt", KeyID=key_id, Plaintext=_b64(plaintext), EncryptionContext=_ctx(context), Algorithm=algorithm
        )
        return str(r["KeyID"]), _unb64(r["CiphertextBlob"])

    def decrypt(
        self,
        blob: bytes,
        context: Mapping[str, str] | None = None,
        key_id: str | None = None,
        algorithm: str | None = None,
    ) -> tuple[str, bytes]:
        """The plaintext and the id of the key of this region that opened it."""
        r = self.call(
            "Decrypt", CiphertextBlob=_b64(blob), EncryptionContext=_ctx(context), KeyID=key_id, Algorithm=algorithm
        )
        return r["KeyID"], _unb64(r["Plaintext"])

    def generate_data_key(
        self, key_id: str, number_of_bytes: int = 32, context: Mapping[str, str] | None = None
    ) -> tuple[str, bytes, bytes]:
        """(key id, plaintext data key, encrypted data key)."""
        r = self.call("GenerateDataKey", KeyID=key_id, NumberOfBytes=number_of_bytes, EncryptionContext=_ctx(context))
        return r["KeyID"], _unb64(r["Plaintext"]), _unb64(r["CiphertextBlob"])

    def generate_data_key_without_plaintext(
        self, key_id: str, number_of_bytes: int = 32, context: Mapping[str, str] | None = None
    ) -> bytes:
        r = self.call(
            "GenerateDataKeyWithoutPlaintext",
            KeyID=key_id,
            NumberOfBytes=number_of_bytes,
            EncryptionContext=_ctx(context),
        )
        return _unb64(r["CiphertextBlob"])

    def re_encrypt(
        self,
        blob: bytes,
        new_key_id: str,
        old_context: Mapping[str, str] | None = None,
        new_context: Mapping[str, str] | None = None,
    ) -> bytes:
        r = self.call(
            "ReEncrypt",
            CiphertextBlob=_b64(blob),
            NewKeyID=new_key_id,
            OldEncryptionContext=_ctx(old_context),
            NewEncryptionContext=_ctx(new_context),
        )
        return _unb64(r["CiphertextBlob"])

    def sign(self, key_id: str, message: bytes, algorithm: str, digest: bool = False) -> bytes:
        r = self.call(
            "AsymmetricSign",
            KeyID=key_id,
            Message=_b64(message),
            Algorithm=algorithm,
            MessageType="DIGEST" if digest else "RAW",
        )
        return _unb64(r["Signature"])

    def verify(self, key_id: str, message: bytes, signature: bytes, algorithm: str, digest: bool = False) -> bool:
        r = self.call(
            "AsymmetricVerify",
            KeyID=key_id,
            Message=_b64(message),
            Signature=_b64(signature),
            Algorithm=algorithm,
            MessageType="DIGEST" if digest else "RAW",
        )
        return bool(r["SignatureValid"])

    def get_public_key(self, key_id: str) -> str:
        return str(self.call("GetPublicKey", KeyID=key_id)["PublicKey"])

    def generate_mac(self, key_id: str, message: bytes, algorithm: str | None = None) -> bytes:
        return _unb64(self.call("GenerateMac", KeyID=key_id, Message=_b64(message), Algorithm=algorithm)["Mac"])

    def verify_mac(self, key_id: str, message: bytes, mac: bytes, algorithm: str | None = None) -> bool:
        r = self.call("VerifyMac", KeyID=key_id, Message=_b64(message), Mac=_b64(mac), Algorithm=algorithm)
        return bool(r["MacValid"])

    def get_parameters_for_import(self, key_id: str, wrapping_algorithm: str = "RSAES_OAEP_SHA_256") -> Result:
        return self.call("GetParametersForImport", KeyID=key_id, WrappingAlgorithm=wrapping_algorithm)

    def import_key_material(self, key_id: str, import_token: str, encrypted_key_material: bytes) -> Result:
        return self.call(
            "ImportKeyMaterial",
            KeyID=key_id,
            ImportToken=import_token,
            EncryptedKeyMaterial=_b64(encrypted_key_material),
        )["Key"]

    def import_material(self, key_id: str, material: bytes) -> Result:
        """The whole import recipe: fetch wrapping parameters, wrap `material` with RSA-OAEP-SHA256, import."""
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        params = self.get_parameters_for_import(key_id)
        public = serialization.load_der_public_key(_unb64(params["PublicKey"]))
        assert isinstance(public, rsa.RSAPublicKey)
        wrapped = public.encrypt(
            material, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
        )
        return self.import_key_material(key_id, params["ImportToken"], wrapped)

    def advance_clock(self, seconds: int) -> Result:
        """Emulator only: move the service clock so that deletions and rotations come due."""
        return self.call("AdvanceClock", Seconds=seconds)


def _tags(tags: Mapping[str, str] | None) -> list[dict[str, str]] | None:
    if tags is None:
        return None
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _ctx(context: Mapping[str, str] | None) -> dict[str, str] | None:
    return dict(context) if context else None


def tags_of(key: Mapping[str, Any]) -> dict[str, str]:
    """A key object's `Tags` list as a dict."""
    return {t["Key"]: t["Value"] for t in key.get("Tags") or []}
