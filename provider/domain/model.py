"""The service's own language: typed actions in, typed objects out.

Every backend speaks this and nothing else. The emulator executes an action and answers one of the
objects below; a wire dialect (provider/dialects/<cloud>/) parses a cloud's HTTP request into an
action and shapes the answer back into that cloud's JSON, and the HTTP backend does the reverse.
Binary values are bytes, times are POSIX seconds, states and specs are the domain's enums. Nothing
here knows a wire name.

Values that the service's rules validate (names, specs, usages, windows) stay as the caller gave them
(`str`, `int`): the emulator applies `rules` to them, so a bad value fails with the rule's message
whichever way it arrived.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..values import Value as Model
from ..values import as_dict as as_dict
from ..values import field
from ..values import fields as fields
from ..values import replace as replace
from .rules import KeySpec, KeyState, KeyUsage, MultiRegionType, Origin

Tags = Mapping[str, str]
Context = Mapping[str, str]


# --- naming a key ---------------------------------------------------------------------------------
class KeyRef(Model):
    """A key: `key_id` (an id, a TRN or an alias name), or `keyring` + `name` (Volcengine KMS API reference,
    ReplicateKey)."""

    key_id: str | None = None
    keyring: str | None = None
    name: str | None = None

    @classmethod
    def of(cls, key: str | KeyRef) -> KeyRef:
        return key if isinstance(key, KeyRef) else cls(key_id=key)

    @property
    def label(self) -> str:
        return self.key_id or (f"{self.keyring or 'default'}/{self.name}" if self.name else "")


# --- actions --------------------------------------------------------------------------------------
class Action(Model, kw_only=True):
    """Base of every action; `name` is the action's service name (CreateKey ...)."""

    @classmethod
    def action_name(cls) -> str:
        return cls.__name__


class OnKey(Action, kw_only=True):
    key: KeyRef


class CreateKey(Action, kw_only=True):
    name: str
    keyring: str | None = None
    spec: str = KeySpec.AES_256.value
    usage: str | None = None
    origin: str | None = None
    description: str | None = None
    enterprise_project: str | None = None
    tags: Tags = field(default_factory=dict)
    multi_region: bool | None = None
    rotation_days: int | None = None  # rotation on from the start when set
    client_token: str | None = None


class DescribeKey(OnKey, kw_only=True):
    pass


class DescribeKeys(Action, kw_only=True):
    """A page of the region's keys, by name order: `offset` keys skipped, at most `limit` answered."""

    keyring: str | None = None
    offset: int = 0
    limit: int = 100
    tag_filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


class UpdateKey(OnKey, kw_only=True):
    new_name: str | None = None
    description: str | None = None
    enterprise_project: str | None = None


class EnableKey(OnKey, kw_only=True):
    pass


class DisableKey(OnKey, kw_only=True):
    pass


class ScheduleKeyDeletion(OnKey, kw_only=True):
    pending_days: int | None = None


class CancelKeyDeletion(OnKey, kw_only=True):
    pass


class ReplicateKey(OnKey, kw_only=True):
    replica_region: str
    replica_name: str | None = None
    description: str | None = None
    enterprise_project: str | None = None
    tags: Tags = field(default_factory=dict)
    client_token: str | None = None


class EnableKeyRotation(OnKey, kw_only=True):
    rotation_days: int | None = None


class DisableKeyRotation(OnKey, kw_only=True):
    pass


class TagKey(OnKey, kw_only=True):
    tags: Tags


class UntagKey(OnKey, kw_only=True):
    tag_keys: tuple[str, ...]


class CreateKeyring(Action, kw_only=True):
    name: str
    description: str | None = None


class DescribeKeyrings(Action, kw_only=True):
    offset: int = 0
    limit: int = 100


class UpdateKeyring(Action, kw_only=True):
    name: str
    description: str | None = None


class DeleteKeyring(Action, kw_only=True):
    name: str


class CreateAlias(Action, kw_only=True):
    alias: str
    key: KeyRef


class UpdateAlias(Action, kw_only=True):
    alias: str
    key: KeyRef


class DeleteAlias(Action, kw_only=True):
    alias: str
    key: KeyRef | None = None  # the key it names, where the caller knows it (Huawei's delete-alias takes it)


class ListAliases(Action, kw_only=True):
    key: KeyRef | None = None


class Encrypt(OnKey, kw_only=True):
    plaintext: bytes
    context: Context | None = None
    algorithm: str | None = None
    data_key: bool = False  # the plaintext is a data key (Huawei Cloud wraps those with encrypt-datakey)


class Decrypt(Action, kw_only=True):
    """`key` is optional for symmetric ciphertexts (they name their material); RSA needs it."""

    ciphertext: bytes
    key: KeyRef | None = None
    context: Context | None = None
    algorithm: str | None = None
    data_key: bool = False  # a wrapped data key (Huawei Cloud opens those with decrypt-datakey)


class GenerateDataKey(OnKey, kw_only=True):
    number_of_bytes: int | None = None
    context: Context | None = None
    with_plaintext: bool = True


class ReEncrypt(Action, kw_only=True):
    ciphertext: bytes
    new_key: KeyRef
    old_context: Context | None = None
    new_context: Context | None = None


class Sign(OnKey, kw_only=True):
    message: bytes
    algorithm: str
    digest: bool = False  # `message` is already a digest


class Verify(OnKey, kw_only=True):
    message: bytes
    signature: bytes
    algorithm: str
    digest: bool = False


class GetPublicKey(OnKey, kw_only=True):
    pass


class GenerateMac(OnKey, kw_only=True):
    message: bytes
    algorithm: str | None = None


class VerifyMac(OnKey, kw_only=True):
    message: bytes
    mac: bytes
    algorithm: str | None = None


class GetParametersForImport(OnKey, kw_only=True):
    wrapping_algorithm: str = "RSAES_OAEP_SHA_256"
    wrapping_key_spec: str = "RSA_2048"


class ImportKeyMaterial(OnKey, kw_only=True):
    import_token: str
    encrypted_material: bytes


class AdvanceClock(Action, kw_only=True):
    """Emulator only: move the service clock so that deletions and rotations come due."""

    seconds: int


# --- what the service answers ----------------------------------------------------------------------
class LinkedKey(Model):
    """The other end of a multi-region link: a primary seen from a replica, or one of its replicas."""

    key_id: str
    trn: str
    region: str
    state: KeyState | None = None


class Key(Model, kw_only=True):
    key_id: str
    trn: str
    region: str
    keyring: str
    name: str
    spec: KeySpec
    usage: KeyUsage
    origin: Origin
    state: KeyState
    description: str
    enterprise_project: str
    created: float
    updated: float
    tags: Tags
    rotation_enabled: bool
    rotation_days: int | None
    last_rotation: float | None
    deletion_date: float | None  # when a PendingDelete key is gone for good
    pending_days: int | None  # the window of a scheduled deletion
    multi_region_type: MultiRegionType
    primary: LinkedKey | None  # set on primaries (itself) and replicas
    replicas: tuple[LinkedKey, ...]  # the primary's replicas, in region order
    protection_level: str = "SOFTWARE"

    @property
    def is_replica(self) -> bool:
        return self.multi_region_type is MultiRegionType.REPLICA

    @property
    def replica_regions(self) -> tuple[str, ...]:
        return tuple(r.region for r in self.replicas)


class KeyPage(Model, kw_only=True):
    keys: tuple[Key, ...]
    total: int  # keys matching, across all pages


class Keyring(Model, kw_only=True):
    name: str
    keyring_id: str
    trn: str
    description: str
    created: float
    updated: float
    key_count: int


class KeyringPage(Model, kw_only=True):
    keyrings: tuple[Keyring, ...]
    total: int


class Alias(Model, kw_only=True):
    name: str
    key_id: str
    region: str
    trn: str
    created: float


class Ciphertext(Model, kw_only=True):
    key_id: str  # the key that made it
    ciphertext: bytes
    source_key_id: str | None = None  # ReEncrypt: the key that opened the old ciphertext


class Plaintext(Model, kw_only=True):
    key_id: str  # the key of this region that opened it; "" where the cloud does not say (Volcengine)
    plaintext: bytes


class DataKey(Model, kw_only=True):
    key_id: str
    ciphertext: bytes
    plaintext: bytes | None  # None when asked without plaintext


class Signature(Model, kw_only=True):
    key_id: str
    signature: bytes
    algorithm: str


class Mac(Model, kw_only=True):
    key_id: str
    mac: bytes


class Verdict(Model, kw_only=True):
    key_id: str
    valid: bool


class PublicKey(Model, kw_only=True):
    key_id: str
    pem: str
    spec: KeySpec
    usage: KeyUsage


class ImportParameters(Model, kw_only=True):
    key_id: str
    import_token: str
    public_key_der: bytes
    valid_to: float
    wrapping_algorithm: str


class Clock(Model, kw_only=True):
    now: float
    offset_seconds: float


class Done(Model, kw_only=True):
    """An action that changes something and answers nothing more (DeleteAlias, DeleteKeyring)."""


Result = (
    Key | KeyPage | Keyring | KeyringPage | Alias | tuple[Alias, ...] | Ciphertext | Plaintext | DataKey
    | Signature | Mac | Verdict | PublicKey | ImportParameters | Clock | Done
)
