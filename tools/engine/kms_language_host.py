"""A small Python language host for the Pulumi engine (the `pulumi-language-python` plugin).

Why this exists: the upstream Go language host (module
github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3) is not served by the Go module proxy
this project can reach, so scripts/setup-engine.sh installs this file next to the `pulumi` binary it
builds, behind a `pulumi-language-python` shell shim. It speaks the engine's LanguageRuntime gRPC protocol
using the stubs that ship with the pinned `pulumi` Python SDK.

Two modes:

* host (what the engine starts): `kms_language_host.py [flags] ENGINE_ADDRESS` listens on 127.0.0.1,
  prints the port on stdout and serves LanguageRuntime until the engine kills it, or until the engine is gone:
  its parent process changed or the engine's gRPC health service no longer answers (as Pulumi's own plugins
  watch it with rpcutil.Healthcheck). Then it starts no new program, stops the running one and exits.
* exec (what the host starts for each Run): `kms_language_host.py --exec` reads the run request from the
  environment, configures the SDK's runtime settings and runs the program's entry point inside a stack, in a
  fresh interpreter, like the upstream host does.

Interpreter choice for a program: the `virtualenv` runtime option of Pulumi.yaml (relative to the project
root) if given, else `$KMS_PYTHON`, else the interpreter running this host. `pulumi install` makes that
virtualenv when it is missing and installs the project's requirements.txt into it. Only the `pip` toolchain
is supported. Plugins are never requested: GetRequiredPackages answers with none, so the engine does not try
to download any.
"""

from __future__ import annotations

import asyncio
import json
import os
import runpy
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from concurrent import futures
from typing import Any

from engine_watch import watch_engine  # beside this file

EXEC_ENV = "KMS_LANGHOST_RUN_REQUEST"
# Told to programs: "1" when the engine runs this project's dynamic-provider host, which answers the engine's
# import (provider/resources read it: `import_` then stays the engine's, previewed as `= import`).
ENGINE_IMPORTS_ENV = "KMS_ENGINE_IMPORTS"
PROVIDER_SHIM = "pulumi-resource-pulumi-python"
PROVIDER_HOST_MARKER = "kms_provider_host"  # what tools/engine/kms_provider_host.py's shim runs
# Exit code of the exec child when it already reported the error to the engine (the engine then "bails").
BAIL_EXIT = 32
CHILD_GRACE = 3.0  # seconds a program gets to stop after SIGTERM once the engine is gone


def _sdk_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pulumi")
    except PackageNotFoundError:
        return ""


# ---------------------------------------------------------------------------------------------- host mode


def _engine_imports() -> bool:
    """Whether the engine that started this host (our parent) runs our dynamic-provider host: the engine takes
    a `pulumi-resource-pulumi-python` on PATH first, else the one next to its own executable."""
    engine = os.path.realpath(f"/proc/{os.getppid()}/exe")  # Linux; elsewhere no candidate is found there
    candidates = [shutil.which(PROVIDER_SHIM), os.path.join(os.path.dirname(engine), PROVIDER_SHIM)]
    for shim in candidates:
        if shim and os.path.isfile(shim):
            try:
                with open(shim, encoding="utf-8", errors="replace") as f:
                    return PROVIDER_HOST_MARKER in f.read()
            except OSError:
                return False
    return False


def _program_python(options: dict[str, Any], root_directory: str) -> str:
    toolchain = options.get("toolchain") or "pip"
    if toolchain != "pip":
        raise RuntimeError(f"kms language host: toolchain {toolchain!r} is not supported (only 'pip')")
    venv = options.get("virtualenv")
    if venv:
        venv_dir = venv if os.path.isabs(venv) else os.path.join(root_directory or os.getcwd(), venv)
        python = os.path.join(venv_dir, "bin", "python")
        if not os.path.exists(python):
            raise RuntimeError(
                f"kms language host: the project's virtualenv {venv_dir} (Pulumi.yaml runtime.options.virtualenv) "
                "does not exist yet: run `pulumi install` to make it and install requirements.txt"
            )
        return python
    return os.environ.get("KMS_PYTHON") or sys.executable


def _install_dependencies(options: dict[str, Any], root_directory: str) -> Iterator[tuple[bytes, bytes]]:
    """`pulumi install` (and `pulumi new`): make the project's `virtualenv` if it is missing, then install its
    requirements.txt into it, as the upstream Python language host does. Yields (stdout, stderr) chunks."""
    toolchain = options.get("toolchain") or "pip"
    if toolchain != "pip":
        raise RuntimeError(f"kms language host: toolchain {toolchain!r} is not supported (only 'pip')")
    root = root_directory or os.getcwd()
    venv = options.get("virtualenv")
    steps: list[list[str]] = []
    if venv:
        venv_dir = venv if os.path.isabs(venv) else os.path.join(root, venv)
        python = os.path.join(venv_dir, "bin", "python")
        if not os.path.exists(python):
            # The interpreter this host runs on may itself be a venv's: `venv` builds on its base Python.
            steps.append([sys.executable, "-m", "venv", venv_dir])
        steps.append([python, "-m", "pip", "install", "--upgrade", "pip", "setuptools", "wheel"])
    else:
        python = os.environ.get("KMS_PYTHON") or sys.executable
    requirements = os.path.join(root, "requirements.txt")
    if os.path.isfile(requirements):
        steps.append([python, "-m", "pip", "install", "-r", requirements])
    elif not venv:
        yield b"", f"kms language host: no requirements.txt in {root}; nothing to install\n".encode()
    for cmd in steps:
        yield f"$ {' '.join(cmd)}\n".encode(), b""
        proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # noqa: S603
        assert proc.stdout is not None
        for line in proc.stdout:
            yield line, b""
        if proc.wait() != 0:
            raise RuntimeError(f"kms language host: `{' '.join(cmd)}` failed with exit code {proc.returncode}")


def _serve(engine_address: str) -> None:
    import grpc
    from google.protobuf import empty_pb2, json_format
    from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
    from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

    children: set[subprocess.Popen[bytes]] = set()
    lock = threading.Lock()

    class Host(language_pb2_grpc.LanguageRuntimeServicer):
        def Handshake(self, request, context):  # noqa: N802 (gRPC method names)
            return language_pb2.LanguageHandshakeResponse()

        def GetPluginInfo(self, request, context):  # noqa: N802
            return plugin_pb2.PluginInfo(version=_sdk_version())

        def GetRequiredPlugins(self, request, context):  # noqa: N802
            return language_pb2.GetRequiredPluginsResponse()

        def GetRequiredPackages(self, request, context):  # noqa: N802
            return language_pb2.GetRequiredPackagesResponse()

        def GetProgramDependencies(self, request, context):  # noqa: N802
            return language_pb2.GetProgramDependenciesResponse()

        def InstallDependencies(self, request, context):  # noqa: N802
            info = request.info if request.HasField("info") else None
            options = json_format.MessageToDict(info.options) if info and info.HasField("options") else {}
            root = (info.root_directory if info else "") or request.directory
            try:
                for out, err in _install_dependencies(options, root):
                    yield language_pb2.InstallDependenciesResponse(stdout=out, stderr=err)
            except (RuntimeError, OSError) as exc:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))

        def About(self, request, context):  # noqa: N802
            info = request.info if request.HasField("info") else None
            options = json_format.MessageToDict(info.options) if info and info.HasField("options") else {}
            try:
                python = _program_python(options, info.root_directory if info else "")
            except RuntimeError:
                python = sys.executable
            return language_pb2.AboutResponse(
                executable=python,
                version=".".join(str(part) for part in sys.version_info[:3]),
                metadata={"host": "kms-keys-as-code"},
            )

        def Run(self, request, context):  # noqa: N802
            if stop.is_set():
                return language_pb2.RunResponse(error="kms language host: the Pulumi engine is gone")
            info = request.info if request.HasField("info") else None
            options = json_format.MessageToDict(info.options) if info and info.HasField("options") else {}
            root_directory = info.root_directory if info else ""
            program_directory = (info.program_directory if info else "") or request.pwd
            entry_point = (info.entry_point if info else "") or request.program or "."
            try:
                python = _program_python(options, root_directory)
            except RuntimeError as exc:
                return language_pb2.RunResponse(error=str(exc))
            payload = {
                "project": request.project,
                "stack": request.stack,
                "organization": request.organization or "organization",
                "pwd": request.pwd or program_directory,
                "program": os.path.normpath(os.path.join(program_directory, entry_point)),
                "program_directory": program_directory,
                "root_directory": root_directory,
                "monitor": request.monitor_address,
                "engine": engine_address,
                "dry_run": request.dryRun,
                "parallel": request.parallel,
                "config": dict(request.config),
                "config_secret_keys": list(request.configSecretKeys),
                "args": list(request.args),
            }
            env = dict(os.environ)
            env[EXEC_ENV] = json.dumps(payload)
            env["PULUMI_CONFIG"] = json.dumps(payload["config"])
            env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(payload["config_secret_keys"])
            env[ENGINE_IMPORTS_ENV] = "1" if _engine_imports() else "0"
            env["KMS_STACK"] = request.stack  # kms:emulatorPath's {stack} (provider/config.py)
            cmd = [python, "-u", os.path.abspath(__file__), "--exec"]
            try:
                child = subprocess.Popen(cmd, env=env, cwd=payload["pwd"])  # noqa: S603
            except OSError as exc:
                return language_pb2.RunResponse(error=f"kms language host: cannot start {python}: {exc}")
            with lock:
                children.add(child)
                if stop.is_set():  # the engine went away while the program was starting
                    child.terminate()
            try:
                code = child.wait()
            finally:
                with lock:
                    children.discard(child)
            if code == 0:
                return language_pb2.RunResponse()
            if code == BAIL_EXIT:
                return language_pb2.RunResponse(bail=True)
            return language_pb2.RunResponse(error=f"Program exited with non-zero exit code: {code}")

        def Cancel(self, request, context):  # noqa: N802
            with lock:
                for child in children:
                    child.terminate()
            return empty_pb2.Empty()

    stop = threading.Event()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=_GRPC_CHANNEL_OPTIONS)
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(Host(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # The engine kills its plugins when done; if it dies first, our parent changes or its health check fails.
    watch_engine(engine_address, stop)
    with lock:
        running = list(children)
    for child in running:
        child.terminate()
    deadline = time.monotonic() + CHILD_GRACE
    for child in running:
        try:
            child.wait(max(deadline - time.monotonic(), 0.01))
        except subprocess.TimeoutExpired:
            child.kill()
    server.stop(grace=0.5)


# ---------------------------------------------------------------------------------------------- exec mode


def _exec() -> int:
    payload = json.loads(os.environ.pop(EXEC_ENV))
    import grpc
    import pulumi
    from pulumi.errors import RunError
    from pulumi.runtime import reset_options, run_in_stack, set_all_config

    program_directory = payload["program_directory"]
    if program_directory and program_directory not in sys.path:
        sys.path.insert(0, program_directory)
    sys.argv = [payload["program"], *payload["args"]]
    reset_options(
        project=payload["project"],
        stack=payload["stack"],
        root_directory=payload["root_directory"] or None,
        parallel=payload["parallel"],
        engine_address=payload["engine"],
        monitor_address=payload["monitor"],
        preview=payload["dry_run"],
        organization=payload["organization"],
    )
    set_all_config(payload["config"], payload["config_secret_keys"])

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.set_default_executor(futures.ThreadPoolExecutor(max_workers=max(payload["parallel"] or 1, 1) * 4))
    try:
        loop.run_until_complete(run_in_stack(lambda: runpy.run_path(payload["program"], run_name="__main__")))
    except RunError as exc:
        pulumi.log.error(str(exc))
        return BAIL_EXIT
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.UNAVAILABLE:  # the engine is shutting down
            return 0
        pulumi.log.error(f"RPC error: {exc.details()}")
        return BAIL_EXIT
    except Exception as exc:  # noqa: BLE001 - any program failure is reported to the engine
        pulumi.log.error(f"Program failed: {exc}\n{traceback.format_exc()}")
        return BAIL_EXIT
    finally:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
        sys.stdout.flush()
        sys.stderr.flush()
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--exec"]:
        code = _exec()
        # Out now, without the interpreter's shutdown: a thread still inside a gRPC call (a registration
        # in flight when the program failed) would be unwound by glibc as the interpreter finalizes, and
        # that unwinding through gRPC's C++ prints "FATAL: exception not rethrown" and aborts. _exec has
        # flushed stdout and stderr, and every message of the program went to the engine synchronously.
        os._exit(code)
    # The engine passes the engine address last; flags before it (tracing, logging, root) are ignored.
    positional = [arg for arg in argv if not arg.startswith("-")]
    _serve(positional[-1] if positional else "")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # the same: the gRPC server's threads must not meet the interpreter's shutdown


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
