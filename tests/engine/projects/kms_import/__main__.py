"""Declares what the test's stack config names: a key, its replica and an alias, each optionally imported.

Config (namespace `test`): `keyId`, `replicaId`, `alias` (the ids of things made outside the stack), and
`import` ("yes": declare them with ResourceOptions(import_=...); otherwise plainly, as after `pulumi import`);
`multiRegion` ("true": the key was made multi-region, as Volcengine replicates only such keys).
"""

from __future__ import annotations

import pulumi

from provider import CustomKey, KeyAlias, ReplicaKey

cfg = pulumi.Config("test")
importing = cfg.get("import") == "yes"


def adopt(ref: str | None) -> pulumi.ResourceOptions | None:
    return pulumi.ResourceOptions(import_=ref, protect=False) if importing and ref else None


key = CustomKey(
    "billing",
    region="cn-south-1",
    key_name="legacy-billing",
    description="made by hand",
    tags={"cost": "7"},
    multi_region=cfg.get_bool("multiRegion"),
    opts=adopt(cfg.get("keyId")),
)
pulumi.export("key_id", key.key_id)
if cfg.get("replicaId"):
    replica = ReplicaKey(
        "billing-east",
        primary_key_id=key.key_id,
        primary_region="cn-south-1",
        replica_region="cn-east-3",
        opts=adopt(cfg.get("replicaId")),
    )
    pulumi.export("replica_id", replica.key_id)
if cfg.get("alias"):
    alias = KeyAlias(
        "billing-alias",
        alias_name="alias/billing",
        target_key_id=key.key_id,
        region="cn-south-1",
        opts=adopt(cfg.get("alias")),
    )
    pulumi.export("alias_trn", alias.trn)
