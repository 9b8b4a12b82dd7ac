"""Waits say so under the real engine: a primary key whose replica the stack does not know waits for it, and the
engine's output of `pulumi destroy` tells the user what it waits for and for how long."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from engine_harness import StackFactory

from provider import CustomKey
from provider.backend.embedded import EmbeddedBackend
from provider.client import KmsClient
from provider.domain import rules


def test_a_primary_waiting_for_its_replicas_says_so_in_the_engine_output(
    inline_stack: StackFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KMS_REPLICATION_DELAY", "0.2")
    emulator = tmp_path / "emulator"

    def program() -> None:
        CustomKey("orders", key_name="orders", description="orders")

    stack = inline_stack(program, config={"kms:region": "cn-north-4", "kms:emulatorPath": str(emulator)})
    stack.up()
    key_id = stack.state_resource("orders")["id"]
    kms = KmsClient(EmbeddedBackend(emulator), "cn-north-4")
    # A replica made outside the stack: the engine does not delete it first, so the primary's delete waits.
    replica = kms.replicate_key(key_id, "cn-east-3")
    east = kms.in_region("cn-east-3")

    def retire_replica_later() -> None:
        deadline = threading.Event()
        while east.describe_key(replica.key_id).state != rules.KeyState.ENABLE:
            deadline.wait(0.1)
        deadline.wait(3.0)  # long enough for the destroy to start waiting
        east.schedule_key_deletion(replica.key_id, rules.PENDING_DAYS_MIN)

    helper = threading.Thread(target=retire_replica_later, daemon=True)
    helper.start()
    stack.output.clear()
    stack.destroy()
    helper.join(timeout=30)

    said = [line for line in stack.output if "waiting up to" in line]
    assert said, "the destroy waited for a replica without saying so:\n" + "\n".join(stack.output)
    assert f"1 replica(s) of key {key_id} to be scheduled for deletion" in said[0]
    assert kms.describe_key(key_id).state == rules.KeyState.PENDING_DELETE
