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
from dataclasses import dataclass, field

from .rules import KeySpec, KeyState, KeyUsage, MultiRegionType, Origin

Tags = Mapping[str, str]
Context = Mapping[str, str]


# --- naming a key ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class KeyRef:
    """A key: `key_id` (an id, a TRN or an alias name), or `keyring` + `name` (seed 003)."""

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
@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    """Base of every action; `name` is the action's service name (CreateKey ...)."""

    @classmethod
    def action_name(cls) -> str:
        return cls.__name__


@dataclass(frozen=True, slots=True, kw_only=True)
class OnKey(Action):
    key: KeyRef


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateKey(Action):
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


@dataclass(frozen=True, slots=True, kw_only=True)
class DescribeKey(OnKey):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class DescribeKeys(Action):
    """A page of the region's keys, by name order: `offset` keys skipped, at most `limit` answered."""

    keyring: str | None = None
    offset: int = 0
    limit: int = 100
    tag_filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateKey(OnKey):
    new_name: str | None = None
    description: str | None = None
    enterprise_project: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EnableKey(OnKey):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class DisableKey(OnKey):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleKeyDeletion(OnKey):
    pending_days: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelKeyDeletion(OnKey):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplicateKey(OnKey):
    replica_region: str
    replica_name: str | None = None
    description: str | None = None
    enterprise_project: str | None = None
    tags: Tags = field(default_factory=dict)
    client_token: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EnableKeyRotation(OnKey):
    rotation_days: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DisableKeyRotation(OnKey):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class TagKey(OnKey):
    tags: Tags


@dataclass(frozen=True, slots=True, kw_only=True)
class UntagKey(OnKey):
    tag_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateKeyring(Action):
    name: str
    description: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DescribeKeyrings(Action):
    offset: int = 0
    limit: int = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateKeyring(Action):
    name: str
    description: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteKeyring(Action):
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateAlias(Action):
    alias: str
    key: KeyRef


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateAlias(Action):
    alias: str
    key: KeyRef


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteAlias(Action):
    alias: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ListAliases(Action):
    key: KeyRef | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Encrypt(OnKey):
    plaintext: bytes
    context: Context | None = None
    algorithm: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Decrypt(Action):
    """`key` is optional for symmetric ciphertexts (they name their material); RSA needs it."""

    ciphertext: bytes
    key: KeyRef | None = None
    context: Context | None = None
    algorithm: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerateDataKey(OnKey):
    number_of_bytes: int | None = None
    context: Context | None = None
    with_plaintext: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class ReEncrypt(Action):
    ciphertext: bytes
    new_key: KeyRef
    old_context: Context | None = None
    new_context: Context | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Sign(OnKey):
    message: bytes
    algorithm: str
    digest: bool = False  # `message` is already a digest


@dataclass(frozen=True, slots=True, kw_only=True)
class Verify(OnKey):
    message: bytes
    signature: bytes
    algorithm: str
    digest: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class GetPublicKey(OnKey):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerateMac(OnKey):
    message: bytes
    algorithm: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyMac(OnKey):
    message: bytes
    mac: bytes
    algorithm: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GetParametersForImport(OnKey):
    wrapping_algorithm: str = "RSAES_OAEP_SHA_256"
    wrapping_key_spec: str = "RSA_2048"


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportKeyMaterial(OnKey):
    import_token: str
    encrypted_material: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class AdvanceClock(Action):
    """Emulator only: move the service clock so that deletions and rotations come due."""

    seconds: int


# --- what the service answers ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LinkedKey:
    """The other end of a multi-region link: a primary seen from a replica, or one of its replicas."""

    key_id: str
    trn: str
    region: str
    state: KeyState | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Key:
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


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyPage:
    keys: tuple[Key, ...]
    total: int  # keys matching, across all pages


@dataclass(frozen=True, slots=True, kw_only=True)
class Keyring:
    name: str
    keyring_id: str
    trn: str
    description: str
    created: float
    updated: float
    key_count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyringPage:
    keyrings: tuple[Keyring, ...]
    total: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Alias:
    name: str
    key_id: str
    region: str
    trn: str
    created: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Ciphertext:
    key_id: str  # the key that made it
    ciphertext: bytes
    source_key_id: str | None = None  # ReEncrypt: the key that opened the old ciphertext


@dataclass(frozen=True, slots=True, kw_only=True)
class Plaintext:
    key_id: str  # the key of this region that opened it
    plaintext: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class DataKey:
    key_id: str
    ciphertext: bytes
    plaintext: bytes | None  # None when asked without plaintext


@dataclass(frozen=True, slots=True, kw_only=True)
class Signature:
    key_id: str
    signature: bytes
    algorithm: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Mac:
    key_id: str
    mac: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    key_id: str
    valid: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PublicKey:
    key_id: str
    pem: str
    spec: KeySpec
    usage: KeyUsage


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportParameters:
    key_id: str
    import_token: str
    public_key_der: bytes
    valid_to: float
    wrapping_algorithm: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Clock:
    now: float
    offset_seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Done:
    """An action that changes something and answers nothing more (DeleteAlias, DeleteKeyring)."""


Result = (
    Key | KeyPage | Keyring | KeyringPage | Alias | tuple[Alias, ...] | Ciphertext | Plaintext | DataKey
    | Signature | Mac | Verdict | PublicKey | ImportParameters | Clock | Done
)
