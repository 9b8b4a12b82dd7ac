"""What both hosts of tools/engine do to die with the engine: watch their parent process and the engine's gRPC
health service, as Pulumi's own Go plugins do with rpcutil.Healthcheck
(https://github.com/pulumi/pulumi/blob/master/sdk/go/common/util/rpcutil/health.go).

Imported by kms_language_host.py and kms_provider_host.py, which run as scripts from this directory (Python
puts a script's directory first on sys.path), so this file must sit beside them.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

WATCH_EVERY = 0.5  # seconds between looks at the parent process
HEALTH_EVERY = 2.0  # seconds between health checks of the engine
# The engine that started this host, read when the host starts (this module is among its first imports): an
# engine killed while the host still loaded its modules has already left it to another parent by the time the
# watch begins, and a parent read then would look alive for ever.
STARTED_BY = os.getppid()


def engine_alive(channel: Any) -> bool:
    """One call of the engine's grpc.health.v1.Health/Check: an engine that answers (UNIMPLEMENTED included,
    as rpcutil.Healthcheck treats it) is alive; one that cannot be reached is gone."""
    import grpc

    check = channel.unary_unary(
        "/grpc.health.v1.Health/Check", request_serializer=lambda _: b"", response_deserializer=lambda b: b
    )
    try:
        check(None, timeout=5.0)
    except grpc.RpcError as err:
        return err.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    return True


def watch_engine(engine_address: str, stop: threading.Event) -> None:
    """Return once the engine is gone (our parent changed: the engine was killed; or its health check fails)
    or `stop` is set by someone else; `stop` is set either way."""
    import grpc

    parent = STARTED_BY
    channel = grpc.insecure_channel(engine_address) if engine_address else None
    next_health = time.monotonic() + HEALTH_EVERY
    while not stop.wait(WATCH_EVERY):
        if os.getppid() != parent:
            break
        if channel is not None and time.monotonic() >= next_health:
            if not engine_alive(channel):
                break
            next_health = time.monotonic() + HEALTH_EVERY
    stop.set()
