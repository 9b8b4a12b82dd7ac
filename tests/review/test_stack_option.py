"""`kmsctl ... --stack NAME`: the backend of a real stack's config (read with the engine's own `pulumi config`),
over the embedded emulator and over the wire, with the stack's secret credentials used and never printed."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from provider.client import KmsClient
from provider.emulator import Emulator
from provider.server.app import KmsApp
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, ThreadServer

from .conftest import KMSCTL, Sample
from .synthetic import preview

pytestmark = pytest.mark.engine
REGION = "cn-east-3"


def project(tmp_path: Path) -> Path:
    """A project of one's own, with no resource: only its stack's config matters here."""
    root = tmp_path / "own"
    root.mkdir()
    (root / "Pulumi.yaml").write_text("name: own\nruntime:\n  name: python\n")
    (root / "__main__.py").write_text('"""No resources."""\n')
    return root


def kmsctl(sample: Sample, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """As a user runs it in the project: the engine on PATH, nothing of kms in the environment."""
    env = {k: v for k, v in sample.env().items() if not k.startswith("KMS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]),
                                                      os.environ.get("PYTHONPATH")]))
    done = subprocess.run([KMSCTL, *args], cwd=sample.stack.work_dir, env=env, input=stdin, capture_output=True,
                          text=True, timeout=180, check=False)
    assert SECRET_KEY not in done.stdout + done.stderr
    return done


def test_the_stacks_emulator_and_region(cli_stack: Callable[..., Sample], tmp_path: Path) -> None:
    sample = cli_stack(project(tmp_path), {"kms:region": REGION, "kms:secretKey": (SECRET_KEY, True)})
    kms = KmsClient(Emulator(sample.emulator), REGION)
    key = kms.create_key("stack-key")
    kms.create_alias("alias/app", key.key_id)

    listed = kmsctl(sample, "keys", "list", "--json", "--stack", sample.stack.name)
    assert listed.returncode == 0, listed.stderr
    assert [k["key_id"] for k in json.loads(listed.stdout)] == [key.key_id]
    # Without --stack: the environment, which names no emulator; the project's default one does not exist.
    bare = kmsctl(sample, "keys", "list")
    assert bare.returncode == 1
    assert f"no emulator state at {sample.stack.work_dir / '.kms-emulator'}" in bare.stderr
    assert not (sample.stack.work_dir / ".kms-emulator").exists()

    # encrypt, then decrypt with a --context the message lacks and without: both see the stack's region for a
    # bare alias.
    (sample.stack.work_dir / "in.txt").write_text("for the stack")
    enc = kmsctl(sample, "encrypt", "-k", "alias/app", "--stack", sample.stack.name, "in.txt", "m.kmse")
    assert enc.returncode == 0, enc.stderr
    dec = kmsctl(sample, "decrypt", "--key=alias/app", "--stack", sample.stack.name, "m.kmse", "out.txt", "-c",
                 "a=b")
    assert "encryption context" in dec.stderr  # the message has no context a=b: proof it was read and opened
    dec = kmsctl(sample, "decrypt", "-k", "alias/app", "--stack", sample.stack.name, "m.kmse", "out.txt")
    assert dec.returncode == 0, dec.stderr
    assert (sample.stack.work_dir / "out.txt").read_text() == "for the stack"

    # review --stack: live keys from the stack's backend (the key is pending deletion there).
    kms.schedule_key_deletion(key.key_id, 7)
    doc = preview(6)
    doc["steps"][1].update(op="delete")
    doc["steps"][1]["oldState"].update(id=key.key_id)
    for side in ("inputs", "outputs"):
        doc["steps"][1]["oldState"][side].update(region=REGION)
    del doc["steps"][1]["newState"]
    reviewed = kmsctl(sample, "review", "--stack", sample.stack.name, stdin=json.dumps(doc))
    assert reviewed.returncode == 0, reviewed.stderr
    assert "already (pending deletion)" in reviewed.stdout

    unknown = kmsctl(sample, "keys", "list", "--stack", "nosuch")
    assert unknown.returncode == 1 and unknown.stderr.count("\n") == 1
    assert unknown.stderr.startswith(f"error: --stack nosuch: `pulumi config` failed in {sample.stack.work_dir}: ")


def test_the_stacks_endpoint_and_secret_credentials(cli_stack: Callable[..., Sample], tmp_path: Path) -> None:
    state = tmp_path / "server-state"
    with ThreadServer(KmsApp(Emulator(state), {ACCESS_KEY: SECRET_KEY})) as server:
        key = KmsClient(server.backend(), "cn-north-4").create_key("served")
        sample = cli_stack(project(tmp_path), {"kms:endpoint": server.endpoint, "kms:dialect": "volcengine",
                                               "kms:accessKey": ACCESS_KEY, "kms:secretKey": (SECRET_KEY, True)})
        listed = kmsctl(sample, "keys", "list", "--region", "cn-north-4", "--json", "--stack", sample.stack.name)
        assert listed.returncode == 0, listed.stderr
        assert [k["key_id"] for k in json.loads(listed.stdout)] == [key.key_id]
        described = kmsctl(sample, "keys", "describe", "--stack", sample.stack.name, "--region", "cn-north-4",
                           key.key_id)
        assert described.returncode == 0 and json.loads(described.stdout)["name"] == "served"
        # A wrong secret in the stack: the server refuses, and the line names neither secret.
        sample.stack.set_config({"kms:secretKey": ("not-the-" + SECRET_KEY, True)})
        refused = kmsctl(sample, "keys", "list", "--region", "cn-north-4", "--stack", sample.stack.name)
        assert refused.returncode == 1 and refused.stderr.count("\n") == 1
        assert "not-the-" not in refused.stderr
    assert not (sample.stack.work_dir / ".kms-emulator").exists() and not sample.emulator.exists()
