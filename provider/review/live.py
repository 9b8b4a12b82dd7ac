"""The review's one read of the service: what a key is now (state, deletion date, replicas).

Optional: the review works from the preview alone; with a backend configured as for the resources (and, for
the embedded emulator, its state already on disk) it adds what only the service knows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..client import KmsClient
from ..domain.errors import KmsError, NotFound


@dataclass(frozen=True)
class LiveKey:
    state: str
    deletion_date: float | None  # set while the key is pending deletion
    replicas: tuple[tuple[str, str], ...]  # (region, key id) of a primary's replicas


def read_key(kms: KmsClient, region: str, key_id: str) -> LiveKey | None:
    """The key as the service has it now; None when it is gone or cannot be read."""
    try:
        key: Any = kms.in_region(region).describe_key(key_id)
    except NotFound:
        return None
    except KmsError:
        return None
    if isinstance(key, Mapping):  # the wire-shaped answer of the client before the typed domain model
        mrc = key.get("MultiRegionConfiguration") or {}
        replicas = mrc.get("ReplicaKeys") if mrc.get("MultiRegionKeyType") == "PRIMARY" else None
        return LiveKey(
            state=str(key["KeyState"]),
            deletion_date=key.get("DeletionDate"),
            replicas=tuple((str(r["Region"]), str(r["KeyID"])) for r in replicas or ()),
        )
    return LiveKey(
        state=str(key.state),
        deletion_date=key.deletion_date,
        replicas=tuple((r.region, r.key_id) for r in key.replicas) if not key.is_replica else (),
    )
