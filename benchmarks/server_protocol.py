"""Whether answering in one write (provider/server/protocol.py) pays: `kmsctl serve` and the bare app of
benchmarks/bare_app.py, each run with that protocol and with uvicorn's own httptools protocol, side by side.

For DescribeKey, Encrypt, Decrypt and GenerateDataKey in each dialect, the four servers get the same signed
requests over one keep-alive connection each, in rounds whose order alternates (so that no server always
follows the same one). Prints, per op, the CPU time each server spent per request (from /proc) and the
median over rounds of the one-write server's ops/s over the plain one's.

    .venv/bin/python benchmarks/server_protocol.py            # --n 300 --rounds 10
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

import server_vs_moto as bench  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OPS = ("DescribeKey", "Encrypt", "Decrypt", "GenerateDataKey")
# Each server in a child process; ONE_WRITE picks the protocol before uvicorn starts.
_SERVE = ("import sys\nfrom provider.server import run\nif not ONE_WRITE:\n    run.HTTP = 'httptools'\n"
          "from provider.cli import main\nsys.argv[0] = 'kmsctl'\nmain()")
_BARE = ("import sys, uvicorn\nsys.path.insert(0, 'benchmarks')\nimport bare_app\nfrom provider.server import run\n"
         "uvicorn.run(bare_app.app, host='127.0.0.1', port=int(sys.argv[1]), http=run.HTTP if ONE_WRITE else "
         "'httptools', loop='uvloop', lifespan='off', access_log=False, proxy_headers=False, server_header=False, "
         "log_level='warning')")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300, help="requests per round and server")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kms-protocol-") as tmp:
        env = {**os.environ, "KMS_ACCESS_KEY": bench.ACCESS_KEY, "KMS_SECRET_KEY": bench.SECRET_KEY}
        servers: dict[tuple[str, bool], tuple[subprocess.Popen[bytes], int]] = {}
        for one_write in (True, False):
            for kind in ("serve", "bare"):
                port = bench.free_port()
                code = f"ONE_WRITE = {one_write}\n" + (_SERVE if kind == "serve" else _BARE)
                extra = (["serve", "--port", str(port), "--state", f"{tmp}/{one_write}", "--log-level", "warning"]
                         if kind == "serve" else [str(port)])
                servers[(kind, one_write)] = (subprocess.Popen([sys.executable, "-c", code, *extra], env=env, cwd=ROOT,
                                                               stdout=subprocess.DEVNULL), port)
        try:
            for (kind, one_write), (proc, port) in servers.items():
                bench.wait_listening(port, proc, f"{kind} one_write={one_write}")
            print(f"{args.n} requests a round, {args.rounds} rounds; cpu µs per request; ops/s one-write over plain")
            for client in (bench.Ours, bench.Huawei):
                work = {key: bench.workloads(client(port)) for key, (_, port) in servers.items()}
                for op in OPS:
                    cpu = dict.fromkeys(servers, 0.0)
                    rates: dict[tuple[str, bool], list[float]] = {key: [] for key in servers}
                    order = list(servers)
                    for i in range(30):
                        for key in order:
                            work[key][op](i)
                    for r in range(args.rounds):
                        for key in order if r % 2 == 0 else order[::-1]:
                            proc = servers[key][0]
                            before, start = bench.cpu_seconds(proc.pid), time.perf_counter()
                            for i in range(args.n):
                                work[key][op](i)
                            rates[key].append(args.n / (time.perf_counter() - start))
                            cpu[key] += bench.cpu_seconds(proc.pid) - before
                    us = {key: cpu[key] / (args.n * args.rounds) * 1e6 for key in servers}
                    ratio = {kind: statistics.median(a / b for a, b in zip(rates[(kind, True)], rates[(kind, False)],
                                                                           strict=True)) for kind in ("serve", "bare")}
                    print(f"{client.__name__:<7} {op:<16} cpu serve {us[('serve', True)]:4.0f} one-write "
                          f"{us[('serve', False)]:4.0f} plain, bare {us[('bare', True)]:4.0f} / "
                          f"{us[('bare', False)]:4.0f}"
                          f"   ratio serve {ratio['serve']:.2f} bare {ratio['bare']:.2f}", flush=True)
        finally:
            bench.stop([proc for proc, _ in servers.values()])


if __name__ == "__main__":
    main()
