"""Interrupted `pulumi up` runs: kill the CLI mid-create, recover as the docs say, count what is owned by nothing.

Shared by tests/engine/test_interrupted_up.py and benchmarks/interrupted_up.py. One `Trial` is a stack of the
`projects/interrupted` program on a fresh state backend and a fresh emulator state (embedded, or behind a real
`kmsctl serve` in one of the two dialects). `run_killed_up` starts `pulumi up` in its own process group and
kills that whole group with SIGKILL once the service holds a given number of keys; `recover` runs the commands
of the README's "After an interrupted `pulumi up`"; `audit` compares the live keys with the stack's state.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine_harness import Engine, EngineStack, make_project_stack

import provider
from provider.backend.embedded import EmbeddedBackend
from provider.client import KmsClient
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, KmsctlServer

PROJECT = Path(__file__).parent / "projects" / "interrupted"
REGION, REPLICA_REGION = "cn-north-4", "cn-east-3"
HOSTS = ("kms_provider_host", "kms_language_host")
# What the README tells a user to run after an interrupted `pulumi up`, in order.
RECOVERY = (
    ("cancel", "--yes"),
    ("refresh", "--clear-pending-creates", "--yes", "--skip-preview"),
    ("up", "--yes", "--skip-preview"),
)
ATTRS_EOF = "failed to load checkpoint: EOF"
HUAWEI_PROJECTS = ",".join(
    f"{region}={index:02d}{'0' * 30}"
    for index, region in enumerate(["cn-north-4", "cn-east-3", "cn-south-1", "ap-southeast-3", "me-east-1"], 1)
)
BACKENDS: dict[str, dict[str, str]] = {
    "embedded": {},
    "volcengine": {"kms:dialect": "volcengine"},
    "huaweicloud": {"kms:dialect": "huaweicloud", "kms:projectIds": HUAWEI_PROJECTS},
}


@dataclass
class Audit:
    state_ids: set[str]
    live_ids: set[str]
    pending_operations: int
    names: dict[str, int] = field(default_factory=dict)

    @property
    def orphans(self) -> set[str]:
        """Live keys (not pending deletion) that no resource of the stack owns."""
        return self.live_ids - self.state_ids

    @property
    def duplicated_names(self) -> dict[str, int]:
        return {name: n for name, n in self.names.items() if n > 1}


@dataclass
class Trial:
    engine: Engine
    stack: EngineStack
    emulator: Path
    env: dict[str, str]
    log: Path
    runs: list[str] = field(default_factory=list)

    def kms(self, region: str = REGION) -> KmsClient:
        return KmsClient(EmbeddedBackend(self.emulator), region)

    def live_keys(self) -> list[Any]:
        keys = []
        for region in (REGION, REPLICA_REGION):
            keys += [k for k in self.kms(region).list_keys() if k.state != "PendingDelete"]
        return keys

    def pulumi(self, *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
        run = subprocess.run(
            [str(self.engine.bin_dir / "pulumi"), *args, "--stack", self.stack.name, "--non-interactive"],
            cwd=self.stack.work_dir, env=self.env, capture_output=True, text=True, timeout=timeout, check=False,
        )
        self.runs.append(f"$ pulumi {' '.join(args)} -> {run.returncode}\n{run.stdout}\n{run.stderr}")
        return run

    def aliases(self) -> list[Any]:
        return self.kms().list_aliases()

    def run_killed_up(
        self, until: Callable[[Trial], bool], *, group: bool = True, timeout: float = 240.0
    ) -> bool:
        """`pulumi up`, killed with SIGKILL once `until(self)` holds: its whole process group, or only the CLI
        (`group=False`). False when the up finished first."""
        with open(self.log, "ab") as out:
            proc = subprocess.Popen(  # noqa: S603
                [str(self.engine.bin_dir / "pulumi"), "up", "--yes", "--skip-preview", "--non-interactive",
                 "--stack", self.stack.name],
                cwd=self.stack.work_dir, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        try:
            while proc.poll() is None:
                if until(self):
                    if group:
                        os.killpg(proc.pid, signal.SIGKILL)
                    else:
                        os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(30)
                    return True
                if time.monotonic() > deadline:
                    raise TimeoutError(f"pulumi up did not reach the kill point in {timeout} s")
                time.sleep(0.01)
            return False
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(30)

    def hosts(self) -> list[int]:
        """Pids of this stack's language and provider hosts still running (found by the state backend in
        their environment, so other tests' hosts never count)."""
        marker = f"PULUMI_BACKEND_URL={self.env['PULUMI_BACKEND_URL']}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
                if not any(h.encode() in cmdline for h in HOSTS):
                    continue
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
        return found

    def wait_hosts_gone(self, timeout: float) -> float:
        """Seconds until no host of this stack runs; TimeoutError naming them after `timeout`."""
        started = time.monotonic()
        while (left := self.hosts()) and time.monotonic() - started < timeout:
            time.sleep(0.1)
        if left:
            raise TimeoutError(f"hosts {left} still run {timeout} s after the engine was killed")
        return time.monotonic() - started

    def empty_attrs(self) -> list[Path]:
        """Empty `.attrs` side files of the file:// state backend: a kill while it wrote one leaves it empty, and
        every later command fails with `failed to load checkpoint: EOF` (the README says to delete them)."""
        return [f for f in (self.stack.state_dir / ".pulumi").rglob("*.attrs") if f.stat().st_size == 0]

    def documented(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A pulumi command after a kill, as the README says to run it: when it answers `failed to load
        checkpoint: EOF`, delete the empty side files of the state and run it again."""
        run = self.pulumi(*args)
        if ATTRS_EOF in run.stderr and self.empty_attrs():
            for f in self.empty_attrs():
                f.unlink()
            run = self.pulumi(*args)
        return run

    def recover(self) -> None:
        """The README's commands after an interrupted `pulumi up`, in order; each must succeed."""
        for args in RECOVERY:
            if self.documented(*args).returncode != 0:
                raise AssertionError("\n".join(self.runs))

    def audit(self) -> Audit:
        state = self.stack.export_state()
        ids = {
            r["id"] for r in state.get("resources") or []
            if r["type"].endswith((":CustomKey", ":ReplicaKey")) and r.get("id")
        }
        live = self.live_keys()
        names: dict[str, int] = {}
        for k in live:
            names[f"{k.region}/{k.name}"] = names.get(f"{k.region}/{k.name}", 0) + 1
        return Audit(ids, {k.key_id for k in live}, len(state.get("pending_operations") or []), names)


def keys_at_least(n: int) -> Callable[[Trial], bool]:
    """Kill point: once the service holds `n` live keys (custom keys and replicas)."""
    return lambda t: len(t.live_keys()) >= n


def alias_made(t: Trial) -> bool:
    """Kill point: once the alias exists."""
    return bool(t.aliases())


@contextmanager
def trial(
    engine: Engine, root: Path, backend: str, keys: int = 6, replication_delay: float = 0.3
) -> Iterator[Trial]:
    """A fresh stack of the interrupted project on `backend` (embedded, volcengine or huaweicloud)."""
    emulator = root / "emulator"
    delay = str(replication_delay)  # replicas really are Creating for a while
    server_env = {"KMS_PROJECT_IDS": HUAWEI_PROJECTS, "KMS_REPLICATION_DELAY": delay}
    config: dict[str, Any] = {"kms:region": REGION, "test:keys": str(keys)}
    server = None
    if backend == "embedded":
        config["kms:emulatorPath"] = str(emulator)
    else:
        server = KmsctlServer(emulator, env=server_env).start()
        config.update({"kms:endpoint": server.endpoint, "kms:accessKey": ACCESS_KEY,
                       "kms:secretKey": (SECRET_KEY, True), **BACKENDS[backend]})
        if backend == "volcengine":
            config["test:aliases"] = "no"  # Volcengine's API has no aliases
            # Volcengine replicates keys created multi-region; the trial keeps Huawei Cloud's region names
            # (the stack's own catalog, which a stack may set) so one audit reads every backend alike.
            config["test:multiRegion"] = "yes"
            config["kms:regionCatalog"] = str(Path(provider.__file__).parent / "domain" / "regions.json")
    try:
        stack = make_project_stack(engine, root / "stack", PROJECT, config=config)
        env: Mapping[str, str] = {
            **os.environ,
            **engine.env(stack.state_dir),
            "PULUMI_HOME": str(root / "stack" / "pulumi-home"),
            "KMS_REPLICATION_DELAY": delay,
        }
        yield Trial(engine, stack, emulator, dict(env), root / "up.log")
    finally:
        if server is not None:
            server.stop()
