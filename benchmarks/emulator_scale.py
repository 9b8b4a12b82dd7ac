"""How the embedded emulator scales with the number of keys, and what it costs over raw AES-GCM.

    python benchmarks/emulator_scale.py [--keys 100000] [--samples 5000]

DescribeKey and Encrypt latency with 100 keys in the region and again with `--keys` keys (the quota
is raised for the run), every key created through the API. Then in-process Encrypt ops/s against raw
`cryptography` AES-GCM on the same bytes, measured in the same run. Last line:
`ratio describe_100k_over_100 X` (goal <= 1.5).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from provider.client import KmsClient
from provider.emulator import Emulator

PLAINTEXT = os.urandom(256)


def latency_us(fn: object, ids: list[str], samples: int) -> float:
    assert callable(fn)
    picks = [random.choice(ids) for _ in range(samples)]
    times = []
    for key_id in picks:
        t = time.perf_counter()
        fn(key_id)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--samples", type=int, default=5000)
    args = ap.parse_args()
    random.seed(7)
    with tempfile.TemporaryDirectory() as state:
        kms = KmsClient(Emulator(state, quota=args.keys + 10), "cn-north-4")
        ids = [kms.create_key(f"k{i}").key_id for i in range(100)]
        d_small = latency_us(kms.describe_key, ids, args.samples)
        e_small = latency_us(lambda k: kms.encrypt(k, PLAINTEXT), ids, args.samples)
        t = time.perf_counter()
        ids += [kms.create_key(f"k{i}").key_id for i in range(100, args.keys)]
        create_rate = (args.keys - 100) / (time.perf_counter() - t)
        d_big = latency_us(kms.describe_key, ids, args.samples)
        e_big = latency_us(lambda k: kms.encrypt(k, PLAINTEXT), ids, args.samples)

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
    big = f"{args.keys // 1000}k" if args.keys >= 1000 else str(args.keys)
    print(f"create_key            {create_rate:10.0f} keys/s (durable commits)")
    print(f"describe_key  100     {d_small:10.1f} us   {big:>6} {d_big:10.1f} us")
    print(f"encrypt       100     {e_small:10.1f} us   {big:>6} {e_big:10.1f} us")
    print(f"encrypt in-process    {kms_ops:10.0f} ops/s   raw AES-GCM {raw_ops:10.0f} ops/s")
    print(f"ratio encrypt_{big}_over_100 {e_big / e_small:.3f}")
    print(f"ratio encrypt_over_raw_aesgcm {kms_ops / raw_ops:.4f}")
    print(f"ratio describe_{big}_over_100 {d_big / d_small:.3f}")


if __name__ == "__main__":
    main()
