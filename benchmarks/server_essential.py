"""How close any KMS server could come to the bare HTTP stack: Encrypt on `kmsctl serve`, on the bare app
doing only the work no KMS server can skip, and on the bare app, in one run.

benchmarks/server_vs_moto.py sets `kmsctl serve` against the bare uvicorn app answering fixed JSON (goal
0.85). Here a third server sits between them: benchmarks/bare_app.py `--essential`, which for Encrypt checks
the signature with this project's signers, parses the JSON body, encrypts with AES-GCM under a fixed key and
builds the answer, and does nothing else (no key looked up, no rule, no validation, no error shaping). Its
ratio to the bare app is the ceiling of a server that does that work on this stack; ours over it is what
this project's code costs beyond that work. Same signed loop, one keep-alive connection per server,
interleaved rounds, ratio = median of the rounds' (server_vs_moto.py's `compare`), each server's CPU per
request from /proc.

Prints, per dialect, the three servers' ops/s and CPU per request, `ratio essential_over_bare DIALECT X`
and `ratio server_over_essential DIALECT Y`; last, `ratio server_over_essential_min Y`.

    .venv/bin/python benchmarks/server_essential.py [--n 1500] [--rounds 10]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from server_vs_moto import (  # noqa: E402
    ACCESS_KEY,
    SECRET_KEY,
    Huawei,
    Ours,
    compare,
    free_port,
    stop,
    wait_listening,
    workloads,
)

BARE = str(Path(__file__).with_name("bare_app.py"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1500, help="measured requests per server and dialect")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kms-bench-") as tmp:
        ports = [free_port() for _ in range(3)]
        env = {**os.environ, "KMS_ACCESS_KEY": ACCESS_KEY, "KMS_SECRET_KEY": SECRET_KEY}
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        procs = [
            subprocess.Popen([sys.executable, "-c", "import sys; from provider.cli import main; "
                              "sys.argv[0] = 'kmsctl'; main()", "serve", "--port", str(ports[0]), "--state",
                              str(Path(tmp) / "state"), "--log-level", "warning"], env=env, **quiet),
            subprocess.Popen([sys.executable, BARE, str(ports[1]), "--essential"], **quiet),
            subprocess.Popen([sys.executable, BARE, str(ports[2])], **quiet),
        ]
        try:
            for port, proc, what in zip(ports, procs, ("kmsctl serve", "essential app", "bare app"), strict=True):
                wait_listening(port, proc, what)
            worst = 1.0
            print(f"Encrypt, {args.n} requests per server in {args.rounds} interleaved rounds")
            print(f"{'':<12}{'server ops/s':>13}{'essential':>11}{'bare':>8}{'cpu us/req':>12}{'essential':>11}"
                  f"{'bare':>8}")
            for dialect, client in (("volcengine", Ours), ("huaweicloud", Huawei)):
                sides = [workloads(client(port))["Encrypt"] for port in ports]
                ours, essential, bare = compare(sides, args.n, args.warmup, args.rounds, [p.pid for p in procs])
                print(f"{dialect:<12}{ours.figures()[0]:>13.0f}{essential.figures()[0]:>11.0f}"
                      f"{bare.figures()[0]:>8.0f}{ours.cpu_us():>12.0f}{essential.cpu_us():>11.0f}"
                      f"{bare.cpu_us():>8.0f}")
                print(f"ratio server_over_bare {dialect} {ours.over(bare):.3f}")
                print(f"ratio essential_over_bare {dialect} {essential.over(bare):.3f}")
                print(f"ratio server_over_essential {dialect} {ours.over(essential):.3f}")
                worst = min(worst, ours.over(essential))
            print(f"ratio server_over_essential_min {worst:.3f}")
        finally:
            stop(procs)


if __name__ == "__main__":
    main()
