"""Fixtures that drive the real Pulumi engine (see engine_harness.py for how the engine is found).

* `engine`        — the located engine; FAILS (never skips) when it is missing or of the wrong version.
* `inline_stack`  — factory: `inline_stack(program, config={...}, stack="test", project=...)` -> EngineStack,
                    an Automation API stack with an inline program, its own file:// backend and passphrase.
* `project_stack` — factory: `project_stack(project_dir, config={...})` -> EngineStack for a Pulumi.yaml
                    project run through the Python language host (copied to a temp dir first).

Stacks still deployed when a test ends are destroyed at teardown.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_harness import (
    Engine,
    EngineNotAvailable,
    EngineStack,
    StackFactory,
    find_engine,
    make_inline_stack,
    make_project_stack,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.engine)


@pytest.fixture(scope="session")
def engine() -> Engine:
    try:
        return find_engine()
    except EngineNotAvailable as exc:
        problem = str(exc)
    pytest.fail(problem, pytrace=False)  # outside `except`: no chained traceback, just the message


@pytest.fixture
def inline_stack(engine: Engine, tmp_path: Path) -> Iterator[StackFactory]:
    made: list[EngineStack] = []

    def factory(program: Any, **kwargs: Any) -> EngineStack:
        stack = make_inline_stack(engine, tmp_path / f"inline-{len(made)}", program, **kwargs)
        made.append(stack)
        return stack

    yield factory
    for stack in reversed(made):
        stack.cleanup()


@pytest.fixture
def project_stack(engine: Engine, tmp_path: Path) -> Iterator[StackFactory]:
    made: list[EngineStack] = []

    def factory(project_dir: Path | str, **kwargs: Any) -> EngineStack:
        stack = make_project_stack(engine, tmp_path / f"project-{len(made)}", Path(project_dir), **kwargs)
        made.append(stack)
        return stack

    yield factory
    for stack in reversed(made):
        stack.cleanup()
