"""What a user waits for when running `kmsctl`: its start, and a large file end to end.

Each side runs as its own process, as a user runs it, in the same run and interleaved round by round
(so a busy machine slows both alike); every figure is the median over the rounds.

1. Start: `kmsctl encrypt` of an empty file on the embedded emulator (KMS calls included) against a
   bare interpreter that imports cryptography's AES-GCM. Goal: <= 2x.
2. 256 MiB: `kmsctl encrypt` of a 256 MiB file against a plain Python process encrypting the same
   file with raw AES-256-GCM in 64 KiB frames into a file beside it. Goal: <= 1.3x.
3. `kmsctl --help` (argparse) against the same bare interpreter, for information.
4. The same two figures through an endpoint, as a user of a real cloud runs `kmsctl`: a live
   `kmsctl serve` on loopback, spoken to in each dialect (`KMS_ENDPOINT`, `KMS_DIALECT`). Same goals.

    python benchmarks/startup.py                 # 15 start rounds, 5 rounds of 256 MiB
    python benchmarks/startup.py --rounds 31 --big-rounds 7 --size-mib 256
    python benchmarks/startup.py --paths embedded      # only the embedded emulator

Prints the medians (wall time, and CPU time of the process, which a busy machine blurs less), then
the `ratio NAME VALUE` lines of wall time, one per figure and path; the last line is the first-class
figure: the slowest start of `kmsctl encrypt` over the bare interpreter, whichever path it was (goal <= 2).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from server_vs_moto import free_port, stop, wait_listening  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024

# The installed entry point when there is one (what a user runs), else the same code through -c.
_SCRIPT = Path(sys.executable).with_name("kmsctl")
KMSCTL = [str(_SCRIPT)] if _SCRIPT.exists() else [
    sys.executable, "-c", "import sys; sys.argv[0] = 'kmsctl'; from provider.cli import main; main()"]
BARE_AESGCM = [sys.executable, "-c", "from cryptography.hazmat.primitives.ciphers.aead import AESGCM"]
# The baseline of the 256 MiB figure: read a frame, seal it, write it; nothing else.
RAW_GCM = [sys.executable, "-c", """
import os, struct, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
aead = AESGCM(os.urandom(32))
nonce = struct.Struct(">4xQ")
with open(sys.argv[1], "rb") as src, open(sys.argv[2], "wb") as dst:
    seq = 0
    while chunk := src.read(65536):
        seq += 1
        dst.write(aead.encrypt(nonce.pack(seq), chunk, None))
""", ]


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall seconds (what a user waits) and CPU seconds (user + system: what a busy machine blurs less)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def rounds(sides: dict[str, Callable[[], tuple[float, float]]], n: int) -> dict[str, tuple[float, float]]:
    """The median wall and CPU seconds of each side over `n` interleaved rounds, after one unmeasured round."""
    for side in sides.values():
        side()
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    for _ in range(n):
        for name, side in sides.items():
            samples[name].append(side())
    return {name: (statistics.median(w for w, _ in s), statistics.median(c for _, c in s))
            for name, s in samples.items()}


ACCESS_KEY = "AKSTARTUPBENCH01"
SECRET_KEY = "startup-bench-secret-0123456789abcdef"
DIALECTS = ("volcengine", "huaweicloud")


def serve(state: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """`kmsctl serve` on a free loopback port over `state`; answers the process and its endpoint."""
    port = free_port()
    proc = subprocess.Popen([*KMSCTL, "serve", "--port", str(port), "--state", str(state), "--log-level", "warning"],
                            env={**env, "KMS_ACCESS_KEY": ACCESS_KEY, "KMS_SECRET_KEY": SECRET_KEY},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, proc, "kmsctl serve")
    except TimeoutError:
        proc.kill()
        raise
    return proc, f"http://127.0.0.1:{port}"


def make_key(state: Path) -> str:
    sys.path.insert(0, str(ROOT))
    from provider.backend.embedded import EmbeddedBackend
    from provider.client import KmsClient

    key = KmsClient(EmbeddedBackend(state), "cn-north-4").create_key("startup-bench")
    # A typed `model.Key` once the client speaks the domain seam, a wire dict before.
    return str(getattr(key, "key_id", None) or key["ID"])  # type: ignore[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="rounds of the start figures")
    parser.add_argument("--big-rounds", type=int, default=5, help="rounds of the large-file figure")
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--paths", default="embedded," + ",".join(DIALECTS),
                        help="comma-separated: embedded and/or the dialects to measure through kmsctl serve")
    args = parser.parse_args()
    paths = [p for p in args.paths.split(",") if p]
    unknown = set(paths) - {"embedded", *DIALECTS}
    if unknown:
        parser.error(f"--paths: unknown {', '.join(sorted(unknown))}; choose from embedded, {', '.join(DIALECTS)}")

    servers: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="kms-startup-") as tmp:
        work = Path(tmp)
        base = {k: v for k, v in os.environ.items() if not k.startswith("KMS_")}
        base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), base.get("PYTHONPATH")]))
        # An installed package has its bytecode compiled; the unmeasured first round writes ours.
        base.pop("PYTHONDONTWRITEBYTECODE", None)
        embedded_env = {**base, "KMS_EMULATOR_PATH": str(work / "state")}
        key = f"cn-north-4:{make_key(work / 'state')}"
        envs: dict[str, dict[str, str]] = {}
        if "embedded" in paths:
            envs["embedded"] = embedded_env
        try:
            for dialect in (p for p in paths if p in DIALECTS):
                # A server of its own per dialect, over its own copy of the state (the key is in it).
                state = work / f"state-{dialect}"
                shutil.copytree(work / "state", state)
                proc, endpoint = serve(state, base)
                servers.append(proc)
                envs[dialect] = {**base, "KMS_ENDPOINT": endpoint, "KMS_DIALECT": dialect,
                                 "KMS_ACCESS_KEY": ACCESS_KEY, "KMS_SECRET_KEY": SECRET_KEY}
            (work / "empty").write_bytes(b"")
            with open(work / "big", "wb") as f:
                for _ in range(args.size_mib):
                    f.write(os.urandom(MiB))

            def kmsctl(env: dict[str, str], *a: str) -> Callable[[], tuple[float, float]]:
                def side() -> tuple[float, float]:
                    # Each round writes the same output again: clear it first (outside the timing), since
                    # kmsctl never replaces an existing file unasked.
                    (work / a[-1]).unlink(missing_ok=True)
                    return run([*KMSCTL, *a], env, work)

                return side

            start_sides: dict[str, Callable[[], tuple[float, float]]] = {
                "bare_aesgcm": lambda: run(BARE_AESGCM, base, work),
                "help": kmsctl(base, "--help"),
            }
            def raw_gcm() -> tuple[float, float]:
                # Cleared outside the timing as kmsctl's output is: truncating last round's 256 MiB inside
                # it would charge the baseline for freeing the page cache.
                (work / "big.raw").unlink(missing_ok=True)
                return run([*RAW_GCM, "big", "big.raw"], base, work)

            big_sides: dict[str, Callable[[], tuple[float, float]]] = {"raw_gcm": raw_gcm}
            for path, env in envs.items():
                start_sides[f"encrypt_empty@{path}"] = kmsctl(env, "encrypt", "--key", key, "empty",
                                                              f"empty-{path}.kmse")
                big_sides[f"encrypt_big@{path}"] = kmsctl(env, "encrypt", "--key", key, "big", f"big-{path}.kmse")
            start = rounds(start_sides, args.rounds)
            big = rounds(big_sides, args.big_rounds)
            for path in envs:
                # The figure is only worth something if the command did the work.
                assert (work / f"big-{path}.kmse").stat().st_size > args.size_mib * MiB
        finally:
            stop(servers)

    mib = f"{args.size_mib} MiB file"
    rows = [(f"bare interpreter + AES-GCM import (median of {args.rounds})", start["bare_aesgcm"]),
            ("kmsctl --help", start["help"])]
    rows += [(f"kmsctl encrypt, empty file, {path}", start[f"encrypt_empty@{path}"]) for path in envs]
    rows += [(f"raw AES-256-GCM, {mib} (median of {args.big_rounds})", big["raw_gcm"])]
    rows += [(f"kmsctl encrypt, {mib}, {path}", big[f"encrypt_big@{path}"]) for path in envs]
    print(f"{'':56} {'wall':>8}     {'cpu':>8}")
    for label, (wall, cpu) in rows:
        print(f"{label:56} {wall * 1e3:8.1f} ms  {cpu * 1e3:8.1f} ms")
    print(f"ratio help_over_bare_aesgcm {start['help'][0] / start['bare_aesgcm'][0]:.2f}")
    for path in envs:
        suffix = "" if path == "embedded" else f"_{path}"
        print(f"ratio encrypt_{args.size_mib}mib_over_raw_gcm{suffix} "
              f"{big[f'encrypt_big@{path}'][0] / big['raw_gcm'][0]:.2f}")
    starts = {path: start[f"encrypt_empty@{path}"][0] / start["bare_aesgcm"][0] for path in envs}
    for path, ratio in starts.items():
        suffix = "" if path == "embedded" else f"_{path}"
        print(f"ratio encrypt_empty_over_bare_aesgcm{suffix} {ratio:.2f}")
    if starts:
        print(f"ratio encrypt_empty_over_bare_aesgcm_slowest_path {max(starts.values()):.2f}")


if __name__ == "__main__":
    main()
