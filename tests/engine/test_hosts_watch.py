"""The hosts' watch on the engine (tools/engine/*.py): the engine's gRPC health check tells alive from gone.

A real gRPC server on loopback plays the engine (Pulumi's engine may not implement the health service, which
then answers UNIMPLEMENTED: alive, as Pulumi's rpcutil.Healthcheck treats it); once it stops, the watch ends.
The kill tests (test_interrupted_up.py) cover the other half: the parent process going away.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from concurrent import futures
from pathlib import Path
from types import ModuleType

import grpc

from tests.support.live_server import free_port

TOOLS = Path(__file__).resolve().parents[2] / "tools" / "engine"


def load(name: str) -> ModuleType:
    # As when the engine runs a host as a script: its directory (with the shared engine_watch.py) is importable.
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def engine_server() -> tuple[grpc.Server, str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"


def test_an_engine_that_answers_is_alive_and_one_that_is_gone_is_not() -> None:
    watch = load("engine_watch")  # what both hosts watch with
    server, address = engine_server()
    try:
        with grpc.insecure_channel(address) as channel:
            assert watch.engine_alive(channel)  # UNIMPLEMENTED: the engine is there
    finally:
        server.stop(None)
    with grpc.insecure_channel(f"127.0.0.1:{free_port()}") as channel:
        assert not watch.engine_alive(channel)


def test_the_provider_hosts_watch_ends_soon_after_the_engine_stops() -> None:
    module = load("engine_watch")
    server, address = engine_server()
    gone = threading.Event()
    watcher = threading.Thread(target=module.watch_engine, args=(address, gone), daemon=True)
    watcher.start()
    time.sleep(module.HEALTH_EVERY + 1.0)
    assert not gone.is_set()  # healthy engine, same parent: keeps serving
    server.stop(None)
    stopped = time.monotonic()
    watcher.join(module.HEALTH_EVERY + module.WATCH_EVERY + 6.0)
    assert gone.is_set() and time.monotonic() - stopped < module.HEALTH_EVERY + 6.0


def test_the_provider_host_knows_its_resources_under_a_parent_too() -> None:
    module = load("kms_provider_host")
    own = "urn:pulumi:dev::shop::pulumi-python:dynamic/kms:CustomKey::orders"
    parented = "urn:pulumi:dev::shop::acme:index:KeySet$pulumi-python:dynamic/kms:ReplicaKey::orders-east"
    assert module.ours(own) and module.ours(parented)
    assert not module.ours("urn:pulumi:dev::shop::pulumi-python:dynamic:Resource::thing")
    assert not module.ours("urn:pulumi:dev::shop::pulumi-python:dynamic/kms:CustomKey$acme:index:Other::x")
