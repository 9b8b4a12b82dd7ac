"""Many keys at once through the engine's parallel steps, and what the stack's state holds afterwards."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pulumi
import pytest
from engine_harness import StackFactory

from provider import CustomKey, KeyAlias, ReplicaKey
from provider.backend.embedded import EmbeddedBackend
from provider.client import KmsClient

N = 20
# Where a cn-north-4 key replicates (Huawei Cloud ReplicateKey,
# https://support.huaweicloud.com/intl/en-us/api-dew/ReplicateKey.html; provider/domain/regions.json).
REPLICA_REGIONS = ("cn-east-3", "cn-south-1", "cn-southwest-2")
SECRET_KEY = "never-in-state-9c1f2e7d4b8a6f3e0d5c"
ACCESS_KEY = "AKNEVERINSTATE0001"


def test_twenty_keys_with_replicas_in_parallel_and_no_secret_in_state(
    inline_stack: StackFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KMS_REPLICATION_DELAY", "0.2")
    emulator = tmp_path / "emulator"
    material = os.urandom(32)
    encoded = base64.b64encode(material).decode()

    def program() -> None:
        for i in range(N):
            key = CustomKey(f"key-{i:02d}", description=f"key {i}", tags={"n": str(i)})
            ReplicaKey(
                f"key-{i:02d}-replica",
                primary_key_id=key.key_id,
                replica_region=REPLICA_REGIONS[i % len(REPLICA_REGIONS)],
            )
        byok = CustomKey("byok", origin="external", key_material=encoded)
        KeyAlias("byok-alias", alias_name="alias/byok", target_key_id=byok.key_id)
        pulumi.export("byok", byok.key_id)

    # Credentials in the stack config (unused by the embedded emulator) must not reach the state either.
    stack = inline_stack(
        program,
        config={
            "kms:emulatorPath": str(emulator),
            "kms:accessKey": ACCESS_KEY,
            "kms:secretKey": (SECRET_KEY, True),
        },
    )
    up = stack.up(parallel=32)
    assert up.summary.resource_changes == {"create": 2 * N + 3}
    text = "\n".join(stack.output)
    assert "locked" not in text.lower() and "error" not in text.lower()

    kms = KmsClient(EmbeddedBackend(emulator), "cn-north-4")
    primaries = [k for k in kms.list_keys() if k.origin == "CloudKMS"]
    assert len(primaries) == N and all(k.state == "Enable" for k in primaries)
    replicas = [k for r in REPLICA_REGIONS for k in kms.in_region(r).list_keys()]
    assert len(replicas) == N and all(k.state == "Enable" for k in replicas)
    assert all(len(k.replicas) == 1 for k in primaries)
    # The imported material works: a ciphertext opens again.
    byok = stack.outputs()["byok"]
    assert kms.decrypt(kms.encrypt(byok, b"plain-text-marker-71c3"))[1] == b"plain-text-marker-71c3"

    # On disk (what the file:// backend keeps): no credential, no material, no plaintext, in any form but
    # ciphertext. The engine itself records the stack config it hands to the dynamic-provider host in the
    # default provider's entry; a `--secret` value is only ciphertext there, as in Pulumi.<stack>.yaml.
    on_disk = "\n".join(p.read_text(errors="replace") for p in stack.state_dir.rglob("*") if p.is_file())
    assert "kms:secretKey" in on_disk  # the config did reach the engine
    for secret in (SECRET_KEY, encoded, material.hex(), "plain-text-marker-71c3"):
        assert secret not in on_disk
    # Our resources' own entries (inputs, outputs, serialized provider) hold no credential at all, even after
    # decryption (`stack export --show-secrets`), and the material only as a secret input.
    ours = json.dumps([r for r in stack.export_state()["resources"] if "dynamic/kms:" in r["type"]])
    for secret in (SECRET_KEY, ACCESS_KEY, material.hex()):
        assert secret not in ours
    byok_state = stack.state_resource("byok")
    assert "key_material" not in byok_state["outputs"]
    assert (
        byok_state["inputs"]["key_material"]["4dabf18193072939515e22adb298388d"]
        == "1b47061264138c4ac30d75fd1eb44270"
    )
    provider_blob = base64.b64decode(byok_state["outputs"]["__provider"])
    assert provider_blob.count(b"\n") < 3 and len(provider_blob) < 200  # a bare class reference

    stack.destroy(parallel=32)
    assert all(k.state == "PendingDelete" for k in kms.list_keys())
    assert all(
        k.state == "PendingDelete" for r in REPLICA_REGIONS for k in kms.in_region(r).list_keys()
    )
