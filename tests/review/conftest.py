"""Fixtures of the review tests: the root stack (with the sample-change wrapper of scripts/review_sample.py)
run by the real engine, previews as `pulumi preview --json` prints them, and `kmsctl review` run as users run it.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

ENGINE_DIR = Path(__file__).resolve().parents[1] / "engine"
sys.path.insert(0, str(ENGINE_DIR))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from engine_harness import REPO_ROOT, Engine, EngineStack, make_project_stack  # noqa: E402
from review_sample import prepare  # noqa: E402

KMSCTL = str(Path(sys.executable).with_name("kmsctl"))


def _engine_fixtures() -> ModuleType:
    """tests/engine/conftest.py under its own name: its `engine` fixture (fails, never skips, without it)."""
    spec = importlib.util.spec_from_file_location("engine_fixtures", ENGINE_DIR / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


engine = _engine_fixtures().engine


@dataclass
class Sample:
    """The root stack of the repository, deployed on its own emulator, with a CLI to preview changes."""

    engine: Engine
    stack: EngineStack
    emulator: Path

    def env(self) -> dict[str, str]:
        root = self.stack.state_dir.parent
        return {**os.environ, **self.engine.env(self.stack.state_dir), "PULUMI_HOME": str(root / "pulumi-home"),
                "KMS_EMULATOR_PATH": str(self.emulator)}

    def pulumi(self, *args: str, expect_failure: bool = False) -> str:
        """The engine's CLI on this stack, as a user runs it; its standard output."""
        done = subprocess.run(["pulumi", *args, "--stack", self.stack.name], cwd=self.stack.work_dir,
                              env=self.env(), capture_output=True, text=True, check=False)
        assert (done.returncode != 0) == expect_failure, done.stderr + done.stdout
        return done.stdout

    def change(self, **values: str) -> None:
        self.stack.set_config({f"review:{k}": v for k, v in values.items()})

    def preview(self, *flags: str) -> str:
        return self.pulumi("preview", "--json", *flags)

    def kmsctl(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([KMSCTL, *args], cwd=self.stack.work_dir, env=self.env(), input=stdin,
                              capture_output=True, text=True, check=False)


@pytest.fixture
def cli_stack(engine: Engine, tmp_path: Path) -> Iterator[Callable[..., Sample]]:
    """A factory: a Pulumi.yaml project as a stack the tests drive with the engine's CLI."""
    made: list[Sample] = []

    def factory(project: Path, config: dict[str, str] | None = None) -> Sample:
        root = tmp_path / f"stack-{len(made)}"
        emulator = root / "emulator"
        stack = make_project_stack(engine, root, project, copy=False,
                                   config={"kms:emulatorPath": str(emulator), **(config or {})})
        made.append(Sample(engine, stack, emulator))
        return made[-1]

    yield factory
    for s in reversed(made):
        s.stack.cleanup()


@pytest.fixture
def sample(cli_stack: Callable[..., Sample], tmp_path: Path) -> Sample:
    """The repository's root stack (as shipped, through the sample-change wrapper)."""
    return cli_stack(prepare(tmp_path / "project"))


__all__ = ["ENGINE_DIR", "REPO_ROOT", "Sample"]
