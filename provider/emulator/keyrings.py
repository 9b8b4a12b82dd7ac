"""Keyrings (Volcengine KMS API reference, ReplicateKey): the named groups keys live in. `default` exists in every
region without being created; other keyrings are created, described, updated and deleted once empty."""

from __future__ import annotations

from ..domain import model, rules
from ..domain.errors import NotFound
from . import clock
from .context import ServiceContext
from .store import KeyringRow, Tx


def _default(svc: ServiceContext, tx: Tx, region: str) -> KeyringRow:
    """The implicit `default` keyring: a stable id, born with the state."""
    import uuid  # on writes only: its import (platform) would slow every start
    ring_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"kms:{svc.account_id}:{region}:keyring:default"))
    born = tx.created()
    return KeyringRow(region, rules.DEFAULT_KEYRING, ring_id, "", born, born)


def _find(svc: ServiceContext, tx: Tx, region: str, name: str) -> KeyringRow | None:
    ring = tx.keyring(region, name)
    if ring is None and name == rules.DEFAULT_KEYRING:
        return _default(svc, tx, region)
    return ring


def _required(svc: ServiceContext, tx: Tx, region: str, name: str) -> KeyringRow:
    ring = _find(svc, tx, region, name)
    if ring is None:
        raise NotFound(f"Not found keyring [{name}] in region {region}")
    return ring


def ensure_keyring(svc: ServiceContext, tx: Tx, region: str, name: str, now: float) -> None:
    import uuid  # on writes only: its import (platform) would slow every start
    if _find(svc, tx, region, name) is None:
        tx.save_keyring(KeyringRow(region, name, str(uuid.uuid4()), "", now, now))


def _view(svc: ServiceContext, ring: KeyringRow, key_count: int) -> model.Keyring:
    return model.Keyring(
        name=ring.name,
        keyring_id=ring.id,
        trn=svc.resource_trn(ring.region, f"keyrings/{ring.name}"),
        description=ring.description,
        created=ring.created,
        updated=ring.updated,
        key_count=key_count,
    )


def create_keyring(svc: ServiceContext, region: str, action: model.CreateKeyring) -> model.Keyring:
    import uuid  # on writes only: its import (platform) would slow every start
    name = rules.keyring_to_create(action.name, "KeyringName")
    description = rules.description(action.description)
    with svc.store.write() as tx:
        now = clock.writing(tx)
        existing = _find(svc, tx, region, name)
        rules.name_free(f"keyring {existing.id}" if existing else None, "keyring", name, region)
        ring = KeyringRow(region, name, str(uuid.uuid4()), description, now, now)
        tx.save_keyring(ring)
        return _view(svc, ring, 0)


def describe_keyrings(svc: ServiceContext, region: str, action: model.DescribeKeyrings) -> model.KeyringPage:
    offset, limit = rules.page(action.offset, action.limit)
    tx = svc.store.read()
    stored = tx.keyrings(region)
    rings = sorted(
        stored if any(r.name == rules.DEFAULT_KEYRING for r in stored) else [*stored, _default(svc, tx, region)],
        key=lambda r: r.name,
    )
    page = rings[offset : offset + limit]
    counts = tx.keys_per_keyring(region, [r.name for r in page])
    return model.KeyringPage(keyrings=tuple(_view(svc, r, counts.get(r.name, 0)) for r in page), total=len(rings))


def update_keyring(svc: ServiceContext, region: str, action: model.UpdateKeyring) -> model.Keyring:
    name = rules.keyring_name(action.name)
    description = rules.description(action.description) if action.description is not None else None
    with svc.store.write() as tx:
        now = clock.writing(tx)
        ring = _required(svc, tx, region, name)
        if description is not None:
            ring = KeyringRow(region, name, ring.id, description, ring.created, now)
            tx.save_keyring(ring)
        return _view(svc, ring, tx.keys_per_keyring(region, [name]).get(name, 0))


def delete_keyring(svc: ServiceContext, region: str, action: model.DeleteKeyring) -> model.Done:
    name = rules.keyring_name(action.name)
    with svc.store.write() as tx:
        clock.writing(tx)
        _required(svc, tx, region, name)
        rules.keyring_deletable(name, tx.keys_per_keyring(region, [name]).get(name, 0))
        tx.delete_keyring(region, name)
    return model.Done()


def keyring_stored(tx: Tx, region: str, name: str) -> bool:
    """Whether the keyring was created; `default` needs not be (rules.keyring_exists says so)."""
    return tx.keyring(region, name) is not None
