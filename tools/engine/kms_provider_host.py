"""The dynamic-provider host of this project's engine: pulumi.dynamic's own host, plus the engine's import.

A stock Pulumi install runs `python -m pulumi.dynamic`, whose Read deserializes the provider from the
`__provider` property. The engine's import (`ResourceOptions(import_=ID)`, `pulumi import TYPE NAME ID`)
sends a Read with no properties at all, so that host cannot answer it (pulumi/pulumi#16175). Here such a
Read takes the provider of the resource type named in the URN (`pulumi-python:dynamic/kms:CustomKey` ->
`provider.resources.CustomKeyProvider`), serialized exactly as a program serializes it; everything else is
the SDK's own servicer, unchanged.

Two more things that the stock host lacks:

* Check of this project's resources also hands the provider the resource's URN and the engine's random seed
  (CheckRequest.randomSeed), as hidden `__check_urn` / `__check_seed` inputs: they make autonames stable
  across a retry of a create the engine lost, and mark what a create makes with its owner
  (provider/resources/_common.py, "lost creates").
* The host dies with the engine: it watches its parent process and the engine's gRPC health service (as
  Pulumi's own Go plugins do with rpcutil.Healthcheck). Once the engine is gone it starts no new call, stops
  the waits of calls in flight, lets them finish for a few seconds and exits.

scripts/setup-engine.sh's `pulumi-resource-pulumi-python` shim runs this file ($KMS_PROVIDER_HOST, else this
clone's tools/engine/kms_provider_host.py). The language host tells programs that it does (see
`provider.resources._program.engine_imports`), so that `import_` is left to the engine instead of being turned
into an adoption by create.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
import threading
import time
import types
from concurrent import futures
from pathlib import Path
from typing import Any

from engine_watch import watch_engine  # beside this file

TYPE_PREFIX = "pulumi-python:dynamic/kms:"
RESOURCES = ("CustomKey", "ReplicaKey", "KeyAlias", "KeyTags")
CHECK_URN, CHECK_SEED = "__check_urn", "__check_seed"  # provider.resources._common reads them
IN_FLIGHT_GRACE = 5.0  # seconds calls already running get to finish once the engine is gone


def _sdk_host() -> types.ModuleType:
    """pulumi.dynamic.__main__ without its last line (`main()`, which serves at import time)."""
    spec = importlib.util.find_spec("pulumi.dynamic.__main__")
    if spec is None or spec.origin is None:
        raise SystemExit("kms provider host: the pulumi SDK has no pulumi.dynamic.__main__")
    source = Path(spec.origin).read_text()
    body, call, rest = source.rpartition("\nmain()")
    if not call or rest.strip():
        raise SystemExit(f"kms provider host: {spec.origin} does not end with main(); update this host")
    module = types.ModuleType("kms_sdk_dynamic_host")
    module.__file__ = spec.origin
    exec(compile(body, spec.origin, "exec"), module.__dict__)  # noqa: S102 (the installed SDK's own code)
    return module


def provider_for(urn: str) -> str:
    """The serialized provider of the resource type in `urn` (urn:pulumi:STACK::PROJECT::TYPE::NAME)."""
    from pulumi.dynamic.dynamic import serialize_provider

    type_ = resource_type(urn)
    name = type_.removeprefix(TYPE_PREFIX)
    if not type_.startswith(TYPE_PREFIX) or name not in RESOURCES:
        known = ", ".join(TYPE_PREFIX + r for r in RESOURCES)
        raise ValueError(f"cannot import {type_ or urn}: this host imports only {known}")
    resources = importlib.import_module("provider.resources")
    return str(serialize_provider(getattr(resources, f"{name}Provider")()))


def ours(urn: str) -> bool:
    """Whether the URN names one of this project's resources (only those are handed the URN and seed)."""
    type_ = resource_type(urn)
    return type_.startswith(TYPE_PREFIX) and type_.removeprefix(TYPE_PREFIX) in RESOURCES


def note_stack(urn: str) -> None:
    """The stack of the URN (urn:pulumi:STACK::...) as KMS_STACK, for kms:emulatorPath's {stack}: every
    request that reaches a provider carries its resource's URN, and one host serves one stack."""
    if urn.startswith("urn:pulumi:"):
        os.environ["KMS_STACK"] = urn.removeprefix("urn:pulumi:").split("::", 1)[0]


def resource_type(urn: str) -> str:
    """The resource's own type in urn:pulumi:STACK::PROJECT::QUALIFIED_TYPE::NAME, where QUALIFIED_TYPE is the
    types of its parents and its own joined by `$` (Pulumi's URN format)."""
    parts = urn.split("::")
    return parts[2].rsplit("$", 1)[-1] if len(parts) >= 4 else ""


def _resources_common() -> Any | None:
    """provider.resources._common as the providers loaded it; None where the program has no such package."""
    try:
        return importlib.import_module("provider.resources._common")
    except ImportError:
        return None


class CallProfiler:
    """KMS_PROVIDER_PROFILE=DIR: each call of this host runs under cProfile (one profiler per call: cProfile
    sees only the thread it runs on, and the servicer's calls run on a pool); at exit the merged profile is
    written to DIR/host-PID.prof and the wall time of each gRPC method to DIR/host-PID.calls. For finding
    what a resource costs the engine (benchmarks/provider_overhead.py --profile); off unless set."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.lock = threading.Lock()
        self.stats: Any = None
        self.calls: dict[str, list[float]] = {}

    @classmethod
    def from_env(cls) -> CallProfiler | None:
        directory = os.environ.get("KMS_PROVIDER_PROFILE")
        return cls(Path(directory)) if directory else None

    def run(self, name: str, method: Any, *args: Any) -> Any:
        import cProfile
        import pstats

        profile = cProfile.Profile()
        started = time.perf_counter()
        try:
            return profile.runcall(method, *args)
        finally:
            elapsed = time.perf_counter() - started
            with self.lock:
                self.calls.setdefault(name, []).append(elapsed)
                if self.stats is None:
                    self.stats = pstats.Stats(profile)
                else:
                    self.stats.add(profile)

    def dump(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = self.directory / f"host-{os.getpid()}"
        with self.lock:
            if self.stats is not None:
                self.stats.dump_stats(f"{stem}.prof")
            lines = [f"{name} {len(times)} {sum(times):.3f}" for name, times in sorted(self.calls.items())]
        Path(f"{stem}.calls").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    # The engine passes its own address last (flags before it are ignored, as the stock host ignores all).
    positional = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")]
    engine_address = positional[-1] if positional else ""
    # As under `python -m pulumi.dynamic`: modules of the program's directory (its providers) import.
    sys.path[0] = os.getcwd()
    sdk = _sdk_host()
    # The providers' package imported once, before any call: the engine's first calls come together on the
    # servicer's threads, and each unpickles a provider (an import of provider.resources); a first import
    # raced from several threads has failed with KeyError('provider.resources').
    _resources_common()
    import grpc
    from google.protobuf import empty_pb2
    from pulumi.runtime import rpc
    from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
    from pulumi.runtime.proto import provider_pb2_grpc

    gone = threading.Event()

    def refuse_when_gone(context: Any) -> None:
        if gone.is_set():
            context.abort(grpc.StatusCode.UNAVAILABLE, "the Pulumi engine is gone: this provider host is stopping")

    engine_channel = grpc.insecure_channel(engine_address) if engine_address else None
    warned: set[str] = set()
    # The configuration (HOST.config, replaced whole by Configure) whose state directory was found: a state
    # that is there stays there for the one command this host serves, so later checks skip the lookup.
    present: list[object] = [None]

    def warn_if_state_lost(urn: str) -> None:
        """A resource the stack holds, checked against an embedded emulator whose state directory is gone
        (deleted, or kms:emulatorPath changed): the keys the stack recorded are not there. The preview would
        show no change; the engine gets a warning on the resource instead (its Log service, as providers do)."""
        common = _resources_common()
        if common is None or engine_channel is None or urn in warned or present[0] is common.HOST.config:
            return
        try:
            s = common.settings()
        except Exception:  # noqa: BLE001 - a bad setting is Check's failure to report, not this warning's
            return
        if not s.embedded or s.emulator_path.exists():
            present[0] = common.HOST.config
            return
        warned.add(urn)
        from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

        message = (
            f"the emulator state {s.emulator_path} does not exist, so the keys this stack recorded are gone "
            "(was .kms-emulator/ deleted, or kms:emulatorPath changed?): `pulumi refresh` drops them from the "
            "stack and the next `pulumi up` makes them anew (docs/moving-backends.md)"
        )
        with contextlib.suppress(grpc.RpcError):  # the engine is going away: nothing to warn
            engine_pb2_grpc.EngineStub(engine_channel).Log(
                engine_pb2.LogRequest(severity=engine_pb2.WARNING, message=message, urn=urn), timeout=5
            )

    class Servicer(sdk.DynamicResourceProviderServicer):  # type: ignore[name-defined,misc]
        def Check(self, request: Any, context: Any) -> Any:  # noqa: N802 (gRPC method name)
            refuse_when_gone(context)
            if not ours(request.urn):
                return super().Check(request, context)
            copy = type(request)()
            copy.CopyFrom(request)
            copy.news.update({CHECK_URN: request.urn, CHECK_SEED: request.randomSeed.hex()})
            response = super().Check(copy, context)
            if len(request.olds.fields):
                warn_if_state_lost(request.urn)
            return response

        def Create(self, request: Any, context: Any) -> Any:  # noqa: N802
            refuse_when_gone(context)
            return super().Create(request, context)

        def Update(self, request: Any, context: Any) -> Any:  # noqa: N802
            refuse_when_gone(context)
            return super().Update(request, context)

        def Delete(self, request: Any, context: Any) -> Any:  # noqa: N802
            refuse_when_gone(context)
            common = _resources_common() if ours(request.urn) else None
            if common is not None and common.was_adopted(request.id):
                # A forced replacement whose create found and took over this very key (see was_adopted): the
                # resource now is that key, so the old resource's delete must leave it alone.
                return empty_pb2.Empty()
            return super().Delete(request, context)

        def Read(self, request: Any, context: Any) -> Any:  # noqa: N802 (gRPC method name)
            props = rpc.deserialize_properties(request.properties)
            if sdk.PROVIDER_KEY in props:
                return super().Read(request, context)
            # The engine's import: no state, no provider.
            import grpc

            try:
                serialized = provider_for(request.urn)
            except ValueError as err:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
            copy = type(request)()
            copy.CopyFrom(request)
            copy.properties.update({sdk.PROVIDER_KEY: serialized})
            response = super().Read(copy, context)
            if not response.id:
                type_ = resource_type(request.urn)
                context.abort(
                    grpc.StatusCode.NOT_FOUND,
                    f"import of {type_} {request.id}: no such key or alias (an id or alias of the stack's region "
                    "kms:region, REGION:ID, or a TRN)",
                )
            return response

    profiler = CallProfiler.from_env()

    def answered(method: Any) -> Any:
        """The method, with a provider's exception turned into the call's gRPC status carrying the provider's
        own message. Left to grpc, an exception becomes status UNKNOWN with the details "Exception calling
        application: ..." and a logged traceback, and the engine shows that prefix before every error."""
        name = method.__name__

        def call(self: Any, request: Any, context: Any) -> Any:
            note_stack(getattr(request, "urn", ""))
            try:
                if profiler is not None:
                    return profiler.run(name, method, self, request, context)
                return method(self, request, context)
            except Exception as err:
                if getattr(getattr(context, "_state", None), "aborted", False):
                    raise  # context.abort() of the method itself: its status is already set
                context.abort(grpc.StatusCode.UNKNOWN, str(err) or type(err).__name__)

        return call

    for name in ("Check", "Diff", "Create", "Read", "Update", "Delete"):
        setattr(Servicer, name, answered(getattr(Servicer, name)))

    # pulumi.dynamic's main(), plus the watch on the engine.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=_GRPC_CHANNEL_OPTIONS)
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(Servicer(), server)
    port = server.add_insecure_port(address="127.0.0.1:0")
    server.start()
    sys.stdout.buffer.write(f"{port}\n".encode())
    sys.stdout.flush()
    try:
        watch_engine(engine_address, gone)
    except KeyboardInterrupt:
        gone.set()
    common = _resources_common() if "provider.resources._common" in sys.modules else None
    if common is not None:
        common.HOST.engine_gone.set()  # waits of calls in flight stop
    server.stop(grace=IN_FLIGHT_GRACE).wait(IN_FLIGHT_GRACE + 1)
    if profiler is not None:
        profiler.dump()
    os._exit(0)  # threads of calls that ignored the grace must not keep the process alive


if __name__ == "__main__":
    sys.exit(main())
