"""The root stack's key set, over the wire: every call is signed and sent to `kms:endpoint`.

Stack config: `kms:endpoint`, `kms:accessKey`, `kms:secretKey` (set with --secret; it is never written into
the stack's state), `kms:dialect` (the cloud's API), `kms:region` for resources that name no region.

Each cloud in its own regions and with what it has: Huawei Cloud's regions and an alias per region;
Volcengine's regions, no aliases (its API has none), primaries created multi-region (it replicates only
those).
"""

from __future__ import annotations

from typing import Any

import pulumi

from provider import CustomKey, KeyAlias, KeyTags, ReplicaKey

TEAM = {"owner": "platform-security", "managed-by": "pulumi"}
VOLCENGINE = (pulumi.Config("kms").get("dialect") or "volcengine") == "volcengine"  # an endpoint's default


def key_set(
    name: str, region: str, replica_regions: list[str], description: str, rotation_days: int | None = None,
    key_tags: bool = True
) -> dict[str, Any]:
    primary = CustomKey(
        name,
        region=region,
        description=description,
        rotation_enabled=rotation_days is not None,
        rotation_interval_days=rotation_days,
        tags={**TEAM, "app": name} if key_tags else None,
        multi_region=True,
    )
    if not VOLCENGINE:
        KeyAlias(
            f"{name}-alias-{region}", alias_name=f"alias/{name}", target_key_id=primary.key_id, region=region
        )
    replicas: dict[str, pulumi.Output[str]] = {}
    for replica_region in replica_regions:
        replica = ReplicaKey(
            f"{name}-{replica_region}",
            primary_key_id=primary.key_id,
            primary_region=region,
            replica_region=replica_region,
            tags={**TEAM, "app": name, "replica-of": region},
        )
        if not VOLCENGINE:
            KeyAlias(
                f"{name}-alias-{replica_region}",
                alias_name=f"alias/{name}",
                target_key_id=replica.key_id,
                region=replica_region,
            )
        replicas[replica_region] = replica.key_id
    return {"region": region, "key_id": primary.key_id, "trn": primary.trn, "replicas": replicas}


ORDERS, PAYMENTS = (
    (("cn-beijing", ["cn-shanghai", "cn-guangzhou"]), ("cn-hongkong", ["ap-southeast-1"])) if VOLCENGINE
    else (("cn-north-4", ["cn-east-3", "cn-south-1"]), ("ap-southeast-3", ["me-east-1"]))
)
orders = key_set("orders", *ORDERS, "Envelope key of order records", 365)
# The payments key's tags are managed apart from the key (say, by a compliance team): the CustomKey
# declares none, so it leaves them alone.
payments = key_set("payments", *PAYMENTS, "Envelope key of payment tokens", key_tags=False)
KeyTags(
    "payments-compliance",
    key_id=payments["key_id"],
    region=PAYMENTS[0],
    tags={**TEAM, "app": "payments", "compliance": "pci-dss", "data-class": "restricted"},
)

pulumi.export("keys", {"orders": orders, "payments": payments})
