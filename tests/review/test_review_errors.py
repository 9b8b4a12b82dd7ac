"""What `kmsctl review` says about input it cannot review: one clear line on stderr, a non-zero exit, never a
traceback. The previews here are printed by the real engine too (another provider's stack, an empty stack)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import ENGINE_DIR, Sample

pytestmark = pytest.mark.engine


def refused(sample: Sample, text: str, tmp_path: Path, via_stdin: bool = False) -> str:
    if via_stdin:
        done = sample.kmsctl("review", "-", stdin=text)
    else:
        path = tmp_path / "input.json"
        path.write_text(text)
        done = sample.kmsctl("review", str(path))
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def test_another_providers_preview(cli_stack: Callable[..., Sample], tmp_path: Path) -> None:
    project = tmp_path / "noop"
    shutil.copytree(ENGINE_DIR / "projects" / "noop", project)
    other = cli_stack(project, {"name": "thing"})
    line = refused(other, other.preview("--show-sames"), tmp_path)
    assert "lists 1 resource(s), none of them a KMS key, replica, alias or tags" in line
    assert "pulumi-python:dynamic/kms:" in line


def test_empty_preview(cli_stack: Callable[..., Sample], tmp_path: Path) -> None:
    project = tmp_path / "empty"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: empty\nruntime:\n  name: python\n")
    (project / "__main__.py").write_text('"""A stack with no resources."""\n')
    empty = cli_stack(project)
    line = refused(empty, empty.preview(), tmp_path, via_stdin=True)
    assert "is an empty preview" in line and "standard input" in line


def test_not_a_preview(sample: Sample, tmp_path: Path) -> None:
    sample.stack.up()
    assert "is not JSON" in refused(sample, "Previewing update (test):\n  + 12 to create\n", tmp_path)
    exported = sample.pulumi("stack", "export")  # JSON from the engine, but a checkpoint, not a preview
    assert "is JSON but not a preview" in refused(sample, exported, tmp_path)
    missing = sample.kmsctl("review", str(tmp_path / "nowhere.json"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr and "Traceback" not in missing.stderr


def test_a_failed_preview_is_named(sample: Sample, tmp_path: Path) -> None:
    sample.stack.up()
    sample.change(orders_key_spec="RSA_2048")
    sample.stack.set_config({"review:orders_pending_days": "3"})  # below the 7-day minimum: check fails
    line = refused(sample, sample.pulumi("preview", "--json", expect_failure=True), tmp_path)
    assert "preview that failed" in line and "pending_days" in line
