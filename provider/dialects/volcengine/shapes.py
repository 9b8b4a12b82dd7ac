"""The domain's objects as Volcengine's JSON and back: one function each way per object.

The server shapes with `*_doc`; the client reads the same documents with `key_from` etc., so the two
sides cannot drift apart. Times: `CreationDate` is POSIX seconds and `UpdateDate` milliseconds (the
example of Volcengine's ReplicateKey reference, https://www.volcengine.com/docs/6476/1438471); the `*Time`
fields are RFC 3339 strings in Volcengine's own form (milliseconds, +08:00).
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from typing import Any

from ...domain import model, rules, times
from ...domain.errors import UndefinedError
from .wire import SPEC_FROM_WIRE, SPEC_TO_WIRE

DAY = 86400
VOLCENGINE_ZONE = timezone(timedelta(hours=8), "CST")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(value: Any, field: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except ValueError:
        raise UndefinedError(f"the answer's {field} is not base64") from None


def rfc3339(when: float | None) -> str | None:
    """A time as Volcengine writes it: RFC 3339 in China Standard Time with milliseconds, as the example of
    its DescribeKey reference shows (`2022-01-21T10:31:47.264+08:00`)."""
    return None if when is None else datetime.fromtimestamp(when, VOLCENGINE_ZONE).isoformat(timespec="milliseconds")


def from_rfc3339(value: Any, field: str = "time") -> float | None:
    """RFC 3339 with or without fractions and with `Z` or an offset (Volcengine's DescribeKey page shows
    `2022-01-21T10:31:47.264+08:00`), or an epoch number."""
    return times.parse(value, field)


def wire_spec(spec: str) -> str:
    return SPEC_TO_WIRE.get(spec, spec)


def domain_spec(spec: str) -> str:
    return SPEC_FROM_WIRE.get(spec, spec)


def tags_doc(tags: model.Tags) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _link(link: model.LinkedKey) -> dict[str, str]:
    # Volcengine names either end of a multi-region link by TRN and region only (PrimaryKey/ReplicaKey).
    return {"Trn": link.trn, "Region": link.region}


def key_doc(key: model.Key) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "ID": key.key_id,
        "Trn": key.trn,
        "KeyName": key.name,
        "KeySpec": wire_spec(key.spec.value),
        "KeyUsage": key.usage.value,
        "KeyState": key.state.value,
        "Description": key.description,
        "Origin": key.origin.value,
        "ProtectionLevel": key.protection_level,
        "CreationDate": int(key.created),
        "UpdateDate": int(key.updated * 1000),
        "RotationState": "Enable" if key.rotation_enabled else "Disable",
        "MultiRegion": key.multi_region_type is not rules.MultiRegionType.NONE,
        "Tags": tags_doc(key.tags),
    }
    if key.last_rotation is not None:
        doc["LastRotationTime"] = rfc3339(key.last_rotation)
    if key.rotation_enabled and key.rotation_days and key.last_rotation is not None:
        doc["ScheduleRotationTime"] = rfc3339(key.last_rotation + key.rotation_days * DAY)
    if key.deletion_date is not None:
        doc["ScheduleDeleteTime"] = rfc3339(key.deletion_date)
    if key.multi_region_type is not rules.MultiRegionType.NONE:
        doc["MultiRegionConfiguration"] = {
            "MultiRegionKeyType": key.multi_region_type.value,
            "PrimaryKey": _link(key.primary) if key.primary else None,
            "ReplicaKeys": [_link(r) for r in key.replicas],
        }
    return doc


def trn_parts(trn: str) -> tuple[str, str, str, str]:
    """(region, account, keyring, name) of `trn:kms:{region}:{account}:keyrings/{keyring}/keys/{name}`."""
    parts = trn.split(":", 4)
    if len(parts) == 5 and parts[4].startswith("keyrings/"):
        _, _, region, account, resource = parts
        segments = resource.split("/", 3)
        if len(segments) == 4 and segments[2] == "keys":
            return region, account, segments[1], segments[3]
        if len(segments) == 2:
            return region, account, segments[1], ""
    raise UndefinedError(f"the answer's Trn {trn[:120]!r} is not a key's TRN")


def _linked(doc: Any, own_id: str, own_trn: str) -> model.LinkedKey | None:
    if not isinstance(doc, dict) or not doc.get("Trn"):
        return None
    trn = str(doc["Trn"])
    # Volcengine names the other end by TRN only (ours adds its id and state); a TRN is a key id
    # everywhere this project takes one.
    key_id = own_id if trn == own_trn else str(doc.get("KeyID") or trn)
    state = rules.KeyState(doc["KeyState"]) if doc.get("KeyState") else None
    return model.LinkedKey(key_id=key_id, trn=trn, region=str(doc.get("Region") or ""), state=state)


def key_from(doc: Any) -> model.Key:
    if not isinstance(doc, dict):
        raise UndefinedError("the answer has no key object")
    try:
        key_id, trn = str(doc["ID"]), str(doc["Trn"])
        region, _, keyring, name = trn_parts(trn)
        # CreationDate in seconds and UpdateDate in milliseconds (the ReplicateKey reference page's
        # example); either is read as both.
        created = times.parse(doc.get("CreationDate"), "CreationDate") or 0.0
        updated = times.parse(doc.get("UpdateDate"), "UpdateDate") or created
        last = from_rfc3339(doc.get("LastRotationTime"), "LastRotationTime")
        scheduled = from_rfc3339(doc.get("ScheduleRotationTime"), "ScheduleRotationTime")
        deletion = from_rfc3339(doc.get("ScheduleDeleteTime"), "ScheduleDeleteTime")
        multi = doc.get("MultiRegionConfiguration") or {}
        # A key created MultiRegion answers so before it has replicas: a primary.
        multi_type = multi.get("MultiRegionKeyType") or ("PRIMARY" if doc.get("MultiRegion") is True else "NONE")
        state = rules.KeyState(doc["KeyState"])
        return model.Key(
            key_id=key_id,
            trn=trn,
            region=region,
            keyring=keyring,
            name=str(doc.get("KeyName") or name),
            spec=rules.KeySpec(domain_spec(str(doc["KeySpec"]))),
            usage=rules.KeyUsage(doc["KeyUsage"]),
            origin=rules.Origin(doc.get("Origin") or rules.Origin.KMS.value),
            state=state,
            description=str(doc.get("Description") or ""),
            enterprise_project=rules.DEFAULT_ENTERPRISE_PROJECT,
            created=created,
            updated=updated,
            tags={str(t["Key"]): str(t.get("Value") or "") for t in doc.get("Tags") or []},
            rotation_enabled=doc.get("RotationState") == "Enable",
            rotation_days=round((scheduled - last) / DAY) if scheduled is not None and last is not None else None,
            last_rotation=last,
            deletion_date=deletion,
            pending_days=(round((deletion - updated) / DAY)
                          if deletion is not None and state is rules.KeyState.PENDING_DELETE else None),
            multi_region_type=rules.MultiRegionType(multi_type),
            primary=_linked(multi.get("PrimaryKey"), key_id, trn),
            replicas=tuple(r for r in (_linked(d, key_id, trn) for d in multi.get("ReplicaKeys") or []) if r),
            protection_level=str(doc.get("ProtectionLevel") or "SOFTWARE"),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise UndefinedError(f"the answer's key object is not Volcengine's ({type(exc).__name__}: {exc})"[:300]) \
            from None


def keyring_doc(ring: model.Keyring, *, with_count: bool = False) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "ID": ring.keyring_id,
        "KeyringName": ring.name,
        "KeyringType": "CustomKeyring",
        "Description": ring.description,
        "UID": ring.trn.split(":")[3] if ring.trn.count(":") >= 4 else "",
        "TRN": ring.trn,  # spelled so in the SDK's keyring models (a key's is `Trn`)
        "CreationDate": int(ring.created),
        "UpdateDate": int(ring.updated),
    }
    if with_count:
        doc["KeyCount"] = ring.key_count
    return doc


def keyring_from(doc: Any) -> model.Keyring:
    if not isinstance(doc, dict):
        raise UndefinedError("the answer has no keyring object")
    return model.Keyring(
        name=str(doc.get("KeyringName") or ""), keyring_id=str(doc.get("ID") or ""), trn=str(doc.get("TRN") or ""),
        description=str(doc.get("Description") or ""), created=float(doc.get("CreationDate") or 0),
        updated=float(doc.get("UpdateDate") or 0), key_count=int(doc.get("KeyCount") or 0),
    )


def page_info(offset: int, limit: int, count: int, total: int) -> dict[str, int]:
    return {"CurrentPage": offset // limit + 1, "PageSize": limit, "Count": count, "TotalCount": total}


def alias_from(doc: Any) -> model.Alias:
    if not isinstance(doc, dict):
        raise UndefinedError("the answer has no alias object")
    return model.Alias(name=str(doc.get("AliasName") or ""), key_id=str(doc.get("KeyID") or ""),
                       region=str(doc.get("Region") or ""), trn=str(doc.get("Trn") or ""),
                       created=float(doc.get("CreationDate") or 0))
