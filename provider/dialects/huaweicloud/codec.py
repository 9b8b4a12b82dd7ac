"""Huawei Cloud KMS's vocabulary, both ways: key states as digits, times as millisecond strings, the
enterprise project `0`, the additional authenticated data, the key details object and the error body.

Both the server side (shaping the emulator's answers) and the client side (reading a cloud's
answers) use these, so a value means the same thing whichever way it travels.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from ...domain import errors, model, times
from ...domain.errors import InvalidParameter, KmsError
from ...domain.rules import (
    DEFAULT_ENTERPRISE_PROJECT,
    DEFAULT_KEYRING,
    KeySpec,
    KeyState,
    KeyUsage,
    MultiRegionType,
    Origin,
)

# key_state: "1" pending activation, "2" enabled, "3" disabled, "4" pending deletion, "5" pending
# import (KeyDetails). A replica that is still being made is not yet usable: pending activation.
STATE_CODES: dict[KeyState, str] = {
    KeyState.CREATING: "1",
    KeyState.ENABLE: "2",
    KeyState.DISABLE: "3",
    KeyState.PENDING_DELETE: "4",
    KeyState.PENDING_IMPORT: "5",
}
STATES_BY_CODE = {code: state for state, code in STATE_CODES.items()}
ORIGINS: dict[Origin, str] = {Origin.KMS: "kms", Origin.EXTERNAL: "external"}
ORIGINS_BY_NAME = {name: origin for origin, name in ORIGINS.items()}
# Huawei names the default enterprise project "0"; the domain calls it "default".
WIRE_DEFAULT_PROJECT = "0"
# Additional authenticated data that is not a JSON object of strings is kept as this one context entry.
AAD_ENTRY = "additional_authenticated_data"


def origin_to_wire(value: str | None) -> str | None:
    """The domain accepts CloudKMS/External and kms/external; Huawei speaks the latter."""
    if not value:
        return None
    return {"cloudkms": "kms"}.get(value.lower(), value.lower())


def enterprise_project_to_wire(value: str | None) -> str | None:
    return WIRE_DEFAULT_PROJECT if value == DEFAULT_ENTERPRISE_PROJECT else value


def enterprise_project_from_wire(value: str | None) -> str | None:
    return DEFAULT_ENTERPRISE_PROJECT if value == WIRE_DEFAULT_PROJECT else value


def millis(seconds: float | None) -> str | None:
    return None if seconds is None else str(int(seconds * 1000))


def seconds(value: Any, field: str = "time") -> float | None:
    """A time of an answer: KeyDetails' dates are millisecond strings; alias times are RFC 3339
    (`2024-04-01T00:00:00Z` in the API reference's examples). Both are read, as are epoch seconds."""
    if value in (None, ""):
        return None
    if isinstance(value, str) and value.isdigit():
        return int(value) / 1000  # Huawei's key dates are always milliseconds, whatever their size
    return times.parse(value, field)


def context_to_aad(context: Mapping[str, str] | None) -> str | None:
    """The domain's encryption context as Huawei's one string: canonical JSON of the object."""
    if not context:
        return None
    return json.dumps(dict(context), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def aad_to_context(aad: str | None) -> dict[str, str] | None:
    """The inverse of `context_to_aad`; any other string is the context `{AAD_ENTRY: aad}`."""
    if aad is None or aad == "":
        return None
    try:
        parsed = json.loads(aad)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed and all(isinstance(v, str) for v in parsed.values()):
        return parsed
    return {AAD_ENTRY: aad}


# --- key details --------------------------------------------------------------------------------
def key_details(key: model.Key, domain_id: str) -> dict[str, Any]:
    """The SDK's KeyDetails, field for field: Huawei's describe-key and list-keys carry no tags, rotation
    interval, deletion window or multi-region links (those have operations of their own, or none)."""
    return {
        "key_id": key.key_id,
        "domain_id": domain_id,
        "key_alias": key.name,
        "realm": key.region,
        "key_spec": key.spec.value,
        "key_usage": key.usage.value,
        "key_description": key.description,
        "creation_date": millis(key.created),
        "scheduled_deletion_date": millis(key.deletion_date) or "",
        "key_state": STATE_CODES[key.state],
        "default_key_flag": "0",
        "key_type": "1" if key.spec is KeySpec.AES_256 else "2",
        "expiration_time": "",
        "origin": ORIGINS[key.origin],
        "key_rotation_enabled": "true" if key.rotation_enabled else "false",
        "sys_enterprise_project_id": enterprise_project_to_wire(key.enterprise_project),
        "keystore_id": "0",
    }


def _read_linked(raw: Mapping[str, Any]) -> model.LinkedKey:
    state = raw.get("key_state")
    return model.LinkedKey(
        key_id=str(raw["key_id"]), trn=str(raw.get("key_urn") or raw["key_id"]), region=str(raw["region"]),
        state=STATES_BY_CODE.get(str(state)) if state is not None else None,
    )


def read_key(
    raw: Mapping[str, Any], tags: Mapping[str, str] | None = None, rotation: Mapping[str, Any] | None = None
) -> model.Key:
    """A KeyDetails object as the domain's Key. KeyDetails names no primary or replica (the key reads as
    single-region: the resources keep the links they know), no tags (`tags`, from list-key-tags) and no
    rotation interval (`rotation`, get-key-rotation-status's answer)."""
    rotation = rotation or {}
    try:
        multi = raw.get("multi_region_configuration") or {}
        state = STATES_BY_CODE[str(raw["key_state"])]
        deletion = seconds(raw.get("scheduled_deletion_date"), "scheduled_deletion_date")
        primary = multi.get("primary_key")
        wire_tags = raw.get("tags")
        return model.Key(
            key_id=str(raw["key_id"]),
            trn=str(raw.get("key_urn") or f"kms:{raw.get('realm', '')}:{raw.get('domain_id', '')}:key/{raw['key_id']}"),
            region=str(raw.get("realm", "")),
            keyring=DEFAULT_KEYRING,
            name=str(raw.get("key_alias", "")),
            spec=KeySpec(raw["key_spec"]),
            usage=KeyUsage(raw["key_usage"]),
            origin=ORIGINS_BY_NAME[str(raw.get("origin") or "kms")],
            state=state,
            description=str(raw.get("key_description") or ""),
            enterprise_project=enterprise_project_from_wire(str(raw.get("sys_enterprise_project_id") or "0"))
            or DEFAULT_ENTERPRISE_PROJECT,
            created=seconds(raw.get("creation_date"), "creation_date") or 0.0,
            updated=seconds(raw.get("update_date"), "update_date") or seconds(raw.get("creation_date")) or 0.0,
            tags=dict(tags) if tags is not None else {
                str(t["key"]): str(t.get("value") or "") for t in wire_tags or ()
            },
            rotation_enabled=str(raw.get("key_rotation_enabled")).lower() == "true",
            rotation_days=_whole(raw.get("rotation_interval", rotation.get("rotation_interval"))),
            last_rotation=seconds(raw.get("last_rotation_time") or rotation.get("last_rotation_time"),
                                  "last_rotation_time"),
            deletion_date=deletion if state is KeyState.PENDING_DELETE else None,
            pending_days=raw.get("pending_days"),
            multi_region_type=MultiRegionType(multi.get("multi_region_key_type") or "NONE"),
            primary=_read_linked(primary) if primary else None,
            replicas=tuple(_read_linked(r) for r in multi.get("replica_keys") or ()),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise errors.UndefinedError(f"the answer's key details are not Huawei Cloud's KeyDetails: {exc!r}") from None


def alias_entity(alias: model.Alias, domain_id: str) -> dict[str, Any]:
    # create_time / update_time: UTC in RFC 3339, as the alias examples of Huawei's API reference show
    # them ("2024-04-01T00:00:00Z", https://support.huaweicloud.com/intl/en-us/api-dew/CreateAlias.html).
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(alias.created))
    return {
        "domain_id": domain_id, "key_id": alias.key_id, "alias": alias.name, "alias_urn": alias.trn,
        "create_time": created, "update_time": created,
    }


def read_alias(raw: Mapping[str, Any], region: str) -> model.Alias:
    try:
        return model.Alias(
            name=str(raw["alias"]), key_id=str(raw["key_id"]), region=region, trn=str(raw.get("alias_urn") or ""),
            created=seconds(raw.get("create_time"), "create_time") or 0.0,
        )
    except (KeyError, TypeError) as exc:
        raise errors.UndefinedError(f"the answer's alias is not Huawei Cloud's alias object: {exc!r}") from None


def _whole(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


# --- errors ---------------------------------------------------------------------------------------
class HuaweiInvalid(InvalidParameter):
    """An InvalidParameter that Huawei's table gives a more precise code (bad JSON, missing field ...)."""

    huawei_code: ClassVar[str] = "KMS.0308"


class BadJson(HuaweiInvalid):
    huawei_code = "KMS.0202"


class MissingParameter(HuaweiInvalid):
    huawei_code = "KMS.0204"


class BadUrl(HuaweiInvalid):
    huawei_code = "KMS.0201"


class NoSuchApi(errors.NotFound):
    """What Huawei Cloud's API gateway answers for a method and path it has no API for: 404 APIGW.0101,
    "The API does not exist or has not been published in the environment" (API Gateway error codes,
    https://support.huaweicloud.com/intl/en-us/devg-apig/apig-err-0001.html)."""

    huawei_code: ClassVar[str] = "APIGW.0101"
    MESSAGE: ClassVar[str] = "The API does not exist or has not been published in the environment"

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


# Huawei's documented codes where one fits; "ours" where its table has none (docs/dialect-huaweicloud.md).
ERROR_CODES: dict[type[KmsError], tuple[int, str]] = {
    errors.InvalidParameter: (400, "KMS.0308"),
    errors.InvalidOperation: (400, "KMS.0311"),
    errors.InvalidReplicaRegion: (400, "KMS.0312"),
    errors.InvalidKeyStatus: (400, "KMS.0209"),
    errors.Throttled: (429, "APIGW.0308"),
    errors.AccessDenied: (403, "KMS.0306"),
    errors.ServiceNotOpen: (403, "KMS.0313"),
    errors.QuotaExceeded: (400, "KMS.1105"),
    errors.NotFound: (404, "KMS.0207"),
    errors.Conflict: (400, "KMS.1104"),
    errors.UndefinedError: (500, "KMS.0101"),
}
ERRORS_BY_HUAWEI_CODE: dict[str, type[KmsError]] = {code: cls for cls, (_, code) in ERROR_CODES.items()}
ERRORS_BY_HUAWEI_CODE.update({
    "KMS.0201": errors.InvalidParameter, "KMS.0202": errors.InvalidParameter, "KMS.0203": errors.InvalidParameter,
    "KMS.0204": errors.InvalidParameter, "KMS.0205": errors.InvalidParameter, "KMS.0210": errors.InvalidKeyStatus,
    "KMS.0307": errors.AccessDenied, "APIGW.0301": errors.AccessDenied, "APIGW.0101": errors.NotFound,
    "KMS.0409": errors.QuotaExceeded,
})


def error_status_code(error: KmsError) -> tuple[int, str]:
    code = getattr(error, "huawei_code", None)
    for cls in type(error).__mro__:
        if cls in ERROR_CODES:
            status, default = ERROR_CODES[cls]
            if error.status in (401, 413):  # the gateway's refusals keep their status
                return error.status, code or ("KMS.0203" if error.status == 413 else default)
            return status, code or default
    return 500, "KMS.0101"


def error_body(code: str, message: str) -> bytes:
    """KMS's own error body nests the code under `error`; the API gateway's refusals (APIGW.xxxx) are flat
    `{"error_code", "error_msg"}` objects, as its error code page shows them."""
    if code.startswith("APIGW."):
        return json.dumps({"error_code": code, "error_msg": message}).encode()
    return json.dumps({"error": {"error_code": code, "error_msg": message}}).encode()


def read_error(status: int, body: bytes) -> KmsError:
    """A Huawei error answer as the domain's typed error (by code; by status when the code is unknown)."""
    code, message = "", body.decode("utf-8", "replace")[:500]
    try:
        raw = json.loads(body)
        found = raw.get("error", raw) if isinstance(raw, dict) else {}
        code = str(found.get("error_code") or found.get("code") or "")
        message = str(found.get("error_msg") or found.get("message") or message)
    except ValueError:
        pass
    cls = ERRORS_BY_HUAWEI_CODE.get(code)
    if cls is None:
        cls = {401: errors.AccessDenied, 403: errors.AccessDenied, 404: errors.NotFound, 429: errors.Throttled}.get(
            status, errors.InvalidParameter if 400 <= status < 500 else errors.UndefinedError
        )
    return cls(message)
