"""Shared fixtures. `kms` is a KmsClient on a fresh service, once per backend: every rule test runs
against the embedded emulator and, over the wire, against a live `kmsctl serve` on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from provider.backend import Backend
from provider.client import KmsClient

REGION = "cn-north-4"
BACKENDS = ["embedded"]


def _make_backend(kind: str, state: Path) -> tuple[Backend, Callable[[], None]]:
    if kind == "embedded":
        from provider.emulator import Emulator

        emu = Emulator(state)
        return emu, emu.close
    raise AssertionError(f"unknown backend {kind}")


@pytest.fixture(autouse=True)
def _fast_replication(monkeypatch: pytest.MonkeyPatch) -> None:
    # Replication stays asynchronous, but tests should not wait the default 2 s unless they ask to.
    monkeypatch.setenv("KMS_REPLICATION_DELAY", "0")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    b, close = _make_backend(request.param, tmp_path / "state")
    yield b
    close()


@pytest.fixture
def kms(backend: Backend) -> KmsClient:
    return KmsClient(backend, REGION)
