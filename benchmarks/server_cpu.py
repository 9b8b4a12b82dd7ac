"""`kmsctl serve` against the bare uvicorn app, live: each server's CPU per request, to the nanosecond.

benchmarks/server_vs_moto.py reads the servers' CPU from /proc/PID/stat, at the clock tick's resolution
(10 ms over a round). Here the same signed loop (its clients and workloads) runs against `kmsctl serve` and
benchmarks/bare_app.py only, in interleaved rounds, and each server's CPU comes from the scheduler's own
account of every thread (/proc/PID/task/*/schedstat, nanoseconds), with its context switches
(voluntary: the loop waiting for the socket or a thread; involuntary: preempted) and its threads' count.
What our server spends per request beyond the bare app's, live, is set against what
benchmarks/server_stages.py measures in-process; the two differ by what only a live server pays.

What it found (2 cores, shared): `kmsctl serve` ~175-190 µs of CPU a request against the bare app's
~90, all of it on the event loop's thread (the write pool idle, no garbage collection during a run of
2,000 requests: serve freezes its start-up objects), uvloop in both. Timed live, each of our stages costs
3-4x what benchmarks/server_stages.py measures hot: a request finds its code and data out of the
caches. `server_stages.py --cold 4` reproduces it in-process. The largest single item is the store's
change check, `PRAGMA data_version` (a read transaction and its file locks, ~12 µs live); reading SQLite's
WAL index header from the process's own memory instead saved that much, but rests on SQLite's internal
layout (https://www.sqlite.org/walformat.html) and was not adopted.

    .venv/bin/python benchmarks/server_cpu.py --n 2000 --rounds 5 [--ops Encrypt,DescribeKey] [--dialects volcengine]
    .venv/bin/python benchmarks/server_cpu.py --pin    # client and servers on separate cores
    .venv/bin/python benchmarks/server_cpu.py --hold   # start both, print their pids, drive Encrypt on both

With --hold, `perf record --call-graph dwarf -p PID` samples a server; under Python 3.12 or later with
PYTHONPERFSUPPORT=1 set (the servers inherit it) the samples name each Python function
(https://docs.python.org/3/howto/perf_profiling.html).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from server_vs_moto import ACCESS_KEY, SECRET_KEY, Huawei, Ours, free_port, stop, wait_listening, workloads  # noqa: E402


def schedstat(pid: int) -> tuple[int, int, int, int]:
    """(CPU ns, voluntary switches, involuntary switches, threads) over the process's live threads."""
    cpu = vol = invol = threads = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                cpu += int(f.read().split()[0])
            with open(f"/proc/{pid}/task/{task}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        vol += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches"):
                        invol += int(line.split()[1])
        except OSError:
            continue
        threads += 1
    return cpu, vol, invol, threads


def start(tmp: str, which: str, cpu: int | None = None) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "KMS_ACCESS_KEY": ACCESS_KEY, "KMS_SECRET_KEY": SECRET_KEY, "KMS_KEY_QUOTA": "100000"}
    if which == "ours":
        cmd = [sys.executable, "-c", "import sys; from provider.cli import main; sys.argv[0] = 'kmsctl'; main()",
               "serve", "--port", str(port), "--state", str(Path(tmp) / "state"), "--log-level", "warning"]
    else:
        cmd = [sys.executable, str(Path(__file__).with_name("bare_app.py")), str(port)]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port, proc, which)
    return proc, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="requests per op and server")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ops", default="DescribeKey,Encrypt,Decrypt,GenerateDataKey")
    parser.add_argument("--dialects", default="volcengine,huaweicloud")
    parser.add_argument("--pin", action="store_true", help="this client on the first CPU, both servers on the "
                        "second: each keeps its own core's caches (a diagnosis, not how the servers run)")
    parser.add_argument("--hold", action="store_true", help="start both servers, print their pids, drive "
                        "Encrypt (volcengine) on both in turn until interrupted")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kms-cpu-") as tmp:
        cpu = None
        if args.pin:
            first, cpu = sorted(os.sched_getaffinity(0))[:2]
            os.sched_setaffinity(0, {first})
        ours, ours_port = start(tmp, "ours", cpu)
        procs = (ours,)
        clients: dict[str, tuple[Ours | Huawei, Ours | Huawei]] = {}
        try:
            bare, bare_port = start(tmp, "bare", cpu)
            procs = (ours, bare)
            clients = {"volcengine": (Ours(ours_port), Ours(bare_port)),
                       "huaweicloud": (Huawei(ours_port), Huawei(bare_port))}
            if args.hold:
                print(f"ours {ours.pid} bare {bare.pid}", flush=True)
                mine, floor = (workloads(c)["Encrypt"] for c in clients["volcengine"])
                i = 0
                while True:
                    mine(i)
                    floor(i)
                    i += 1
            print(f"{args.n} requests per op and server in {args.rounds} interleaved rounds; per request: "
                  "µs of the client's wall time, µs of server CPU, server context switches (vol/invol)")
            print(f"{'':<28}{'ours wall':>10}{'bare wall':>10}{'ours cpu':>10}{'bare cpu':>10}{'diff':>8}"
                  f"{'ours vol':>9}{'bare vol':>9}{'ours inv':>9}{'bare inv':>9}{'thr':>6}")
            for dialect in args.dialects.split(","):
                works = [workloads(c) for c in clients[dialect]]
                for op in args.ops.split(","):
                    fns = [w[op] for w in works]
                    for i in range(50):
                        for fn in fns:
                            fn(i)
                    per = max(1, args.n // args.rounds)
                    walls: list[list[float]] = [[], []]
                    cpus: list[list[float]] = [[], []]
                    vols, invols = [0, 0], [0, 0]
                    threads = 0
                    for _ in range(args.rounds):
                        for side, (fn, proc) in enumerate(zip(fns, (ours, bare), strict=True)):
                            c0, v0, i0, _ = schedstat(proc.pid)
                            t0 = time.perf_counter()
                            for i in range(per):
                                fn(i)
                            walls[side].append((time.perf_counter() - t0) / per * 1e6)
                            c1, v1, i1, thr = schedstat(proc.pid)
                            cpus[side].append((c1 - c0) / per / 1000)
                            vols[side] += v1 - v0
                            invols[side] += i1 - i0
                            if side == 0:
                                threads = thr
                    total = per * args.rounds
                    w = [statistics.median(x) for x in walls]
                    c = [statistics.median(x) for x in cpus]
                    print(f"{dialect + ' ' + op:<28}{w[0]:>10.0f}{w[1]:>10.0f}{c[0]:>10.1f}{c[1]:>10.1f}"
                          f"{c[0] - c[1]:>8.1f}{vols[0] / total:>9.2f}{vols[1] / total:>9.2f}"
                          f"{invols[0] / total:>9.2f}{invols[1] / total:>9.2f}{threads:>6}")
        except KeyboardInterrupt:
            pass
        finally:
            for pair in clients.values():  # a server's graceful stop waits for its open connections
                for client in pair:
                    client.conn.close()
            stop(procs)


if __name__ == "__main__":
    main()
