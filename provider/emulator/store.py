"""The emulator's persistent state: one SQLite database in WAL mode under a state directory.

Several processes share one directory (the engine runs resource operations in parallel and a
`kmsctl` may run beside it): writes take SQLite's write lock up front (`BEGIN IMMEDIATE`) and wait
for it, so no update is lost and "database is locked" never reaches a user. Key material is stored
encrypted under a root key kept beside the database with 0600 permissions.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..domain.errors import UndefinedError

SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
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
CREATE INDEX IF NOT EXISTS keys_material ON keys (material_id, region);
CREATE INDEX IF NOT EXISTS keys_primary ON keys (primary_id);
CREATE INDEX IF NOT EXISTS keys_deletion ON keys (deletion_at) WHERE deletion_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS keys_region ON keys (region, id);
CREATE INDEX IF NOT EXISTS keys_rotation ON keys (last_rotation) WHERE rotation_enabled = 1;
CREATE TABLE IF NOT EXISTS region_counts (region TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS materials (
    material_id BLOB NOT NULL,
    version INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (material_id, version)
);
CREATE TABLE IF NOT EXISTS aliases (
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    key_id TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (region, name)
);
CREATE INDEX IF NOT EXISTS aliases_key ON aliases (key_id);
CREATE TABLE IF NOT EXISTS imports (
    key_id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    sealed_wrapping_key BLOB NOT NULL,
    valid_to REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS client_tokens (
    token TEXT NOT NULL,
    action TEXT NOT NULL,
    region TEXT NOT NULL,
    key_id TEXT NOT NULL,
    PRIMARY KEY (token, action, region)
);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
"""

BUSY_TIMEOUT_MS = 60_000


class Store:
    """Connections (one per thread), transactions and the sealing of material at rest."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.db_path = self.directory / "kms.sqlite3"
        self._local = threading.local()
        self._root = AESGCM(self._root_key())
        self.conn()

    # --- root key --------------------------------------------------------------------------------
    def _root_key(self) -> bytes:
        path = self.directory / "root.key"
        if not path.exists() and self._holds_material():
            # A new root key would make every stored key unreadable: refuse rather than lose keys.
            raise UndefinedError(
                f"the emulator state in {self.directory} holds keys but its root key {path.name} is missing; "
                "restore the file (0600) from a backup"
            )
        if not path.exists():
            # Written to a private temp file, then linked into place: two processes starting at once
            # agree on one root key (link fails for the loser, who then reads the winner's).
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".root-")
            try:
                os.fchmod(fd, 0o600)
                os.write(fd, os.urandom(32))
                os.fsync(fd)
                os.close(fd)
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, path)
            finally:
                os.unlink(tmp)
        data = path.read_bytes()
        if len(data) != 32:
            raise UndefinedError(f"the emulator root key {path} is damaged")
        return data

    def _holds_material(self) -> bool:
        if not self.db_path.exists():
            return False
        db = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            return db.execute("SELECT 1 FROM materials LIMIT 1").fetchone() is not None
        except sqlite3.OperationalError:
            return False
        finally:
            db.close()

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._root.encrypt(nonce, plaintext, aad)

    def unseal(self, sealed: bytes, aad: bytes) -> bytes:
        try:
            return self._root.decrypt(sealed[:12], sealed[12:], aad)
        except InvalidTag:
            raise UndefinedError(
                f"stored key material in {self.directory} does not open under the root key: the state or root.key "
                "was altered"
            ) from None

    # --- connections and transactions -------------------------------------------------------------
    def conn(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None or getattr(self._local, "pid", None) != os.getpid():
            db = self._connect()
            self._local.db = db
            self._local.pid = os.getpid()
        return db

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.db_path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        self._retry(lambda: db.execute("PRAGMA journal_mode=WAL"))
        # FULL: an acknowledged write survives a power cut as well as a killed process.
        db.execute("PRAGMA synchronous=FULL")
        # Keep a large key table's index pages in memory: lookups stay flat from 100 to 100,000 keys.
        db.execute("PRAGMA cache_size=-65536")
        db.execute("PRAGMA mmap_size=268435456")
        self._retry(lambda: db.executescript(SCHEMA))
        return db

    @staticmethod
    def _retry(fn: object) -> None:
        assert callable(fn)
        for attempt in range(200):
            try:
                fn()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                time.sleep(min(0.05 * (attempt + 1), 0.5))
        raise UndefinedError("the emulator state stayed locked for too long")

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding the database's write lock from its first statement."""
        db = self.conn()
        self._retry(lambda: db.execute("BEGIN IMMEDIATE"))
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        else:
            self._retry(lambda: db.execute("COMMIT"))

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
