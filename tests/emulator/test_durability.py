"""Nothing acknowledged is lost: a writer killed with SIGKILL, and four processes sharing one state."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from provider.client import KmsClient, tags_of
from provider.emulator import Emulator

WORKER = [sys.executable, "-m", "tests.emulator._worker"]
ROOT = Path(__file__).resolve().parents[2]


def test_sigkill_mid_stream_loses_no_acknowledged_key(tmp_path: Path) -> None:
    proc = subprocess.Popen([*WORKER, "writer", str(tmp_path)], stdout=subprocess.PIPE, cwd=ROOT, text=True)
    assert proc.stdout is not None
    acknowledged = [proc.stdout.readline().strip() for _ in range(150)]
    proc.send_signal(signal.SIGKILL)
    # Whatever was already printed was acknowledged too.
    acknowledged += [line.strip() for line in proc.stdout.read().splitlines() if line.strip()]
    proc.wait()
    db = sqlite3.connect(tmp_path / "kms.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    kms = KmsClient(Emulator(tmp_path, quota=1_000_000), "cn-north-4")
    for i, key_id in enumerate(acknowledged):
        key = kms.describe_key(key_id)
        assert key.name == f"w{i}" and tags_of(key) == {"n": str(i)}
    # The state stays writable after the crash.
    kms.create_key("after-crash")


def test_four_processes_share_one_state_without_errors(tmp_path: Path) -> None:
    procs = [
        subprocess.Popen([*WORKER, "mixed", str(tmp_path), str(w), "200"], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for w in range(4)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-2000:]
        assert "locked" not in err
    rounds = [int(out.strip()) for out, _ in outs]
    kms = KmsClient(Emulator(tmp_path, quota=1_000_000), "cn-north-4")
    keys = kms.list_keys()
    east = kms.in_region("cn-east-3").list_keys()
    assert len(keys) == sum(rounds) and len(east) == sum(rounds)
    assert all(k.state == "Enable" and tags_of(k)["worker"] for k in keys)
    assert all(k.state == "PendingDelete" for k in east)
    assert len(kms.list_aliases()) == sum(rounds)
