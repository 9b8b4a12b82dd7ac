"""The root stack: a realistic multi-region key set (contract section 1, seed 000's replica matrix).

- `orders`: an AES-256 key in CN North-Beijing4 (cn-north-4) with yearly rotation, replicated to
  CN East-Shanghai1 (cn-east-3) and CN South-Guangzhou (cn-south-1); `alias/orders` names it in all
  three regions, so applications everywhere encrypt with the same alias.
- `payments`: an AES-256 key in AP-Singapore (ap-southeast-3) replicated to ME-Riyadh (me-east-1), the
  one replica region seed 000 allows for Singapore; `alias/payments` in both; its tags managed
  apart from the key by a KeyTags resource.

Runs on the embedded emulator (state in `.kms-emulator/` beside this file) unless `kms:endpoint` is set.
`make demo` applies it and decrypts in one region what was encrypted in another.

Keys are `protect`ed on a real cloud (`kms:endpoint` set) and not on the emulator, unless the stack config
`protectKeys` says otherwise: a destroyed or replaced key takes every ciphertext made under it with it once
its waiting period ends, so on a real cloud `pulumi destroy` and any replacement of a key must first be
allowed on purpose (`pulumi config set protectKeys false`, `pulumi up`). `retainKeys` (default false) sets
`retain_on_delete`: a key removed from the program or destroyed with the stack is only dropped from the
state, left live in the cloud (say, when another stack takes it over with `import_`).
"""

from __future__ import annotations

from typing import Any

import pulumi

from provider import CustomKey, KeyAlias, KeyTags, ReplicaKey

TEAM = {"owner": "platform-security", "managed-by": "pulumi"}
_stack_config = pulumi.Config()
KEYS = pulumi.ResourceOptions(
    protect=_stack_config.get_bool("protectKeys", bool(pulumi.Config("kms").get("endpoint"))),
    retain_on_delete=_stack_config.get_bool("retainKeys", False),
)


def key_set(
    name: str, region: str, replica_regions: list[str], description: str, rotation_days: int | None = None,
    key_tags: bool = True
) -> dict[str, Any]:
    """A primary key, its replicas, and one alias per region pointing at the key of that region."""
    primary = CustomKey(
        name,
        region=region,
        description=description,
        rotation_enabled=rotation_days is not None,
        rotation_interval_days=rotation_days,
        pending_days=30,
        tags={**TEAM, "app": name} if key_tags else None,
        opts=KEYS,
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
            opts=KEYS,
        )
        KeyAlias(
            f"{name}-alias-{replica_region}",
            alias_name=f"alias/{name}",
            target_key_id=replica.key_id,
            region=replica_region,
        )
        replicas[replica_region] = replica.key_id
    return {
        "region": region,
        "key_id": primary.key_id,
        "key_name": primary.key_name,
        "trn": primary.trn,
        "replicas": replicas,
        "replica_regions": primary.replica_regions,
    }


orders = key_set(
    "orders", "cn-north-4", ["cn-east-3", "cn-south-1"], "Envelope key of order records", rotation_days=365
)
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
