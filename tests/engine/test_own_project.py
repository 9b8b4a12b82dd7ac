"""A user's own project: the package built as a wheel, installed by `pulumi install` into the project's own
virtualenv outside the repository, and driven by the `pulumi` CLI as a user drives it (preview, up, refresh,
destroy). Once with this repository's engine (its language host and dynamic-provider host, both on the
project's virtualenv), once with the stock dynamic-provider host (`python -m pulumi.dynamic`, as a stock
Pulumi CLI runs it). Nothing of the repository's venv may be imported by the program: it exports where its
modules come from.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from engine_harness import REPO_ROOT, Engine

PASSPHRASE = "own-project-passphrase"
# As a stock Pulumi CLI ships it (a script next to `pulumi`): the SDK's own host on the project's virtualenv,
# which the engine names in PULUMI_RUNTIME_VIRTUALENV.
STOCK_PROVIDER_HOST = """#!/bin/sh
if [ -n "${PULUMI_RUNTIME_VIRTUALENV:-}" ]; then
    exec "${PULUMI_RUNTIME_VIRTUALENV}/bin/python" -u -m pulumi.dynamic "$@"
fi
exec python3 -u -m pulumi.dynamic "$@"
"""

PULUMI_YAML = """\
name: own-keys
description: Two keys, a replica, an alias, tags and a lookup, from an installed kms-keys-as-code.
runtime:
  name: python
  options:
    toolchain: pip
    virtualenv: venv
"""

PROGRAM = '''\
import json
import sys

import pulumi

import provider
from provider import CustomKey, KeyAlias, KeyTags, ReplicaKey, get_key_output

own = pulumi.Config("own")
forbidden = json.loads(own.require("forbidden"))

orders = CustomKey("orders", description="order data", tags={"team": "payments"})
ledger = CustomKey("ledger", region="ap-southeast-3")  # nothing but a region: every input still an output
east = ReplicaKey("orders-east", primary_key_id=orders.key_id, replica_region="cn-east-3")
KeyAlias("orders-alias", alias_name="alias/own-orders", target_key_id=orders.key_id)
KeyTags("ledger-cost", key_id=ledger.key_id, region="ap-southeast-3", tags={"cost": "42"})
found = get_key_output(key=east.key_id, region="cn-east-3")

pulumi.export("provider_file", provider.__file__)
pulumi.export("version", provider.__version__)
pulumi.export("prefix", sys.prefix)
pulumi.export("foreign", sorted(
    name for name, module in list(sys.modules.items())
    if any(str(getattr(module, "__file__", None) or "").startswith(root) for root in forbidden)
))
pulumi.export("ledger", {
    "description": ledger.description, "enabled": ledger.enabled, "pending_days": ledger.pending_days,
    "rotation_enabled": ledger.rotation_enabled, "key_spec": ledger.key_spec, "key_usage": ledger.key_usage,
    "origin": ledger.origin, "keyring_name": ledger.keyring_name, "region": ledger.region,
})
pulumi.export("replica_description", east.description)
pulumi.export("lookup", found.apply(lambda k: {"key_id": k.key_id, "primary_region": k.primary_region}))
pulumi.export("east_key_id", east.key_id)
'''


@dataclass
class OwnProject:
    dir: Path
    wheel: Path
    engine_dir: Path
    home: Path

    def env(self, *, first_on_path: Path | None = None, **extra: str) -> dict[str, str]:
        """A user's shell after `eval "$(scripts/setup-engine.sh --print-env)"`: nothing of the repository's
        venv (not on PATH, no KMS_PYTHON, no PYTHONPATH), a state backend and passphrase of the user's own."""
        repo_venv = str(Path(sys.executable).parent)
        path = [p for p in os.environ["PATH"].split(os.pathsep) if p and not p.startswith(str(REPO_ROOT))
                and p != repo_venv]
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("KMS_", "PULUMI_", "PYTHON")) and k != "VIRTUAL_ENV"}
        dirs = [str(first_on_path)] if first_on_path else []
        env.update({
            "PATH": os.pathsep.join([*dirs, str(self.engine_dir), *path]),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_HOME": str(self.home),
            "PULUMI_BACKEND_URL": (self.dir.parent / "state").as_uri(),
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            **extra,
        })
        return env

    def run(self, *args: str, env: dict[str, str], timeout: float = 300) -> str:
        done = subprocess.run(
            [str(self.engine_dir / "pulumi"), *args], cwd=self.dir, env=env, capture_output=True, text=True,
            timeout=timeout, check=False,
        )
        assert done.returncode == 0, f"pulumi {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr

    def venv_bin(self, name: str) -> str:
        return str(self.dir / "venv" / "bin" / name)


@pytest.fixture(scope="session")
def own_project(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnProject]:
    root = tmp_path_factory.mktemp("own-project")
    assert REPO_ROOT not in root.parents
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(root / "dist"), str(REPO_ROOT)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = (root / "dist").glob("kms_keys_as_code-*.whl")
    project = OwnProject(dir=root / "keys", wheel=wheel, engine_dir=engine.bin_dir, home=root / "pulumi-home")
    project.dir.mkdir()
    (root / "state").mkdir()  # the user's `pulumi login file://...` directory
    (project.dir / "Pulumi.yaml").write_text(PULUMI_YAML)
    (project.dir / "requirements.txt").write_text(f"kms-keys-as-code @ {wheel.as_uri()}\n")
    (project.dir / "__main__.py").write_text(PROGRAM)
    # Before `pulumi install` the project's virtualenv does not exist, and the preview says what to do.
    project.run("stack", "init", "before", env=project.env())
    early = subprocess.run([str(project.engine_dir / "pulumi"), "preview", "--stack", "before"], cwd=project.dir,
                           env=project.env(), capture_output=True, text=True, timeout=300, check=False)
    assert early.returncode != 0
    assert "does not exist yet: run `pulumi install`" in early.stdout + early.stderr, early.stdout + early.stderr
    project.run("stack", "rm", "before", "--yes", env=project.env())
    # `pulumi install` makes the project's virtualenv and installs requirements.txt into it (pip's cache
    # and index, as for any user).
    out = project.run("install", env=project.env(), timeout=900)
    assert (project.dir / "venv" / "bin" / "python").exists(), out
    yield project
    shutil.rmtree(root, ignore_errors=True)


def stack_outputs(project: OwnProject, stack: str, env: dict[str, str]) -> dict[str, object]:
    return json.loads(project.run("stack", "output", "--json", "--show-secrets", "--stack", stack, env=env))


def forbidden_roots() -> str:
    """Where the program may import nothing from: the repository's venv and its package (the engine's hosts,
    tools/engine, are the engine's own and may run from the clone)."""
    return json.dumps([sys.prefix + "/", str(REPO_ROOT / "provider") + "/", str(REPO_ROOT / "tests") + "/"])


def test_the_wheel_carries_license_metadata_extras_and_the_pages_its_readme_links(own_project: OwnProject) -> None:
    with zipfile.ZipFile(own_project.wheel) as wheel:
        names = wheel.namelist()
        meta = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: Apache-2.0" in meta and any(n.endswith("licenses/LICENSE") for n in names)
    assert "Requires-Dist: pulumi<4,>=3.259" in meta
    assert "Provides-Extra: server" in meta and "Provides-Extra: cli" in meta
    assert 'Requires-Dist: uvicorn>=0.30; extra == "server"' in meta and "Requires-Dist: rich>=13.7;" in meta
    assert 'Requires-Dist: uvicorn==0.55.0; extra == "test"' in meta  # the release the one-write protocol is proven on
    # Every relative link of the README resolves next to the README the wheel installs.
    docs = own_project.dir / "venv" / "share" / "doc" / "kms-keys-as-code"
    readme = (docs / "README.md").read_text()
    links = {m for m in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", readme)}
    assert links and all((docs / link).is_file() for link in links), sorted(links)
    # Installed without extras: the library, no server or CLI framework.
    pip = subprocess.run([own_project.venv_bin("python"), "-m", "pip", "list", "--format=json"],
                         capture_output=True, text=True, timeout=120, check=True)
    installed = {p["name"].lower() for p in json.loads(pip.stdout)}
    assert "kms-keys-as-code" in installed and "pulumi" in installed
    assert not installed & {"uvicorn", "starlette", "httptools", "uvloop", "rich"}


def test_kmsctl_names_the_extra_a_command_needs(own_project: OwnProject) -> None:
    serve = subprocess.run([own_project.venv_bin("kmsctl"), "serve", "--port", "0"], cwd=own_project.dir,
                           env=own_project.env(), capture_output=True, text=True, timeout=120, check=False)
    assert serve.returncode == 2 and "Traceback" not in serve.stderr, serve.stderr
    assert serve.stderr.strip() == (
        "kmsctl serve needs the [server] extra (uvicorn is not installed): pip install 'kms-keys-as-code[server]'"
    )
    # The envelope commands need no extra: a message sealed in one region opens in the replica's.
    work = own_project.dir.parent / "envelope"
    work.mkdir(exist_ok=True)
    env = own_project.env(KMS_EMULATOR_PATH=str(work / "emulator"), KMS_REPLICATION_DELAY="0")
    made = subprocess.run(
        [own_project.venv_bin("python"), "-c",
         "from provider.backend.embedded import EmbeddedBackend\n"
         "from provider.client import KmsClient\n"
         "import os\n"
         "kms = KmsClient(EmbeddedBackend(os.environ['KMS_EMULATOR_PATH']), 'cn-north-4')\n"
         "key = kms.create_key('sealer')\n"
         "print(key.key_id, kms.replicate_key(key.key_id, 'cn-east-3').key_id)\n"],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )
    key_id, replica_id = made.stdout.split()
    (work / "in.txt").write_bytes(b"a record")
    for args in (["encrypt", "--key", f"cn-north-4:{key_id}", "in.txt", "out.kms"],
                 ["decrypt", "--key", f"cn-east-3:{replica_id}", "out.kms", "back.txt"]):
        done = subprocess.run([own_project.venv_bin("kmsctl"), *args], cwd=work, env=env, capture_output=True,
                              text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
    assert (work / "back.txt").read_bytes() == b"a record"
    keys = subprocess.run([own_project.venv_bin("kmsctl"), "keys", "list"], cwd=own_project.dir,
                          env=own_project.env(), capture_output=True, text=True, timeout=120, check=False)
    assert keys.returncode == 2 and keys.stderr.strip() == (
        "kmsctl keys list needs the [cli] extra (rich is not installed): pip install 'kms-keys-as-code[cli]'"
    )


def test_a_project_of_its_own_runs_its_installed_copy_with_the_projects_engine(own_project: OwnProject) -> None:
    # KMS_PYTHON names no interpreter: both hosts must take the project's virtualenv.
    env = own_project.env(KMS_PYTHON="/nonexistent/python")
    own_project.run("stack", "init", "dev", env=env)
    own_project.run("config", "set", "kms:region", "cn-north-4", "--stack", "dev", env=env)
    own_project.run("config", "set", "own:forbidden", forbidden_roots(), "--stack", "dev", env=env)
    preview = own_project.run("preview", "--stack", "dev", env=env)
    assert "6 to create" in preview, preview
    own_project.run("up", "--yes", "--stack", "dev", env=env)
    out = stack_outputs(own_project, "dev", env)
    venv = str(own_project.dir / "venv")
    assert str(out["provider_file"]).startswith(venv + "/") and str(out["prefix"]) == venv
    assert out["foreign"] == [] and out["version"] == "0.1.0"
    assert out["ledger"] == {
        "description": "", "enabled": True, "pending_days": 30, "rotation_enabled": False,
        "key_spec": "AES_256", "key_usage": "ENCRYPT_DECRYPT", "origin": "kms", "keyring_name": "default",
        "region": "ap-southeast-3",
    }
    assert out["replica_description"] == "order data"  # the primary's, as the service does
    assert out["lookup"] == {"key_id": out["east_key_id"], "primary_region": "cn-north-4"}
    # The embedded emulator keeps its state beside Pulumi.yaml, its root key included.
    assert (own_project.dir / ".kms-emulator" / "root.key").is_file()
    refreshed = own_project.run("refresh", "--yes", "--stack", "dev", env=env)
    assert "error" not in refreshed.lower()
    own_project.run("preview", "--expect-no-changes", "--stack", "dev", env=env)
    own_project.run("destroy", "--yes", "--stack", "dev", env=env)
    assert stack_outputs(own_project, "dev", env) == {}


def test_a_project_of_its_own_runs_on_the_stock_dynamic_provider_host(own_project: OwnProject) -> None:
    stock = own_project.dir.parent / "stock-bin"
    stock.mkdir(exist_ok=True)
    host = stock / "pulumi-resource-pulumi-python"
    host.write_text(STOCK_PROVIDER_HOST)
    host.chmod(0o755)
    env = own_project.env(first_on_path=stock)
    emulator = own_project.dir.parent / "stock-emulator"
    own_project.run("stack", "init", "stock", env=env)
    for key, value in (("kms:region", "cn-north-4"), ("kms:emulatorPath", str(emulator)),
                       ("own:forbidden", forbidden_roots())):
        own_project.run("config", "set", key, value, "--stack", "stock", env=env)
    preview = own_project.run("preview", "--stack", "stock", env=env)
    assert "6 to create" in preview, preview
    up = own_project.run("up", "--yes", "--stack", "stock", env=env)
    # The engine says it took the dynamic-provider host from PATH: the stock one.
    assert f"pulumi-resource-pulumi-python from $PATH at {host}" in up, up
    out = stack_outputs(own_project, "stock", env)
    assert str(out["provider_file"]).startswith(str(own_project.dir / "venv") + "/") and out["foreign"] == []
    assert out["lookup"] == {"key_id": out["east_key_id"], "primary_region": "cn-north-4"}
    assert (emulator / "root.key").is_file()
    own_project.run("refresh", "--yes", "--stack", "stock", env=env)
    own_project.run("preview", "--expect-no-changes", "--stack", "stock", env=env)
    own_project.run("destroy", "--yes", "--stack", "stock", env=env)
    assert stack_outputs(own_project, "stock", env) == {}


def test_the_readme_section_is_what_this_test_does() -> None:
    """The README's own-project section names what the test above relies on, so the two move together."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Use it in your own project", 1)[1].split("\n## ", 1)[0]
    for needed in ("virtualenv: venv", "pulumi install", ".kms-emulator/", "root.key", "kms:endpoint",
                   "kms:dialect huaweicloud", "kms:dialect volcengine", "setup-engine.sh --print-env",
                   "pip install", "[server]"):
        assert needed in section, needed
