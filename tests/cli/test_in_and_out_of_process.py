"""`kmsctl encrypt` / `decrypt` as real processes, as a user runs them: every form of the arguments makes the
same message, and help and every usage error answer exactly as the same command run in process does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from provider.client import KmsClient
from provider.emulator import Emulator
from provider.envelope import read_header
from tests.support.cli import invoke

ROOT = Path(__file__).resolve().parents[2]
KMSCTL = [sys.executable, "-c", "import sys; sys.argv[0] = 'kmsctl'; from provider.cli import main; main()"]
NORTH, EAST = "cn-north-4", "cn-east-3"
PLAINTEXT = b"quick start, same answer " * 5000


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An emulator with `alias/app` in two regions, an input file, and the environment pointing at it."""
    state = tmp_path / "state"
    kms = KmsClient(Emulator(state), NORTH)
    for region in (NORTH, EAST):
        regional = kms.in_region(region)
        key = regional.create_key("app")
        # A typed model.Key once the client speaks the domain seam, a wire dict before.
        regional.create_alias("alias/app", getattr(key, "key_id", None) or key["ID"])
    (tmp_path / "in.bin").write_bytes(PLAINTEXT)
    monkeypatch.setenv("KMS_EMULATOR_PATH", str(state))
    monkeypatch.delenv("KMS_ENDPOINT", raising=False)
    monkeypatch.delenv("KMS_REGION", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def kmsctl(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([*KMSCTL, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def flat(text: str) -> str:
    return " ".join(text.split())  # one line, however argparse wrapped a message


@pytest.mark.parametrize("args", [
    ["encrypt", "--key", "cn-north-4:alias/app", "--key", "cn-east-3:alias/app", "-c", "app=billing", "in.bin",
     "m.kmse"],
    ["encrypt", "in.bin", "--key=cn-north-4:alias/app", "m.kmse", "--context=app=billing", "-k",
     "cn-east-3:alias/app"],
    ["encrypt", "-k", "alias/app", "--key", "cn-east-3:alias/app", "--frame-size", "4096", "--context",
     "app=billing", "in.bin", "m.kmse"],
    ["encrypt", "--force", "-k", "alias/app", "-k", "cn-east-3:alias/app", "-c", "app=billing", "in.bin", "m.kmse"],
    # Forms of argparse's own (a value glued to a short flag, `--`): the same message either way.
    ["encrypt", "-kcn-north-4:alias/app", "-k", "cn-east-3:alias/app", "-c", "app=billing", "--", "in.bin",
     "m.kmse"],
])
def test_every_form_of_the_arguments_makes_the_same_message(workdir: Path, args: list[str]) -> None:
    enc = kmsctl(args, workdir)
    assert enc.returncode == 0, enc.stderr
    header = read_header((workdir / "m.kmse").read_bytes())
    assert [e.region for e in header.entries] == [NORTH, EAST]
    assert dict(header.context) == {"app": "billing"}
    for key in ("cn-north-4:alias/app", "cn-east-3:alias/app"):
        (workdir / "out.bin").unlink(missing_ok=True)  # an existing output is refused without --force
        dec = kmsctl(["decrypt", "--context", "app=billing", "m.kmse", "-k", key, "out.bin"], workdir)
        assert dec.returncode == 0, dec.stderr
        assert (workdir / "out.bin").read_bytes() == PLAINTEXT
        assert (workdir / "out.bin").stat().st_mode & 0o077 == 0  # decrypted output: owner only


@pytest.mark.parametrize(("args", "message"), [
    (["encrypt", "-k", "cn-north-4:", "in.bin", "o"], "names a region but no key"),
    (["encrypt", "-k", "alias/app", "-c", "novalue", "in.bin", "o"], "'novalue' is not NAME=VALUE"),
    (["encrypt", "-k", "alias/app", "--context=a=1", "-c", "a=2", "in.bin", "o"], "'a' is given twice"),
    (["encrypt", "-k", "alias/app", "--frame-size", "0", "in.bin", "o"], "--frame-size"),
    (["encrypt", "-k", "alias/app", "--frame-size", "16777217", "in.bin", "o"], "--frame-size"),
    (["encrypt", "-k", "alias/app", "--frame-size=many", "in.bin", "o"], "--frame-size"),
    (["encrypt", "in.bin", "o"], "--key"),
    (["encrypt", "-k", "alias/app", "in.bin"], "OUT"),
    (["encrypt", "-k", "alias/app", "in.bin", "o", "extra"], "extra"),
    (["encrypt", "-k", "alias/app", "--armor", "in.bin", "o"], "--armor"),
    (["encrypt", "in.bin", "o", "-k"], "-k"),
    (["encrypt", "-k", "alias/app", "--force=yes", "in.bin", "o"], "--force"),
    (["encrypt", "-k", "alias/app", "--stack", "in.bin", "o"], "OUT"),
    (["decrypt", "-k", "alias/app", "--force", "--force", "in.bin", "o"], ""),
    (["decrypt", "-k", "alias/app", "--frame-size", "4096", "in.bin", "o"], "--frame-size"),
    (["decrypt", "-k", "alias/app", "-k", "cn-east-3:alias/app", "in.bin", "o"], ""),
])
def test_a_usage_error_is_the_same_answer_in_process(workdir: Path, args: list[str], message: str) -> None:
    proc = kmsctl(args, workdir)
    in_process = invoke(args)
    assert proc.returncode == in_process.exit_code
    assert message in flat(proc.stderr)
    assert flat(proc.stderr) == flat(in_process.output)
    if proc.returncode:
        assert not (workdir / "o").exists()


def test_help_and_a_failure_of_the_service(workdir: Path) -> None:
    helped = kmsctl(["encrypt", "-k", "alias/app", "in.bin", "o", "--help"], workdir)
    assert helped.returncode == 0 and "--frame-size" in helped.stdout and not (workdir / "o").exists()
    missing = kmsctl(["encrypt", "-k", "cn-south-1:alias/app", "in.bin", "m.kmse"], workdir)
    assert missing.returncode == 1
    assert missing.stderr.startswith("kmsctl encrypt: error: cannot generate a data key under key alias/app in "
                                     "region cn-south-1: NotFound: ")
    assert missing.stderr.endswith(" (nothing was written to m.kmse)\n") and missing.stderr.count("\n") == 1
    assert not (workdir / "m.kmse").exists()
