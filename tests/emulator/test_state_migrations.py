"""A state directory written by each older release opens with the current code: its keys, aliases,
replicas, tags and pending deletions are kept and still work, and its layout becomes the current one.

Each older layout is written here as that release wrote it (its DDL verbatim, rows by raw sqlite3),
so a change of the current layout without a migration step fails here."""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import time
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from provider.client import KmsClient
from provider.domain.errors import UndefinedError
from provider.domain.rules import KeyState, MultiRegionType
from provider.emulator import Emulator
from provider.emulator.store import DB_FILE, SCHEMA_VERSION

# Layout 1: the first release's tables.
LAYOUT_1 = """
CREATE TABLE keys (
    id TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    keyring TEXT NOT NULL,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    usage TEXT NOT NULL,
    origin TEXT NOT NULL,
    state TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    enterprise_project TEXT NOT NULL DEFAULT 'default',
    created REAL NOT NULL,
    updated REAL NOT NULL,
    material_id BLOB NOT NULL,
    primary_id TEXT,
    ready_at REAL,
    deletion_at REAL,
    pending_days INTEGER,
    rotation_enabled INTEGER NOT NULL DEFAULT 0,
    rotation_days INTEGER,
    last_rotation REAL,
    tags TEXT NOT NULL DEFAULT '{}',
    UNIQUE (region, keyring, name)
);
CREATE INDEX keys_material ON keys (material_id, region);
CREATE INDEX keys_primary ON keys (primary_id);
CREATE INDEX keys_deletion ON keys (deletion_at) WHERE deletion_at IS NOT NULL;
CREATE INDEX keys_region ON keys (region, id);
CREATE TABLE region_counts (region TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE materials (
    material_id BLOB NOT NULL,
    version INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (material_id, version)
);
CREATE TABLE aliases (
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    key_id TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (region, name)
);
CREATE INDEX aliases_key ON aliases (key_id);
CREATE TABLE imports (
    key_id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    sealed_wrapping_key BLOB NOT NULL,
    valid_to REAL NOT NULL
);
CREATE TABLE client_tokens (
    token TEXT NOT NULL,
    action TEXT NOT NULL,
    region TEXT NOT NULL,
    key_id TEXT NOT NULL,
    PRIMARY KEY (token, action, region)
);
CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
"""
# Layout 2 added the index of the rotation sweep.
LAYOUT_2 = LAYOUT_1 + "CREATE INDEX keys_rotation ON keys (last_rotation) WHERE rotation_enabled = 1;\n"
# Layout 3: keyrings became stored objects, and the state remembers when it was first written.
LAYOUT_3 = LAYOUT_2 + """
CREATE TABLE keyrings (
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    id TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (region, name)
);
"""
# Layout 4: keys remember being created multi-region; the last layout written without a version number.
LAYOUT_4 = LAYOUT_3 + "ALTER TABLE keys ADD COLUMN multi_region INTEGER NOT NULL DEFAULT 0;\n"
LAYOUTS = {1: LAYOUT_1, 2: LAYOUT_2, 3: LAYOUT_3, 4: LAYOUT_4}

PRIMARY_REGION, REPLICA_REGION = "cn-north-4", "cn-east-3"
DAY = 86400.0


def _write_old_state(directory: Path, layout: int) -> dict[str, str]:
    """A state as the release with `layout` left it: a tagged primary in keyring `legacy` with an alias
    and a replica, and a key pending deletion. Answers the keys' ids."""
    directory.mkdir()
    root = os.urandom(32)
    (directory / "root.key").write_bytes(root)
    os.chmod(directory / "root.key", 0o600)
    now = time.time()
    ids = {"primary": str(uuid.uuid4()), "replica": str(uuid.uuid4()), "doomed": str(uuid.uuid4())}
    material_id, doomed_material = uuid.uuid4().bytes, uuid.uuid4().bytes
    db = sqlite3.connect(directory / DB_FILE)
    db.executescript(LAYOUTS[layout])
    db.execute("PRAGMA journal_mode=WAL")

    def key(key_id: str, region: str, name: str, material: bytes, **more: object) -> None:
        row: dict[str, object] = {
            "id": key_id, "region": region, "keyring": "legacy", "name": name, "spec": "AES_256",
            "usage": "ENCRYPT_DECRYPT", "origin": "CloudKMS", "state": "Enable", "created": now - DAY,
            "updated": now - DAY, "material_id": material, **more,
        }
        db.execute(f"INSERT INTO keys ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))

    key(ids["primary"], PRIMARY_REGION, "ledger", material_id, tags=json.dumps({"team": "payments"}),
        rotation_enabled=1, rotation_days=365, last_rotation=now - DAY)
    key(ids["replica"], REPLICA_REGION, "ledger", material_id, state="Creating", primary_id=ids["primary"],
        ready_at=now - DAY + 60)
    key(ids["doomed"], PRIMARY_REGION, "old", doomed_material, state="PendingDelete",
        deletion_at=now + 7 * DAY, pending_days=7)
    db.executemany("INSERT INTO region_counts (region, n) VALUES (?, ?)", [(PRIMARY_REGION, 2), (REPLICA_REGION, 1)])
    sealer = AESGCM(root)
    for mid in (material_id, doomed_material):
        nonce = os.urandom(12)
        sealed = nonce + sealer.encrypt(nonce, os.urandom(32), mid + (1).to_bytes(4, "big"))
        db.execute("INSERT INTO materials (material_id, version, sealed, created) VALUES (?, 1, ?, ?)",
                   (mid, sealed, now - DAY))
    db.execute("INSERT INTO aliases (region, name, key_id, created) VALUES (?, ?, ?, ?)",
               (PRIMARY_REGION, "alias/ledger", ids["primary"], now - DAY))
    if layout >= 3:
        db.executemany(
            "INSERT INTO keyrings (region, name, id, description, created, updated) VALUES (?, 'legacy', ?, '', ?, ?)",
            [(r, uuid.uuid4().hex, now - DAY, now - DAY) for r in (PRIMARY_REGION, REPLICA_REGION)],
        )
        db.execute("INSERT INTO meta (k, v) VALUES ('created', ?)", (str(now - 2 * DAY),))
    db.commit()
    db.close()
    return ids


def _layout(path: Path) -> dict[str, object]:
    """What the code relies on of a database's layout: each table's columns and indexes."""
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        found: dict[str, object] = {}
        for table in tables:
            columns = [tuple(r[1:]) for r in db.execute(f"PRAGMA table_info({table})")]
            indexes = sorted(
                (r[1], r[2], tuple(c[2] for c in db.execute(f"PRAGMA index_info({r[1]})")))
                for r in db.execute(f"PRAGMA index_list({table})")
            )
            found[table] = (columns, indexes)
        found["user_version"] = db.execute("PRAGMA user_version").fetchone()[0]
        return found


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_an_older_state_opens_with_everything_kept(tmp_path: Path, layout: int) -> None:
    ids = _write_old_state(tmp_path / "state", layout)
    kms = KmsClient(Emulator(tmp_path / "state"), PRIMARY_REGION)

    primary = kms.describe_key(ids["primary"])
    assert (primary.keyring, primary.name, primary.state) == ("legacy", "ledger", KeyState.ENABLE)
    assert primary.tags == {"team": "payments"}
    assert (primary.rotation_enabled, primary.rotation_days) == (True, 365)
    assert primary.multi_region_type is MultiRegionType.PRIMARY
    assert [(r.key_id, r.region) for r in primary.replicas] == [(ids["replica"], REPLICA_REGION)]
    replica = kms.in_region(REPLICA_REGION).describe_key(ids["replica"])
    assert replica.state is KeyState.ENABLE and replica.primary is not None
    assert replica.primary.key_id == ids["primary"]

    # The alias still names the key; the old material still encrypts, and the replica decrypts it.
    assert [(a.name, a.key_id) for a in kms.list_aliases()] == [("alias/ledger", ids["primary"])]
    blob = kms.encrypt("alias/ledger", b"kept across releases")
    assert kms.decrypt(blob) == (ids["primary"], b"kept across releases")
    assert kms.in_region(REPLICA_REGION).decrypt(blob) == (ids["replica"], b"kept across releases")

    doomed = kms.describe_key(ids["doomed"])
    assert (doomed.state, doomed.pending_days) == (KeyState.PENDING_DELETE, 7)
    assert kms.cancel_key_deletion(ids["doomed"]).state is KeyState.DISABLE

    # The keyring the keys name is a keyring object in each region, and new keys go beside the old.
    assert {r.name: r.key_count for r in kms.list_keyrings()} == {"default": 0, "legacy": 2}
    assert kms.create_key("new", keyring_name="legacy", multi_region=True).keyring == "legacy"
    assert kms.describe_keys(keyring_name="legacy").total == 3
    kms.backend.close()

    fresh = tmp_path / "fresh"
    Emulator(fresh).close()
    assert _layout(tmp_path / "state" / DB_FILE) == _layout(fresh / DB_FILE)
    assert _layout(fresh / DB_FILE)["user_version"] == SCHEMA_VERSION


def test_a_current_state_opens_again_unchanged(tmp_path: Path) -> None:
    kms = KmsClient(Emulator(tmp_path), PRIMARY_REGION)
    key = kms.create_key("k", tags={"a": "b"})
    kms.backend.close()
    before = _layout(tmp_path / DB_FILE)
    again = KmsClient(Emulator(tmp_path), PRIMARY_REGION)
    assert again.describe_key(key.key_id) == key
    assert _layout(tmp_path / DB_FILE) == before


def test_a_state_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    Emulator(tmp_path).close()
    with sqlite3.connect(tmp_path / DB_FILE) as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(UndefinedError) as refused:
        Emulator(tmp_path)
    message = str(refused.value)
    assert str(tmp_path / DB_FILE) in message
    assert f"version {SCHEMA_VERSION + 1}" in message and f"version {SCHEMA_VERSION})" in message


def _open_and_describe(state: str, key_id: str) -> str:
    return KmsClient(Emulator(state), PRIMARY_REGION).describe_key(key_id).keyring


def test_processes_opening_an_old_state_at_once_upgrade_it_once(tmp_path: Path) -> None:
    # The engine starts several provider processes on one state: one upgrades under the write lock, the
    # others find it done (a second run of a step would fail: the column or table would already exist).
    ids = _write_old_state(tmp_path / "state", 1)
    with multiprocessing.get_context("fork").Pool(4) as pool:
        found = pool.starmap(_open_and_describe, [(str(tmp_path / "state"), ids["primary"])] * 4)
    assert found == ["legacy"] * 4
    with sqlite3.connect(tmp_path / "state" / DB_FILE) as db:
        assert db.execute("SELECT COUNT(*) FROM keyrings WHERE name='legacy'").fetchone()[0] == 2
