"""The root stack's key set, over the wire: every call is signed and sent to `kms:endpoint`.

Stack config (contract section 3): `kms:endpoint`, `kms:accessKey`, `kms:secretKey` (set with --secret;
it is never written into the stack's state), `kms:region` for resources that name no region.
"""

from __future__ import annotations

from typing import Any

import pulumi

from provider import CustomKey, KeyAlias, KeyTags, ReplicaKey

TEAM = {"owner": "platform-security", "managed-by": "pulumi"}


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
    )
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
        KeyAlias(
            f"{name}-alias-{replica_region}",
            alias_name=f"alias/{name}",
            target_key_id=replica.key_id,
            region=replica_region,
        )
        replicas[replica_region] = replica.key_id
    return {"region": region, "key_id": primary.key_id, "trn": primary.trn, "replicas": replicas}


orders = key_set("orders", "cn-north-4", ["cn-east-3", "cn-south-1"], "Envelope key of order records", 365)
# The payments key's tags are managed apart from the key (say, by a compliance team): the CustomKey
# declares none, so it leaves them alone.
payments = key_set(
    "payments", "ap-southeast-3", ["me-east-1"], "Envelope key of payment tokens", key_tags=False
)
KeyTags(
    "payments-compliance",
    key_id=payments["key_id"],
    region="ap-southeast-3",
    tags={**TEAM, "app": "payments", "compliance": "pci-dss", "data-class": "restricted"},
)

pulumi.export("keys", {"orders": orders, "payments": payments})
