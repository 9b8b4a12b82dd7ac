"""A key with imported (external) key material, and its replica in a second region.

The material is a stack secret: `pulumi config set --secret keyMaterial "$(openssl rand -base64 32)"`.
The provider wraps it with the service's import parameters (RSA-OAEP-SHA256) and imports it; it is a
secret input, so the engine stores it encrypted, and it never appears in the resource's outputs. The
replica shares the imported material (Huawei Cloud DEW, Creating a Replica Key), so a ciphertext from either region
opens in the other.
"""

from __future__ import annotations

import pulumi

from provider import CustomKey, KeyAlias, ReplicaKey

config = pulumi.Config()

key = CustomKey(
    "byok",
    origin="external",
    key_material=config.require_secret("keyMaterial"),  # base64 of 32 bytes for AES_256
    description="AES-256 key with material from our own HSM",
    pending_days=7,
    tags={"material": "external"},
)
replica = ReplicaKey("byok-cn-east-3", primary_key_id=key.key_id, replica_region="cn-east-3")
KeyAlias("byok-alias", alias_name="alias/byok", target_key_id=key.key_id)

pulumi.export("key_id", key.key_id)
pulumi.export("key_state", key.key_state)
pulumi.export("replica_id", replica.key_id)
