"""The emulator's persistent state: one SQLite database in WAL mode under a state directory.

Several processes share one directory (the engine runs resource operations in parallel and a
`kmsctl` may run beside it): writes take SQLite's write lock up front (`BEGIN IMMEDIATE`) and wait
for it, so no update is lost and "database is locked" never reaches a user. Key material is stored
encrypted under a root key kept beside the database with 0600 permissions.

Every SQL statement of the emulator is a method of `Tx` here; the handlers never write SQL.

The layout has a version (SQLite's `PRAGMA user_version`, https://www.sqlite.org/pragma.html#pragma_user_version):
a new state is written at `SCHEMA_VERSION`, an older one is brought there by the steps of `MIGRATIONS`.
Adding a key field: a `KEY_COLUMNS` entry, a `KeyRow` field (and a `NewKey` one if a create sets it),
and a migration that adds the column (`_add_key_column`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..domain.errors import UndefinedError
from ..domain.rules import KeySpec, KeyState, KeyUsage, Origin
from ..values import Value, fields


def _tags_json(tags: Mapping[str, str]) -> str:
    return json.dumps(dict(tags), sort_keys=True)


def _as_stored(value: Any) -> Any:
    return value


class Column(NamedTuple):
    """One column of the keys table: its SQL declaration, and how a `KeyRow` field is read from it and
    written to it."""

    name: str
    sql: str  # type and constraints, as in CREATE TABLE
    read: Callable[[Any], Any] = _as_stored  # stored value -> field value
    write: Callable[[Any], Any] = _as_stored  # field value -> stored value
    field: str = ""  # the KeyRow field, when its name is not the column's

    @property
    def attr(self) -> str:
        return self.field or self.name


# The key's fields, declared once: the keys table, `KeyRow.from_row`, `Tx.insert_key` and
# `Tx.update_key` all follow this table. Enums are stored as their value (`str` gives it, and passes a
# value already a string); flags as 0/1; tags as sorted JSON.
KEY_COLUMNS: tuple[Column, ...] = (
    Column("id", "TEXT PRIMARY KEY"),
    Column("region", "TEXT NOT NULL"),
    Column("keyring", "TEXT NOT NULL"),
    Column("name", "TEXT NOT NULL"),
    Column("spec", "TEXT NOT NULL", KeySpec, str),
    Column("usage", "TEXT NOT NULL", KeyUsage, str),
    Column("origin", "TEXT NOT NULL", Origin, str),
    Column("state", "TEXT NOT NULL", KeyState, str, field="stored_state"),
    Column("description", "TEXT NOT NULL DEFAULT ''"),
    Column("enterprise_project", "TEXT NOT NULL DEFAULT 'default'"),
    Column("created", "REAL NOT NULL"),
    Column("updated", "REAL NOT NULL"),
    Column("material_id", "BLOB NOT NULL"),
    Column("primary_id", "TEXT"),
    Column("ready_at", "REAL"),
    Column("deletion_at", "REAL"),
    Column("pending_days", "INTEGER"),
    Column("rotation_enabled", "INTEGER NOT NULL DEFAULT 0", bool, int),
    Column("rotation_days", "INTEGER"),
    Column("last_rotation", "REAL"),
    Column("tags", "TEXT NOT NULL DEFAULT '{}'", json.loads, _tags_json),
    Column("multi_region", "INTEGER NOT NULL DEFAULT 0", bool, int),
)
_KEY_COLUMN = {c.name: c for c in KEY_COLUMNS}

_KEYS_TABLE = (
    "CREATE TABLE IF NOT EXISTS keys (\n"
    + "".join(f"    {c.name} {c.sql},\n" for c in KEY_COLUMNS)
    + "    UNIQUE (region, keyring, name)\n)"
)
_ROTATION_INDEX = "CREATE INDEX IF NOT EXISTS keys_rotation ON keys (last_rotation) WHERE rotation_enabled = 1"
_KEYRINGS_TABLE = """CREATE TABLE IF NOT EXISTS keyrings (
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    id TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (region, name)
)"""
# When this state was first written (the birth of every region's `default` keyring), in seconds.
_BORN_NOW = (
    "INSERT OR IGNORE INTO meta (k, v) VALUES ('created', CAST((julianday('now') - 2440587.5) * 86400.0 AS TEXT))"
)

# The current layout, as a new state gets it.
SCHEMA: tuple[str, ...] = (
    _KEYS_TABLE,
    "CREATE INDEX IF NOT EXISTS keys_material ON keys (material_id, region)",
    "CREATE INDEX IF NOT EXISTS keys_primary ON keys (primary_id)",
    "CREATE INDEX IF NOT EXISTS keys_deletion ON keys (deletion_at) WHERE deletion_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS keys_region ON keys (region, id)",
    _ROTATION_INDEX,
    "CREATE TABLE IF NOT EXISTS region_counts (region TEXT PRIMARY KEY, n INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS materials (
    material_id BLOB NOT NULL,
    version INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (material_id, version)
)""",
    """CREATE TABLE IF NOT EXISTS aliases (
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    key_id TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (region, name)
)""",
    "CREATE INDEX IF NOT EXISTS aliases_key ON aliases (key_id)",
    """CREATE TABLE IF NOT EXISTS imports (
    key_id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    sealed_wrapping_key BLOB NOT NULL,
    valid_to REAL NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS client_tokens (
    token TEXT NOT NULL,
    action TEXT NOT NULL,
    region TEXT NOT NULL,
    key_id TEXT NOT NULL,
    PRIMARY KEY (token, action, region)
)""",
    "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)",
    _KEYRINGS_TABLE,
    _BORN_NOW,
)


def _add_key_column(name: str) -> str:
    column = _KEY_COLUMN[name]
    return f"ALTER TABLE keys ADD COLUMN {column.name} {column.sql}"


class Migration(NamedTuple):
    """The statements that bring a state from layout `version - 1` to `version`."""

    version: int
    what: str
    statements: tuple[str, ...]


# Layout 1 is the first one written (keys, materials, aliases, imports, client tokens, meta).
MIGRATIONS: tuple[Migration, ...] = (
    Migration(2, "index of rotating keys, for the rotation sweep", (_ROTATION_INDEX,)),
    Migration(3, "keyrings are stored objects", (
        _KEYRINGS_TABLE,
        # Every keyring the keys name becomes a stored keyring; `default` is every region's own.
        "INSERT OR IGNORE INTO keyrings (region, name, id, description, created, updated)"
        " SELECT region, keyring, lower(hex(randomblob(16))), '', MIN(created), MIN(created) FROM keys"
        " WHERE keyring != 'default' GROUP BY region, keyring",
        _BORN_NOW,
    )),
    Migration(4, "keys remember being created multi-region (Volcengine's MultiRegion)", (
        _add_key_column("multi_region"),
    )),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def _unversioned_layout(db: sqlite3.Connection) -> int:
    """The layout of a state written before layouts had a version number (`user_version` 0); 0 when
    the database is empty. Each older release's layout is told apart by what it added."""
    names = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    if "keys" not in names:
        return 0
    if "keys_rotation" not in names:
        return 1
    if "keyrings" not in names:
        return 2
    columns = {row[1] for row in db.execute("PRAGMA table_info(keys)")}
    return 3 if "multi_region" not in columns else 4


_LIVE = "(deletion_at IS NULL OR deletion_at > ?)"


class KeyRow(Value):
    """One key as stored; `state(now)` is what the service reports at that instant."""

    id: str
    region: str
    keyring: str
    name: str
    spec: KeySpec
    usage: KeyUsage
    origin: Origin
    stored_state: KeyState
    description: str
    enterprise_project: str
    created: float
    updated: float
    material_id: bytes
    primary_id: str | None
    ready_at: float | None
    deletion_at: float | None
    pending_days: int | None
    rotation_enabled: bool
    rotation_days: int | None
    last_rotation: float | None
    tags: dict[str, str]
    multi_region: bool = False  # created as a multi-region key (Volcengine's MultiRegion)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> KeyRow:
        # By position, the plain columns at C speed: a Row's lookup by name scans its columns, and most
        # columns need no conversion. Every state's keys table has KEY_COLUMNS' order (a migration only
        # appends; tests/emulator/test_state_migrations.py holds each migrated layout to a fresh one).
        values = dict(zip(_FIELDS, row, strict=True))
        for attr, read in _CONVERTED:
            values[attr] = read(values[attr])
        return cls(**values)

    def state(self, now: float) -> KeyState:
        # Replication is asynchronous (Huawei Cloud DEW, Creating a Replica Key): a replica is Creating until its ready
        # time.
        if self.stored_state is KeyState.CREATING and self.ready_at is not None and self.ready_at <= now:
            return KeyState.ENABLE
        return self.stored_state

    def gone(self, now: float) -> bool:
        return self.deletion_at is not None and self.deletion_at <= now


class NewKey(Value, kw_only=True):
    """A key about to be written: a custom key, or a replica (`primary_id` set, `ready_at` its end of
    replication)."""

    region: str
    keyring: str
    name: str
    spec: KeySpec
    usage: KeyUsage
    origin: Origin
    state: KeyState
    description: str
    enterprise_project: str
    material_id: bytes
    primary_id: str | None = None
    ready_at: float | None = None
    tags: Mapping[str, str]
    multi_region: bool = False


class KeyringRow(Value):
    region: str
    name: str
    id: str
    description: str
    created: float
    updated: float


class AliasRow(Value):
    region: str
    name: str
    key_id: str
    created: float


class ImportRow(Value):
    token: str
    algorithm: str
    wrapping_key_der: bytes
    valid_to: float


def _key(row: sqlite3.Row | None) -> KeyRow | None:
    return None if row is None else KeyRow.from_row(row)


_FIELDS = tuple(c.attr for c in KEY_COLUMNS)
_CONVERTED = tuple((c.attr, c.read) for c in KEY_COLUMNS if c.read is not _as_stored)
# What a create writes: the id and times, and NewKey's fields; the other columns start at their default.
_INSERTED = tuple(_KEY_COLUMN[n] for n in fields(NewKey))
_INSERT_KEY = (
    f"INSERT INTO keys (id, created, updated, {', '.join(c.name for c in _INSERTED)})"
    f" VALUES (?, ?, ?{', ?' * len(_INSERTED)})"
)
if fields(KeyRow) != _FIELDS:
    raise TypeError("KeyRow's fields must be KEY_COLUMNS' fields, in order")

_MISS = object()


class Tx:
    """Every statement the service runs, on one connection: inside `Store.write()` they are one
    transaction holding the write lock; from `Store.read()` each reads the latest commit.

    A read `Tx` carries `memo`: answers of the hot lookups (the clock, a key, the keys holding a
    material, a material's latest version) kept while the database is unchanged since they were read
    (`Store.read` checks), so a stream of Encrypts asks SQLite one question each, not four. A write
    never uses it: it reads inside its own transaction."""

    __slots__ = ("db", "store", "memo")

    def __init__(self, store: Store, db: sqlite3.Connection, memo: dict[Any, Any] | None = None) -> None:
        self.store = store
        self.db = db
        self.memo = memo

    def _remembered(self, key: tuple[Any, ...], read: Callable[[], Any]) -> Any:
        memo = self.memo
        if memo is None:
            return read()
        found = memo.get(key, _MISS)
        if found is _MISS:
            found = memo[key] = read()
        return found

    # --- the clock --------------------------------------------------------------------------------
    def clock_offset(self) -> float:
        offset: float = self._remembered(("clock",), self._read_clock_offset)
        return offset

    def _read_clock_offset(self) -> float:
        row = self.db.execute("SELECT v FROM meta WHERE k='clock_offset'").fetchone()
        return float(row[0]) if row else 0.0

    def set_clock_offset(self, offset: float) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (k, v) VALUES ('clock_offset', ?)", (str(offset),))

    def created(self) -> float:
        """When this state was first written: the birth of every region's `default` keyring."""
        row = self.db.execute("SELECT v FROM meta WHERE k='created'").fetchone()
        return float(row[0]) if row else 0.0

    # --- keys -------------------------------------------------------------------------------------
    def key(self, key_id: str) -> KeyRow | None:
        row: KeyRow | None = self._remembered(("key", key_id), lambda: _key(
            self.db.execute("SELECT * FROM keys WHERE id=?", (key_id,)).fetchone()))
        return row

    def key_in(self, region: str, key_id: str) -> KeyRow | None:
        key = self.key(key_id)
        return key if key is not None and key.region == region else None

    def key_named(self, region: str, keyring: str, name: str) -> KeyRow | None:
        return _key(
            self.db.execute(
                "SELECT * FROM keys WHERE region=? AND keyring=? AND name=?", (region, keyring, name)
            ).fetchone()
        )

    def key_of_alias(self, region: str, alias: str) -> KeyRow | None:
        return _key(
            self.db.execute(
                "SELECT k.* FROM aliases al JOIN keys k ON k.id = al.key_id WHERE al.region=? AND al.name=?",
                (region, alias),
            ).fetchone()
        )

    def key_holding(self, material_id: bytes, region: str, now: float) -> KeyRow | None:
        """The live key of `region` that holds a material: the primary or one of its replicas."""
        holders: list[KeyRow] = self._remembered(("holding", material_id, region), lambda: [
            KeyRow.from_row(r) for r in self.db.execute(
                "SELECT * FROM keys WHERE material_id=? AND region=?", (material_id, region)).fetchall()])
        return next((k for k in holders if not k.gone(now)), None)

    def replicas(self, primary_id: str, now: float) -> list[KeyRow]:
        """The primary's live replicas."""
        replicas: list[KeyRow] = self._remembered(("replicas", primary_id), lambda: [
            KeyRow.from_row(r) for r in self.db.execute("SELECT * FROM keys WHERE primary_id=?", (primary_id,))])
        return [k for k in replicas if not k.gone(now)]

    def keys_page(
        self,
        region: str,
        now: float,
        keyring: str | None,
        tag_filters: Mapping[str, tuple[str, ...]],
        offset: int,
        limit: int,
    ) -> tuple[list[KeyRow], int]:
        """One page of the region's live keys in (keyring, name) order, and how many match in all."""
        where = f"region=? AND {_LIVE}"
        args: list[Any] = [region, now]
        if keyring is not None:
            where += " AND keyring=?"
            args.append(keyring)
        for tag, values in sorted(tag_filters.items()):
            where += " AND EXISTS (SELECT 1 FROM json_each(keys.tags) t WHERE t.key=?"
            args.append(tag)
            if values:
                where += f" AND t.value IN ({','.join('?' * len(values))})"
                args.extend(values)
            where += ")"
        (total,) = self.db.execute(f"SELECT COUNT(*) FROM keys WHERE {where}", args).fetchone()
        rows = self.db.execute(
            f"SELECT * FROM keys WHERE {where} ORDER BY keyring, name LIMIT ? OFFSET ?", (*args, limit, offset)
        ).fetchall()
        return [KeyRow.from_row(r) for r in rows], int(total)

    def region_count(self, region: str) -> int:
        row = self.db.execute("SELECT n FROM region_counts WHERE region=?", (region,)).fetchone()
        return 0 if row is None else int(row[0])

    def insert_key(self, key_id: str, new: NewKey, now: float) -> None:
        self.db.execute(_INSERT_KEY, (key_id, now, now, *(c.write(getattr(new, c.name)) for c in _INSERTED)))
        self.db.execute(
            "INSERT INTO region_counts (region, n) VALUES (?, 1) ON CONFLICT(region) DO UPDATE SET n = n + 1",
            (new.region,),
        )

    def update_key(self, key_id: str, now: float, **columns: Any) -> None:
        """Set `columns` (names of the keys table, values as a `KeyRow` holds them) and the update time."""
        sets = "".join(f"{name}=?, " for name in columns)
        values = (_KEY_COLUMN[name].write(value) for name, value in columns.items())
        self.db.execute(f"UPDATE keys SET {sets}updated=? WHERE id=?", (*values, now, key_id))

    def delete_key(self, key: KeyRow) -> None:
        """A deletion that came due: the key, its aliases, its pending import and its tokens go; its
        material goes with the last key that holds it."""
        for sql in (
            "DELETE FROM keys WHERE id=?",
            "DELETE FROM aliases WHERE key_id=?",
            "DELETE FROM imports WHERE key_id=?",
            "DELETE FROM client_tokens WHERE key_id=?",
        ):
            self.db.execute(sql, (key.id,))
        self.db.execute("UPDATE region_counts SET n = n - 1 WHERE region=?", (key.region,))
        cur = self.db.execute(
            "DELETE FROM materials WHERE material_id=? AND NOT EXISTS (SELECT 1 FROM keys WHERE material_id=?)",
            (key.material_id, key.material_id),
        )
        if cur.rowcount:
            self.store.forget_material(key.material_id)

    def keys_due_for_deletion(self, now: float) -> list[KeyRow]:
        rows = self.db.execute("SELECT * FROM keys WHERE deletion_at <= ?", (now,)).fetchall()
        return [KeyRow.from_row(r) for r in rows]

    def keys_due_for_rotation(self, now: float, day: float) -> list[KeyRow]:
        rows = self.db.execute(
            "SELECT * FROM keys WHERE rotation_enabled=1 AND last_rotation + rotation_days * ? <= ?", (day, now)
        ).fetchall()
        return [KeyRow.from_row(r) for r in rows]

    # --- idempotency --------------------------------------------------------------------------------
    def key_of_token(self, token: str | None, action: str, region: str) -> str | None:
        if not token:
            return None
        row = self.db.execute(
            "SELECT key_id FROM client_tokens WHERE token=? AND action=? AND region=?", (token, action, region)
        ).fetchone()
        return None if row is None else str(row[0])

    def remember_token(self, token: str | None, action: str, region: str, key_id: str) -> None:
        if token:
            self.db.execute(
                "INSERT INTO client_tokens (token, action, region, key_id) VALUES (?,?,?,?)",
                (token, action, region, key_id),
            )

    # --- key material -------------------------------------------------------------------------------
    def material(self, material_id: bytes, version: int | None = None) -> tuple[int, bytes] | None:
        """A material version (the latest when `version` is None), unsealed; cached per process."""
        cache = self.store.materials
        memo = self.memo
        if version is None and memo is not None:
            version = memo.get(("latest", material_id))
        if version is not None:
            cached = cache.get((material_id, version))
            if cached is not None:
                return version, cached
            row = self.db.execute(
                "SELECT version, sealed FROM materials WHERE material_id=? AND version=?", (material_id, version)
            ).fetchone()
        else:  # the latest, and its sealed bytes, in one question
            row = self.db.execute(
                "SELECT version, sealed FROM materials WHERE material_id=? ORDER BY version DESC LIMIT 1",
                (material_id,),
            ).fetchone()
            if row is not None and memo is not None:
                memo[("latest", material_id)] = int(row["version"])
        if row is None:
            return None
        version = int(row["version"])
        cached = cache.get((material_id, version))
        if cached is None:
            cached = self.store.unseal(row["sealed"], _material_aad(material_id, version))
            cache[(material_id, version)] = cached
        return version, cached

    def _latest_version(self, material_id: bytes) -> int | None:
        (latest,) = self.db.execute("SELECT MAX(version) FROM materials WHERE material_id=?", (material_id,)).fetchone()
        return None if latest is None else int(latest)

    def has_material(self, material_id: bytes) -> bool:
        return self.db.execute("SELECT 1 FROM materials WHERE material_id=?", (material_id,)).fetchone() is not None

    def add_material(self, material_id: bytes, material: bytes, now: float) -> int:
        """Store the next version of a material, sealed under the root key; answers its version."""
        version = (self._latest_version(material_id) or 0) + 1
        self.db.execute(
            "INSERT INTO materials (material_id, version, sealed, created) VALUES (?, ?, ?, ?)",
            (material_id, version, self.store.seal(material, _material_aad(material_id, version)), now),
        )
        return version

    # --- aliases ------------------------------------------------------------------------------------
    def alias(self, region: str, name: str) -> AliasRow | None:
        row = self.db.execute("SELECT * FROM aliases WHERE region=? AND name=?", (region, name)).fetchone()
        return None if row is None else AliasRow(row["region"], row["name"], row["key_id"], row["created"])

    def insert_alias(self, region: str, name: str, key_id: str, now: float) -> None:
        self.db.execute(
            "INSERT INTO aliases (region, name, key_id, created) VALUES (?,?,?,?)", (region, name, key_id, now)
        )

    def retarget_alias(self, region: str, name: str, key_id: str) -> None:
        self.db.execute("UPDATE aliases SET key_id=? WHERE region=? AND name=?", (key_id, region, name))

    def delete_alias(self, region: str, name: str) -> bool:
        return self.db.execute("DELETE FROM aliases WHERE region=? AND name=?", (region, name)).rowcount > 0

    def aliases(self, region: str, now: float, key_id: str | None = None) -> list[AliasRow]:
        """The region's aliases of live keys (of one key when `key_id` is given), by name."""
        sql = f"SELECT al.* FROM aliases al JOIN keys k ON k.id = al.key_id WHERE al.region=? AND {_LIVE}"
        args: list[Any] = [region, now]
        if key_id is not None:
            sql += " AND al.key_id=?"
            args.append(key_id)
        rows = self.db.execute(sql + " ORDER BY al.name", args).fetchall()
        return [AliasRow(r["region"], r["name"], r["key_id"], r["created"]) for r in rows]

    # --- imports ------------------------------------------------------------------------------------
    def save_import(self, key_id: str, token: str, algorithm: str, wrapping_key_der: bytes, valid_to: float) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO imports (key_id, token, algorithm, sealed_wrapping_key, valid_to)"
            " VALUES (?,?,?,?,?)",
            (key_id, token, algorithm, self.store.seal(wrapping_key_der, key_id.encode()), valid_to),
        )

    def pending_import(self, key_id: str) -> ImportRow | None:
        row = self.db.execute("SELECT * FROM imports WHERE key_id=?", (key_id,)).fetchone()
        if row is None:
            return None
        der = self.store.unseal(row["sealed_wrapping_key"], key_id.encode())
        return ImportRow(row["token"], row["algorithm"], der, row["valid_to"])

    def drop_import(self, key_id: str) -> None:
        self.db.execute("DELETE FROM imports WHERE key_id=?", (key_id,))

    # --- keyrings -----------------------------------------------------------------------------------
    def keyring(self, region: str, name: str) -> KeyringRow | None:
        row = self.db.execute("SELECT * FROM keyrings WHERE region=? AND name=?", (region, name)).fetchone()
        return None if row is None else _keyring(row)

    def keyrings(self, region: str) -> list[KeyringRow]:
        rows = self.db.execute("SELECT * FROM keyrings WHERE region=? ORDER BY name", (region,)).fetchall()
        return [_keyring(r) for r in rows]

    def save_keyring(self, ring: KeyringRow) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO keyrings (region, name, id, description, created, updated) VALUES (?,?,?,?,?,?)",
            (ring.region, ring.name, ring.id, ring.description, ring.created, ring.updated),
        )

    def delete_keyring(self, region: str, name: str) -> bool:
        return self.db.execute("DELETE FROM keyrings WHERE region=? AND name=?", (region, name)).rowcount > 0

    def keys_per_keyring(self, region: str, names: list[str] | None = None) -> dict[str, int]:
        """How many keys (pending deletions included) each keyring of `region` holds."""
        sql = "SELECT keyring, COUNT(*) FROM keys WHERE region=?"
        args: list[Any] = [region]
        if names is not None:
            sql += f" AND keyring IN ({','.join('?' * len(names))})"
            args.extend(names)
        return {r[0]: int(r[1]) for r in self.db.execute(sql + " GROUP BY keyring", args).fetchall()}


def _keyring(row: sqlite3.Row) -> KeyringRow:
    return KeyringRow(row["region"], row["name"], row["id"], row["description"], row["created"], row["updated"])


def _material_aad(material_id: bytes, version: int) -> bytes:
    return material_id + version.to_bytes(4, "big")


BUSY_TIMEOUT_MS = 60_000
# How many times this process is a fork away from where its connections were opened (no getpid per read).
_forks = [0]
os.register_at_fork(after_in_child=lambda: _forks.__setitem__(0, _forks[0] + 1))
MEMO_ENTRIES = 4096  # a read memo past this size starts over: it stays small however many keys are read
DB_FILE = "kms.sqlite3"  # the state's database, inside the state directory


class Store:
    """Connections (one per thread), transactions and the sealing of material at rest."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.db_path = self.directory / DB_FILE
        self._local = threading.local()
        self._root = AESGCM(self._root_key())
        # Unsealed material by (material id, version): Encrypt must not pay an unseal per call.
        self.materials: dict[tuple[bytes, int], bytes] = {}
        # Commits made by this process: a read's memo older than the last is dropped.
        self._commits = itertools.count(1)
        self.generation = 0
        self._writers = (_forks[0], threading.Lock())
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
            import tempfile  # here only: once per state directory, never on a start that finds its root key

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
        if db is None or self._local.forks != _forks[0]:
            # A forked child must not use its parent's connection: it opens its own.
            db = self._connect()
            self._local.db = db
            self._local.forks = _forks[0]
            self._local.memo = None  # a new connection's data_version starts anew
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
        if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            self._upgrade(db)
        return db

    def _upgrade(self, db: sqlite3.Connection) -> None:
        """Bring the database to `SCHEMA_VERSION`: lay a new one down, migrate an older one step by step.

        Under the write lock, and the version read again once it is held: of two processes opening one
        state at once, the second finds the work done. One transaction: a crash leaves the old layout."""
        self._retry(lambda: db.execute("BEGIN IMMEDIATE"))
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0] or _unversioned_layout(db)
            if version > SCHEMA_VERSION:
                raise UndefinedError(
                    f"the emulator state {self.db_path} has layout version {version}, newer than this release "
                    f"of kms-keys-as-code reads (version {SCHEMA_VERSION}): open it with the release that wrote it"
                )
            if version == 0:
                statements = SCHEMA
            else:
                statements = tuple(s for m in MIGRATIONS if m.version > version for s in m.statements)
            for statement in statements:
                db.execute(statement)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @staticmethod
    def _retry(fn: Callable[[], object]) -> None:
        for attempt in range(200):
            try:
                fn()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                time.sleep(min(0.05 * (attempt + 1), 0.5))
        raise UndefinedError("the emulator state stayed locked for too long")

    def read(self) -> Tx:
        """Statements outside a transaction: each reads the latest committed state.

        Its memo (per thread, like the connection) is dropped when any connection, of this process or
        another, has committed since it was filled: SQLite's `data_version` moves on the commits of
        other connections, `self.generation` on this process's own."""
        db = self.conn()
        local = self._local
        stamp = (db.execute("PRAGMA data_version").fetchone()[0], self.generation)
        memo: dict[Any, Any] | None = getattr(local, "memo", None)
        if memo is None or local.stamp != stamp or len(memo) > MEMO_ENTRIES:
            memo = local.memo = {}
            local.stamp = stamp
        return Tx(self, db, memo)

    @contextlib.contextmanager
    def write(self) -> Iterator[Tx]:
        """A write transaction holding the database's write lock from its first statement.

        This process's writers queue on a lock of their own first: SQLite's busy handler makes a writer that
        finds the database locked sleep 1, 2, 5, 10... ms before it looks again, while a commit holds the
        lock about 1 ms (https://www.sqlite.org/c3ref/busy_timeout.html), so concurrent writes (a `pulumi
        destroy` deleting 16 keys at once) slept while the lock stood free. Other processes' writers still
        meet SQLite's own lock and wait as before."""
        forks, writers = self._writers
        if forks != _forks[0]:  # a lock inherited through fork may be held by a thread the child lacks
            self._writers = (_forks[0], writers := threading.Lock())
        with writers:
            db = self.conn()
            self._retry(lambda: db.execute("BEGIN IMMEDIATE"))
            try:
                yield Tx(self, db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            else:
                try:
                    self._retry(lambda: db.execute("COMMIT"))
                finally:
                    self.generation = next(self._commits)  # atomic, unlike += from several threads

    def forget_material(self, material_id: bytes) -> None:
        self.materials = {k: v for k, v in self.materials.items() if k[0] != material_id}

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
