"""Keys, replicas, an alias and tags: enough creates that a kill lands in the middle of them.

Config (namespace `test`): `keys` (how many CustomKeys, default 6; the first two get a replica each),
`aliases` ("no" where the cloud has none: Volcengine), `replicaRegion` (default cn-east-3),
`multiRegion` ("yes": the replicated keys are created multi-region).
The region is the stack's `kms:region`.
"""

from __future__ import annotations

import pulumi

from provider import CustomKey, KeyAlias, KeyTags, ReplicaKey

cfg = pulumi.Config("test")
count = cfg.get_int("keys") or 6
replica_region = cfg.get("replicaRegion") or "cn-east-3"
keys = []
for i in range(count):
    keys.append(
        CustomKey(
            f"k{i}",
            description=f"key {i}",
            # One key with the name the program gives (not an autoname), one with tags of its own.
            key_name=f"fixed-{pulumi.get_stack()}" if i == 1 else None,
            tags={"team": "payments", "n": str(i)} if i == 2 else None,
            # The replicated keys: where the cloud replicates only keys created multi-region (Volcengine).
            multi_region=True if i < 2 and cfg.get("multiRegion") == "yes" else None,
        )
    )
replicas = [
    ReplicaKey(f"k{i}-replica", primary_key_id=keys[i].key_id, replica_region=replica_region)
    for i in range(min(2, count))
]
if cfg.get("aliases") != "no":
    KeyAlias("k0-alias", alias_name="alias/k0", target_key_id=keys[0].key_id)
KeyTags("k3-tags", key_id=keys[min(3, count - 1)].key_id, tags={"cost": "42"})
pulumi.export("keys", [k.key_id for k in keys])
pulumi.export("replicas", [r.key_id for r in replicas])
