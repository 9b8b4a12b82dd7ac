"""The service's clock and what comes due as it moves.

The clock is real time plus an offset kept in the state (AdvanceClock moves it forward), so
every process sharing a state directory reads the same time. Every write sweeps first: deletions
whose window ended are carried out, rotations that came due make a new material version.
"""

from __future__ import annotations

import time

from ..domain import model, rules
from ..domain.rules import KeySpec
from . import primitives
from .context import ServiceContext
from .store import Tx

DAY = 86400.0


def now(tx: Tx) -> float:
    return time.time() + tx.clock_offset()


def sweep(tx: Tx, at: float) -> None:
    """Carry out what has come due: deletions (Huawei Cloud DEW, Creating a Custom Key: the key is gone, its ciphertexts
    stay undecryptable) and rotations (a new material version, which replicas share: Huawei Cloud DEW, Creating a
    Replica Key)."""
    for key in tx.keys_due_for_deletion(at):
        tx.delete_key(key)
    for key in tx.keys_due_for_rotation(at, DAY):
        tx.add_material(key.material_id, primitives.new_material(KeySpec.AES_256), at)
        tx.update_key(key.id, at, last_rotation=at)


def writing(tx: Tx) -> float:
    """The time of a write transaction, after sweeping what came due before it."""
    at = now(tx)
    sweep(tx, at)
    return at


def advance_clock(svc: ServiceContext, region: str, action: model.AdvanceClock) -> model.Clock:
    seconds = rules.clock_seconds(action.seconds)
    with svc.store.write() as tx:
        offset = tx.clock_offset() + seconds
        tx.set_clock_offset(offset)
        at = time.time() + offset
        sweep(tx, at)
    return model.Clock(now=at, offset_seconds=offset)
