"""What a user waits for when running `kmsctl`: its start, and a large file end to end (issue 13).

Each side runs as its own process, as a user runs it, in the same run and interleaved round by round
(so a busy machine slows both alike); every figure is the median over the rounds.

1. Start: `kmsctl encrypt` of an empty file on the embedded emulator (KMS calls included) against a
   bare interpreter that imports cryptography's AES-GCM. Goal: <= 2x.
2. 256 MiB: `kmsctl encrypt` of a 256 MiB file against a plain Python process encrypting the same
   file with raw AES-256-GCM in 64 KiB frames into a file beside it. Goal: <= 1.3x.
3. `kmsctl --help` (typer, rich) against the same bare interpreter, for information.

    python benchmarks/startup.py                 # 15 start rounds, 5 rounds of 256 MiB
    python benchmarks/startup.py --rounds 31 --big-rounds 7 --size-mib 256

Prints the medians (wall time, and CPU time of the process, which a busy machine blurs less), then
the `ratio NAME VALUE` lines of wall time, last.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

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
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kms-startup-") as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KMS_")}
        env["KMS_EMULATOR_PATH"] = str(work / "state")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        # An installed package has its bytecode compiled; the unmeasured first round writes ours.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        key = f"cn-north-4:{make_key(work / 'state')}"
        (work / "empty").write_bytes(b"")
        with open(work / "big", "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(MiB))

        def kmsctl(*a: str) -> Callable[[], tuple[float, float]]:
            return lambda: run([*KMSCTL, *a], env, work)

        start = rounds({
            "bare_aesgcm": lambda: run(BARE_AESGCM, env, work),
            "encrypt_empty": kmsctl("encrypt", "--key", key, "empty", "empty.kmse"),
            "help": kmsctl("--help"),
        }, args.rounds)
        big = rounds({
            "raw_gcm": lambda: run([*RAW_GCM, "big", "big.raw"], env, work),
            "encrypt_big": kmsctl("encrypt", "--key", key, "big", "big.kmse"),
        }, args.big_rounds)
        # The figure is only worth something if the command did the work.
        assert (work / "big.kmse").stat().st_size > args.size_mib * MiB

    mib = f"{args.size_mib} MiB file"
    print(f"{'':52} {'wall':>8}     {'cpu':>8}")
    for label, (wall, cpu) in (
        (f"bare interpreter + AES-GCM import (median of {args.rounds})", start["bare_aesgcm"]),
        ("kmsctl encrypt, empty file", start["encrypt_empty"]),
        ("kmsctl --help", start["help"]),
        (f"raw AES-256-GCM, {mib} (median of {args.big_rounds})", big["raw_gcm"]),
        (f"kmsctl encrypt, {mib}", big["encrypt_big"]),
    ):
        print(f"{label:52} {wall * 1e3:8.1f} ms  {cpu * 1e3:8.1f} ms")
    print(f"ratio help_over_bare_aesgcm {start['help'][0] / start['bare_aesgcm'][0]:.2f}")
    print(f"ratio encrypt_{args.size_mib}mib_over_raw_gcm {big['encrypt_big'][0] / big['raw_gcm'][0]:.2f}")
    print(f"ratio encrypt_empty_over_bare_aesgcm {start['encrypt_empty'][0] / start['bare_aesgcm'][0]:.2f}")


if __name__ == "__main__":
    main()
