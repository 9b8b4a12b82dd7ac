"""ReplicateKey (Huawei Cloud DEW, Creating a Replica Key; Volcengine KMS API reference, ReplicateKey): a replica in
another region shares its primary's material and stays `Creating` for the replication delay. Its rules are in
provider/domain/rules.py."""

from __future__ import annotations

from ..domain import model, rules
from ..domain.rules import KeyState, Op
from . import clock
from .context import ServiceContext
from .keyrings import ensure_keyring
from .keys import insert_key
from .store import NewKey


def replicate_key(svc: ServiceContext, region: str, action: model.ReplicateKey) -> model.Key:
    replica_region = svc.catalog.region(action.replica_region, "ReplicaRegion")
    description = rules.description(action.description) if action.description is not None else None
    replica_name = rules.key_name(action.replica_name, "ReplicaKeyName") if action.replica_name else None
    enterprise_project = rules.enterprise_project(action.enterprise_project)
    tags = rules.tags(action.tags.items())
    token = rules.client_token(action.client_token)
    with svc.store.write() as tx:
        now = clock.writing(tx)
        primary = svc.resolve(tx, region, action.key, now)
        replica_id = tx.key_of_token(token, "ReplicateKey", region)
        if replica_id is None:
            rules.replicable(primary.primary_id is not None, primary.id)
            rules.require_state(primary.state(now), Op.REPLICATE, primary.id)
            svc.catalog.replica_region(primary.region, replica_region)
            rules.one_replica_per_region(
                primary.id, replica_region, ((r.id, r.region) for r in tx.replicas(primary.id, now))
            )
            # The replica lives in its primary's keyring, which the replica region gets if it lacks it.
            ensure_keyring(svc, tx, replica_region, primary.keyring, now)
            new = NewKey(
                region=replica_region,
                keyring=primary.keyring,
                name=replica_name or primary.name,
                spec=primary.spec,
                usage=primary.usage,
                origin=primary.origin,
                state=KeyState.CREATING,
                description=primary.description if description is None else description,
                enterprise_project=enterprise_project or primary.enterprise_project,
                material_id=primary.material_id,
                primary_id=primary.id,
                ready_at=now + svc.replication_delay,
                tags=tags,
            )
            replica_id = insert_key(svc, tx, new, now)
            tx.remember_token(token, "ReplicateKey", region, replica_id)
        replica = tx.key(replica_id)
        assert replica is not None  # written in this transaction, or kept with its token
        return svc.view(tx, replica, now)
