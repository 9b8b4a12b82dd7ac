"""`--stack NAME` where the stack's config cannot be read: one line naming the stack and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import invoke


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("KMS_ENDPOINT", "KMS_EMULATOR_PATH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("args", [["keys", "list"], ["keys", "describe", "alias/a"], ["clock", "advance", "1d"],
                                  ["review", "p.json"], ["encrypt", "-k", "alias/a", "in", "out"]])
def test_outside_a_project(elsewhere: Path, args: list[str]) -> None:
    (elsewhere / "p.json").write_text('{"steps": [], "changeSummary": {"create": 2}}')
    (elsewhere / "in").write_bytes(b"x")
    out = invoke([*args, "--stack", "dev"])
    assert out.exit_code == 1, out.output
    assert out.output.count("\n") == 1
    assert f"--stack dev: no Pulumi.yaml in {elsewhere} or above: run kmsctl in the project's directory" in out.output
    assert not (elsewhere / "out").exists() and not (elsewhere / ".kms-emulator").exists()


def test_without_the_pulumi_cli(elsewhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (elsewhere / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    monkeypatch.setenv("PATH", str(elsewhere / "empty"))
    out = invoke(["keys", "list", "--stack", "dev"])
    assert out.exit_code == 1
    assert out.output == ("error: --stack dev: the stack's config is read with the pulumi CLI, which is not on "
                          "PATH; install it, or configure kmsctl through the environment (KMS_ENDPOINT, ...)\n")


def test_serve_takes_its_state_from_the_stack(elsewhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KMS_ACCESS_KEY", "AK")
    monkeypatch.setenv("KMS_SECRET_KEY", "SK")
    out = invoke(["serve", "--port", "0", "--stack", "dev"])
    assert out.exit_code == 2
    assert out.output.startswith("kmsctl serve: --stack dev: no Pulumi.yaml in ")
