"""The emulated KMS service: every action of the contract, on the domain's rules and real crypto.

`Emulator.call(region, action, params)` is the whole surface: parameters arrive as the wire's JSON
object (binary values base64), are validated by the domain's action models, and the result is the
wire's `Result` object. The embedded backend calls it in process; the server calls it per request.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization as ser

from ..domain import actions as a
from ..domain import rules
from ..domain.errors import Conflict, InvalidOperation, InvalidParameter, NotFound, QuotaExceeded
from ..domain.rules import KeySpec, KeyState, KeyUsage, MultiRegionType, Op, Origin
from . import crypto
from .store import Store

DAY = 86400.0
Result = dict[str, Any]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise InvalidParameter(f"environment variable {name} must be a number of seconds, not {raw!r}") from None


@dataclass(frozen=True)
class Key:
    """One key row as stored; `state(now)` is what the service reports at that instant."""

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

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Key:
        return cls(
            id=row["id"],
            region=row["region"],
            keyring=row["keyring"],
            name=row["name"],
            spec=KeySpec(row["spec"]),
            usage=KeyUsage(row["usage"]),
            origin=Origin(row["origin"]),
            stored_state=KeyState(row["state"]),
            description=row["description"],
            enterprise_project=row["enterprise_project"],
            created=row["created"],
            updated=row["updated"],
            material_id=row["material_id"],
            primary_id=row["primary_id"],
            ready_at=row["ready_at"],
            deletion_at=row["deletion_at"],
            pending_days=row["pending_days"],
            rotation_enabled=bool(row["rotation_enabled"]),
            rotation_days=row["rotation_days"],
            last_rotation=row["last_rotation"],
            tags=json.loads(row["tags"]),
        )

    def state(self, now: float) -> KeyState:
        # Replication is asynchronous (seed 000): a replica is Creating until its ready time.
        if self.stored_state is KeyState.CREATING and self.ready_at is not None and self.ready_at <= now:
            return KeyState.ENABLE
        return self.stored_state

    def gone(self, now: float) -> bool:
        return self.deletion_at is not None and self.deletion_at <= now


_LIVE = "(deletion_at IS NULL OR deletion_at > ?)"


class Emulator:
    """The KMS service over one state directory. Safe to share between threads and processes."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        replication_delay: float | None = None,
        quota: int | None = None,
        account_id: str | None = None,
        catalog: rules.RegionCatalog | None = None,
    ) -> None:
        self.store = Store(directory)
        self.replication_delay = (
            replication_delay if replication_delay is not None else _env_float("KMS_REPLICATION_DELAY", 2.0)
        )
        self.quota = quota if quota is not None else int(os.environ.get("KMS_KEY_QUOTA") or rules.KEYS_PER_REGION)
        self.account_id = account_id or os.environ.get("KMS_ACCOUNT_ID") or "2100000000"
        self.catalog = catalog or rules.catalog()
        self._materials: dict[tuple[bytes, int], bytes] = {}
        self._handlers: dict[str, Callable[[str, Any], Result]] = {
            name: getattr(self, "_" + name) for name in a.ACTIONS
        }

    def close(self) -> None:
        self.store.close()

    # --- the one entry point ------------------------------------------------------------------------
    def call(self, region: str, action: str, params: Mapping[str, Any]) -> Result:
        request = a.parse(action, dict(params) if isinstance(params, Mapping) else params)
        self.catalog.region(region)
        return self._handlers[action](region, request)

    # --- clock ---------------------------------------------------------------------------------------
    def _now(self, db: sqlite3.Connection) -> float:
        row = db.execute("SELECT v FROM meta WHERE k='clock_offset'").fetchone()
        return time.time() + (float(row[0]) if row else 0.0)

    def _AdvanceClock(self, region: str, req: a.AdvanceClock) -> Result:
        with self.store.write() as db:
            row = db.execute("SELECT v FROM meta WHERE k='clock_offset'").fetchone()
            offset = (float(row[0]) if row else 0.0) + req.Seconds
            db.execute("INSERT OR REPLACE INTO meta (k, v) VALUES ('clock_offset', ?)", (str(offset),))
            now = time.time() + offset
            self._sweep(db, now)
        return {"Now": int(now), "OffsetSeconds": int(offset)}

    def _sweep(self, db: sqlite3.Connection, now: float) -> None:
        """Carry out what has come due: deletions (seed 001: the key is gone, its ciphertexts stay
        undecryptable) and rotations (a new material version, which replicas share)."""
        due = db.execute("SELECT id, region, material_id FROM keys WHERE deletion_at <= ?", (now,)).fetchall()
        for key_id, region, material_id in due:
            db.execute("DELETE FROM keys WHERE id=?", (key_id,))
            db.execute("DELETE FROM aliases WHERE key_id=?", (key_id,))
            db.execute("DELETE FROM imports WHERE key_id=?", (key_id,))
            db.execute("DELETE FROM client_tokens WHERE key_id=?", (key_id,))
            db.execute("UPDATE region_counts SET n = n - 1 WHERE region=?", (region,))
            db.execute(
                "DELETE FROM materials WHERE material_id=? AND NOT EXISTS (SELECT 1 FROM keys WHERE material_id=?)",
                (material_id, material_id),
            )
            self._materials = {k: v for k, v in self._materials.items() if k[0] != material_id}
        rotations = db.execute(
            "SELECT id, material_id FROM keys WHERE rotation_enabled=1 AND last_rotation + rotation_days * ? <= ?",
            (DAY, now),
        ).fetchall()
        for key_id, material_id in rotations:
            self._rotate(db, key_id, material_id, now)

    def _rotate(self, db: sqlite3.Connection, key_id: str, material_id: bytes, now: float) -> None:
        (latest,) = db.execute("SELECT MAX(version) FROM materials WHERE material_id=?", (material_id,)).fetchone()
        version = (latest or 0) + 1
        db.execute(
            "INSERT INTO materials (material_id, version, sealed, created) VALUES (?, ?, ?, ?)",
            (material_id, version, self._seal(material_id, version, crypto.new_material(KeySpec.AES_256)), now),
        )
        db.execute("UPDATE keys SET last_rotation=?, updated=? WHERE id=?", (now, now, key_id))

    # --- lookups -------------------------------------------------------------------------------------
    def _resolve(
        self,
        db: sqlite3.Connection,
        region: str,
        ref: a.KeyRef | None,
        now: float,
        key_id: str | None = None,
        keyring: str | None = None,
        name: str | None = None,
    ) -> Key:
        """A key named by id, TRN, alias, or keyring + name, in the request's region."""
        if ref is not None:
            key_id, keyring, name = ref.KeyID, ref.KeyringName, ref.KeyName
        row: sqlite3.Row | None
        label = key_id or name or ""
        if key_id:
            if key_id.startswith(rules.ALIAS_PREFIX):
                row = db.execute(
                    "SELECT k.* FROM aliases al JOIN keys k ON k.id = al.key_id WHERE al.region=? AND al.name=?",
                    (region, key_id),
                ).fetchone()
            elif key_id.startswith("trn:"):
                trn_region, trn_keyring, trn_name = self._parse_trn(key_id)
                if trn_region != region:
                    raise InvalidParameter(
                        f"The request parameter KeyID is invalid: TRN names region {trn_region}, "
                        f"the request is for {region}"
                    )
                row = db.execute(
                    "SELECT * FROM keys WHERE region=? AND keyring=? AND name=?", (region, trn_keyring, trn_name)
                ).fetchone()
            else:
                row = db.execute("SELECT * FROM keys WHERE id=? AND region=?", (key_id, region)).fetchone()
        elif name:
            ring = rules.keyring_name(keyring)
            row = db.execute(
                "SELECT * FROM keys WHERE region=? AND keyring=? AND name=?", (region, ring, name)
            ).fetchone()
        else:
            raise InvalidParameter("The request parameter KeyID is invalid: give KeyID, or KeyringName and KeyName")
        if row is None:
            raise NotFound(f"Not found key [{label}] in region {region}")
        key = Key.from_row(row)
        if key.gone(now):
            raise NotFound(f"Not found key [{label}] in region {region}")
        return key

    def _parse_trn(self, trn: str) -> tuple[str, str, str]:
        parts = trn.split(":", 4)
        if len(parts) != 5 or parts[1] != "kms":
            raise InvalidParameter("The request parameter KeyID is invalid: not a KMS TRN")
        path = parts[4].split("/")
        if len(path) < 4 or path[0] != "keyrings" or path[2] != "keys":
            raise InvalidParameter("The request parameter KeyID is invalid: TRN path must be keyrings/R/keys/N")
        return parts[2], path[1], "/".join(path[3:])

    def trn(self, region: str, keyring: str, name: str) -> str:
        return f"trn:kms:{region}:{self.account_id}:keyrings/{keyring}/keys/{name}"

    def _replicas(self, db: sqlite3.Connection, primary_id: str, now: float) -> list[Key]:
        rows = db.execute(f"SELECT * FROM keys WHERE primary_id=? AND {_LIVE}", (primary_id, now)).fetchall()
        return [Key.from_row(r) for r in rows]

    def _key_object(self, db: sqlite3.Connection, key: Key, now: float) -> Result:
        state = key.state(now)
        primary: Key | None = None
        if key.primary_id is not None:
            prow = db.execute("SELECT * FROM keys WHERE id=?", (key.primary_id,)).fetchone()
            primary = Key.from_row(prow) if prow is not None else None
            replicas = self._replicas(db, key.primary_id, now)
            mr_type = MultiRegionType.REPLICA
        else:
            replicas = self._replicas(db, key.id, now)
            primary = key if replicas else None
            mr_type = MultiRegionType.PRIMARY if replicas else MultiRegionType.NONE
        obj: Result = {
            "ID": key.id,
            "Trn": self.trn(key.region, key.keyring, key.name),
            "Region": key.region,
            "KeyringName": key.keyring,
            "KeyName": key.name,
            "KeySpec": key.spec.value,
            "KeyUsage": key.usage.value,
            "Description": key.description,
            "KeyState": state.value,
            "ProtectionLevel": "SOFTWARE",
            "Origin": key.origin.value,
            "EnterpriseProject": key.enterprise_project,
            "CreationDate": int(key.created),
            "UpdateDate": int(key.updated * 1000),
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(key.tags.items())],
            "RotationEnabled": key.rotation_enabled,
            "RotationIntervalInDays": key.rotation_days,
            "LastRotationDate": int(key.last_rotation) if key.last_rotation else None,
            "DeletionDate": int(key.deletion_at) if key.deletion_at else None,
            "PendingWindowInDays": key.pending_days if state is KeyState.PENDING_DELETE else None,
            "MultiRegion": mr_type is not MultiRegionType.NONE,
            "MultiRegionConfiguration": None,
        }
        if mr_type is not MultiRegionType.NONE:
            primary_ref: Result = {"KeyID": key.primary_id or key.id}
            if primary is not None:
                primary_ref |= {
                    "Trn": self.trn(primary.region, primary.keyring, primary.name),
                    "Region": primary.region,
                }
            obj["MultiRegionConfiguration"] = {
                "MultiRegionKeyType": mr_type.value,
                "PrimaryKey": primary_ref,
                "ReplicaKeys": [
                    {
                        "KeyID": r.id,
                        "Trn": self.trn(r.region, r.keyring, r.name),
                        "Region": r.region,
                        "KeyState": r.state(now).value,
                    }
                    for r in sorted(replicas, key=lambda r: r.region)
                ],
            }
        return obj

    def _describe(self, region: str, key_id: str) -> Result:
        db = self.store.conn()
        now = self._now(db)
        return self._key_object(db, self._resolve(db, region, None, now, key_id=key_id), now)

    # --- material ------------------------------------------------------------------------------------
    def _seal(self, material_id: bytes, version: int, material: bytes) -> bytes:
        return self.store.seal(material, material_id + version.to_bytes(4, "big"))

    def _material(self, db: sqlite3.Connection, key: Key, version: int | None = None) -> tuple[int, bytes]:
        if version is None:
            row = db.execute(
                "SELECT version, sealed FROM materials WHERE material_id=? ORDER BY version DESC LIMIT 1",
                (key.material_id,),
            ).fetchone()
        else:
            cached = self._materials.get((key.material_id, version))
            if cached is not None:
                return version, cached
            row = db.execute(
                "SELECT version, sealed FROM materials WHERE material_id=? AND version=?", (key.material_id, version)
            ).fetchone()
        if row is None:
            raise NotFound(f"Not found key material of key [{key.id}]")
        ver = int(row["version"])
        cached = self._materials.get((key.material_id, ver))
        if cached is None:
            cached = self.store.unseal(row["sealed"], key.material_id + ver.to_bytes(4, "big"))
            self._materials[(key.material_id, ver)] = cached
        return ver, cached

    # --- keys ---------------------------------------------------------------------------------------
    def _insert_key(
        self,
        db: sqlite3.Connection,
        now: float,
        *,
        region: str,
        keyring: str,
        name: str,
        spec: KeySpec,
        usage: KeyUsage,
        origin: Origin,
        state: KeyState,
        description: str,
        enterprise_project: str,
        material_id: bytes,
        primary_id: str | None,
        ready_at: float | None,
        tags: dict[str, str],
    ) -> str:
        # Seed 001: 100 custom keys a region; replica keys take up the quota of their region.
        count = db.execute("SELECT n FROM region_counts WHERE region=?", (region,)).fetchone()
        if count is not None and count[0] >= self.quota:
            raise QuotaExceeded(f"The quota of {self.quota} custom keys in region {region} is used up")
        taken = db.execute(
            "SELECT id FROM keys WHERE region=? AND keyring=? AND name=?", (region, keyring, name)
        ).fetchone()
        if taken is not None:
            raise Conflict(
                f"The key resource keyrings/{keyring}/keys/{name} in {region} is conflict: the name is taken "
                f"by key {taken[0]}"
            )
        key_id = str(uuid.uuid4())
        db.execute(
            "INSERT INTO keys (id, region, keyring, name, spec, usage, origin, state, description, enterprise_project,"
            " created, updated, material_id, primary_id, ready_at, tags) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                key_id,
                region,
                keyring,
                name,
                spec.value,
                usage.value,
                origin.value,
                state.value,
                description,
                enterprise_project,
                now,
                now,
                material_id,
                primary_id,
                ready_at,
                json.dumps(tags, sort_keys=True),
            ),
        )
        db.execute(
            "INSERT INTO region_counts (region, n) VALUES (?, 1) ON CONFLICT(region) DO UPDATE SET n = n + 1", (region,)
        )
        return key_id

    def _by_token(self, db: sqlite3.Connection, token: str | None, action: str, region: str) -> str | None:
        if not token:
            return None
        row = db.execute(
            "SELECT key_id FROM client_tokens WHERE token=? AND action=? AND region=?", (token, action, region)
        ).fetchone()
        return None if row is None else str(row[0])

    def _CreateKey(self, region: str, req: a.CreateKey) -> Result:
        spec = rules.key_spec(req.KeySpec)
        usage = rules.key_usage(spec, req.KeyUsage)
        origin = rules.origin(req.Origin, spec)
        name = rules.key_name(req.KeyName)
        keyring = rules.keyring_name(req.KeyringName)
        description = rules.description(req.Description)
        tags = rules.tags((t.Key, t.Value) for t in req.Tags)
        # Generated before the write lock is taken: an RSA-4096 key takes a while.
        material = crypto.new_material(spec) if origin is Origin.KMS else None
        material_id = uuid.uuid4().bytes
        with self.store.write() as db:
            now = self._now(db)
            self._sweep(db, now)
            existing = self._by_token(db, req.ClientToken, "CreateKey", region)
            if existing is not None:
                key_id = existing
            else:
                key_id = self._insert_key(
                    db,
                    now,
                    region=region,
                    keyring=keyring,
                    name=name,
                    spec=spec,
                    usage=usage,
                    origin=origin,
                    state=KeyState.ENABLE if material else KeyState.PENDING_IMPORT,
                    description=description,
                    enterprise_project=req.EnterpriseProject or rules.DEFAULT_ENTERPRISE_PROJECT,
                    material_id=material_id,
                    primary_id=None,
                    ready_at=None,
                    tags=tags,
                )
                if material is not None:
                    db.execute(
                        "INSERT INTO materials (material_id, version, sealed, created) VALUES (?, 1, ?, ?)",
                        (material_id, self._seal(material_id, 1, material), now),
                    )
                if req.ClientToken:
                    db.execute(
                        "INSERT INTO client_tokens (token, action, region, key_id) VALUES (?,?,?,?)",
                        (req.ClientToken, "CreateKey", region, key_id),
                    )
            key = self._resolve(db, region, None, now, key_id=key_id)
            return {"Key": self._key_object(db, key, now)}

    def _DescribeKey(self, region: str, req: a.DescribeKey) -> Result:
        db = self.store.conn()
        now = self._now(db)
        return {"Key": self._key_object(db, self._resolve(db, region, req, now), now)}

    def _DescribeKeys(self, region: str, req: a.DescribeKeys) -> Result:
        db = self.store.conn()
        now = self._now(db)
        sql = f"SELECT * FROM keys WHERE region=? AND id > ? AND {_LIVE}"
        args: list[Any] = [region, req.Marker or "", now]
        if req.KeyringName:
            sql += " AND keyring=?"
            args.append(req.KeyringName)
        rows = db.execute(sql + " ORDER BY id LIMIT ?", (*args, req.Limit + 1)).fetchall()
        keys = [Key.from_row(r) for r in rows[: req.Limit]]
        return {
            "Keys": [self._key_object(db, k, now) for k in keys],
            "NextMarker": keys[-1].id if len(rows) > req.Limit else None,
        }

    def _mutate(
        self,
        region: str,
        ref: a.KeyRef,
        op: Op,
        change: Callable[[sqlite3.Connection, Key, float], None],
        wrap: str = "Key",
    ) -> Result:
        """Resolve, check the state machine, apply one change, and answer the key as it now stands."""
        with self.store.write() as db:
            now = self._now(db)
            self._sweep(db, now)
            key = self._resolve(db, region, ref, now)
            rules.require_state(key.state(now), op, key.id)
            change(db, key, now)
            db.execute("UPDATE keys SET updated=? WHERE id=?", (now, key.id))
            return {wrap: self._key_object(db, self._resolve(db, region, None, now, key_id=key.id), now)}

    def _UpdateKey(self, region: str, req: a.UpdateKey) -> Result:
        new_name = rules.key_name(req.NewKeyName, "NewKeyName") if req.NewKeyName else None
        description = rules.description(req.Description) if req.Description is not None else None

        def change(db: sqlite3.Connection, key: Key, now: float) -> None:
            if new_name is not None and new_name != key.name:
                taken = db.execute(
                    "SELECT id FROM keys WHERE region=? AND keyring=? AND name=?", (key.region, key.keyring, new_name)
                ).fetchone()
                if taken is not None:
                    raise Conflict(
                        f"The key resource keyrings/{key.keyring}/keys/{new_name} in {key.region} is "
                        f"conflict: the name is taken by key {taken[0]}"
                    )
                db.execute("UPDATE keys SET name=? WHERE id=?", (new_name, key.id))
            if description is not None:
                db.execute("UPDATE keys SET description=? WHERE id=?", (description, key.id))
            if req.EnterpriseProject is not None:
                db.execute("UPDATE keys SET enterprise_project=? WHERE id=?", (req.EnterpriseProject, key.id))

        return self._mutate(region, req, Op.UPDATE, change)

    def _set_state(self, state: KeyState) -> Callable[[sqlite3.Connection, Key, float], None]:
        def change(db: sqlite3.Connection, key: Key, now: float) -> None:
            db.execute("UPDATE keys SET state=?, ready_at=NULL WHERE id=?", (state.value, key.id))

        return change

    def _EnableKey(self, region: str, req: a.EnableKey) -> Result:
        return self._mutate(region, req, Op.ENABLE, self._set_state(KeyState.ENABLE))

    def _DisableKey(self, region: str, req: a.DisableKey) -> Result:
        return self._mutate(region, req, Op.DISABLE, self._set_state(KeyState.DISABLE))

    def _ScheduleKeyDeletion(self, region: str, req: a.ScheduleKeyDeletion) -> Result:
        days = rules.pending_days(req.PendingWindowInDays)

        def change(db: sqlite3.Connection, key: Key, now: float) -> None:
            # Seed 001: "To delete a master key with replica key created, delete the replica key first."
            waiting = [r for r in self._replicas(db, key.id, now) if r.state(now) is not KeyState.PENDING_DELETE]
            if waiting:
                names = ", ".join(f"{r.id} ({r.region})" for r in waiting)
                raise InvalidOperation(
                    f"Key {key.id} is a primary key with replica keys not yet scheduled for deletion: {names}; "
                    "schedule the deletion of the replica keys first"
                )
            db.execute(
                "UPDATE keys SET state=?, deletion_at=?, pending_days=?, ready_at=NULL WHERE id=?",
                (KeyState.PENDING_DELETE.value, now + days * DAY, days, key.id),
            )

        return self._mutate(region, req, Op.SCHEDULE_DELETION, change)

    def _CancelKeyDeletion(self, region: str, req: a.CancelKeyDeletion) -> Result:
        def change(db: sqlite3.Connection, key: Key, now: float) -> None:
            # Seed 001: "After the cancellation, the key is in Disabled status." A key whose material was
            # never imported goes back to waiting for it.
            has_material = db.execute("SELECT 1 FROM materials WHERE material_id=?", (key.material_id,)).fetchone()
            state = KeyState.DISABLE if has_material else KeyState.PENDING_IMPORT
            db.execute("UPDATE keys SET state=?, deletion_at=NULL, pending_days=NULL WHERE id=?", (state.value, key.id))

        return self._mutate(region, req, Op.CANCEL_DELETION, change)

    def _ReplicateKey(self, region: str, req: a.ReplicateKey) -> Result:
        replica_region = self.catalog.region(req.ReplicaRegion, "ReplicaRegion")
        description = rules.description(req.Description) if req.Description is not None else None
        replica_name = rules.key_name(req.ReplicaKeyName, "ReplicaKeyName") if req.ReplicaKeyName else None
        tags = rules.tags((t.Key, t.Value) for t in req.Tags)
        with self.store.write() as db:
            now = self._now(db)
            self._sweep(db, now)
            primary = self._resolve(db, region, req, now)
            existing = self._by_token(db, req.ClientToken, "ReplicateKey", region)
            if existing is None:
                if primary.primary_id is not None:
                    raise InvalidOperation(
                        f"Key {primary.id} is a replica key; only a custom key that is not a replica can be replicated"
                    )
                rules.require_state(primary.state(now), Op.REPLICATE, primary.id)
                self.catalog.replica_region(primary.region, replica_region)
                # Seed 000: "only one replica key can be created for a master key in each region".
                for r in self._replicas(db, primary.id, now):
                    if r.region == replica_region:
                        raise Conflict(
                            f"The replica key resource {r.id} of key {primary.id} in {replica_region} is "
                            "conflict: a primary key has one replica a region"
                        )
                existing = self._insert_key(
                    db,
                    now,
                    region=replica_region,
                    keyring=primary.keyring,
                    name=replica_name or primary.name,
                    spec=primary.spec,
                    usage=primary.usage,
                    origin=primary.origin,
                    state=KeyState.CREATING,
                    description=primary.description if description is None else description,
                    enterprise_project=req.EnterpriseProject or primary.enterprise_project,
                    material_id=primary.material_id,
                    primary_id=primary.id,
                    ready_at=now + self.replication_delay,
                    tags=tags,
                )
                if req.ClientToken:
                    db.execute(
                        "INSERT INTO client_tokens (token, action, region, key_id) VALUES (?,?,?,?)",
                        (req.ClientToken, "ReplicateKey", region, existing),
                    )
            row = db.execute("SELECT * FROM keys WHERE id=?", (existing,)).fetchone()
            return {"ReplicaKey": self._key_object(db, Key.from_row(row), now)}

    def _EnableKeyRotation(self, region: str, req: a.EnableKeyRotation) -> Result:
        days = rules.rotation_days(req.RotationIntervalInDays)

        def change(db: sqlite3.Connection, key: Key, now: float) -> None:
            rules.rotation_supported(key.spec, key.origin, key.primary_id is not None, f"Key {key.id}")
            db.execute(
                "UPDATE keys SET rotation_enabled=1, rotation_days=?, last_rotation=COALESCE(last_rotation, ?)"
                " WHERE id=?",
                (days, now, key.id),
            )

        return self._mutate(region, req, Op.ROTATE, change)

    def _DisableKeyRotation(self, region: str, req: a.DisableKeyRotation) -> Result:
        def change(db: sqlite3.Connection, key: Key, now: float) -> None:
            db.execute("UPDATE keys SET rotation_enabled=0 WHERE id=?", (key.id,))

        return self._mutate(region, req, Op.ROTATE, change)

    def _TagResources(self, region: str, req: a.TagResources) -> Result:
        new = rules.tags((t.Key, t.Value) for t in req.Tags)

        def change(db: sqlite3.Connection, key: Key, now: float) -> None:
            merged = rules.check_tag_count(key.tags | new)
            db.execute("UPDATE keys SET tags=? WHERE id=?", (json.dumps(merged, sort_keys=True), key.id))

        return self._mutate(region, req, Op.TAG, change)

    def _UntagResources(self, region: str, req: a.UntagResources) -> Result:
        def change(db: sqlite3.Connection, key: Key, now: float) -> None:
            left = {k: v for k, v in key.tags.items() if k not in set(req.TagKeys)}
            db.execute("UPDATE keys SET tags=? WHERE id=?", (json.dumps(left, sort_keys=True), key.id))

        return self._mutate(region, req, Op.TAG, change)

    # --- aliases ------------------------------------------------------------------------------------
    def _alias_object(self, region: str, name: str, key_id: str, created: float) -> Result:
        return {
            "AliasName": name,
            "KeyID": key_id,
            "Region": region,
            "Trn": f"trn:kms:{region}:{self.account_id}:{name}",
            "CreationDate": int(created),
        }

    def _CreateAlias(self, region: str, req: a.CreateAlias) -> Result:
        name = rules.alias_name(req.AliasName)
        with self.store.write() as db:
            now = self._now(db)
            self._sweep(db, now)
            key = self._resolve(db, region, None, now, key_id=req.KeyID)
            rules.require_state(key.state(now), Op.ALIAS, key.id)
            row = db.execute("SELECT key_id FROM aliases WHERE region=? AND name=?", (region, name)).fetchone()
            if row is not None:
                raise Conflict(f"The alias resource {name} in {region} is conflict: it points at key {row[0]}")
            db.execute(
                "INSERT INTO aliases (region, name, key_id, created) VALUES (?,?,?,?)", (region, name, key.id, now)
            )
            return {"Alias": self._alias_object(region, name, key.id, now)}

    def _UpdateAlias(self, region: str, req: a.UpdateAlias) -> Result:
        name = rules.alias_name(req.AliasName)
        with self.store.write() as db:
            now = self._now(db)
            self._sweep(db, now)
            row = db.execute("SELECT key_id, created FROM aliases WHERE region=? AND name=?", (region, name)).fetchone()
            if row is None:
                raise NotFound(f"Not found alias [{name}] in region {region}")
            key = self._resolve(db, region, None, now, key_id=req.KeyID)
            rules.require_state(key.state(now), Op.ALIAS, key.id)
            old = db.execute("SELECT usage FROM keys WHERE id=?", (row["key_id"],)).fetchone()
            if old is not None and old["usage"] != key.usage.value:
                raise InvalidOperation(
                    f"Alias {name} points at a {old['usage']} key; it cannot move to key {key.id} of usage {key.usage}"
                )
            db.execute("UPDATE aliases SET key_id=? WHERE region=? AND name=?", (key.id, region, name))
            return {"Alias": self._alias_object(region, name, key.id, row["created"])}

    def _DeleteAlias(self, region: str, req: a.DeleteAlias) -> Result:
        name = rules.alias_name(req.AliasName)
        with self.store.write() as db:
            cur = db.execute("DELETE FROM aliases WHERE region=? AND name=?", (region, name))
            if cur.rowcount == 0:
                raise NotFound(f"Not found alias [{name}] in region {region}")
        return {"AliasName": name}

    def _ListAliases(self, region: str, req: a.ListAliases) -> Result:
        db = self.store.conn()
        now = self._now(db)
        sql = f"SELECT al.* FROM aliases al JOIN keys k ON k.id = al.key_id WHERE al.region=? AND {_LIVE}"
        args: list[Any] = [region, now]
        if req.KeyID:
            sql += " AND al.key_id=?"
            args.append(self._resolve(db, region, None, now, key_id=req.KeyID).id)
        rows = db.execute(sql + " ORDER BY al.name", args).fetchall()
        return {"Aliases": [self._alias_object(region, r["name"], r["key_id"], r["created"]) for r in rows]}

    # --- cryptography -------------------------------------------------------------------------------
    def _crypto_key(
        self, db: sqlite3.Connection, region: str, ref: a.KeyRef, now: float, usage: KeyUsage, action: str
    ) -> Key:
        key = self._resolve(db, region, ref, now)
        # Seed 001: "Only enabled custom keys can be used to encrypt or decrypt data."
        rules.require_state(key.state(now), Op.CRYPTO, key.id)
        if key.usage is not usage:
            raise InvalidOperation(f"Key {key.id} has key usage {key.usage}; {action} needs a {usage} key")
        return key

    def _encrypt_with(
        self,
        db: sqlite3.Connection,
        key: Key,
        plaintext: bytes,
        context: Mapping[str, str] | None,
        algorithm: str | None,
    ) -> bytes:
        if key.spec in rules.RSA_SPECS:
            return crypto.rsa_encrypt(self._material(db, key)[1], plaintext, algorithm)
        if len(plaintext) > rules.SYMMETRIC_PLAINTEXT_MAX:
            raise InvalidParameter(
                f"The request parameter Plaintext is invalid: {len(plaintext)} bytes; a symmetric key "
                f"encrypts at most {rules.SYMMETRIC_PLAINTEXT_MAX} (use a data key for more)"
            )
        version, material = self._material(db, key)
        return crypto.seal(material, key.material_id, version, plaintext, crypto.encode_context(context))

    def _Encrypt(self, region: str, req: a.Encrypt) -> Result:
        db = self.store.conn()
        now = self._now(db)
        key = self._crypto_key(db, region, req, now, KeyUsage.ENCRYPT_DECRYPT, "Encrypt")
        blob = self._encrypt_with(db, key, req.Plaintext, req.EncryptionContext, req.Algorithm)
        return {"KeyID": key.id, "CiphertextBlob": _b64(blob)}

    def _open(
        self,
        db: sqlite3.Connection,
        region: str,
        blob: bytes,
        context: Mapping[str, str] | None,
        algorithm: str | None,
        key_id: str | None,
        keyring: str | None,
        name: str | None,
        now: float,
    ) -> tuple[Key, bytes]:
        named = self._resolve(db, region, None, now, key_id, keyring, name) if (key_id or name) else None
        if named is not None and named.spec in rules.RSA_SPECS:
            rules.require_state(named.state(now), Op.CRYPTO, named.id)
            if named.usage is not KeyUsage.ENCRYPT_DECRYPT:
                raise InvalidOperation(f"Key {named.id} has key usage {named.usage}; Decrypt needs ENCRYPT_DECRYPT")
            return named, crypto.rsa_decrypt(self._material(db, named)[1], blob, algorithm)
        material_id, version = crypto.blob_material(blob)
        # The ciphertext names its material: whichever key of this region holds it (the primary or a
        # replica) opens it.
        row = db.execute(
            f"SELECT * FROM keys WHERE material_id=? AND region=? AND {_LIVE}", (material_id, region, now)
        ).fetchone()
        if row is None:
            raise NotFound(
                f"Not found a key in region {region} that can decrypt this ciphertext (its key was deleted, "
                "or it lives in another region without a replica here)"
            )
        key = Key.from_row(row)
        if named is not None and named.id != key.id:
            raise InvalidParameter(
                f"The request parameter CiphertextBlob is invalid: it was not encrypted under key {named.id}"
            )
        rules.require_state(key.state(now), Op.CRYPTO, key.id)
        _, material = self._material(db, key, version)
        return key, crypto.open_blob(material, blob, crypto.encode_context(context))

    def _Decrypt(self, region: str, req: a.Decrypt) -> Result:
        db = self.store.conn()
        now = self._now(db)
        key, plaintext = self._open(
            db,
            region,
            req.CiphertextBlob,
            req.EncryptionContext,
            req.Algorithm,
            req.KeyID,
            req.KeyringName,
            req.KeyName,
            now,
        )
        return {"KeyID": key.id, "Plaintext": _b64(plaintext)}

    def _data_key(self, region: str, req: a.GenerateDataKey) -> tuple[Key, bytes, bytes]:
        n = rules.data_key_bytes(req.NumberOfBytes)
        db = self.store.conn()
        now = self._now(db)
        key = self._crypto_key(db, region, req, now, KeyUsage.ENCRYPT_DECRYPT, "GenerateDataKey")
        if key.spec is not KeySpec.AES_256:
            raise InvalidOperation(f"Key {key.id} is {key.spec}; data keys are generated under AES_256 keys")
        plaintext = os.urandom(n)
        return key, plaintext, self._encrypt_with(db, key, plaintext, req.EncryptionContext, None)

    def _GenerateDataKey(self, region: str, req: a.GenerateDataKey) -> Result:
        key, plaintext, blob = self._data_key(region, req)
        return {"KeyID": key.id, "Plaintext": _b64(plaintext), "CiphertextBlob": _b64(blob)}

    def _GenerateDataKeyWithoutPlaintext(self, region: str, req: a.GenerateDataKeyWithoutPlaintext) -> Result:
        key, _, blob = self._data_key(region, req)
        return {"KeyID": key.id, "CiphertextBlob": _b64(blob)}

    def _ReEncrypt(self, region: str, req: a.ReEncrypt) -> Result:
        db = self.store.conn()
        now = self._now(db)
        source, plaintext = self._open(
            db, region, req.CiphertextBlob, req.OldEncryptionContext, None, None, None, None, now
        )
        ref = a.KeyRef(KeyID=req.NewKeyID, KeyringName=req.NewKeyringName, KeyName=req.NewKeyName)
        target = self._crypto_key(db, region, ref, now, KeyUsage.ENCRYPT_DECRYPT, "ReEncrypt")
        blob = self._encrypt_with(db, target, plaintext, req.NewEncryptionContext, None)
        return {"KeyID": target.id, "SourceKeyID": source.id, "CiphertextBlob": _b64(blob)}

    def _usable(self, region: str, req: a.KeyRef, usage: KeyUsage, action: str) -> tuple[Key, bytes]:
        """The key for a crypto action and its current material."""
        db = self.store.conn()
        now = self._now(db)
        key = self._crypto_key(db, region, req, now, usage, action)
        return key, self._material(db, key)[1]

    def _AsymmetricSign(self, region: str, req: a.AsymmetricSign) -> Result:
        key, material = self._usable(region, req, KeyUsage.SIGN_VERIFY, "AsymmetricSign")
        sig = crypto.sign(key.spec, material, req.Algorithm, req.Message, req.MessageType == "DIGEST")
        return {"KeyID": key.id, "Signature": _b64(sig), "Algorithm": req.Algorithm}

    def _AsymmetricVerify(self, region: str, req: a.AsymmetricVerify) -> Result:
        key, material = self._usable(region, req, KeyUsage.SIGN_VERIFY, "AsymmetricVerify")
        ok = crypto.verify(key.spec, material, req.Algorithm, req.Message, req.MessageType == "DIGEST", req.Signature)
        return {"KeyID": key.id, "SignatureValid": ok}

    def _GetPublicKey(self, region: str, req: a.GetPublicKey) -> Result:
        db = self.store.conn()
        now = self._now(db)
        key = self._resolve(db, region, req, now)
        rules.require_state(key.state(now), Op.CRYPTO, key.id)
        if key.spec not in rules.ASYMMETRIC_SPECS:
            raise InvalidOperation(f"Key {key.id} is {key.spec}; only asymmetric keys have a public key")
        return {
            "KeyID": key.id,
            "PublicKey": crypto.public_pem(self._material(db, key)[1]),
            "KeySpec": key.spec.value,
            "KeyUsage": key.usage.value,
        }

    def _GenerateMac(self, region: str, req: a.GenerateMac) -> Result:
        key, material = self._usable(region, req, KeyUsage.GENERATE_VERIFY_MAC, "GenerateMac")
        return {"KeyID": key.id, "Mac": _b64(crypto.mac(key.spec, material, req.Algorithm, req.Message))}

    def _VerifyMac(self, region: str, req: a.VerifyMac) -> Result:
        key, material = self._usable(region, req, KeyUsage.GENERATE_VERIFY_MAC, "VerifyMac")
        ok = crypto.mac_equal(crypto.mac(key.spec, material, req.Algorithm, req.Message), req.Mac)
        return {"KeyID": key.id, "MacValid": ok}

    # --- external key material ---------------------------------------------------------------------
    def _GetParametersForImport(self, region: str, req: a.GetParametersForImport) -> Result:
        if req.WrappingKeySpec != "RSA_2048":
            raise InvalidParameter("The request parameter WrappingKeySpec is invalid: use RSA_2048")
        if req.WrappingAlgorithm not in ("RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1"):
            raise InvalidParameter(
                "The request parameter WrappingAlgorithm is invalid: use RSAES_OAEP_SHA_256 or RSAES_OAEP_SHA_1"
            )
        wrapping = crypto.wrapping_key()
        der = wrapping.private_bytes(ser.Encoding.DER, ser.PrivateFormat.PKCS8, ser.NoEncryption())
        public = wrapping.public_key().public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo)
        token = _b64(os.urandom(32))
        with self.store.write() as db:
            now = self._now(db)
            key = self._locked_import_key(db, region, req, now)
            valid_to = now + DAY
            db.execute(
                "INSERT OR REPLACE INTO imports (key_id, token, algorithm, sealed_wrapping_key, valid_to) "
                "VALUES (?,?,?,?,?)",
                (key.id, token, req.WrappingAlgorithm, self.store.seal(der, key.id.encode()), valid_to),
            )
        return {
            "KeyID": key.id,
            "ImportToken": token,
            "PublicKey": _b64(public),
            "ParametersValidTo": int(valid_to),
            "WrappingAlgorithm": req.WrappingAlgorithm,
        }

    def _locked_import_key(self, db: sqlite3.Connection, region: str, ref: a.KeyRef, now: float) -> Key:
        """Inside a write transaction: the External key waiting for its material."""
        self._sweep(db, now)
        key = self._resolve(db, region, ref, now)
        if key.origin is not Origin.EXTERNAL:
            raise InvalidOperation(f"Key {key.id} has CloudKMS material; only External keys import key material")
        rules.require_state(key.state(now), Op.IMPORT, key.id)
        return key

    def _ImportKeyMaterial(self, region: str, req: a.ImportKeyMaterial) -> Result:
        with self.store.write() as db:
            now = self._now(db)
            key = self._locked_import_key(db, region, req, now)
            row = db.execute("SELECT * FROM imports WHERE key_id=?", (key.id,)).fetchone()
            if row is None or not crypto.mac_equal(row["token"].encode(), req.ImportToken.encode()):
                raise InvalidParameter(
                    "The request parameter ImportToken is invalid: get fresh parameters with GetParametersForImport"
                )
            if row["valid_to"] < now:
                raise InvalidParameter("The request parameter ImportToken is invalid: the import parameters expired")
            der = self.store.unseal(row["sealed_wrapping_key"], key.id.encode())
            material = crypto.unwrap(der, req.EncryptedKeyMaterial, row["algorithm"])
            want = rules.EXTERNAL_MATERIAL_BYTES[key.spec]
            if len(material) != want:
                raise InvalidParameter(
                    f"The request parameter EncryptedKeyMaterial is invalid: {key.spec} material is "
                    f"{want} bytes, got {len(material)}"
                )
            db.execute(
                "INSERT INTO materials (material_id, version, sealed, created) VALUES (?, 1, ?, ?)",
                (key.material_id, self._seal(key.material_id, 1, material), now),
            )
            db.execute("DELETE FROM imports WHERE key_id=?", (key.id,))
            db.execute("UPDATE keys SET state=?, updated=? WHERE id=?", (KeyState.ENABLE.value, now, key.id))
            return {"Key": self._key_object(db, self._resolve(db, region, None, now, key_id=key.id), now)}
