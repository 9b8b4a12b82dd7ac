"""A read remembers the hot lookups (clock, key, material version) only while nothing was committed.

The emulator's reads keep what they looked up while the database is unchanged (an Encrypt
asks SQLite one question, not four). A change made anywhere must show on the very next read: by
this process's other threads, by another `Emulator` on the same state (the engine's provider hosts,
a `kmsctl` beside them), by another process. Huawei Cloud DEW, Creating a Custom Key: "Only enabled custom keys can be
used to encrypt or decrypt data": a key disabled elsewhere must refuse the next Encrypt here.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from provider.client import KmsClient
from provider.domain.errors import InvalidKeyStatus, NotFound
from provider.emulator import Emulator
from provider.emulator.primitives import blob_material
from provider.emulator.store import MEMO_ENTRIES

REGION = "cn-north-4"


@pytest.fixture
def two(tmp_path: Path) -> tuple[KmsClient, KmsClient]:
    """Two emulators over one state directory: as two provider hosts of one `pulumi up`."""
    return (KmsClient(Emulator(tmp_path, replication_delay=0), REGION),
            KmsClient(Emulator(tmp_path, replication_delay=0), REGION))


def test_a_key_disabled_elsewhere_refuses_the_next_encrypt(two: tuple[KmsClient, KmsClient]) -> None:
    here, there = two
    key = here.create_key("k")
    for _ in range(3):  # the key, the clock and the material are now remembered here
        here.encrypt(key.key_id, b"x")
    there.disable_key(key.key_id)
    with pytest.raises(InvalidKeyStatus, match="status: Disable does not allow"):
        here.encrypt(key.key_id, b"x")
    there.enable_key(key.key_id)
    assert here.decrypt(here.encrypt(key.key_id, b"back"))[1] == b"back"


def test_a_rotation_elsewhere_is_used_by_the_next_encrypt(two: tuple[KmsClient, KmsClient]) -> None:
    here, there = two
    key = here.create_key("k")
    there.enable_key_rotation(key.key_id, 90)
    first = here.encrypt(key.key_id, b"x")
    assert blob_material(first)[1] == 1
    there.advance_clock(91 * 86400)  # the rotation comes due; the write that moves the clock makes it
    second = here.encrypt(key.key_id, b"x")
    assert blob_material(second)[1] == 2
    assert here.decrypt(first)[1] == here.decrypt(second)[1] == b"x"


def test_a_deletion_that_came_due_elsewhere_hides_the_key_here(two: tuple[KmsClient, KmsClient]) -> None:
    here, there = two
    key = here.create_key("k")
    blob = here.encrypt(key.key_id, b"x")
    there.schedule_key_deletion(key.key_id, 7)
    with pytest.raises(InvalidKeyStatus):
        here.encrypt(key.key_id, b"x")
    there.advance_clock(8 * 86400)
    with pytest.raises(NotFound):
        here.describe_key(key.key_id)
    with pytest.raises(NotFound):
        here.decrypt(blob)


def test_a_replica_made_elsewhere_is_listed_here(two: tuple[KmsClient, KmsClient]) -> None:
    here, there = two
    key = here.create_key("k")
    assert here.describe_key(key.key_id).replicas == ()
    there.replicate_key(key.key_id, "cn-east-3")
    assert [r.region for r in here.describe_key(key.key_id).replicas] == ["cn-east-3"]


def test_a_write_of_another_thread_shows_on_this_threads_next_read(tmp_path: Path) -> None:
    kms = KmsClient(Emulator(tmp_path), REGION)
    key = kms.create_key("k")
    kms.encrypt(key.key_id, b"x")
    worker = threading.Thread(target=kms.disable_key, args=(key.key_id,))
    worker.start()
    worker.join()
    with pytest.raises(InvalidKeyStatus):
        kms.encrypt(key.key_id, b"x")


def test_this_threads_own_write_shows_on_its_next_read(tmp_path: Path) -> None:
    kms = KmsClient(Emulator(tmp_path), REGION)
    key = kms.create_key("k")
    assert kms.describe_key(key.key_id).description == ""
    kms.update_key(key.key_id, description="after")
    assert kms.describe_key(key.key_id).description == "after"
    kms.disable_key(key.key_id)
    with pytest.raises(InvalidKeyStatus):
        kms.encrypt(key.key_id, b"x")


def test_a_write_of_another_process_shows_on_the_next_read(tmp_path: Path) -> None:
    kms = KmsClient(Emulator(tmp_path), REGION)
    key = kms.create_key("k")
    kms.encrypt(key.key_id, b"x")
    script = ("import sys; from provider.client import KmsClient; from provider.emulator import Emulator; "
              "KmsClient(Emulator(sys.argv[1]), sys.argv[2]).disable_key(sys.argv[3])")
    subprocess.run([sys.executable, "-c", script, str(tmp_path), REGION, key.key_id], check=True,
                   cwd=Path(__file__).resolve().parents[2], timeout=60)
    with pytest.raises(InvalidKeyStatus):
        kms.encrypt(key.key_id, b"x")


def test_the_memo_stays_bounded_however_many_keys_are_read(tmp_path: Path) -> None:
    emulator = Emulator(tmp_path, quota=MEMO_ENTRIES + 100)
    kms = KmsClient(emulator, REGION)
    ids = [kms.create_key(f"k{i}").key_id for i in range(MEMO_ENTRIES // 2 + 10)]
    for key_id in ids:  # each read remembers the key and its replicas
        kms.describe_key(key_id)
    memo = emulator.store.read().memo
    assert memo is not None and len(memo) <= MEMO_ENTRIES + 4
    assert kms.describe_key(ids[0]).key_id == ids[0]


def test_a_forked_child_opens_its_own_connection_and_sees_the_parents_keys(tmp_path: Path) -> None:
    import multiprocessing

    emulator = Emulator(tmp_path)
    kms = KmsClient(emulator, REGION)
    key = kms.create_key("k")
    blob = kms.encrypt(key.key_id, b"from the parent")
    parent_db = emulator.store.conn()

    def child(out: multiprocessing.SimpleQueue[object]) -> None:
        forked = KmsClient(emulator, REGION)
        out.put((emulator.store.conn() is not parent_db, forked.decrypt(blob)[1],
                 forked.decrypt(forked.encrypt(key.key_id, b"from the child"))[1]))

    ctx = multiprocessing.get_context("fork")
    out: multiprocessing.SimpleQueue[object] = ctx.SimpleQueue()
    proc = ctx.Process(target=child, args=(out,))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    assert out.get() == (True, b"from the parent", b"from the child")
    kms.disable_key(key.key_id)  # the parent's connection still works after the child's went
    assert kms.describe_key(key.key_id).state.value == "Disable"
