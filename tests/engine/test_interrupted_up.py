"""A `pulumi up` killed while it creates: after the README's recovery nothing is orphaned or duplicated.

Each test kills the real CLI (`pulumi up`, its whole process group, SIGKILL) at one point of the creates of the
`projects/interrupted` program (6 keys, 2 replicas, an alias, tags), then runs what the README's "After an
interrupted `pulumi up`" says (`pulumi cancel`, `pulumi refresh --clear-pending-creates`, `pulumi up`) and checks
what a user would: the stack converges; every live key is one of the stack's; no name is taken twice; no
pending operation is left (so no warning on the next `up`). On the embedded emulator and over the wire through a
real `kmsctl serve` in both dialects.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from engine_harness import Engine
from interrupted import Trial, alias_made, keys_at_least, trial

from provider.client import OWNER_TAG

DECLARED_KEYS = 8  # 6 custom keys and 2 replicas


def converged(t: Trial, *, aliases: bool) -> None:
    audit = t.audit()
    assert audit.orphans == set(), f"live keys no resource owns: {audit.orphans}"
    assert audit.duplicated_names == {}
    assert len(audit.state_ids) == DECLARED_KEYS and len(audit.live_ids) == DECLARED_KEYS
    assert audit.pending_operations == 0
    state = {r["urn"].rsplit("::", 1)[-1]: r for r in t.stack.state_resources()}
    if aliases:
        assert [(a.name, a.key_id) for a in t.aliases()] == [("alias/k0", state["k0"]["id"])]
    assert t.kms().describe_key(state["k1"]["id"]).name == f"fixed-{t.stack.name}"
    assert dict(t.kms().describe_key(state["k3"]["id"]).tags).get("cost") == "42"
    # The next `up`: nothing to do, and no warning about operations of the killed one.
    again = t.pulumi("up", "--yes", "--skip-preview")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "pending operations" not in again.stdout + again.stderr
    resources = 1 + DECLARED_KEYS + (1 if aliases else 0) + 1  # the stack, keys, alias, tags
    assert "created" not in again.stdout and f"{resources} unchanged" in again.stdout, again.stdout


KILL_POINTS: dict[str, Callable[[Trial], bool]] = {
    "first-key": keys_at_least(1),
    "custom-keys": keys_at_least(6),
    "first-replica": keys_at_least(7),
    "alias": alias_made,
}
CASES = [
    ("embedded", "first-key"),
    ("embedded", "custom-keys"),
    ("embedded", "first-replica"),
    ("embedded", "alias"),
    ("huaweicloud", "first-key"),
    ("huaweicloud", "alias"),
    ("volcengine", "first-key"),
    ("volcengine", "first-replica"),
]


@pytest.mark.parametrize(("where", "point"), CASES, ids=[f"{b}-{p}" for b, p in CASES])
def test_killed_up_then_the_documented_recovery_converges(
    engine: Engine, tmp_path: Path, where: str, point: str
) -> None:
    with trial(engine, tmp_path, where) as t:
        assert t.run_killed_up(KILL_POINTS[point]), "the up finished before the kill point"
        t.wait_hosts_gone(10.0)
        made = {k.key_id for k in t.live_keys()}
        assert made, "the killed up made nothing: the kill came too early to test anything"
        t.recover()
        converged(t, aliases=where != "volcengine")
        # What the killed up made was taken over, not made again.
        assert made <= t.audit().state_ids


def test_hosts_die_when_only_the_cli_is_killed(engine: Engine, tmp_path: Path) -> None:
    # Replicas stay Creating for 20 s: the provider host is in the middle of waiting for them when the CLI dies.
    with trial(engine, tmp_path, "embedded", replication_delay=20.0) as t:
        at_kill: list[int] = []

        def replica_creating(t: Trial) -> bool:
            at_kill[:] = t.hosts()
            # The language host, the program it runs and the provider host, waiting for a replica.
            return len(t.live_keys()) >= 7 and len(at_kill) >= 3

        started = time.monotonic()
        assert t.run_killed_up(replica_creating, group=False)
        assert time.monotonic() - started < 15.0  # killed while the replicas were still Creating
        assert len(at_kill) >= 3
        assert t.wait_hosts_gone(5.0) < 5.0
        live = len(t.live_keys())
        # Gone for good: nothing more is made once they stopped.
        t.wait_hosts_gone(1.0)
        assert len(t.live_keys()) == live


def test_a_forced_replacement_never_deletes_the_key_it_took_over(engine: Engine, tmp_path: Path) -> None:
    # `up --replace` checks k0 without its old inputs: the create asks for k0's own autoname and finds k0.
    with trial(engine, tmp_path, "embedded", keys=1) as t:
        assert t.pulumi("up", "--yes", "--skip-preview").returncode == 0, t.runs[-1]
        urn = next(r["urn"] for r in t.stack.state_resources() if r["urn"].endswith("::k0"))
        before = t.stack.state_resource("k0")["id"]
        replaced = t.pulumi("up", "--yes", "--skip-preview", "--replace", urn)
        assert replaced.returncode == 0, t.runs[-1]
        after = t.stack.state_resource("k0")["id"]
        assert t.kms().describe_key(after).state == "Enable"  # the stack's key was not scheduled for deletion
        audit = t.audit()
        assert audit.orphans == set() and audit.duplicated_names == {}
        assert after == before or t.kms().describe_key(before).state == "PendingDelete"


def test_a_stock_dynamic_provider_host_still_works_without_marks(engine: Engine, tmp_path: Path) -> None:
    with trial(engine, tmp_path, "embedded", keys=2) as t:
        t.env["KMS_PROVIDER_HOST"] = str(Path(__file__).parent / "stock_provider_host.py")
        assert t.pulumi("up", "--yes", "--skip-preview").returncode == 0, t.runs[-1]
        keys = [t.kms().describe_key(t.stack.state_resource(n)["id"]) for n in ("k0", "k1")]
        assert keys[0].name.startswith("k0-") and keys[1].name == f"fixed-{t.stack.name}"
        # Without the URN, nothing is marked: a lost create would not be found again (docs/resources.md).
        assert all(OWNER_TAG not in dict(k.tags) for k in keys)
        again = t.pulumi("up", "--yes", "--skip-preview")
        assert again.returncode == 0 and "created" not in again.stdout, t.runs[-1]
        assert t.audit().orphans == set()


def test_an_up_without_the_refresh_converges_and_the_refresh_then_ends_the_warning(
    engine: Engine, tmp_path: Path
) -> None:
    with trial(engine, tmp_path, "embedded") as t:
        assert t.run_killed_up(keys_at_least(6))
        t.wait_hosts_gone(10.0)
        assert t.documented("cancel", "--yes").returncode == 0, t.runs[-1]
        exported = t.pulumi("stack", "export")
        assert exported.returncode == 0, t.runs[-1]
        pending = bool(json.loads(exported.stdout)["deployment"].get("pending_operations"))
        up = t.pulumi("up", "--yes", "--skip-preview")
        assert up.returncode == 0, t.runs[-1]
        if pending:  # the kill can fall between two creates, none of them pending
            assert "pending operations" in up.stdout + up.stderr  # Pulumi's warning: creates still pending
        audit = t.audit()
        assert audit.orphans == set() and audit.duplicated_names == {} and len(audit.state_ids) == DECLARED_KEYS
        assert t.pulumi("refresh", "--clear-pending-creates", "--yes", "--skip-preview").returncode == 0
        converged(t, aliases=True)
