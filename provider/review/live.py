"""The review's one read of the service: what a key is now (state, deletion date, replicas).

Optional: the review works from the preview alone; with a backend configured as for the resources (and, for
the embedded emulator, its state already on disk) it adds what only the service knows.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..client import KmsClient
from ..domain.errors import InvalidParameter, NotFound


@dataclass(frozen=True)
class LiveKey:
    state: str
    deletion_date: float | None  # set while the key is pending deletion
    replicas: tuple[tuple[str, str], ...]  # (region, key id) of a primary's replicas


def read_key(kms: KmsClient, region: str, key_id: str) -> LiveKey | None:
    """The key as the service has it now; None when it is gone (or the preview's id names no key). Any other
    service error (unreachable, refused) is raised: the caller stops reading rather than wait on every key."""
    try:
        key = kms.in_region(region).describe_key(key_id)
    except (NotFound, InvalidParameter):  # a key whose window closed is gone
        return None
    return LiveKey(
        state=str(key.state),
        deletion_date=key.deletion_date,
        replicas=() if key.is_replica else tuple((r.region, r.key_id) for r in key.replicas),
    )
