"""A key's lifecycle: create, describe, list, update, enable and disable, schedule and cancel its
deletion, rotation, tags. The state machine and every limit are in provider/domain/rules.py."""

from __future__ import annotations

from collections.abc import Callable

from ..domain import model, rules
from ..domain.rules import KeyState, Op, Origin
from . import clock, primitives
from .context import ServiceContext
from .keyrings import keyring_stored
from .store import KeyRow, NewKey, Tx

Change = Callable[[Tx, KeyRow, float], None]


def _name_free(tx: Tx, region: str, keyring: str, name: str) -> None:
    taken = tx.key_named(region, keyring, name)
    rules.name_free(f"key {taken.id}" if taken else None, "key", f"keyrings/{keyring}/keys/{name}", region)


def insert_key(svc: ServiceContext, tx: Tx, new: NewKey, now: float) -> str:
    """A new key row (a custom key or a replica) after the quota and the unique name are checked."""
    import uuid  # on writes only: its import (platform) would slow every start
    rules.within_quota(tx.region_count(new.region), svc.quota, new.region)
    _name_free(tx, new.region, new.keyring, new.name)
    key_id = str(uuid.uuid4())
    tx.insert_key(key_id, new, now)
    return key_id


def create_key(svc: ServiceContext, region: str, action: model.CreateKey) -> model.Key:
    import uuid  # on writes only: its import (platform) would slow every start
    spec = rules.key_spec(action.spec)
    usage = rules.key_usage(spec, action.usage)
    origin = rules.origin(action.origin, spec)
    name = rules.key_name(action.name)
    keyring = rules.keyring_name(action.keyring)
    description = rules.description(action.description)
    enterprise_project = rules.enterprise_project(action.enterprise_project) or rules.DEFAULT_ENTERPRISE_PROJECT
    tags = rules.tags(action.tags.items())
    token = rules.client_token(action.client_token)
    rotation_days = None
    if action.rotation_days is not None:
        rules.rotation_supported(spec, origin, False, "RotationIntervalInDays")
        rotation_days = rules.rotation_days(action.rotation_days)
    # Generated before the write lock is taken: an RSA-4096 key takes a while.
    material = primitives.new_material(spec) if origin is Origin.KMS else None
    material_id = uuid.uuid4().bytes
    with svc.store.write() as tx:
        now = clock.writing(tx)
        key_id = tx.key_of_token(token, "CreateKey", region)
        if key_id is None:
            rules.keyring_exists(keyring, keyring_stored(tx, region, keyring), region)
            new = NewKey(
                region=region,
                keyring=keyring,
                name=name,
                spec=spec,
                usage=usage,
                origin=origin,
                state=rules.initial_state(origin),
                description=description,
                enterprise_project=enterprise_project,
                material_id=material_id,
                tags=tags,
                multi_region=bool(action.multi_region),
            )
            key_id = insert_key(svc, tx, new, now)
            if material is not None:
                tx.add_material(material_id, material, now)
            if rotation_days is not None:
                tx.update_key(key_id, now, rotation_enabled=True, rotation_days=rotation_days, last_rotation=now)
            tx.remember_token(token, "CreateKey", region, key_id)
        return svc.view_id(tx, region, key_id, now)


def describe_key(svc: ServiceContext, region: str, action: model.DescribeKey) -> model.Key:
    tx = svc.store.read()
    now = clock.now(tx)
    return svc.view(tx, svc.resolve(tx, region, action.key, now), now)


def describe_keys(svc: ServiceContext, region: str, action: model.DescribeKeys) -> model.KeyPage:
    offset, limit = rules.page(action.offset, action.limit)
    keyring = rules.keyring_name(action.keyring) if action.keyring else None
    filters = {k: tuple(v) for k, v in action.tag_filters.items()}
    tx = svc.store.read()
    now = clock.now(tx)
    rows, total = tx.keys_page(region, now, keyring, filters, offset, limit)
    return model.KeyPage(keys=tuple(svc.view(tx, k, now) for k in rows), total=total)


def mutate(svc: ServiceContext, region: str, ref: model.KeyRef, op: Op, change: Change) -> model.Key:
    """Resolve, check the state machine, apply one change, and answer the key as it now stands."""
    with svc.store.write() as tx:
        now = clock.writing(tx)
        key = svc.resolve(tx, region, ref, now)
        rules.require_state(key.state(now), op, key.id)
        change(tx, key, now)
        tx.update_key(key.id, now)
        return svc.view_id(tx, region, key.id, now)


def update_key(svc: ServiceContext, region: str, action: model.UpdateKey) -> model.Key:
    new_name = rules.key_name(action.new_name, "NewKeyName") if action.new_name else None
    description = rules.description(action.description) if action.description is not None else None
    enterprise_project = rules.enterprise_project(action.enterprise_project)

    def change(tx: Tx, key: KeyRow, now: float) -> None:
        if new_name is not None and new_name != key.name:
            _name_free(tx, key.region, key.keyring, new_name)
            tx.update_key(key.id, now, name=new_name)
        if description is not None:
            tx.update_key(key.id, now, description=description)
        if enterprise_project is not None:
            tx.update_key(key.id, now, enterprise_project=enterprise_project)

    return mutate(svc, region, action.key, Op.UPDATE, change)


def _set_state(state: KeyState) -> Change:
    def change(tx: Tx, key: KeyRow, now: float) -> None:
        tx.update_key(key.id, now, state=state, ready_at=None)

    return change


def enable_key(svc: ServiceContext, region: str, action: model.EnableKey) -> model.Key:
    return mutate(svc, region, action.key, Op.ENABLE, _set_state(KeyState.ENABLE))


def disable_key(svc: ServiceContext, region: str, action: model.DisableKey) -> model.Key:
    return mutate(svc, region, action.key, Op.DISABLE, _set_state(KeyState.DISABLE))


def schedule_key_deletion(svc: ServiceContext, region: str, action: model.ScheduleKeyDeletion) -> model.Key:
    days = rules.pending_days(action.pending_days)

    def change(tx: Tx, key: KeyRow, now: float) -> None:
        waiting = [r for r in tx.replicas(key.id, now) if r.state(now) is not KeyState.PENDING_DELETE]
        rules.replicas_deleted_first(key.id, ((r.id, r.region) for r in waiting))
        tx.update_key(
            key.id,
            now,
            state=KeyState.PENDING_DELETE,
            deletion_at=now + days * clock.DAY,
            pending_days=days,
            ready_at=None,
        )

    return mutate(svc, region, action.key, Op.SCHEDULE_DELETION, change)


def cancel_key_deletion(svc: ServiceContext, region: str, action: model.CancelKeyDeletion) -> model.Key:
    def change(tx: Tx, key: KeyRow, now: float) -> None:
        state = rules.state_after_cancel(tx.has_material(key.material_id))
        tx.update_key(key.id, now, state=state, deletion_at=None, pending_days=None)

    return mutate(svc, region, action.key, Op.CANCEL_DELETION, change)


def enable_key_rotation(svc: ServiceContext, region: str, action: model.EnableKeyRotation) -> model.Key:
    days = rules.rotation_days(action.rotation_days)

    def change(tx: Tx, key: KeyRow, now: float) -> None:
        rules.rotation_supported(key.spec, key.origin, key.primary_id is not None, f"Key {key.id}")
        tx.update_key(key.id, now, rotation_enabled=True, rotation_days=days, last_rotation=key.last_rotation or now)

    return mutate(svc, region, action.key, Op.ROTATE, change)


def disable_key_rotation(svc: ServiceContext, region: str, action: model.DisableKeyRotation) -> model.Key:
    def change(tx: Tx, key: KeyRow, now: float) -> None:
        tx.update_key(key.id, now, rotation_enabled=False)

    return mutate(svc, region, action.key, Op.ROTATE, change)


def tag_key(svc: ServiceContext, region: str, action: model.TagKey) -> model.Key:
    new = rules.tags(action.tags.items())

    def change(tx: Tx, key: KeyRow, now: float) -> None:
        tx.update_key(key.id, now, tags=rules.check_tag_count(key.tags | new))

    return mutate(svc, region, action.key, Op.TAG, change)


def untag_key(svc: ServiceContext, region: str, action: model.UntagKey) -> model.Key:
    gone = set(action.tag_keys)

    def change(tx: Tx, key: KeyRow, now: float) -> None:
        tx.update_key(key.id, now, tags={k: v for k, v in key.tags.items() if k not in gone})

    return mutate(svc, region, action.key, Op.TAG, change)
