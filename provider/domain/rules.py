"""The service's rules, written once.

The emulator enforces them and the Pulumi resources' `check` calls the same functions, so a bad
input fails identically before anything is created and at the service. Each rule names its source page.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..values import Value
from .errors import (
    Conflict,
    InvalidKeyStatus,
    InvalidOperation,
    InvalidParameter,
    InvalidReplicaRegion,
    NotFound,
    QuotaExceeded,
)


class KeySpec(StrEnum):
    AES_256 = "AES_256"
    HMAC_256 = "HMAC_256"
    HMAC_384 = "HMAC_384"
    HMAC_512 = "HMAC_512"
    HMAC_SM3 = "HMAC_SM3"
    RSA_2048 = "RSA_2048"
    RSA_3072 = "RSA_3072"
    RSA_4096 = "RSA_4096"
    EC_P256 = "EC_P256"
    EC_P384 = "EC_P384"
    # The members above are the specs the emulator makes (iterating KeySpec lists those alone). A cloud has
    # more (Volcengine: SYMMETRIC_128, EC_P256K, EC_P521, EC_SM2; Huawei Cloud: SM4, SM2, SECP256K1,
    # ED25519 ...): such a spec is read as what it is, below, and refused only where a resource must
    # create or use it (`key_spec`).

    @classmethod
    def _missing_(cls, value: object) -> KeySpec | None:
        """A spec name a cloud answers that the emulator does not make: kept as what it is, so that a listing
        of a region with such a key does not fail; `key_spec` still refuses it as an input."""
        if isinstance(value, str) and _SPEC_NAME_RE.match(value):
            member = str.__new__(cls, value)
            member._name_ = value
            member._value_ = value
            cls._value2member_map_.setdefault(value, member)  # one object per name, as members are
            return member
        return None


_SPEC_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


class KeyUsage(StrEnum):
    ENCRYPT_DECRYPT = "ENCRYPT_DECRYPT"
    SIGN_VERIFY = "SIGN_VERIFY"
    GENERATE_VERIFY_MAC = "GENERATE_VERIFY_MAC"


class KeyState(StrEnum):
    ENABLE = "Enable"
    DISABLE = "Disable"
    PENDING_DELETE = "PendingDelete"
    PENDING_IMPORT = "PendingImport"
    CREATING = "Creating"


class Origin(StrEnum):
    """Wire names of the key material source (Huawei Cloud DEW, Creating a Custom Key: key management or external)."""

    KMS = "CloudKMS"
    EXTERNAL = "External"


class MultiRegionType(StrEnum):
    NONE = "NONE"
    PRIMARY = "PRIMARY"
    REPLICA = "REPLICA"


SYMMETRIC_SPECS = frozenset({KeySpec.AES_256})
HMAC_SPECS = frozenset({KeySpec.HMAC_256, KeySpec.HMAC_384, KeySpec.HMAC_512, KeySpec.HMAC_SM3})
RSA_SPECS = frozenset({KeySpec.RSA_2048, KeySpec.RSA_3072, KeySpec.RSA_4096})
EC_SPECS = frozenset({KeySpec.EC_P256, KeySpec.EC_P384})
ASYMMETRIC_SPECS = RSA_SPECS | EC_SPECS
EMULATED_SPECS = SYMMETRIC_SPECS | HMAC_SPECS | ASYMMETRIC_SPECS  # what the emulator makes; inputs take only these

# Huawei Cloud DEW, Creating a Custom Key, "Usage": AES_256 encrypts; HMAC keys make MACs; RSA encrypts or signs
# (default sign); ECC only signs.
_USAGES: dict[KeySpec, tuple[KeyUsage, frozenset[KeyUsage]]] = {
    **{s: (KeyUsage.ENCRYPT_DECRYPT, frozenset({KeyUsage.ENCRYPT_DECRYPT})) for s in SYMMETRIC_SPECS},
    **{s: (KeyUsage.GENERATE_VERIFY_MAC, frozenset({KeyUsage.GENERATE_VERIFY_MAC})) for s in HMAC_SPECS},
    **{s: (KeyUsage.SIGN_VERIFY, frozenset({KeyUsage.SIGN_VERIFY, KeyUsage.ENCRYPT_DECRYPT})) for s in RSA_SPECS},
    **{s: (KeyUsage.SIGN_VERIFY, frozenset({KeyUsage.SIGN_VERIFY})) for s in EC_SPECS},
}

# External material can only be imported for symmetric specs: raw bytes of a known length.
EXTERNAL_MATERIAL_BYTES: dict[KeySpec, int] = {
    KeySpec.AES_256: 32,
    KeySpec.HMAC_256: 32,
    KeySpec.HMAC_384: 48,
    KeySpec.HMAC_512: 64,
    KeySpec.HMAC_SM3: 32,
}

NAME_MAX = 255
NAME_RE = re.compile(r"^[A-Za-z0-9_\-:/]+$")
KEYRING_RE = re.compile(r"^[A-Za-z0-9_\-]{2,31}$")
ALIAS_PREFIX = "alias/"
DESCRIPTION_MAX = 255
MAX_TAGS = 20
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 255
PENDING_DAYS_MIN = 7
PENDING_DAYS_MAX = 1096
PENDING_DAYS_DEFAULT = 30
ROTATION_DAYS_MIN = 30
ROTATION_DAYS_MAX = 365
ROTATION_DAYS_DEFAULT = 365
KEYS_PER_REGION = 100
SYMMETRIC_PLAINTEXT_MAX = 4096
DATA_KEY_BYTES_MIN = 1
DATA_KEY_BYTES_MAX = 1024
DEFAULT_KEYRING = "default"
DEFAULT_ENTERPRISE_PROJECT = "default"
CLIENT_TOKEN_MAX = 128
PAGE_LIMIT_MAX = 1000
CLOCK_SECONDS_MAX = 200 * 365 * 86400
IMPORT_PARAMETERS_SECONDS = 86400  # how long GetParametersForImport's token and wrapping key stay valid
WRAPPING_KEY_SPECS = ("RSA_2048",)
WRAPPING_ALGORITHMS = ("RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1")


def key_spec(value: str, field: str = "KeySpec") -> KeySpec:
    """A spec to create a key of: one the service emulates (a cloud's other specs are read, never made)."""
    allowed = ", ".join(s.value for s in KeySpec)
    try:
        spec = KeySpec(value)
    except ValueError:
        raise InvalidParameter(f"{field} '{value}' is not a key spec; allowed: {allowed}") from None
    if spec not in EMULATED_SPECS:
        raise InvalidParameter(f"{field} '{value}' is not a key spec this provider creates (a cloud may list "
                               f"keys of it; the emulator has none); allowed: {allowed}")
    return spec


def key_usage(spec: KeySpec, value: str | None, field: str = "KeyUsage") -> KeyUsage:
    """The usage for a spec: the documented default when omitted, refused when the pair is not allowed."""
    if spec not in _USAGES:
        raise InvalidParameter(f"{field}: key spec {spec} is not one this provider creates or emulates")
    default, allowed = _USAGES[spec]
    if value is None or value == "":
        return default
    try:
        usage = KeyUsage(value)
    except ValueError:
        names = ", ".join(u.value for u in KeyUsage)
        raise InvalidParameter(f"{field} '{value}' is not a key usage; allowed: {names}") from None
    if usage not in allowed:
        names = " or ".join(sorted(u.value for u in allowed))
        raise InvalidParameter(f"{field} '{usage}' is not allowed for key spec {spec}; use {names}")
    return usage


def origin(value: str | None, spec: KeySpec, field: str = "Origin") -> Origin:
    """Accepts the wire names and the resource's lower-case `kms` / `external`."""
    aliases = {"kms": Origin.KMS, "external": Origin.EXTERNAL, "cloudkms": Origin.KMS}
    if value is None or value == "":
        return Origin.KMS
    found = aliases.get(value.lower())
    if found is None:
        raise InvalidParameter(f"{field} '{value}' is not a key material source; use CloudKMS or External")
    if found is Origin.EXTERNAL and spec not in EXTERNAL_MATERIAL_BYTES:
        raise InvalidParameter(f"{field} External is only allowed for symmetric key specs, not {spec}")
    return found


def _name(value: str, field: str, what: str) -> str:
    # Huawei Cloud DEW, Creating a Custom Key, "Name": digits, letters, _ - : /, up to 255 characters; never ending with
    # /default.
    if not isinstance(value, str) or value == "":
        raise InvalidParameter(f"{field} must be a non-empty string")
    if len(value) > NAME_MAX:
        raise InvalidParameter(f"{field} is {len(value)} characters; {what} take at most {NAME_MAX}")
    if not NAME_RE.match(value):
        bad = sorted({c for c in value if not NAME_RE.match(c)})
        raise InvalidParameter(
            f"{field} '{value}' has characters {''.join(bad)!r}; {what} take only letters, digits, _ - : /"
        )
    if value.endswith("/default"):
        raise InvalidParameter(f"{field} '{value}' ends with /default, which is reserved for default keys")
    return value


def key_name(value: str, field: str = "KeyName") -> str:
    name = _name(value, field, "key names")
    if name.startswith(ALIAS_PREFIX):
        raise InvalidParameter(f"{field} '{value}' starts with alias/, which is reserved for aliases")
    return name


def alias_name(value: str, field: str = "AliasName") -> str:
    name = _name(value, field, "aliases")
    if not name.startswith(ALIAS_PREFIX) or len(name) == len(ALIAS_PREFIX):
        raise InvalidParameter(f"{field} '{value}' must start with alias/ followed by a name")
    return name


def keyring_name(value: str | None, field: str = "KeyringName") -> str:
    # Volcengine KMS API reference, ReplicateKey: 2-31 characters of [a-zA-Z0-9-_].
    if value is None or value == "":
        return DEFAULT_KEYRING
    if not KEYRING_RE.match(value):
        raise InvalidParameter(f"{field} '{value}' must be 2-31 characters of letters, digits, - and _")
    return value


def keyring_to_create(value: str, field: str = "KeyringName") -> str:
    """A new keyring's name: given, and by the rule of the Volcengine KMS API reference (KeyringName); `default` exists
    already."""
    if not value:
        raise InvalidParameter(f"{field} is required: 2-31 characters of letters, digits, - and _")
    return keyring_name(value, field)


def keyring_exists(name: str, stored: bool, region: str) -> None:
    """Keys go into keyrings that exist; `default` exists in every region without being created."""
    if name != DEFAULT_KEYRING and not stored:
        raise NotFound(f"Not found keyring [{name}] in region {region}; create it first (CreateKeyring)")


def within_quota(count: int, quota: int, region: str) -> None:
    # Huawei Cloud DEW, Creating a Custom Key: "You can create up to 100 custom keys ... Replica keys take up the custom
    # key quota in the region."
    if count >= quota:
        raise QuotaExceeded(f"The quota of {quota} custom keys in region {region} is used up")


def name_free(taken_by: str | None, what: str, name: str, region: str) -> None:
    """A key's keyring + name, a keyring's name and an alias name are unique in their region;
    `taken_by` says what holds the name already ("key <id>")."""
    if taken_by is not None:
        raise Conflict(f"The {what} resource {name} in {region} is conflict: the name is taken by {taken_by}")


def keyring_deletable(name: str, key_count: int) -> None:
    """The keyring `default` always exists; a keyring is deleted only once it holds no key (pending
    deletions included: their keys still live in it until they are gone)."""
    if name == DEFAULT_KEYRING:
        raise InvalidOperation("The keyring default always exists and cannot be deleted")
    if key_count:
        raise InvalidOperation(
            f"Keyring {name} still holds {key_count} key(s); delete them (and wait for the deletion) first"
        )


def enterprise_project(value: str | None, field: str = "EnterpriseProject") -> str | None:
    """`None` keeps what is there (or the default); an empty name is an error, not a reset."""
    if value is not None and not value.strip():
        raise InvalidParameter(f"{field} must not be empty; omit it for {DEFAULT_ENTERPRISE_PROJECT}")
    return value


def client_token(value: str | None, field: str = "ClientToken") -> str | None:
    # An idempotency token: the same token answers the first call's key instead of a second one.
    if value is not None and len(value) > CLIENT_TOKEN_MAX:
        raise InvalidParameter(f"{field} is {len(value)} characters; at most {CLIENT_TOKEN_MAX}")
    return value or None


def page(offset: int, limit: int) -> tuple[int, int]:
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidParameter("The page offset must be a whole number, 0 or more")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PAGE_LIMIT_MAX:
        raise InvalidParameter(f"The page size must be 1..{PAGE_LIMIT_MAX}")
    return offset, limit


def clock_seconds(value: int, field: str = "Seconds") -> int:
    # The emulator's clock only moves forward, so that a deletion that came due stays done.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= CLOCK_SECONDS_MAX:
        raise InvalidParameter(f"{field} must be a whole number of seconds, 0..{CLOCK_SECONDS_MAX}")
    return value


def description(value: str | None, field: str = "Description") -> str:
    value = value or ""
    if len(value) > DESCRIPTION_MAX:
        raise InvalidParameter(f"{field} is {len(value)} characters; at most {DESCRIPTION_MAX}")
    return value


def tags(pairs: Iterable[tuple[str, str]], field: str = "Tags") -> dict[str, str]:
    """Huawei Cloud DEW, Creating a Key: under one key a tag key has one value; Huawei Cloud DEW, Creating a Custom Key:
    at most 20 tags a key."""
    out: dict[str, str] = {}
    for k, v in pairs:
        if not isinstance(k, str) or not 1 <= len(k) <= TAG_KEY_MAX:
            raise InvalidParameter(f"{field}: tag key {k!r} must be 1-{TAG_KEY_MAX} characters")
        if not isinstance(v, str) or len(v) > TAG_VALUE_MAX:
            raise InvalidParameter(f"{field}: value of tag '{k}' must be a string of at most {TAG_VALUE_MAX}")
        if k in out:
            raise InvalidParameter(f"{field}: tag key '{k}' appears twice; a tag key has one value per key")
        out[k] = v
    return check_tag_count(out, field)


def check_tag_count(merged: Mapping[str, str], field: str = "Tags") -> dict[str, str]:
    if len(merged) > MAX_TAGS:
        raise InvalidParameter(f"{field}: {len(merged)} tags; a key takes at most {MAX_TAGS} tags")
    return dict(merged)


def _days(value: int | None, field: str, lo: int, hi: int, default: int, what: str) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameter(f"{field} must be a whole number of days")
    if not lo <= value <= hi:
        raise InvalidParameter(f"{field} is {value}; the {what} ranges from {lo} to {hi} days")
    return value


def pending_days(value: int | None, field: str = "PendingWindowInDays") -> int:
    # Huawei Cloud DEW, Creating a Custom Key: "a scheduled deletion date for the key, which ranges from 7 to 1,096
    # days".
    return _days(value, field, PENDING_DAYS_MIN, PENDING_DAYS_MAX, PENDING_DAYS_DEFAULT, "deletion window")


def rotation_days(value: int | None, field: str = "RotationIntervalInDays") -> int:
    return _days(value, field, ROTATION_DAYS_MIN, ROTATION_DAYS_MAX, ROTATION_DAYS_DEFAULT, "rotation interval")


def rotation_supported(spec: KeySpec, origin: Origin, replica: bool, field: str = "KeyID") -> None:
    """Huawei Cloud DEW, Creating a Replica Key: "Replica keys do not support key rotation"; only generated AES_256
    material rotates."""
    if replica:
        raise InvalidOperation(f"{field}: replica keys do not support key rotation, rotate the primary key instead")
    if spec is not KeySpec.AES_256 or origin is not Origin.KMS:
        raise InvalidOperation(
            f"{field}: a {spec} key with {origin} material does not support rotation; only AES_256 keys with "
            "CloudKMS material rotate"
        )


def symmetric_plaintext(size: int, field: str = "Plaintext") -> None:
    # A symmetric key encrypts small secrets directly; anything larger goes through a data key (Alibaba Cloud KMS, Use
    # multi-region CMKs to encrypt and decrypt data).
    if size > SYMMETRIC_PLAINTEXT_MAX:
        raise InvalidParameter(
            f"The request parameter {field} is invalid: {size} bytes; a symmetric key encrypts at most "
            f"{SYMMETRIC_PLAINTEXT_MAX} (use a data key for more)"
        )


def data_key_spec(spec: KeySpec, key_id: str) -> None:
    # Alibaba Cloud KMS, Use multi-region CMKs to encrypt and decrypt data: data keys are generated and wrapped under
    # symmetric (AES) keys.
    if spec is not KeySpec.AES_256:
        raise InvalidOperation(f"Key {key_id} is {spec}; data keys are generated under AES_256 keys")


def require_usage(usage: KeyUsage, wanted: KeyUsage, key_id: str, action: str) -> None:
    # Huawei Cloud DEW, Creating a Custom Key, "Usage": a key serves the one usage it was created for.
    if usage is not wanted:
        raise InvalidOperation(f"Key {key_id} has key usage {usage}; {action} needs a {wanted} key")


def has_public_key(spec: KeySpec, key_id: str) -> None:
    if spec not in ASYMMETRIC_SPECS:
        raise InvalidOperation(f"Key {key_id} is {spec}; only asymmetric keys have a public key")


def importable(origin: Origin, key_id: str) -> None:
    # Huawei Cloud DEW, Creating a Custom Key: key material is imported only into keys created for external material.
    if origin is not Origin.EXTERNAL:
        raise InvalidOperation(f"Key {key_id} has CloudKMS material; only External keys import key material")


def wrapping(spec: str, algorithm: str) -> str:
    """The wrapping key spec and algorithm that GetParametersForImport offers; answers the algorithm."""
    if spec not in WRAPPING_KEY_SPECS:
        allowed = " or ".join(WRAPPING_KEY_SPECS)
        raise InvalidParameter(f"The request parameter WrappingKeySpec is invalid: use {allowed}")
    if algorithm not in WRAPPING_ALGORITHMS:
        raise InvalidParameter(
            f"The request parameter WrappingAlgorithm is invalid: use {' or '.join(WRAPPING_ALGORITHMS)}"
        )
    return algorithm


def initial_state(origin: Origin) -> KeyState:
    # Huawei Cloud DEW, Creating a Custom Key: "By default, a key with KMS-generated key materials is in the Enabled
    # state"; a key for external material waits for it in PendingImport.
    return KeyState.ENABLE if origin is Origin.KMS else KeyState.PENDING_IMPORT


def import_token(issued: tuple[str, float] | None, given: str, now: float) -> None:
    """ImportKeyMaterial needs the token of the key's latest GetParametersForImport (`issued`: the token
    and its end of validity), unexpired."""
    import hmac  # here only: its import loads OpenSSL's hashlib, which no other start needs

    if issued is None or not hmac.compare_digest(issued[0].encode(), given.encode()):
        raise InvalidParameter(
            "The request parameter ImportToken is invalid: get fresh parameters with GetParametersForImport"
        )
    if issued[1] < now:
        raise InvalidParameter("The request parameter ImportToken is invalid: the import parameters expired")


def material_length(spec: KeySpec, size: int, field: str = "EncryptedKeyMaterial") -> None:
    """Imported material is raw bytes of exactly the spec's length."""
    want = EXTERNAL_MATERIAL_BYTES[spec]
    if size != want:
        raise InvalidParameter(
            f"The request parameter {field} is invalid: {spec} material is {want} bytes, got {size}"
        )


# --- Multi-region keys -------------------------------------------------------------------------
def replicable(is_replica: bool, key_id: str) -> None:
    # Huawei Cloud DEW, Creating a Replica Key: "A replica key can be created only for a custom key." - never of a
    # replica.
    if is_replica:
        raise InvalidOperation(
            f"Key {key_id} is a replica key; only a custom key that is not a replica can be replicated"
        )


def one_replica_per_region(primary_id: str, replica_region: str, replicas: Iterable[tuple[str, str]]) -> None:
    """`replicas` are the primary's live replicas as (key id, region).
    Huawei Cloud DEW, Creating a Replica Key: "only one replica key can be created for a master key in each region"."""
    for key_id, region in replicas:
        if region == replica_region:
            raise Conflict(
                f"The replica key resource {key_id} of key {primary_id} in {replica_region} is conflict: a "
                "primary key has one replica a region"
            )


def replicas_deleted_first(primary_id: str, waiting: Iterable[tuple[str, str]]) -> None:
    """`waiting` are the primary's replicas (key id, region) not yet scheduled for deletion.
    Huawei Cloud DEW, Creating a Custom Key: "To delete a master key with replica key created, delete the replica key
    first."
    """
    names = ", ".join(f"{key_id} ({region})" for key_id, region in waiting)
    if names:
        raise InvalidOperation(
            f"Key {primary_id} is a primary key with replica keys not yet scheduled for deletion: {names}; "
            "schedule the deletion of the replica keys first"
        )


def state_after_cancel(has_material: bool) -> KeyState:
    # Huawei Cloud DEW, Creating a Custom Key: "After the cancellation, the key is in Disabled status." A key whose
    # material was never imported goes back to waiting for it.
    return KeyState.DISABLE if has_material else KeyState.PENDING_IMPORT


def alias_retarget(alias: str, old_usage: KeyUsage | None, key_id: str, usage: KeyUsage) -> None:
    """An alias moves only between keys of one usage: a caller encrypting through it must not find
    itself signing."""
    if old_usage is not None and old_usage is not usage:
        raise InvalidOperation(
            f"Alias {alias} points at a {old_usage} key; it cannot move to key {key_id} of usage {usage}"
        )


def data_key_bytes(value: int | None, field: str = "NumberOfBytes") -> int:
    if value is None:
        return 32
    if isinstance(value, bool) or not DATA_KEY_BYTES_MIN <= value <= DATA_KEY_BYTES_MAX:
        raise InvalidParameter(f"{field} must be {DATA_KEY_BYTES_MIN}..{DATA_KEY_BYTES_MAX}")
    return value


# --- The key state machine ---------------------------------------------------------------------
# What each state allows. Huawei Cloud DEW, Creating a Custom Key: only enabled keys encrypt or decrypt; only Enable,
# Disable or PendingImport keys can be scheduled for deletion; cancelling leaves Disable; external keys start
# PendingImport. Huawei Cloud DEW, Creating a Replica Key: a replica is usable once replication completes (Creating
# before).
class Op(StrEnum):
    DESCRIBE = "describe"
    CRYPTO = "crypto"
    ENABLE = "enable"
    DISABLE = "disable"
    UPDATE = "update"
    TAG = "tag"
    ROTATE = "rotate"
    REPLICATE = "replicate"
    ALIAS = "alias"
    SCHEDULE_DELETION = "schedule-deletion"
    CANCEL_DELETION = "cancel-deletion"
    IMPORT = "import"


_ALLOWED: dict[KeyState, frozenset[Op]] = {
    KeyState.ENABLE: frozenset(Op) - {Op.CANCEL_DELETION, Op.IMPORT},
    KeyState.DISABLE: frozenset({Op.DESCRIBE, Op.ENABLE, Op.DISABLE, Op.UPDATE, Op.ALIAS, Op.SCHEDULE_DELETION}),
    KeyState.PENDING_IMPORT: frozenset({Op.DESCRIBE, Op.UPDATE, Op.ALIAS, Op.SCHEDULE_DELETION, Op.IMPORT}),
    KeyState.PENDING_DELETE: frozenset({Op.DESCRIBE, Op.CANCEL_DELETION}),
    KeyState.CREATING: frozenset({Op.DESCRIBE}),
}


def require_state(state: KeyState, op: Op, key_id: str) -> None:
    if op not in _ALLOWED[state]:
        raise InvalidKeyStatus(
            f"Current key status: {state} does not allow to perform this action ({op}) on key {key_id}"
        )


def allows(state: KeyState, op: Op) -> bool:
    return op in _ALLOWED[state]


# --- Regions -----------------------------------------------------------------------------------
REGION_ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class RegionCatalog(Value):
    names: Mapping[str, str]
    replica_regions: Mapping[str, tuple[str, ...]]

    def region(self, value: str, field: str = "Region") -> str:
        if value not in self.names:
            raise InvalidParameter(f"{field} '{value}' is not a region of this service; known: {', '.join(self.names)}")
        return value

    def replica_region(self, primary: str, replica: str, field: str = "ReplicaRegion") -> str:
        # Huawei Cloud DEW, Creating a Replica Key, Table 1: a primary's replicas may only live in the regions its row
        # names.
        allowed = self.replica_regions.get(primary, ())
        if replica not in allowed:
            raise InvalidReplicaRegion(
                f"The replica region [{replica}] is not valid for a primary key in {primary}; "
                f"allowed: {', '.join(allowed) or 'none'}"
            )
        return replica


# Each cloud's own regions, beside this module (docs/emulator.md cites the source of each list).
CATALOG_FILES = {"huaweicloud": "regions.json", "volcengine": "regions-volcengine.json"}
EMULATOR_CLOUD = "huaweicloud"  # the embedded emulator's catalog unless told otherwise
CATALOG_ENV = "KMS_REGION_CATALOG"


def parse_catalog(raw: Any, source: str) -> RegionCatalog:
    """A catalog document: `{"regions": {ID: {"name": NAME, "replica_regions": [ID, ...]}}}`; every fault is
    refused naming `source` (the setting or file) and what is wrong."""
    regions = raw.get("regions") if isinstance(raw, dict) else None
    if not isinstance(regions, dict) or not regions:
        raise InvalidParameter(f'{source}: a region catalog is a JSON object {{"regions": {{REGION: {{"name": ..., '
                               '"replica_regions": [...]}}}}}} with at least one region')
    names: dict[str, str] = {}
    replicas: dict[str, tuple[str, ...]] = {}
    for rid, info in regions.items():
        if not isinstance(rid, str) or not REGION_ID_RE.match(rid):
            raise InvalidParameter(f"{source}: region id {rid!r} must be lower-case letters, digits and -")
        if not isinstance(info, dict) or not isinstance(info.get("name", rid), str):
            raise InvalidParameter(f'{source}: region {rid} must be an object with a "name" string')
        targets = info.get("replica_regions", [])
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise InvalidParameter(f'{source}: region {rid}: "replica_regions" must be a list of region ids')
        names[rid] = str(info.get("name", rid))
        replicas[rid] = tuple(targets)
    for rid, targets in replicas.items():
        for target in targets:
            if target not in names:
                raise InvalidParameter(f"{source}: region {rid} replicates to {target!r}, which is not a region "
                                       "of the catalog")
            if target == rid:
                raise InvalidParameter(f"{source}: region {rid} cannot replicate to itself")
    return RegionCatalog(names=names, replica_regions=replicas)


def load_catalog(path: str | os.PathLike[str] | None = None) -> RegionCatalog:
    """The catalog in the JSON file `path`; None: Huawei Cloud's (the embedded emulator's default)."""
    if path is None:
        return builtin_catalog(EMULATOR_CLOUD)
    return catalog_from_setting(str(path), CATALOG_ENV)


@lru_cache(maxsize=4)
def builtin_catalog(cloud: str) -> RegionCatalog:
    """The catalog that ships for `cloud` (`huaweicloud`, `volcengine`)."""
    # Beside this module; not importlib.resources, whose import (tempfile, shutil) slows every start.
    raw = json.loads(Path(__file__).with_name(CATALOG_FILES[cloud]).read_text())
    return parse_catalog(raw, CATALOG_FILES[cloud])


@lru_cache(maxsize=8)
def catalog_from_setting(value: str, setting: str) -> RegionCatalog:
    """`kms:regionCatalog` / `KMS_REGION_CATALOG`: inline JSON (it starts with `{`) or the path of a JSON file."""
    text = value.strip()
    if not text.startswith("{"):
        try:
            text = Path(text).expanduser().read_text()
        except OSError as exc:
            raise InvalidParameter(f"{setting}: cannot read the region catalog file {value!r} "
                                   f"({exc.strerror or type(exc).__name__}); give a JSON file's path or inline "
                                   "JSON") from None
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise InvalidParameter(f"{setting}: the region catalog is not JSON ({exc})") from None
    return parse_catalog(raw, setting)


def catalog(cloud: str | None = None, override: str | None = None, setting: str = CATALOG_ENV) -> RegionCatalog:
    """The region catalog in force: `override` (a stack's `kms:regionCatalog`), else `KMS_REGION_CATALOG`,
    else the catalog of `cloud` (the configured dialect; None: the embedded emulator, Huawei Cloud's)."""
    if override:
        return catalog_from_setting(override, setting)
    env = os.environ.get(CATALOG_ENV)
    if env:
        return catalog_from_setting(env, CATALOG_ENV)
    return builtin_catalog(cloud or EMULATOR_CLOUD)


def serving_catalog() -> RegionCatalog:
    """What `kmsctl serve` answers for: both clouds' regions on one port (the two lists share no id), unless
    `KMS_REGION_CATALOG` replaces them."""
    env = os.environ.get(CATALOG_ENV)
    if env:
        return catalog_from_setting(env, CATALOG_ENV)
    both = [builtin_catalog(cloud) for cloud in sorted(CATALOG_FILES)]
    return RegionCatalog(
        names={k: v for c in both for k, v in c.names.items()},
        replica_regions={k: v for c in both for k, v in c.replica_regions.items()},
    )
