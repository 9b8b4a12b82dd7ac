"""Shared fixtures. `kms` is a KmsClient on a fresh service, once per backend: every rule test runs
against the embedded emulator and, over the wire, against a live `kmsctl serve` on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from provider.backend import Backend
from provider.client import KmsClient
from provider.domain import capabilities as caps

REGION = "cn-north-4"
# A test runs on the embedded emulator and on `kmsctl serve` in Volcengine's API ("http"); a test marked
# `@pytest.mark.needs("aliases", ...)` runs instead on every backend whose cloud has all it needs, Huawei
# Cloud's API over the wire included ("huaweicloud"): a cloud that lacks it is left out, never skipped.
BACKENDS = ["embedded", "http"]
CAPABILITIES = {"embedded": caps.EMULATOR, "http": caps.VOLCENGINE, "huaweicloud": caps.HUAWEICLOUD}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(*capabilities): run only on backends whose cloud has them")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("needs")
    names = BACKENDS if marker is None else [
        name for name, can in CAPABILITIES.items() if all(getattr(can, what) for what in marker.args)
    ]
    metafunc.parametrize("backend", names, indirect=True)


def _make_backend(kind: str, state: Path, request: pytest.FixtureRequest) -> tuple[Backend, Callable[[], None]]:
    from provider.backend.http import HttpBackend
    from provider.emulator import Emulator
    from tests.support.live_server import ACCESS_KEY, SECRET_KEY

    if kind == "embedded":
        emu = Emulator(state)
        return emu, emu.close
    if kind in ("http", "huaweicloud"):
        # One server for the session, a fresh emulator state behind it for every test: the request path
        # (socket, HTTP, signature, envelope, error mapping) is the real one, the start-up paid once.
        server = request.getfixturevalue("_wire_server")
        emu = Emulator(state)
        server.app.emulator = emu
        http = server.backend() if kind == "http" else HttpBackend(
            server.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, dialect="huaweicloud")

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


@pytest.fixture
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    b, close = _make_backend(request.param, tmp_path / "state", request)
    yield b
    close()


@pytest.fixture
def kms(backend: Backend) -> KmsClient:
    return KmsClient(backend, REGION)
