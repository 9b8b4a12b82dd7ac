"""`ResourceOptions(import_=ID)` in an inline Automation API program: no language host of ours runs such a
program (it runs in the process that drives the engine), yet where the engine starts this project's
dynamic-provider host the import is the engine's own: previewed as `= import`, taken without a change.
`KMS_ENGINE_IMPORTS=0` keeps the adoption by create (test_resources.py adopts and changes a key that way).
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pytest
from engine_harness import EngineStack, StackFactory

from provider import CustomKey, ReplicaKey
from provider.backend.embedded import EmbeddedBackend
from provider.client import KmsClient, tags_of
from provider.resources import _program

TYPE = "pulumi-python:dynamic/kms:"


def changes(summary: dict[str, int] | None) -> dict[str, int]:
    return {op: n for op, n in (summary or {}).items() if n}


def lines(stack: EngineStack, *words: str) -> list[str]:
    return [line for line in stack.output if all(w in line for w in words)]


def test_inline_import_is_the_engines_import(
    inline_stack: StackFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KMS_REPLICATION_DELAY", "0")
    monkeypatch.delenv(_program.ENGINE_IMPORTS, raising=False)
    kms = KmsClient(EmbeddedBackend(tmp_path / "emulator"), "cn-south-1")
    legacy = kms.create_key("legacy-billing", description="made by hand", tags={"cost": "7"})
    replica = kms.replicate_key(legacy.key_id, "cn-east-3")

    def program() -> None:
        key = CustomKey(
            "billing", region="cn-south-1", key_name="legacy-billing", description="made by hand",
            tags={"cost": "7"}, opts=pulumi.ResourceOptions(import_=legacy.key_id),
        )
        east = ReplicaKey(
            "billing-east", primary_key_id=key.key_id, primary_region="cn-south-1", replica_region="cn-east-3",
            opts=pulumi.ResourceOptions(import_=replica.key_id),
        )
        pulumi.export("key_id", key.key_id)
        pulumi.export("replica_id", east.key_id)

    stack = inline_stack(program, config={"kms:emulatorPath": str(tmp_path / "emulator")})
    preview = stack.preview()
    assert changes(preview.change_summary) == {"import": 2, "create": 1}, stack.output  # 1: the stack
    assert lines(stack, "= ", f"{TYPE}CustomKey billing import")
    assert lines(stack, "= ", f"{TYPE}ReplicaKey billing-east import")
    stack.up()
    assert stack.outputs()["key_id"] == legacy.key_id and stack.outputs()["replica_id"] == replica.key_id
    assert [k.key_id for k in kms.list_keys()] == [legacy.key_id]  # taken, not created
    live = kms.describe_key(legacy.key_id)
    assert live.description == "made by hand" and tags_of(live) == {"cost": "7"}
    assert changes(stack.preview().change_summary) == {"same": 3}
    stack.destroy()
    assert kms.describe_key(legacy.key_id).state == "PendingDelete"
