"""Run the endpoint on uvicorn: what `kmsctl serve` does once its options are checked."""

from __future__ import annotations

import gc
import ipaddress
import logging
import os
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import uvicorn

from ..domain.errors import InvalidParameter
from ..emulator import Emulator
from .app import MAX_BODY_BYTES, KmsApp

log = logging.getLogger("kmsctl.server")

# The uvicorn release the one-write protocol (protocol.py) was proven on: it subclasses a class uvicorn does
# not publish. The [test] extra installs exactly this release; the [server] extra accepts any uvicorn >= 0.30,
# and on another release the server runs uvicorn's own httptools protocol (5-8% slower, same answers).
ONE_WRITE_UVICORN = "0.55.0"


def _http() -> Any:
    if uvicorn.__version__ != ONE_WRITE_UVICORN:
        return "httptools"
    from .protocol import OneWriteProtocol

    return OneWriteProtocol


# uvicorn's httptools protocol, each answer in one write (protocol.py: measured 5-8% faster than uvicorn's
# own). benchmarks/bare_app.py runs with this same setting, so the floor it measures is the same stack.
HTTP = _http()


def rate_limit_from(environ: Mapping[str, str]) -> float | None:
    raw = environ.get("KMS_RATE_LIMIT", "").strip()
    if not raw:
        return None
    try:
        rate = float(raw)
    except ValueError:
        raise InvalidParameter(f"KMS_RATE_LIMIT must be a number of requests a second per access key, "
                               f"not {raw!r}") from None
    if not rate > 0 or rate == float("inf"):
        raise InvalidParameter(f"KMS_RATE_LIMIT must be a positive number of requests a second, not {raw!r}")
    return rate


def build_app(state: Path, *, access_key: str, secret_key: str, environ: Mapping[str, str] | None = None,
              max_body: int = MAX_BODY_BYTES) -> KmsApp:
    env = os.environ if environ is None else environ
    return KmsApp(Emulator(state), {access_key: secret_key}, rate_limit=rate_limit_from(env), max_body=max_body)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _log_config(level: str) -> dict[str, Any]:
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "plain"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {"stderr": handler},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "kmsctl": {"handlers": ["stderr"], "level": level, "propagate": False},
        },
    }


def config(app: KmsApp, host: str, port: int, *, log_level: str = "INFO", own_logging: bool = True) -> uvicorn.Config:
    """uvicorn set up for speed (no access log, the fastest loop, httptools answering in one write) and a graceful
    stop: on SIGTERM it stops accepting, lets running requests finish, then closes the state.

    `own_logging` sends the server's log to stderr; without it the embedding process's logging stays as
    it was (a server in a thread of a test run)."""
    return uvicorn.Config(
        app, host=host, port=port, lifespan="on", http=HTTP, access_log=False, proxy_headers=False,
        server_header=False,
        log_config=_log_config(log_level.upper()) if own_logging else None, log_level=log_level.lower(),
        timeout_graceful_shutdown=10, timeout_keep_alive=30,
    )


def serve(state: Path, host: str, port: int, *, access_key: str, secret_key: str, log_level: str = "INFO") -> None:
    app = build_app(state, access_key=access_key, secret_key=secret_key)
    server = uvicorn.Server(config(app, host, port, log_level=log_level))
    # Everything built so far lives as long as the process: out of the collector's sight, so that its
    # full collections (a latency spike each) stay short.
    gc.collect()
    gc.freeze()
    if not is_loopback(host):
        log.warning("listening on %s: the emulator is reachable from the network, not only this machine", host)
    log.info("serving state %s on http://%s:%s", state, host, port)
    # uvicorn turns SIGTERM / SIGINT into a graceful stop, then raises the signal again for the handler
    # it found: with these, a graceful stop ends the command with status 0 instead of dying by the signal.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stopped)
    server.run()


def _stopped(signum: int, frame: object) -> None:
    """The signal again, after uvicorn has stopped: nothing is left to do."""
