"""Aliases, an extension of this emulator (shaped like Alibaba Cloud KMS's CreateAlias and UpdateAlias): a
regional name that points at a key and can be moved. Its rules (names, usage kept on a move, one alias one key) are in
provider/domain/rules.py."""

from __future__ import annotations

from ..domain import model, rules
from ..domain.errors import NotFound
from ..domain.rules import Op
from . import clock
from .context import ServiceContext
from .store import AliasRow


def _view(svc: ServiceContext, row: AliasRow) -> model.Alias:
    return model.Alias(
        name=row.name,
        key_id=row.key_id,
        region=row.region,
        trn=svc.resource_trn(row.region, row.name),
        created=row.created,
    )


def create_alias(svc: ServiceContext, region: str, action: model.CreateAlias) -> model.Alias:
    name = rules.alias_name(action.alias)
    with svc.store.write() as tx:
        now = clock.writing(tx)
        key = svc.resolve(tx, region, action.key, now)
        rules.require_state(key.state(now), Op.ALIAS, key.id)
        existing = tx.alias(region, name)
        rules.name_free(f"key {existing.key_id}" if existing else None, "alias", name, region)
        tx.insert_alias(region, name, key.id, now)
        return _view(svc, AliasRow(region, name, key.id, now))


def update_alias(svc: ServiceContext, region: str, action: model.UpdateAlias) -> model.Alias:
    name = rules.alias_name(action.alias)
    with svc.store.write() as tx:
        now = clock.writing(tx)
        existing = tx.alias(region, name)
        if existing is None:
            raise NotFound(f"Not found alias [{name}] in region {region}")
        key = svc.resolve(tx, region, action.key, now)
        rules.require_state(key.state(now), Op.ALIAS, key.id)
        old = tx.key(existing.key_id)
        rules.alias_retarget(name, old.usage if old else None, key.id, key.usage)
        tx.retarget_alias(region, name, key.id)
        return _view(svc, AliasRow(region, name, key.id, existing.created))


def delete_alias(svc: ServiceContext, region: str, action: model.DeleteAlias) -> model.Done:
    name = rules.alias_name(action.alias)
    with svc.store.write() as tx:
        if not tx.delete_alias(region, name):
            raise NotFound(f"Not found alias [{name}] in region {region}")
    return model.Done()


def list_aliases(svc: ServiceContext, region: str, action: model.ListAliases) -> tuple[model.Alias, ...]:
    tx = svc.store.read()
    now = clock.now(tx)
    key_id = svc.resolve(tx, region, action.key, now).id if action.key is not None else None
    return tuple(_view(svc, row) for row in tx.aliases(region, now, key_id))
