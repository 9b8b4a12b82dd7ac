"""Interrupted `pulumi up` trials: how many keys are left owned by nothing after the README's recovery.

Each trial is a fresh stack of tests/engine/projects/interrupted (6 custom keys, 2 replicas, an alias, tags)
whose `pulumi up` is killed (its whole process group, SIGKILL) once a random number of keys exist, on the
embedded emulator or over the wire through `kmsctl serve` (Huawei Cloud's or Volcengine's API, in turn). Then
`pulumi cancel`, `pulumi refresh --clear-pending-creates`, `pulumi up`, as the README says, and the live keys
are compared with the stack's state.

    eval "$(bash scripts/setup-engine.sh --print-env)"
    .venv/bin/python benchmarks/interrupted_up.py [--trials 30] [--backends embedded,huaweicloud,volcengine]

Prints one line per trial and the totals: orphans (live keys no resource owns), duplicated names, trials whose
recovery failed, and how many keys the killed ups had made (all of them must end up in the state).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "engine"), str(ROOT)]

from engine_harness import find_engine  # noqa: E402
from interrupted import alias_made, keys_at_least, trial  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=30, help="number of interrupted runs (default 30)")
    parser.add_argument("--backends", default="embedded,huaweicloud,volcengine",
                        help="comma-separated, taken in turn (default: all three)")
    parser.add_argument("--seed", type=int, default=None, help="random seed of the kill points")
    args = parser.parse_args(argv)
    backends = [b for b in args.backends.split(",") if b]
    rng = random.Random(args.seed)
    engine = find_engine()
    orphans = duplicates = failed = made_total = taken_over = not_killed = 0
    started = time.monotonic()
    for n in range(args.trials):
        backend = backends[n % len(backends)]
        # Kill once 1..8 keys exist, or (where the cloud has aliases) once the alias exists.
        threshold = rng.randint(1, 9)
        point = alias_made if threshold == 9 and backend != "volcengine" else keys_at_least(min(threshold, 8))
        label = "alias" if point is alias_made else f"{min(threshold, 8)} keys"
        with tempfile.TemporaryDirectory(prefix="kms-interrupted-") as tmp, trial(engine, Path(tmp), backend) as t:
            t0 = time.monotonic()
            killed = t.run_killed_up(point)
            t.wait_hosts_gone(30.0)
            made = {k.key_id for k in t.live_keys()}
            try:
                t.recover()
                ok = True
            except Exception as err:  # noqa: BLE001 - a failed recovery is counted and shown, the trials go on
                ok = False
                print(f"  recovery failed:\n{str(err)[-2000:]}", file=sys.stderr)
            try:
                audit = t.audit()
            except Exception as err:  # noqa: BLE001
                print(f"  no state to audit: {err}", file=sys.stderr)
                failed += 1
                continue
            lost = len(made & audit.state_ids)
            orphans += len(audit.orphans)
            duplicates += sum(n - 1 for n in audit.duplicated_names.values())
            failed += not ok
            made_total += len(made)
            taken_over += lost
            not_killed += not killed
            print(f"trial {n + 1:3d} {backend:12s} kill at {label:8s} killed={killed!s:5s} made={len(made)} "
                  f"orphans={len(audit.orphans)} duplicated={len(audit.duplicated_names)} recovered={ok} "
                  f"({time.monotonic() - t0:.1f}s)", flush=True)
    print(f"\n{args.trials} interrupted runs in {time.monotonic() - started:.0f}s: orphans={orphans} "
          f"duplicated={duplicates} failed_recoveries={failed} keys_made_by_killed_ups={made_total} "
          f"in_state_after_recovery={taken_over} up_finished_before_kill={not_killed}")
    # As the other benchmarks end: `ratio NAME VALUE` (here per interrupted run; 0 is the goal).
    print(f"ratio orphans_per_interrupted_up {orphans / max(args.trials, 1):.3f}")
    print(f"ratio taken_over_of_made_by_killed_ups {taken_over / max(made_total, 1):.3f}")
    return 1 if orphans or duplicates or failed else 0


if __name__ == "__main__":
    sys.exit(main())
