"""How the embedded emulator scales with the number of keys, and what it costs over raw AES-GCM.

    python benchmarks/emulator_scale.py [--keys 100000] [--samples 5000]

DescribeKey and Encrypt latency with 100 keys in the region and again with `--keys` keys (the quota
is raised for the run), every key created through the API, each measured two ways:

* cold: every lookup is the first after a commit (another emulator on the same state moves the clock
  before it, untimed), so it goes to SQLite: how the state's indexes scale with the number of keys;
* warm: lookups in a row, served by what reads remember while nothing changes (docs/emulator.md);
  100 keys fit in that memory, a random pick among 100,000 mostly does not.

Then in-process Encrypt ops/s against raw `cryptography` AES-GCM on the same bytes, measured in the
same run. Then durable writes from 16 threads at once against one thread (goal: about 1, the writers
queue without sleeping on a free lock). Last line: `ratio describe_100k_over_100 X` on cold lookups (goal <= 1.5: flat).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from provider.client import KmsClient
from provider.emulator import Emulator

PLAINTEXT = os.urandom(256)


def latency_us(fn: object, ids: list[str], samples: int, before: Callable[[], object] | None = None) -> float:
    """Median latency of `fn` on random keys; `before` runs, untimed, ahead of each call."""
    assert callable(fn)
    picks = [random.choice(ids) for _ in range(samples)]
    times = []
    for key_id in picks:
        if before is not None:
            before()
        t = time.perf_counter()
        fn(key_id)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def measure(kms: KmsClient, ids: list[str], samples: int, commit: Callable[[], object]) -> dict[str, float]:
    cold = max(200, samples // 3)  # each cold sample pays a durable commit first
    return {
        "describe cold": latency_us(kms.describe_key, ids, cold, commit),
        "encrypt cold": latency_us(lambda k: kms.encrypt(k, PLAINTEXT), ids, cold, commit),
        "describe warm": latency_us(kms.describe_key, ids, samples),
        "encrypt warm": latency_us(lambda k: kms.encrypt(k, PLAINTEXT), ids, samples),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--samples", type=int, default=5000)
    args = ap.parse_args()
    random.seed(7)
    with tempfile.TemporaryDirectory() as state:
        kms = KmsClient(Emulator(state, quota=args.keys + 10), "cn-north-4")
        elsewhere = KmsClient(Emulator(state), "cn-north-4")  # another process's view of the same state

        def commit() -> None:
            elsewhere.advance_clock(1)

        ids = [kms.create_key(f"k{i}").key_id for i in range(100)]
        small = measure(kms, ids, args.samples, commit)
        t = time.perf_counter()
        ids += [kms.create_key(f"k{i}").key_id for i in range(100, args.keys)]
        create_rate = (args.keys - 100) / (time.perf_counter() - t)
        large = measure(kms, ids, args.samples, commit)

        # In-process Encrypt throughput on one key against raw AES-GCM of the same bytes.
        key_id = ids[0]
        n = args.samples
        t = time.perf_counter()
        for _ in range(n):
            kms.encrypt(key_id, PLAINTEXT)
        kms_ops = n / (time.perf_counter() - t)
        aes = AESGCM(AESGCM.generate_key(256))
        t = time.perf_counter()
        for _ in range(n):
            aes.encrypt(os.urandom(12), PLAINTEXT, b"")
        raw_ops = n / (time.perf_counter() - t)

        # Durable writes (TagResource: one commit each) from one thread, then from 16 at once, as a
        # `pulumi destroy` or `kmsctl serve` makes them: each write's share of the wall time.
        writes = 16 * 20
        tags = [(ids[i % len(ids)], {"bench": str(i)}) for i in range(writes)]
        t = time.perf_counter()
        for tagged, tag in tags:
            kms.tag_resources(tagged, tag)
        serial_ms = (time.perf_counter() - t) / writes * 1e3
        t = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda job: kms.tag_resources(*job), tags))
        parallel_ms = (time.perf_counter() - t) / writes * 1e3
    big = f"{args.keys // 1000}k" if args.keys >= 1000 else str(args.keys)
    print(f"create_key            {create_rate:10.0f} keys/s (durable commits)")
    for what in small:
        print(f"{what:<15}  100 {small[what]:8.1f} us   {big:>6} {large[what]:8.1f} us")
    print(f"encrypt in-process (one key, warm) {kms_ops:10.0f} ops/s   raw AES-GCM {raw_ops:10.0f} ops/s")
    print(f"durable write          {serial_ms:.2f} ms from 1 thread, {parallel_ms:.2f} ms each from 16 threads")
    print(f"ratio encrypt_warm_over_cold_100 {small['encrypt warm'] / small['encrypt cold']:.3f}")
    print(f"ratio encrypt_{big}_over_100 {large['encrypt cold'] / small['encrypt cold']:.3f}")
    print(f"ratio encrypt_over_raw_aesgcm {kms_ops / raw_ops:.4f}")
    print(f"ratio write_16_threads_over_1 {parallel_ms / serial_ms:.3f}")
    print(f"ratio describe_{big}_over_100 {large['describe cold'] / small['describe cold']:.3f}")


if __name__ == "__main__":
    main()
