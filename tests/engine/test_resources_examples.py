"""The shipped Pulumi projects, run by the engine through the Python language host: the root stack, the same
key set against `kmsctl serve` (kms:endpoint), and the external-material example."""

from __future__ import annotations

import base64
import os
import shutil
import sys
from pathlib import Path

import pytest
from engine_harness import REPO_ROOT, EngineStack, StackFactory

from provider.backend.embedded import EmbeddedBackend
from provider.client import KmsClient
from provider.config import open_backend, settings
from provider.domain.capabilities import EMULATOR, Capabilities
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, KmsctlServer

EXAMPLES = REPO_ROOT / "examples"


def on_disk(stack: EngineStack) -> str:
    return "\n".join(p.read_text(errors="replace") for p in stack.state_dir.rglob("*") if p.is_file())


def check_key_set(kms: KmsClient, keys: dict[str, dict[str, object]], can: Capabilities = EMULATOR) -> None:
    """Both primaries stand with their replicas; alias/NAME resolves in every region (a cloud with aliases);
    a ciphertext made under a primary opens in each replica region. What the cloud's answers never say (a
    primary's replicas on Huawei Cloud, the key that opened a ciphertext on Volcengine) is not asked of it."""
    for name, key in keys.items():
        region, key_id, replicas = str(key["region"]), str(key["key_id"]), key["replicas"]
        assert isinstance(replicas, dict)
        home = kms.in_region(region)
        live = home.describe_key(key_id)
        assert live.state == "Enable"
        if can.links_in_answers:
            assert live.multi_region_type == "PRIMARY"
            assert set(live.replica_regions) == set(replicas)
        if "replica_regions" in key:  # the root stack exports it: right after the one up, no refresh
            assert key["replica_regions"] == sorted(replicas)
        if can.aliases:
            assert home.describe_key(f"alias/{name}").key_id == key_id
        blob = home.encrypt(f"alias/{name}" if can.aliases else key_id, b"record", context={"app": name})
        for replica_region, replica_id in replicas.items():
            there = kms.in_region(replica_region)
            if can.aliases:
                assert there.describe_key(f"alias/{name}").key_id == replica_id
            opener, plain = there.decrypt(blob, context={"app": name})
            assert plain == b"record" and opener == (replica_id if can.decrypt_names_key else "")


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

    # On a real cloud the keys are protected (the default when kms:endpoint is set): destroy is refused, and
    # goes through once the protection is lifted on purpose.
    stack.set_config({"kms-keys-as-code:protectKeys": "true"})
    stack.up()
    with pytest.raises(Exception, match="protected"):
        stack.destroy()
    assert kms.describe_key(keys["orders"]["key_id"]).state == "Enable"
    stack.set_config({"kms-keys-as-code:protectKeys": "false"})
    stack.up()
    stack.destroy()
    assert kms.describe_key(keys["orders"]["key_id"]).state == "PendingDelete"


# Huawei Cloud names regions by project ids: opaque ones here, mapped alike by the server and the stack.
HUAWEI_PROJECTS = ",".join(
    f"{region}={index:02d}{'0' * 30}"
    for index, region in enumerate(["cn-north-4", "cn-east-3", "cn-south-1", "ap-southeast-3", "me-east-1"], 1)
)
DIALECT_CONFIG: dict[str, dict[str, str]] = {
    "volcengine": {"kms:dialect": "volcengine"},
    "huaweicloud": {"kms:dialect": "huaweicloud", "kms:projectIds": HUAWEI_PROJECTS},
}


@pytest.mark.parametrize("dialect", sorted(DIALECT_CONFIG))
def test_key_set_against_kmsctl_serve(project_stack: StackFactory, tmp_path: Path, dialect: str) -> None:
    with KmsctlServer(tmp_path / "server-state", env={"KMS_PROJECT_IDS": HUAWEI_PROJECTS}) as server:
        stack = project_stack(
            EXAMPLES / "multi-region-http",
            config={
                "kms:endpoint": server.endpoint,
                "kms:accessKey": ACCESS_KEY,
                "kms:secretKey": (SECRET_KEY, True),
                **DIALECT_CONFIG[dialect],
            },
        )
        stack.up()
        keys = stack.outputs()["keys"]
        # Checked in the same dialect, as a user of that cloud's API would see the keys.
        kms = KmsClient(open_backend(settings(config={
            "endpoint": server.endpoint, "accessKey": ACCESS_KEY, "secretKey": SECRET_KEY,
            **{k.removeprefix("kms:"): v for k, v in DIALECT_CONFIG[dialect].items()},
        })), "cn-north-4" if dialect == "huaweicloud" else "cn-beijing")
        check_key_set(kms, keys, settings(config={"endpoint": server.endpoint, **{
            k.removeprefix("kms:"): v for k, v in DIALECT_CONFIG[dialect].items()}}).capabilities)
        assert not (stack.work_dir / ".kms-emulator").exists()  # nothing went to an embedded emulator
        assert SECRET_KEY not in on_disk(stack)
        assert SECRET_KEY not in server.log()
        stack.destroy()
        for key in keys.values():
            assert kms.in_region(key["region"]).describe_key(key["key_id"]).state == "PendingDelete"
            for region, replica_id in key["replicas"].items():
                assert kms.in_region(region).describe_key(replica_id).state == "PendingDelete"
            if dialect != "volcengine":  # Volcengine has no aliases
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
    # The replica shares the imported material (a replica is a copy of its primary:
    # https://support.huaweicloud.com/intl/en-us/api-dew/ReplicateKey.html).
    assert kms.in_region("cn-east-3").decrypt(blob) == (out["replica_id"], b"from our HSM")
    text = on_disk(stack)
    assert encoded not in text and material.hex() not in text
    assert "key_material" not in stack.state_resource("byok")["outputs"]
