"""Shared fixtures. `kms` is a KmsClient on a fresh service, once per backend: every rule test runs
against the embedded emulator and, over the wire, against a live `kmsctl serve` on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from provider.backend import Backend
from provider.client import KmsClient

REGION = "cn-north-4"
BACKENDS = ["embedded", "http"]


def _make_backend(kind: str, state: Path, request: pytest.FixtureRequest) -> tuple[Backend, Callable[[], None]]:
    from provider.emulator import Emulator

    if kind == "embedded":
        emu = Emulator(state)
        return emu, emu.close
    if kind == "http":
        # One server for the session, a fresh emulator state behind it for every test: the request path
        # (socket, HTTP, signature, envelope, error mapping) is the real one, the start-up paid once.
        server = request.getfixturevalue("_wire_server")
        emu = Emulator(state)
        server.app.emulator = emu
        http = server.backend()

        def close() -> None:
            http.close()
            emu.close()

        return http, close
    raise AssertionError(f"unknown backend {kind}")


@pytest.fixture(scope="session")
def _wire_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from provider.emulator import Emulator
    from provider.server.app import KmsApp
    from tests.support.live_server import ACCESS_KEY, SECRET_KEY, ThreadServer

    app = KmsApp(Emulator(tmp_path_factory.mktemp("wire-idle")), {ACCESS_KEY: SECRET_KEY})
    with ThreadServer(app) as server:
        yield server


@pytest.fixture(autouse=True)
def _fast_replication(monkeypatch: pytest.MonkeyPatch) -> None:
    # Replication stays asynchronous, but tests should not wait the default 2 s unless they ask to.
    monkeypatch.setenv("KMS_REPLICATION_DELAY", "0")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    b, close = _make_backend(request.param, tmp_path / "state", request)
    yield b
    close()


@pytest.fixture
def kms(backend: Backend) -> KmsClient:
    return KmsClient(backend, REGION)
