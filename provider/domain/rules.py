"""The service's rules, written once.

The emulator enforces them and the Pulumi resources' `check` calls the same functions, so a bad
input fails identically before anything is created and at the service. Each rule names its seed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .errors import InvalidKeyStatus, InvalidOperation, InvalidParameter, InvalidReplicaRegion


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
    """Wire names of the key material source (seed 001: key management or external)."""

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

# Seed 001, "Usage": AES_256 encrypts; HMAC keys make MACs; RSA encrypts or signs (default sign);
# ECC only signs.
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


def key_spec(value: str, field: str = "KeySpec") -> KeySpec:
    try:
        return KeySpec(value)
    except ValueError:
        allowed = ", ".join(s.value for s in KeySpec)
        raise InvalidParameter(f"{field} '{value}' is not a key spec; allowed: {allowed}") from None


def key_usage(spec: KeySpec, value: str | None, field: str = "KeyUsage") -> KeyUsage:
    """The usage for a spec: the seed's default when omitted, refused when the pair is not allowed."""
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
    # Seed 001, "Name": digits, letters, _ - : /, up to 255 characters; never ending with /default.
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
    # Seed 003: 2-31 characters of [a-zA-Z0-9-_].
    if value is None or value == "":
        return DEFAULT_KEYRING
    if not KEYRING_RE.match(value):
        raise InvalidParameter(f"{field} '{value}' must be 2-31 characters of letters, digits, - and _")
    return value


def description(value: str | None, field: str = "Description") -> str:
    value = value or ""
    if len(value) > DESCRIPTION_MAX:
        raise InvalidParameter(f"{field} is {len(value)} characters; at most {DESCRIPTION_MAX}")
    return value


def tags(pairs: Iterable[tuple[str, str]], field: str = "Tags") -> dict[str, str]:
    """Seed 002: under one key a tag key has one value; seed 001: at most 20 tags a key."""
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
    # Seed 001: "a scheduled deletion date for the key, which ranges from 7 to 1,096 days".
    return _days(value, field, PENDING_DAYS_MIN, PENDING_DAYS_MAX, PENDING_DAYS_DEFAULT, "deletion window")


def rotation_days(value: int | None, field: str = "RotationIntervalInDays") -> int:
    return _days(value, field, ROTATION_DAYS_MIN, ROTATION_DAYS_MAX, ROTATION_DAYS_DEFAULT, "rotation interval")


def rotation_supported(spec: KeySpec, origin: Origin, replica: bool, field: str = "KeyID") -> None:
    """Seed 000: "Replica keys do not support key rotation"; only generated AES_256 material rotates."""
    if replica:
        raise InvalidOperation(f"{field}: replica keys do not support key rotation, rotate the primary key instead")
    if spec is not KeySpec.AES_256 or origin is not Origin.KMS:
        raise InvalidOperation(
            f"{field}: a {spec} key with {origin} material does not support rotation; only AES_256 keys with "
            "CloudKMS material rotate"
        )


def data_key_bytes(value: int | None, field: str = "NumberOfBytes") -> int:
    if value is None:
        return 32
    if isinstance(value, bool) or not DATA_KEY_BYTES_MIN <= value <= DATA_KEY_BYTES_MAX:
        raise InvalidParameter(f"{field} must be {DATA_KEY_BYTES_MIN}..{DATA_KEY_BYTES_MAX}")
    return value


# --- The key state machine ---------------------------------------------------------------------
# What each state allows. Seed 001: only enabled keys encrypt or decrypt; only Enable, Disable or
# PendingImport keys can be scheduled for deletion; cancelling leaves Disable; external keys start
# PendingImport. Seed 000: a replica is usable once replication completes (Creating before).
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
@dataclass(frozen=True)
class RegionCatalog:
    names: Mapping[str, str]
    replica_regions: Mapping[str, tuple[str, ...]]

    def region(self, value: str, field: str = "Region") -> str:
        if value not in self.names:
            raise InvalidParameter(f"{field} '{value}' is not a region of this service; known: {', '.join(self.names)}")
        return value

    def replica_region(self, primary: str, replica: str, field: str = "ReplicaRegion") -> str:
        # Seed 000, Table 1: a primary's replicas may only live in the regions its row names.
        allowed = self.replica_regions.get(primary, ())
        if replica not in allowed:
            raise InvalidReplicaRegion(
                f"The replica region [{replica}] is not valid for a primary key in {primary}; "
                f"allowed: {', '.join(allowed) or 'none'}"
            )
        return replica


def load_catalog(path: str | os.PathLike[str] | None = None) -> RegionCatalog:
    if path is not None:
        raw = json.loads(Path(path).read_text())
    else:
        raw = json.loads(resources.files(__package__).joinpath("regions.json").read_text())
    regions = raw["regions"]
    return RegionCatalog(
        names={rid: info["name"] for rid, info in regions.items()},
        replica_regions={rid: tuple(info["replica_regions"]) for rid, info in regions.items()},
    )


@lru_cache(maxsize=8)
def _catalog_at(path: str | None) -> RegionCatalog:
    return load_catalog(path)


def catalog() -> RegionCatalog:
    """The region catalog in force: `KMS_REGION_CATALOG` names a replacement file."""
    return _catalog_at(os.environ.get("KMS_REGION_CATALOG") or None)
