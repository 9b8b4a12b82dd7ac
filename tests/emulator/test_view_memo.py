"""A described key is remembered by the read (the hot path of DescribeKey) but never answered stale.

The remembered answer goes with the read memo on any commit, here or elsewhere, and at the first
instant at which time alone changes the answer: a replica's replication ending (Huawei Cloud DEW, Creating a Replica
Key: a replica is Creating until then, Enable after) or a linked key's scheduled deletion coming due.
"""

from __future__ import annotations

import time
from pathlib import Path

from provider.client import KmsClient
from provider.domain.rules import KeyState
from provider.emulator import Emulator

REGION = "cn-north-4"
OTHER = "cn-east-3"


def test_a_replica_turns_enable_when_its_replication_ends_with_no_commit_between(tmp_path: Path) -> None:
    emulator = Emulator(tmp_path, replication_delay=0.4)
    here = KmsClient(emulator, REGION)
    key = here.create_key("k", multi_region=True)
    replica = here.replicate_key(key.key_id, OTHER)
    there = here.in_region(OTHER)
    assert there.describe_key(replica.key_id).state is KeyState.CREATING
    assert there.describe_key(replica.key_id).state is KeyState.CREATING  # now from the memo
    primary = here.describe_key(key.key_id)
    assert [r.state for r in primary.replicas] == [KeyState.CREATING]
    time.sleep(0.5)
    assert there.describe_key(replica.key_id).state is KeyState.ENABLE
    assert [r.state for r in here.describe_key(key.key_id).replicas] == [KeyState.ENABLE]


def test_a_change_made_elsewhere_shows_on_the_next_describe(tmp_path: Path) -> None:
    here = KmsClient(Emulator(tmp_path, replication_delay=0), REGION)
    there = KmsClient(Emulator(tmp_path, replication_delay=0), REGION)
    key = here.create_key("k", description="before")
    assert here.describe_key(key.key_id).description == "before"
    assert here.describe_key(key.key_id).description == "before"
    there.update_key(key.key_id, description="after")
    assert here.describe_key(key.key_id).description == "after"
    there.disable_key(key.key_id)
    assert here.describe_key(key.key_id).state is KeyState.DISABLE


def test_a_replica_whose_deletion_came_due_leaves_the_primary_view(tmp_path: Path) -> None:
    emulator = Emulator(tmp_path, replication_delay=0)
    here = KmsClient(emulator, REGION)
    key = here.create_key("k", multi_region=True)
    replica = here.replicate_key(key.key_id, OTHER)
    here.in_region(OTHER).schedule_key_deletion(replica.key_id, 7)
    tx = emulator.store.read()
    row = tx.key(key.key_id)
    assert row is not None
    now = time.time()
    assert [r.key_id for r in emulator.view(tx, row, now).replicas] == [replica.key_id]
    due = tx.key(replica.key_id)
    assert due is not None and due.deletion_at is not None
    # The same read, later than the deletion date: time alone changed the answer.
    assert emulator.view(tx, row, due.deletion_at + 1).replicas == ()
    assert [r.key_id for r in emulator.view(tx, row, now).replicas] == [replica.key_id]
