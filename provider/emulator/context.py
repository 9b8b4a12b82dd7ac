"""What every action of the emulator shares: its settings, and naming and describing a key.

A handler (keys.py, replicas.py, aliases.py, keyrings.py, crypto_actions.py, imports.py, clock.py)
is a function `(service, region, action) -> result`; it finds keys with `resolve` and answers them
with `view`. SQL lives in store.py, the rules in provider/domain/rules.py.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

from ..domain import model, rules
from ..domain.errors import InvalidParameter, NotFound
from ..domain.rules import MultiRegionType
from ..values import fields
from .store import KeyRow, Store, Tx


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise InvalidParameter(f"environment variable {name} must be a number of seconds, not {raw!r}") from None


class ServiceContext:
    """What every action handler is given: the service's settings over one state directory and the lookups
    every action uses. `Emulator` (service.py) is this with the table of handlers."""

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
        # Without one given (kmsctl serve, which speaks both clouds' APIs): both clouds' regions. The embedded
        # backend passes the stack's catalog (Huawei Cloud's unless told otherwise).
        self.catalog = catalog or rules.serving_catalog()

    def close(self) -> None:
        self.store.close()

    # --- names ------------------------------------------------------------------------------------
    def trn(self, region: str, keyring: str, name: str) -> str:
        return f"trn:kms:{region}:{self.account_id}:keyrings/{keyring}/keys/{name}"

    def resource_trn(self, region: str, path: str) -> str:
        return f"trn:kms:{region}:{self.account_id}:{path}"

    @staticmethod
    def _parse_trn(trn: str) -> tuple[str, str, str]:
        parts = trn.split(":", 4)
        if len(parts) != 5 or parts[1] != "kms":
            raise InvalidParameter("The request parameter KeyID is invalid: not a KMS TRN")
        path = parts[4].split("/")
        if len(path) < 4 or path[0] != "keyrings" or path[2] != "keys":
            raise InvalidParameter("The request parameter KeyID is invalid: TRN path must be keyrings/R/keys/N")
        return parts[2], path[1], "/".join(path[3:])

    # --- finding a key ----------------------------------------------------------------------------
    def resolve(self, tx: Tx, region: str, ref: model.KeyRef, now: float) -> KeyRow:
        """A key named by id, TRN, alias, or keyring + name, in the request's region."""
        key: KeyRow | None
        key_id = ref.key_id
        if key_id:
            if key_id.startswith(rules.ALIAS_PREFIX):
                key = tx.key_of_alias(region, key_id)
            elif key_id.startswith("trn:"):
                trn_region, trn_keyring, trn_name = self._parse_trn(key_id)
                if trn_region != region:
                    raise InvalidParameter(
                        f"The request parameter KeyID is invalid: TRN names region {trn_region}, "
                        f"the request is for {region}"
                    )
                key = tx.key_named(region, trn_keyring, trn_name)
            else:
                key = tx.key_in(region, key_id)
        elif ref.name:
            key = tx.key_named(region, rules.keyring_name(ref.keyring), ref.name)
        else:
            raise InvalidParameter("The request parameter KeyID is invalid: give KeyID, or KeyringName and KeyName")
        if key is None or key.gone(now):
            raise NotFound(f"Not found key [{ref.label}] in region {region}")
        return key

    def material(self, tx: Tx, key: KeyRow, version: int | None = None) -> tuple[int, bytes]:
        found = tx.material(key.material_id, version)
        if found is None:
            raise NotFound(f"Not found key material of key [{key.id}]")
        return found

    # --- describing a key -------------------------------------------------------------------------
    def _link(self, key: KeyRow, now: float) -> model.LinkedKey:
        return model.LinkedKey(
            key_id=key.id, trn=self.trn(key.region, key.keyring, key.name), region=key.region, state=key.state(now)
        )

    def view(self, tx: Tx, key: KeyRow, now: float) -> model.Key:
        """The key as the service answers it, with its multi-region links (Huawei Cloud DEW, Creating a Replica Key).

        Remembered in a read's memo (dropped on any commit, this process's or another's) until the
        next instant at which the answer could change with time alone: a linked key's replication
        ending, or a replica's scheduled deletion coming due."""
        memo = tx.memo
        if memo is not None:
            found = memo.get(("view", key.id))
            if found is not None and found[0] is key and found[1] <= now < found[2]:
                seen: model.Key = found[3]
                return seen
        view, until = self._view(tx, key, now)
        if memo is not None:
            memo[("view", key.id)] = (key, now, until, view)
        return view

    def _view(self, tx: Tx, key: KeyRow, now: float) -> tuple[model.Key, float]:
        state = key.state(now)
        primary: model.LinkedKey | None = None
        primary_row: KeyRow | None = None
        if key.primary_id is not None:
            primary_row = tx.key(key.primary_id)
            replicas = tx.replicas(key.primary_id, now)
            mr_type = MultiRegionType.REPLICA
            # A primary whose deletion came due before its replica's leaves only its id behind.
            primary = self._link(primary_row, now) if primary_row else model.LinkedKey(key.primary_id, "", "")
        else:
            replicas = tx.replicas(key.id, now)
            multi = bool(replicas) or key.multi_region
            mr_type = MultiRegionType.PRIMARY if multi else MultiRegionType.NONE
            primary = self._link(key, now) if multi else None
        linked = [key, *replicas] if primary_row is None else [key, primary_row, *replicas]
        until = min((t for row in linked for t in _changes(row, now)), default=math.inf)
        return model.Key(
            **{n: getattr(key, n) for n in _AS_STORED},
            key_id=key.id,
            trn=self.trn(key.region, key.keyring, key.name),
            state=state,
            deletion_date=key.deletion_at,
            pending_days=key.pending_days if state is rules.KeyState.PENDING_DELETE else None,
            multi_region_type=mr_type,
            primary=primary,
            replicas=tuple(self._link(r, now) for r in sorted(replicas, key=lambda r: r.region)),
        ), until

    def view_id(self, tx: Tx, region: str, key_id: str, now: float) -> model.Key:
        return self.view(tx, self.resolve(tx, region, model.KeyRef(key_id=key_id), now), now)


# The fields a described key shows as stored (region, names, spec, times, tags, rotation ...): a new key
# field both hold needs no line here. The others are worked out in `_view`.
_AS_STORED = tuple(n for n in fields(model.Key) if n in fields(KeyRow) and n != "pending_days")


def _changes(row: KeyRow, now: float) -> Iterator[float]:
    """The instants after `now` at which a stored key's answer changes with time alone: the end of its
    replication (Creating becomes Enable) and its scheduled deletion (it is gone)."""
    if row.ready_at is not None and row.ready_at > now and row.stored_state is rules.KeyState.CREATING:
        yield row.ready_at
    if row.deletion_at is not None and row.deletion_at > now:
        yield row.deletion_at
