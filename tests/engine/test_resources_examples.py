"""The shipped Pulumi projects, run by the engine through the Python language host: the root stack, the same
key set against `kmsctl serve` (kms:endpoint), and the external-material example."""

from __future__ import annotations

import base64
import os
import shutil
import sys
from pathlib import Path

from engine_harness import REPO_ROOT, EngineStack, StackFactory

from provider.backend.embedded import EmbeddedBackend
from provider.client import KmsClient
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, KmsctlServer

EXAMPLES = REPO_ROOT / "examples"


def on_disk(stack: EngineStack) -> str:
    return "\n".join(p.read_text(errors="replace") for p in stack.state_dir.rglob("*") if p.is_file())


def check_key_set(kms: KmsClient, keys: dict[str, dict[str, object]]) -> None:
    """Both primaries stand with their replicas; alias/NAME resolves in every region; a ciphertext made
    under a primary opens in each replica region."""
    for name, key in keys.items():
        region, key_id, replicas = str(key["region"]), str(key["key_id"]), key["replicas"]
        assert isinstance(replicas, dict)
        home = kms.in_region(region)
        live = home.describe_key(key_id)
        assert (
            live.state == "Enable"
            and live.multi_region_type == "PRIMARY"
        )
        assert set(live.replica_regions) == set(replicas)
        assert home.describe_key(f"alias/{name}").key_id == key_id
        blob = home.encrypt(f"alias/{name}", b"record", context={"app": name})
        for replica_region, replica_id in replicas.items():
            there = kms.in_region(replica_region)
            assert there.describe_key(f"alias/{name}").key_id == replica_id
            assert there.decrypt(blob, context={"app": name}) == (replica_id, b"record")


def test_root_stack_program(project_stack: StackFactory, tmp_path: Path) -> None:
    # The root Pulumi.yaml as shipped (its `virtualenv: .venv`), beside the interpreter running these tests.
    project = tmp_path / "root-project"
    project.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPO_ROOT / name, project / name)
    (project / ".venv").symlink_to(sys.prefix)
    # No kms:emulatorPath: the provider host finds the default, `.kms-emulator/` beside the Pulumi.yaml.
    stack = project_stack(project, copy=False)
    up = stack.up()
    emulator = project / ".kms-emulator"
    assert (emulator / "kms.sqlite3").is_file()
    assert up.summary.resource_changes == {"create": 12}  # the stack and 11 resources
    keys = stack.outputs()["keys"]
    assert keys["orders"]["region"] == "cn-north-4" and set(keys["orders"]["replicas"]) == {
        "cn-east-3",
        "cn-south-1",
    }
    assert keys["payments"]["region"] == "ap-southeast-3" and set(keys["payments"]["replicas"]) == {
        "me-east-1"
    }
    kms = KmsClient(EmbeddedBackend(emulator), "cn-north-4")
    check_key_set(kms, keys)
    tags = kms.in_region("ap-southeast-3").describe_key("alias/payments").tags
    assert tags["compliance"] == "pci-dss" and tags["app"] == "payments"
    assert stack.preview().change_summary == {"same": 12}


def test_key_set_against_kmsctl_serve(project_stack: StackFactory, tmp_path: Path) -> None:
    with KmsctlServer(tmp_path / "server-state") as server:
        stack = project_stack(
            EXAMPLES / "multi-region-http",
            config={
                "kms:endpoint": server.endpoint,
                "kms:accessKey": ACCESS_KEY,
                "kms:secretKey": (SECRET_KEY, True),
                "kms:region": "cn-north-4",
            },
        )
        stack.up()
        keys = stack.outputs()["keys"]
        kms = KmsClient(server.backend(), "cn-north-4")
        check_key_set(kms, keys)
        assert not (stack.work_dir / ".kms-emulator").exists()  # nothing went to an embedded emulator
        assert SECRET_KEY not in on_disk(stack)
        assert SECRET_KEY not in server.log()
        stack.destroy()
        for key in keys.values():
            assert kms.in_region(key["region"]).describe_key(key["key_id"]).state == "PendingDelete"
            for region, replica_id in key["replicas"].items():
                assert kms.in_region(region).describe_key(replica_id).state == "PendingDelete"
            assert kms.in_region(key["region"]).list_aliases() == []


def test_external_key_example(project_stack: StackFactory, tmp_path: Path) -> None:
    material = os.urandom(32)
    encoded = base64.b64encode(material).decode()
    emulator = tmp_path / "emulator"
    stack = project_stack(
        EXAMPLES / "external-key",
        config={"kms:emulatorPath": str(emulator), "kms-external-key:keyMaterial": (encoded, True)},
    )
    stack.up()
    out = stack.outputs()
    assert out["key_state"] == "Enable"
    kms = KmsClient(EmbeddedBackend(emulator), "cn-north-4")
    blob = kms.encrypt("alias/byok", b"from our HSM")
    # The replica shares the imported material (seed 000).
    assert kms.in_region("cn-east-3").decrypt(blob) == (out["replica_id"], b"from our HSM")
    text = on_disk(stack)
    assert encoded not in text and material.hex() not in text
    assert "key_material" not in stack.state_resource("byok")["outputs"]
