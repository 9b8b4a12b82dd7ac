"""`kmsctl encrypt` / `kmsctl decrypt` (README, kmsctl): files and pipes, real processes on both
backends, a failure that leaves no partial output, clear one-line errors, and a progress bar on a
terminal only."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from provider.backend.http import HttpBackend
from provider.cli import envelope as envelope_cli
from provider.client import KmsClient
from provider.envelope import RegionalKey, decrypt, read_header
from provider.envelope import format as fmt
from tests.support.cli import invoke

from .conftest import EAST, NORTH, KeyPair

# Both clouds' APIs over the wire as well as the embedded emulator (tests/conftest.py).
pytestmark = pytest.mark.needs()

ROOT = Path(__file__).resolve().parents[2]
# What the `kmsctl` entry point runs (the package need not be installed for the tests).
KMSCTL = [sys.executable, "-c", "import sys; sys.argv[0] = 'kmsctl'; from provider.cli import main; main()"]
SECRET = b"TOP-SECRET-PAYLOAD-" * 64


def _env(kms: KmsClient, tmp_path: Path) -> dict[str, str]:
    """The environment that points `kmsctl` at the service behind the `kms` fixture (section 3)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KMS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if isinstance(kms.backend, HttpBackend):
        from tests.support.live_server import ACCESS_KEY, SECRET_KEY

        env.update(KMS_ENDPOINT=kms.backend.endpoint, KMS_ACCESS_KEY=ACCESS_KEY, KMS_SECRET_KEY=SECRET_KEY,
                   KMS_DIALECT=kms.backend.dialect.name)
    else:
        env["KMS_EMULATOR_PATH"] = str(tmp_path / "state")  # where the `backend` fixture keeps its state
    return env


def _kmsctl(args: list[str], env: dict[str, str], cwd: Path, stdin: bytes | None = None,
            stdout: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*KMSCTL, *args], input=stdin, stdout=stdout, stderr=subprocess.PIPE, env=env, cwd=cwd,
                          timeout=120, check=False)


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KmsClient:
    """For in-process runs (tests/support/cli.py): the embedded emulator at a fresh state directory."""
    from provider.emulator import Emulator

    monkeypatch.setenv("KMS_EMULATOR_PATH", str(tmp_path / "cli-state"))
    monkeypatch.delenv("KMS_ENDPOINT", raising=False)
    monkeypatch.chdir(tmp_path)
    client = KmsClient(Emulator(tmp_path / "cli-state"), NORTH)
    for region in (NORTH, EAST):
        regional = client.in_region(region)
        regional.create_alias("alias/app", regional.create_key("app").key_id)
    return client


def test_pipes_through_real_processes_on_both_backends(kms: KmsClient, regional_keys: KeyPair,
                                                       tmp_path: Path) -> None:
    north, east = regional_keys
    env = _env(kms, tmp_path)
    data = os.urandom(3 * fmt.DEFAULT_FRAME_SIZE + 123)
    enc = _kmsctl(["encrypt", "--key", str(north), "--key", str(east), "--context", "app=billing", "-", "-"],
                  env, tmp_path, stdin=data)
    assert enc.returncode == 0, enc.stderr.decode()
    assert enc.stderr == b""  # no progress bar, nothing at all, in a pipe
    header = read_header(enc.stdout)
    assert header.context == {"app": "billing"} and [e.region for e in header.entries] == [NORTH, EAST]
    dec = _kmsctl(["decrypt", "--key", str(east), "--context", "app=billing", "-", "-"], env, tmp_path,
                  stdin=enc.stdout)
    assert dec.returncode == 0, dec.stderr.decode()
    assert dec.stdout == data and dec.stderr == b""
    # The SDK reads what the command line wrote, in the other region.
    assert decrypt(kms, north, enc.stdout) == data


def test_files_and_the_replica_scenario(kms: KmsClient, replica_pair: KeyPair, tmp_path: Path) -> None:
    primary, replica = replica_pair
    env = _env(kms, tmp_path)
    (tmp_path / "plain.bin").write_bytes(SECRET)
    enc = _kmsctl(["encrypt", "-k", str(primary), "plain.bin", "msg.kmse"], env, tmp_path)
    assert enc.returncode == 0 and enc.stdout == b"", enc.stderr.decode()
    dec = _kmsctl(["decrypt", "-k", str(replica), "msg.kmse", "out.bin"], env, tmp_path)
    assert dec.returncode == 0, dec.stderr.decode()
    assert (tmp_path / "out.bin").read_bytes() == SECRET
    assert (tmp_path / "out.bin").stat().st_mode & 0o777 == 0o600  # a plaintext is its owner's only
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["msg.kmse", "out.bin", "plain.bin"]


def test_round_trip_in_process_with_aliases(local: KmsClient, tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_bytes(SECRET)
    out = invoke(["encrypt", "--key", "cn-north-4:alias/app", "--key", "cn-east-3:alias/app",
                              "-c", "a=1", "-c", "b=x=y", "in.txt", "in.kmse"])
    assert out.exit_code == 0, out.output
    assert read_header((tmp_path / "in.kmse").read_bytes()).context == {"a": "1", "b": "x=y"}
    out = invoke(["decrypt", "--key", "cn-east-3:alias/app", "-c", "b=x=y", "in.kmse", "back.txt"])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "back.txt").read_bytes() == SECRET


def test_a_failed_decrypt_removes_its_partial_output_and_keeps_an_existing_file(local: KmsClient,
                                                                                tmp_path: Path) -> None:
    data = os.urandom(5 * 4096)
    (tmp_path / "in.bin").write_bytes(data)
    assert invoke(["encrypt", "-k", "cn-north-4:alias/app", "--frame-size", "4096", "in.bin",
                               "m.kmse"]).exit_code == 0
    message = bytearray((tmp_path / "m.kmse").read_bytes())
    message[-3] ^= 0x10  # in the final frame: four frames authenticate and are written before it fails
    (tmp_path / "bad.kmse").write_bytes(message)

    out = invoke(["decrypt", "-k", "cn-north-4:alias/app", "bad.kmse", "out.bin"])
    assert out.exit_code == 1
    assert "kmsctl decrypt: error: frame 5 at byte" in out.output and "does not authenticate" in out.output
    assert "nothing was written to out.bin" in out.output
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["bad.kmse", "in.bin", "m.kmse"]

    (tmp_path / "out.bin").write_bytes(b"keep me")
    out = invoke(["decrypt", "--force", "-k", "cn-north-4:alias/app", "bad.kmse", "out.bin"])
    assert out.exit_code == 1 and (tmp_path / "out.bin").read_bytes() == b"keep me"
    truncated = invoke(["decrypt", "-k", "cn-north-4:alias/app", "-", "out2.bin"],
                              input=bytes(message[: len(message) // 2]))
    assert truncated.exit_code == 1 and "truncated" in truncated.output
    assert not (tmp_path / "out2.bin").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_to_standard_output_only_authenticated_frames_are_written(local: KmsClient, tmp_path: Path) -> None:
    data = os.urandom(5 * 4096)
    (tmp_path / "in.bin").write_bytes(data)
    env = {k: v for k, v in os.environ.items() if k != "KMS_ENDPOINT"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    enc = _kmsctl(["encrypt", "-k", "cn-north-4:alias/app", "--frame-size", "4096", "in.bin", "-"], env, tmp_path)
    assert enc.returncode == 0, enc.stderr.decode()
    message = bytearray(enc.stdout)
    message[-3] ^= 0x10  # in the final frame
    dec = _kmsctl(["decrypt", "-k", "cn-north-4:alias/app", "-", "-"], env, tmp_path, stdin=bytes(message))
    assert dec.returncode == 1
    assert dec.stdout == data[: 4 * 4096]  # four authenticated frames, nothing of the fifth
    assert b"does not authenticate" in dec.stderr and b"discard it" in dec.stderr


def test_wrong_key_and_wrong_context_are_one_clear_line(local: KmsClient, tmp_path: Path) -> None:
    other = local.in_region(EAST).create_key("other").key_id
    (tmp_path / "in.bin").write_bytes(SECRET)
    assert invoke(["encrypt", "-k", "cn-north-4:alias/app", "-k", "cn-east-3:alias/app", "-c",
                               "env=prod", "in.bin", "m.kmse"]).exit_code == 0
    wrong_key = invoke(["decrypt", "-k", f"cn-east-3:{other}", "m.kmse", "out.bin"])
    assert wrong_key.exit_code == 1
    assert wrong_key.output.startswith(f"kmsctl decrypt: error: none of the 2 encrypted data keys can be opened "
                                       f"with key {other} in region cn-east-3")
    wrong_ctx = invoke(["decrypt", "-k", "cn-east-3:alias/app", "-c", "env=dev", "m.kmse", "out.bin"])
    assert wrong_ctx.exit_code == 1
    assert "encryption context entry 'env' has another value" in wrong_ctx.output
    missing = invoke(["encrypt", "-k", "cn-south-1:alias/app", "in.bin", "m2.kmse"])
    assert missing.exit_code == 1
    assert "cannot generate a data key under key alias/app in region cn-south-1" in missing.output
    for result in (wrong_key, wrong_ctx, missing):
        assert "Traceback" not in result.output and result.output.count("\n") == 1
        assert b"TOP-SECRET" not in result.output.encode()
    assert not (tmp_path / "out.bin").exists() and not (tmp_path / "m2.kmse").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["encrypt", "-k", "cn-north-4:", "in.bin", "o"], "names a region but no key"),
    (["encrypt", "-k", "alias/app", "-c", "novalue", "in.bin", "o"], "'novalue' is not NAME=VALUE"),
    (["encrypt", "-k", "alias/app", "-c", "a=1", "-c", "a=2", "in.bin", "o"], "'a' is given twice"),
    (["encrypt", "-k", "alias/app", "--frame-size", "0", "in.bin", "o"], "--frame-size"),
    (["encrypt", "in.bin", "o"], "--key"),
])
def test_bad_arguments_are_usage_errors(local: KmsClient, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "in.bin").write_bytes(b"x")
    out = invoke(args)
    assert out.exit_code == 2
    assert message in " ".join(re.sub(r"[│╭╮╰╯─]", " ", out.output).split())  # one line, however wrapped
    assert not (tmp_path / "o").exists()


def test_a_missing_input_and_a_device_output(local: KmsClient, tmp_path: Path) -> None:
    out = invoke(["encrypt", "-k", "alias/app", "absent.bin", "o.kmse"])
    assert out.exit_code == 1 and "No such file or directory" in out.output and not (tmp_path / "o.kmse").exists()
    out = invoke(["encrypt", "-k", "alias/app", "absent.bin", "nodir/o.kmse"])
    assert out.exit_code == 1 and "No such file or directory: 'absent.bin'" in out.output
    (tmp_path / "in.bin").write_bytes(b"to nowhere")
    out = invoke(["encrypt", "-k", "alias/app", "in.bin", "nodir/o.kmse"])
    assert out.exit_code == 1 and "No such directory for the output: 'nodir'" in out.output
    # A device is written through, never replaced by a renamed file.
    out = invoke(["encrypt", "-k", "alias/app", "in.bin", os.devnull])
    assert out.exit_code == 0, out.output
    assert Path(os.devnull).is_char_device()


def test_bare_keys_take_the_configured_region(local: KmsClient, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KMS_REGION", EAST)
    (tmp_path / "in.bin").write_bytes(b"east by default")
    out = invoke(["encrypt", "-k", "alias/app", "in.bin", "m.kmse"])
    assert out.exit_code == 0, out.output
    assert [e.region for e in read_header((tmp_path / "m.kmse").read_bytes()).entries] == [EAST]


def _run_on_a_terminal(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, bytes]:
    """Run with stderr on a pseudo-terminal; answer the exit status and what the terminal showed."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([*KMSCTL, *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave,
                            env=env, cwd=cwd)
    os.close(slave)
    shown = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closes when the process exits
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return proc.wait(timeout=60), shown


def test_a_progress_bar_on_a_terminal_for_large_inputs_only(local: KmsClient, tmp_path: Path) -> None:
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("NO_COLOR", None)
    size = envelope_cli.PROGRESS_MIN_BYTES + 1024
    (tmp_path / "big.bin").write_bytes(os.urandom(size))
    (tmp_path / "small.bin").write_bytes(b"small")
    code, shown = _run_on_a_terminal(["encrypt", "-k", "cn-north-4:alias/app", "big.bin", "big.kmse"], env, tmp_path)
    assert code == 0, shown
    assert b"Encrypting" in shown and b"8.4" in shown  # the bar, with the size in MB
    code, shown = _run_on_a_terminal(["decrypt", "-k", "cn-north-4:alias/app", "big.kmse", "big.out"], env, tmp_path)
    assert code == 0 and b"Decrypting" in shown
    assert (tmp_path / "big.out").read_bytes() == (tmp_path / "big.bin").read_bytes()
    code, shown = _run_on_a_terminal(["encrypt", "-k", "cn-north-4:alias/app", "small.bin", "s.kmse"], env, tmp_path)
    assert code == 0 and shown == b""  # a small input: done before a bar would help


def test_an_existing_output_is_kept_unless_force(local: KmsClient, tmp_path: Path) -> None:
    (tmp_path / "in.bin").write_bytes(SECRET)
    (tmp_path / "m.kmse").write_bytes(b"an older message")
    refused = invoke(["encrypt", "-k", "cn-north-4:alias/app", "in.bin", "m.kmse"])
    assert refused.exit_code == 1
    assert refused.output == ("kmsctl encrypt: error: m.kmse exists and is kept; nothing was written "
                              "(--force replaces it)\n")
    assert (tmp_path / "m.kmse").read_bytes() == b"an older message"
    forced = invoke(["encrypt", "--force", "-k", "cn-north-4:alias/app", "in.bin", "m.kmse"])
    assert forced.exit_code == 0, forced.output
    (tmp_path / "out.bin").write_bytes(b"mine")
    kept = invoke(["decrypt", "-k", "cn-north-4:alias/app", "m.kmse", "out.bin"])
    assert kept.exit_code == 1 and "out.bin exists and is kept" in kept.output
    assert (tmp_path / "out.bin").read_bytes() == b"mine"
    assert invoke(["decrypt", "-k", "cn-north-4:alias/app", "m.kmse", "out.bin", "--force"]
                         ).exit_code == 0
    assert (tmp_path / "out.bin").read_bytes() == SECRET
    helped = invoke(["encrypt", "--help"])
    assert "Replace OUT if it is an existing file" in " ".join(re.sub(r"[│]", " ", helped.output).split())
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_a_real_process_refuses_an_existing_output_too(local: KmsClient, tmp_path: Path) -> None:
    """A real process, as a user runs it: the same answers as in process."""
    env = {k: v for k, v in os.environ.items() if k != "KMS_ENDPOINT"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    (tmp_path / "in.bin").write_bytes(SECRET)
    (tmp_path / "m.kmse").write_bytes(b"keep")
    refused = _kmsctl(["encrypt", "-k", "cn-north-4:alias/app", "in.bin", "m.kmse"], env, tmp_path)
    assert refused.returncode == 1
    assert refused.stderr == b"kmsctl encrypt: error: m.kmse exists and is kept; nothing was written " \
                             b"(--force replaces it)\n"
    assert (tmp_path / "m.kmse").read_bytes() == b"keep"
    forced = _kmsctl(["encrypt", "-k", "cn-north-4:alias/app", "--force", "in.bin", "m.kmse"], env, tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert decrypt(local, RegionalKey("cn-north-4", "alias/app"), (tmp_path / "m.kmse").read_bytes()) == SECRET


def test_an_unwritable_directory_is_named_by_the_users_path(local: KmsClient, tmp_path: Path) -> None:
    (tmp_path / "in.bin").write_bytes(SECRET)
    if os.geteuid() == 0:
        # Root writes into any directory its mode forbids, but no file can be created at the top of sysfs.
        target = "/sys/m.kmse"
    else:
        (tmp_path / "ro").mkdir(mode=0o500)
        target = "ro/m.kmse"
    out = invoke(["encrypt", "-k", "cn-north-4:alias/app", "in.bin", target])
    assert out.exit_code == 1 and out.output.count("\n") == 1
    assert out.output == f"kmsctl encrypt: error: [Errno 13] Permission denied: '{target}' (nothing was written to " \
                         f"{target})\n"
