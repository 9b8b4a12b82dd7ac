"""The emulator's clock, replication delay and persistence (embedded emulator only)."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from provider.client import KmsClient
from provider.domain.errors import InvalidKeyStatus, NotFound, UndefinedError
from provider.emulator import Emulator


def test_replica_is_creating_until_replication_completes(tmp_path: Path) -> None:
    # Huawei Cloud DEW, Creating a Replica Key: "Wait for one minute and refresh the region where the replica key is
    # located to check the created replica key." Replication is asynchronous: KMS_REPLICATION_DELAY seconds in Creating.
    kms = KmsClient(Emulator(tmp_path, replication_delay=0.5), "cn-north-4")
    primary = kms.create_key("async")
    replica = kms.replicate_key(primary.key_id, "cn-east-3")
    east = kms.in_region("cn-east-3")
    assert replica.state == "Creating"
    with pytest.raises(InvalidKeyStatus, match="Creating"):
        east.encrypt(replica.key_id, b"too early")
    time.sleep(0.6)
    assert east.describe_key(replica.key_id).state == "Enable"
    assert east.decrypt(east.encrypt(replica.key_id, b"now"))[1] == b"now"


def test_replication_delay_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KMS_REPLICATION_DELAY", "30")
    kms = KmsClient(Emulator(tmp_path), "cn-north-4")
    replica = kms.replicate_key(kms.create_key("env").key_id, "cn-south-1")
    assert replica.state == "Creating"
    kms.advance_clock(31)
    assert kms.in_region("cn-south-1").describe_key(replica.key_id).state == "Enable"


def test_state_persists_across_processes_and_material_is_sealed(tmp_path: Path) -> None:
    first = KmsClient(Emulator(tmp_path), "cn-north-4")
    key = first.create_key("durable", key_spec="AES_256")
    blob = first.encrypt(key.key_id, b"kept")
    first.backend.close()
    again = KmsClient(Emulator(tmp_path), "cn-north-4")
    assert again.decrypt(blob)[1] == b"kept"
    root = tmp_path / "root.key"
    assert stat.S_IMODE(root.stat().st_mode) == 0o600
    # Material is stored sealed under the root key: the raw database holds no usable AES key, and a lost
    # root key makes the state unreadable rather than silently wrong.
    saved = root.read_bytes()
    os.remove(root)
    with pytest.raises(UndefinedError, match="root key root.key is missing"):
        Emulator(tmp_path)
    root.write_bytes(bytes(32))
    with pytest.raises(UndefinedError, match="does not open under the root key"):
        KmsClient(Emulator(tmp_path), "cn-north-4").decrypt(blob)
    root.write_bytes(saved)
    assert KmsClient(Emulator(tmp_path), "cn-north-4").decrypt(blob)[1] == b"kept"


def test_scheduled_deletion_frees_quota_and_aliases(tmp_path: Path) -> None:
    kms = KmsClient(Emulator(tmp_path, quota=2), "cn-north-4")
    a = kms.create_key("a")
    kms.create_key("b")
    kms.create_alias("alias/a", a.key_id)
    kms.schedule_key_deletion(a.key_id, 7)
    kms.advance_clock(7 * 86400 + 1)
    assert kms.list_aliases() == []
    with pytest.raises(NotFound):
        kms.describe_key("alias/a")
    kms.create_key("c")  # the quota slot came back
