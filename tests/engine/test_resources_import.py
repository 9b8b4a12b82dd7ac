"""The engine's own import, answered by this project's dynamic-provider host (tools/engine/kms_provider_host.py).

A stock Pulumi host cannot run a Python dynamic provider's `read` for an import (pulumi/pulumi#16175: it
needs the pickled provider in the properties, and the engine sends none), so elsewhere `import_` is an
adoption done by create (test_resources.py). Here, through the real CLI and our language host, `import_` is
previewed as `= import`, and `pulumi import TYPE NAME ID` takes a key into the stack.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from engine_harness import Engine, EngineStack, StackFactory

from provider.backend.embedded import EmbeddedBackend
from provider.client import KmsClient, tags_of

PROJECT = Path(__file__).parent / "projects" / "kms_import"
TYPE = "pulumi-python:dynamic/kms:"


def changes(summary: dict[str, int] | None) -> dict[str, int]:
    return {op: n for op, n in (summary or {}).items() if n}


def lines(stack: EngineStack, *words: str) -> list[str]:
    return [line for line in stack.output if all(w in line for w in words)]


@pytest.fixture
def kms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KmsClient:
    monkeypatch.setenv("KMS_REPLICATION_DELAY", "0")
    return KmsClient(EmbeddedBackend(tmp_path / "emulator"), "cn-south-1")


def made_by_hand(kms: KmsClient) -> tuple[str, str]:
    key = kms.create_key("legacy-billing", description="made by hand", tags={"cost": "7"})
    replica = kms.replicate_key(key.key_id, "cn-east-3")
    kms.create_alias("alias/billing", key.key_id)
    return key.key_id, replica.key_id


def test_import_option_is_previewed_as_an_import_and_adopts_without_a_change(
    project_stack: StackFactory, kms: KmsClient, tmp_path: Path
) -> None:
    key_id, replica_id = made_by_hand(kms)
    stack = project_stack(
        PROJECT,
        config={
            "kms:emulatorPath": str(tmp_path / "emulator"),
            "test:import": "yes",
            "test:keyId": key_id,
            # A replica in another region than the stack's default: the id names its region.
            "test:replicaId": f"cn-east-3:{replica_id}",
            "test:alias": "alias/billing",
        },
    )
    preview = stack.preview()
    assert changes(preview.change_summary) == {"import": 3, "create": 1}  # 1: the stack itself
    assert lines(stack, "= ", f"{TYPE}CustomKey billing import")
    assert lines(stack, "= ", f"{TYPE}ReplicaKey billing-east import")
    assert lines(stack, "= ", f"{TYPE}KeyAlias billing-alias import")
    stack.up()
    out = stack.outputs()
    assert out["key_id"] == key_id and out["replica_id"] == replica_id
    assert [k.key_id for k in kms.list_keys()] == [key_id]  # nothing new was created
    assert [k.key_id for k in kms.in_region("cn-east-3").list_keys()] == [replica_id]
    assert stack.state_resource("billing")["id"] == key_id
    assert changes(stack.preview().change_summary) == {"same": 4}
    stack.destroy()
    assert kms.describe_key(key_id).state == "PendingDelete"


def pulumi_import(engine: Engine, stack: EngineStack, type_: str, name: str, id_: str) -> str:
    run = subprocess.run(
        [
            str(engine.bin_dir / "pulumi"),
            "import",
            f"{TYPE}{type_}",
            name,
            id_,
            "--yes",
            "--stack",
            stack.name,
            "--generate-code=false",
            "--non-interactive",
        ],
        cwd=stack.work_dir,
        env={**engine.env(stack.state_dir), "PULUMI_HOME": str(stack.work_dir.parent / "pulumi-home")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_pulumi_import_on_the_command_line_adopts_a_key_with_no_change_after(
    project_stack: StackFactory, engine: Engine, kms: KmsClient, tmp_path: Path
) -> None:
    key_id, replica_id = made_by_hand(kms)
    stack = project_stack(PROJECT, config={"kms:emulatorPath": str(tmp_path / "emulator")})
    out = pulumi_import(engine, stack, "CustomKey", "billing", f"cn-south-1:{key_id}")
    assert "= " in out and "CustomKey billing import" in out
    pulumi_import(engine, stack, "ReplicaKey", "billing-east", f"cn-east-3:{replica_id}")
    pulumi_import(engine, stack, "KeyAlias", "billing-alias", "cn-south-1:alias/billing")
    state = {r["urn"].rsplit("::", 1)[-1]: r for r in stack.state_resources()}
    assert state["billing"]["id"] == key_id and state["billing"]["inputs"]["key_name"] == "legacy-billing"
    assert state["billing-east"]["id"] == replica_id
    assert state["billing-alias"]["outputs"]["target_key_id"] == key_id
    # The program that declares what was imported (no import_ left): nothing to do.
    stack.set_config({"test:keyId": key_id, "test:replicaId": replica_id, "test:alias": "alias/billing"})
    assert changes(stack.preview().change_summary) == {"same": 4}
    assert tags_of(kms.describe_key(key_id)) == {"cost": "7"}


def test_a_missing_key_fails_the_import_naming_it(project_stack: StackFactory, kms: KmsClient, tmp_path: Path) -> None:
    stack = project_stack(
        PROJECT,
        config={"kms:emulatorPath": str(tmp_path / "emulator"), "test:import": "yes", "test:keyId": "no-such-key"},
    )
    with pytest.raises(Exception) as info:
        stack.preview()
    # The program named the region (the key's region input), so the id the engine imports names it too.
    assert f"import of {TYPE}CustomKey cn-south-1:no-such-key: no such key or alias" in str(info.value)
    assert kms.list_keys() == []
