"""Drive the real Pulumi engine from pytest: the CLI built by scripts/setup-engine.sh and the Automation API.

How the engine is found (first match wins; `pulumi version` must print the version pinned in tools/engine/go.mod):

1. `pulumi` on PATH — what `eval "$(bash scripts/setup-engine.sh --print-env)"` (and so `make pytest`) sets up;
2. `.tools/pulumi/pulumi` — the link setup-engine.sh leaves in the repository, so a plain
   `.venv/bin/pytest tests/engine` works once the engine has been built.

The directory holding `pulumi` must also hold `pulumi-language-python` and `pulumi-resource-pulumi-python`: the
engine looks for these "bundled" plugins next to its own executable, so nothing is looked up or downloaded.
If any of this is missing, the fixtures FAIL (never skip) with a message saying how to build the engine.

Every stack gets its own temporary `file://` state backend, PULUMI_HOME and passphrase secrets provider, and
runs with update checks and plugin downloads turned off.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pulumi import automation as auto

REPO_ROOT = Path(__file__).resolve().parents[2]
ENGINE_TESTS_DIR = Path(__file__).resolve().parent
LANGUAGE_HOST_SRC = REPO_ROOT / "tools" / "engine" / "kms_language_host.py"
PROVIDER_HOST_SRC = REPO_ROOT / "tools" / "engine" / "kms_provider_host.py"
TEST_PASSPHRASE = "kms-keys-as-code-test-passphrase"
BUNDLED_PLUGINS = ("pulumi-language-python", "pulumi-resource-pulumi-python")
HOW_TO_FIX = (
    "Build/locate it with `bash scripts/setup-engine.sh` and run the tests with the engine env, e.g.\n"
    '    eval "$(bash scripts/setup-engine.sh --print-env)" && .venv/bin/pytest tests/engine\n'
    "or simply `make pytest`."
)

ConfigInput = str | auto.ConfigValue | tuple[str, bool]


class EngineNotAvailable(RuntimeError):
    """The Pulumi engine the tests need is not installed or has the wrong version."""


def pinned_version() -> str:
    """The engine's pin (the `github.com/pulumi/pulumi/pkg/v3 vX` require of tools/engine/go.mod): the CLI must
    be exactly this version."""
    text = (REPO_ROOT / "tools" / "engine" / "go.mod").read_text()
    match = re.search(r"^require github\.com/pulumi/pulumi/pkg/v3 v([0-9][0-9.]*)$", text, re.MULTILINE)
    if not match:
        raise EngineNotAvailable("tools/engine/go.mod has no `require github.com/pulumi/pulumi/pkg/v3 vX` line")
    return match.group(1)


@dataclass(frozen=True)
class Engine:
    """A located engine: the directory with `pulumi` and its bundled Python plugins."""

    bin_dir: Path
    version: str
    command: auto.PulumiCommand

    def env(self, state_dir: Path, extra_pythonpath: list[Path] | None = None) -> dict[str, str]:
        """Environment for every pulumi process (and so every plugin it starts) of one stack."""
        pythonpath = [str(p) for p in (extra_pythonpath or [])]
        pythonpath += [str(ENGINE_TESTS_DIR), str(REPO_ROOT)]
        if os.environ.get("PYTHONPATH"):
            pythonpath.append(os.environ["PYTHONPATH"])
        return {
            # Engine first, then the interpreter running the tests (its venv has pulumi, dill, grpc).
            "PATH": os.pathsep.join([str(self.bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]]),
            # Read by the plugin shims: run the language host / dynamic provider host with *this* interpreter.
            "KMS_PYTHON": sys.executable,
            # Dynamic providers defined in test modules are pickled by reference (module + class name); the
            # provider host process must be able to import those modules.
            "PYTHONPATH": os.pathsep.join(pythonpath),
            # Read by our `pulumi-language-python` shim: this clone's language host source.
            "KMS_LANGUAGE_HOST": str(LANGUAGE_HOST_SRC),
            # Read by our `pulumi-resource-pulumi-python` shim: this clone's dynamic-provider host source.
            "KMS_PROVIDER_HOST": str(PROVIDER_HOST_SRC),
            "PULUMI_BACKEND_URL": state_dir.as_uri(),
            "PULUMI_CONFIG_PASSPHRASE": TEST_PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        }


def _probe(pulumi: Path, version: str) -> str | None:
    """None if `pulumi` is the right engine, else why not."""
    if not (pulumi.is_file() and os.access(pulumi, os.X_OK)):
        return f"{pulumi} is not an executable file"
    try:
        out = subprocess.run(
            [str(pulumi), "version"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`{pulumi} version` failed: {exc}"
    got = out.stdout.strip()
    if got != f"v{version}":
        return f"{pulumi} is version {got or out.stderr.strip()!r}, the pinned SDK needs v{version}"
    missing = [p for p in BUNDLED_PLUGINS if not os.access(pulumi.parent / p, os.X_OK)]
    if missing:
        return f"{pulumi.parent} lacks {', '.join(missing)} next to pulumi"
    return None


@cache
def find_engine() -> Engine:
    """Locate the engine (see the module docstring) or raise EngineNotAvailable with a clear message."""
    version = pinned_version()
    candidates: list[Path] = []
    on_path = shutil.which("pulumi")
    if on_path:
        candidates.append(Path(on_path))
    candidates.append(REPO_ROOT / ".tools" / "pulumi" / "pulumi")
    problems = []
    for candidate in candidates:
        problem = _probe(candidate, version)
        if problem is None:
            bin_dir = candidate.resolve().parent
            command = auto.PulumiCommand(root=str(bin_dir.parent), skip_version_check=True)
            if Path(command.command).resolve() != candidate.resolve():
                # PulumiCommand wants ROOT/bin/pulumi; for a layout without it, run `pulumi` by PATH.
                command = auto.PulumiCommand(skip_version_check=True)
            return Engine(bin_dir=bin_dir, version=version, command=command)
        problems.append(problem)
    raise EngineNotAvailable(
        f"The Pulumi engine v{version} is not available:\n  - " + "\n  - ".join(problems) + "\n" + HOW_TO_FIX
    )


@dataclass
class EngineStack:
    """An Automation API stack with its own state backend, plus shortcuts for tests."""

    stack: auto.Stack
    work_dir: Path
    state_dir: Path
    output: list[str] = field(default_factory=list)
    deployed: bool = False

    @property
    def name(self) -> str:
        return self.stack.name

    def _on_output(self, line: str) -> None:
        self.output.append(line)

    def set_config(self, config: Mapping[str, ConfigInput]) -> None:
        """Set stack config; a value is a str, a ConfigValue or a (value, secret) tuple."""
        values = {}
        for key, value in config.items():
            if isinstance(value, auto.ConfigValue):
                values[key] = value
            elif isinstance(value, tuple):
                values[key] = auto.ConfigValue(value=value[0], secret=value[1])
            else:
                values[key] = auto.ConfigValue(value=value)
        self.stack.set_all_config(values)

    def set_program(self, program: auto.PulumiFn) -> None:
        """Replace the inline program for this and later operations (preview/up/refresh/destroy)."""
        self.stack.workspace.program = program

    def up(self, program: auto.PulumiFn | None = None, **kwargs: Any) -> auto.UpResult:
        kwargs.setdefault("on_output", self._on_output)
        if program is not None:
            self.set_program(program)
        self.deployed = True
        return self.stack.up(**kwargs)

    def preview(self, program: auto.PulumiFn | None = None, **kwargs: Any) -> auto.PreviewResult:
        kwargs.setdefault("on_output", self._on_output)
        if program is not None:
            self.set_program(program)
        return self.stack.preview(**kwargs)

    def refresh(self, **kwargs: Any) -> auto.RefreshResult:
        kwargs.setdefault("on_output", self._on_output)
        return self.stack.refresh(**kwargs)

    def destroy(self, **kwargs: Any) -> auto.DestroyResult:
        kwargs.setdefault("on_output", self._on_output)
        result = self.stack.destroy(**kwargs)
        self.deployed = False
        return result

    def outputs(self) -> dict[str, Any]:
        return {key: out.value for key, out in self.stack.outputs().items()}

    def export_state(self) -> dict[str, Any]:
        """The stack's checkpoint (`pulumi stack export`): {"manifest":..., "resources": [...], ...}."""
        deployment: dict[str, Any] = self.stack.export_stack().deployment or {}
        return deployment

    def state_resources(self, type_: str | None = None) -> list[dict[str, Any]]:
        """Resources of the exported state other than the stack itself and provider resources."""
        resources = self.export_state().get("resources") or []
        return [
            r
            for r in resources
            if r["type"] != "pulumi:pulumi:Stack"
            and not r["type"].startswith("pulumi:providers:")
            and (type_ is None or r["type"] == type_)
        ]

    def state_resource(self, name: str) -> dict[str, Any]:
        """The resource of the exported state whose URN ends with `::name`."""
        found = [r for r in self.state_resources() if r["urn"].endswith(f"::{name}")]
        assert len(found) == 1, f"expected one resource named {name!r} in state, found {len(found)}"
        return found[0]

    def cleanup(self) -> None:
        if self.deployed:
            try:
                self.destroy()
            except Exception as exc:  # noqa: BLE001 - teardown must not mask the test's own failure
                warnings.warn(f"destroy of stack {self.name} at teardown failed: {exc}", stacklevel=1)


def _options(engine: Engine, root: Path, **kwargs: Any) -> auto.LocalWorkspaceOptions:
    state_dir = root / "state"
    home = root / "pulumi-home"
    state_dir.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    return auto.LocalWorkspaceOptions(
        pulumi_home=str(home),
        env_vars=engine.env(state_dir),
        secrets_provider="passphrase",
        pulumi_command=engine.command,
        **kwargs,
    )


def make_inline_stack(
    engine: Engine,
    root: Path,
    program: auto.PulumiFn,
    *,
    project: str = "kms-engine-test",
    stack: str = "test",
    config: Mapping[str, ConfigInput] | None = None,
) -> EngineStack:
    """An inline-program stack (the program runs in this process; the engine talks to it over gRPC)."""
    work_dir = root / "work"
    work_dir.mkdir(parents=True, exist_ok=True)
    opts = _options(engine, root, work_dir=str(work_dir))
    auto_stack = auto.create_or_select_stack(stack_name=stack, project_name=project, program=program, opts=opts)
    handle = EngineStack(stack=auto_stack, work_dir=work_dir, state_dir=root / "state")
    if config:
        handle.set_config(config)
    return handle


def make_project_stack(
    engine: Engine,
    root: Path,
    project_dir: Path,
    *,
    stack: str = "test",
    config: Mapping[str, ConfigInput] | None = None,
    copy: bool = True,
) -> EngineStack:
    """A stack of a Pulumi.yaml project directory, run by the engine through the Python language host.

    With copy=True (default) the project is copied under `root` first, so the stack settings file that
    Pulumi writes (Pulumi.<stack>.yaml, with the passphrase salt) never lands in the repository.
    """
    project_dir = Path(project_dir)
    if not (project_dir / "Pulumi.yaml").is_file():
        raise FileNotFoundError(f"{project_dir} has no Pulumi.yaml")
    work_dir = project_dir
    if copy:
        work_dir = root / "project"
        shutil.copytree(project_dir, work_dir, ignore=shutil.ignore_patterns("__pycache__", "Pulumi.*.yaml"))
    opts = _options(engine, root)
    auto_stack = auto.create_or_select_stack(stack_name=stack, work_dir=str(work_dir), opts=opts)
    handle = EngineStack(stack=auto_stack, work_dir=work_dir, state_dir=root / "state")
    if config:
        handle.set_config(config)
    return handle


StackFactory = Callable[..., EngineStack]
