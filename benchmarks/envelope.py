"""Envelope encryption: throughput, small-message round trips, and memory of the command line.

    python benchmarks/envelope.py            # 64 MiB in process, 256 MiB through the CLI (< 1 min)
    python benchmarks/envelope.py --full     # 256 MiB in process, 1 GiB through the CLI
    (or ENVELOPE_BENCH_FULL=1)

1. In-process encrypt and decrypt, bytes API and stream API, against raw AES-GCM on the same frames
   (same frame size, nonces and AAD, in the same run; goal >= 0.7 of its throughput), and against
   aws-encryption-sdk with a raw AES master key on its committing unsigned suite
   AES_256_GCM_HKDF_SHA512_COMMIT_KEY (goal >= 20x), at its default frame length and at ours.
2. 1 KiB encrypt + decrypt round trips on the embedded backend (goal >= 4,200/s), against the bare
   KMS calls they make (GenerateDataKey, DescribeKey, Decrypt), with the cost of each call.
3. Peak RSS of `kmsctl encrypt - - | kmsctl decrypt - -` streaming the input (goal <= 150 MB), against
   the same processes on an empty input.

Every measurement is the best of a few repetitions. Lines `ratio NAME VALUE`; the last is the CLI's
peak RSS over the goal.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import logging
import os
import pstats
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from provider import envelope  # noqa: E402
from provider.backend.embedded import EmbeddedBackend  # noqa: E402
from provider.client import KmsClient  # noqa: E402
from provider.envelope import format as fmt  # noqa: E402

MiB = 1024 * 1024
FRAME = fmt.DEFAULT_FRAME_SIZE
KMSCTL = [sys.executable, "-c", "import sys; sys.argv[0] = 'kmsctl'; from provider.cli import main; main()"]


def best(fn: Callable[[], object], repeat: int = 3, min_time: float = 0.3) -> float:
    """Seconds per call: the best of `repeat` samples, each long enough (>= min_time) that a VM's
    hiccup does not decide the result."""
    t = time.perf_counter()
    fn()
    first = time.perf_counter() - t
    loops = max(1, int(min_time / max(first, 1e-9)))
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(loops):
            fn()
        times.append((time.perf_counter() - t) / loops)
    return min(times)


class Sink:
    """A writer that keeps nothing: the stream measurements are about the cipher, not a buffer."""

    def __init__(self) -> None:
        self.n = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.n += len(data)
        return len(data)


# --- 1. throughput ---------------------------------------------------------------------------------
def raw_frames(aead: AESGCM, mid: bytes, view: memoryview, frame: int, into: bool) -> bytes | int:
    """The baseline: AES-256-GCM over the same frames with the same nonces and AAD, nothing else."""
    n = len(view)
    frames = max(1, -(-n // frame))
    if into:
        buf = bytearray(frame + 16)
        for seq in range(1, frames + 1):
            chunk = view[(seq - 1) * frame : seq * frame]
            out = buf if len(chunk) == frame else bytearray(len(chunk) + 16)
            aead.encrypt_into(fmt._NONCE.pack(seq), chunk, fmt._AAD.pack(mid, seq, seq == frames, len(chunk)), out)
        return n
    return b"".join(aead.encrypt(fmt._NONCE.pack(seq), view[(seq - 1) * frame : seq * frame],
                                 fmt._AAD.pack(mid, seq, seq == frames, len(view[(seq - 1) * frame : seq * frame])))
                    for seq in range(1, frames + 1))


def raw_open(aead: AESGCM, mid: bytes, cts: list[bytes], frame: int, into: bool) -> bytes | int:
    if into:
        buf = bytearray(frame)
        for seq, ct in enumerate(cts, 1):
            out = buf if len(ct) - 16 == frame else bytearray(len(ct) - 16)
            aead.decrypt_into(fmt._NONCE.pack(seq), ct, fmt._AAD.pack(mid, seq, seq == len(cts), len(ct) - 16), out)
        return 0
    return b"".join(aead.decrypt(fmt._NONCE.pack(seq), ct, fmt._AAD.pack(mid, seq, seq == len(cts), len(ct) - 16))
                    for seq, ct in enumerate(cts, 1))


def esdk_setup() -> tuple[object, object, object]:
    import aws_encryption_sdk
    from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy, EncryptionKeyType, WrappingAlgorithm
    from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
    from aws_encryption_sdk.key_providers.raw import RawMasterKeyProvider

    wrapping = os.urandom(32)

    class RawAesProvider(RawMasterKeyProvider):  # type: ignore[misc]
        provider_id = "bench"

        def _get_raw_key(self, key_id: bytes) -> WrappingKey:
            return WrappingKey(wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
                               wrapping_key=wrapping, wrapping_key_type=EncryptionKeyType.SYMMETRIC)

    provider = RawAesProvider()
    provider.add_master_key(b"bench-key")
    client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    return client, provider, Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY


def esdk_stream(client: object, mode: str, data: bytes, **kw: object) -> int:
    n = 0
    with client.stream(mode=mode, source=io.BytesIO(data), **kw) as s:  # type: ignore[attr-defined]
        while chunk := s.read(64 * 1024):  # its best read size (larger reads slow it down)
            n += len(chunk)
    return n


def throughput(size: int, kms: KmsClient, key: envelope.RegionalKey) -> dict[str, float]:
    mb = size / 1e6
    plaintext = os.urandom(size)
    view = memoryview(plaintext)
    r: dict[str, float] = {}

    # Ours: the bytes API and the stream API, KMS calls included (one GenerateDataKey, one Decrypt).
    message = envelope.encrypt(kms, key, plaintext)
    assert envelope.decrypt(kms, key, message) == plaintext
    r["ours_bytes_enc"] = mb / best(lambda: envelope.encrypt(kms, key, plaintext))
    r["ours_bytes_dec"] = mb / best(lambda: envelope.decrypt(kms, key, message))
    r["ours_stream_enc"] = mb / best(lambda: envelope.encrypt_stream(kms, key, io.BytesIO(plaintext), Sink()))
    r["ours_stream_dec"] = mb / best(lambda: envelope.decrypt_stream(kms, key, io.BytesIO(message), Sink()))

    # Raw AES-GCM on the same frames: per-frame encrypt + join (as the bytes API returns one object),
    # and encrypt_into a reused buffer (as the stream API writes frame by frame).
    aead, mid = AESGCM(os.urandom(32)), os.urandom(32)
    r["raw_bytes_enc"] = mb / best(lambda: raw_frames(aead, mid, view, FRAME, into=False))
    r["raw_stream_enc"] = mb / best(lambda: raw_frames(aead, mid, view, FRAME, into=True))
    joined = raw_frames(aead, mid, view, FRAME, into=False)
    assert isinstance(joined, bytes)
    step = FRAME + 16
    cts = [joined[i : i + step] for i in range(0, len(joined), step)]
    r["raw_bytes_dec"] = mb / best(lambda: raw_open(aead, mid, cts, FRAME, into=False))
    r["raw_stream_dec"] = mb / best(lambda: raw_open(aead, mid, cts, FRAME, into=True))
    del joined

    # aws-encryption-sdk, raw AES master key, committing unsigned suite.
    client, provider, suite = esdk_setup()
    for label, frame in (("default", 4096), ("64k", FRAME)):
        kw = {"key_provider": provider, "algorithm": suite, "frame_length": frame}
        ct, _ = client.encrypt(source=plaintext, **kw)  # type: ignore[attr-defined]
        r[f"esdk_{label}_bytes_enc"] = mb / best(lambda kw=kw: client.encrypt(source=plaintext, **kw), 2)  # type: ignore[attr-defined,misc]
        r[f"esdk_{label}_bytes_dec"] = mb / best(lambda ct=ct: client.decrypt(source=ct, key_provider=provider), 2)  # type: ignore[attr-defined,misc]
        r[f"esdk_{label}_stream_enc"] = mb / best(lambda kw=kw: esdk_stream(client, "e", plaintext, **kw), 2)  # type: ignore[misc]
        r[f"esdk_{label}_stream_dec"] = mb / best(
            lambda ct=ct: esdk_stream(client, "d", ct, key_provider=provider), 2)  # type: ignore[misc]
    return r


# --- 2. 1 KiB round trips ---------------------------------------------------------------------------
def round_trips(kms: KmsClient, key: envelope.RegionalKey, n: int) -> dict[str, float]:
    data = os.urandom(1024)

    def envelope_rt() -> None:
        for _ in range(n):
            envelope.decrypt(kms, key, envelope.encrypt(kms, key, data))

    key_id, _, blob = kms.generate_data_key(key.key)

    def calls(name: str) -> Callable[[], None]:
        fn = {
            "GenerateDataKey": lambda: kms.generate_data_key(key.key),
            "DescribeKey": lambda: kms.describe_key(key_id),
            "Decrypt": lambda: kms.decrypt(blob, None, key_id=key.key),
        }[name]

        def run() -> None:
            for _ in range(n):
                fn()

        return run

    r = {"rt_per_s": n / best(envelope_rt)}
    for name in ("GenerateDataKey", "DescribeKey", "Decrypt"):
        r[f"{name}_us"] = best(calls(name)) / n * 1e6
    r["kms_only_per_s"] = 1e6 / (r["GenerateDataKey_us"] + r["DescribeKey_us"] + r["Decrypt_us"])
    return r


def round_trip_profile(kms: KmsClient, key: envelope.RegionalKey, n: int = 1000) -> None:
    """Where one round trip's time goes, by function (microseconds per round trip, own time)."""
    data = os.urandom(1024)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        envelope.decrypt(kms, key, envelope.encrypt(kms, key, data))
    prof.disable()
    stats = pstats.Stats(prof)
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:12]  # type: ignore[attr-defined]
    print(f"  profile of {n} round trips (own time per round trip, under the profiler):")
    for (path, line, func), (_, calls, tottime, _, _) in rows:
        where = Path(path).name if path != "~" else "builtin"
        print(f"    {tottime / n * 1e6:7.1f} us  {calls / n:4.1f}x  {where}:{line} {func}")


# --- 3. peak RSS of the command line -----------------------------------------------------------------
def _pump(size: int, sink: io.BufferedWriter, digest: hashlib._Hash) -> None:
    block = bytearray(os.urandom(MiB))
    sent = 0
    try:
        while sent < size:
            block[:8] = sent.to_bytes(8, "big")  # no two blocks alike
            chunk = block[: min(MiB, size - sent)]
            digest.update(chunk)
            sink.write(chunk)
            sent += len(chunk)
    finally:
        sink.close()


class PeakRss:
    """Polls a process's VmHWM (its peak resident set since exec). Not wait4's ru_maxrss: a child
    started by fork or vfork inherits the parent's high-water mark, which here is hundreds of MB."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kib = 0
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        while True:
            try:
                with open(f"/proc/{self.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            self.peak_kib = max(self.peak_kib, int(line.split()[1]))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                return
            time.sleep(0.01)

    def mb(self) -> float:
        self.thread.join()
        return self.peak_kib * 1024 / 1e6


def cli_pipeline(size: int, env: dict[str, str], key: str) -> tuple[float, float, float, bool]:
    """(encrypt peak RSS MB, decrypt peak RSS MB, seconds, round trip intact)."""
    sent, got = hashlib.sha256(), hashlib.sha256()
    t = time.perf_counter()
    enc = subprocess.Popen([*KMSCTL, "encrypt", "--key", key, "-", "-"], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, env=env)
    dec = subprocess.Popen([*KMSCTL, "decrypt", "--key", key, "-", "-"], stdin=enc.stdout, stdout=subprocess.PIPE,
                           env=env)
    assert enc.stdin is not None and enc.stdout is not None and dec.stdout is not None
    watch = [PeakRss(enc.pid), PeakRss(dec.pid)]
    enc.stdout.close()  # the decrypting process holds the pipe now
    feeder = threading.Thread(target=_pump, args=(size, enc.stdin, sent))
    feeder.start()
    while chunk := dec.stdout.read(MiB):
        got.update(chunk)
    feeder.join()
    for proc in (enc, dec):
        assert proc.wait() == 0, f"kmsctl exited {proc.returncode}"
    seconds = time.perf_counter() - t
    return watch[0].mb(), watch[1].mb(), seconds, sent.digest() == got.digest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", default=os.environ.get("ENVELOPE_BENCH_FULL") == "1",
                    help="256 MiB in process and 1 GiB through the CLI")
    ap.add_argument("--size-mib", type=int, help="in-process size (default 64, --full 256)")
    ap.add_argument("--cli-mib", type=int, help="size streamed through the CLI (default 256, --full 1024)")
    ap.add_argument("--round-trips", type=int, default=3000)
    args = ap.parse_args()
    size = (args.size_mib or (256 if args.full else 64)) * MiB
    cli_size = (args.cli_mib or (1024 if args.full else 256)) * MiB
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)

    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        kms = KmsClient(EmbeddedBackend(state), "cn-north-4")
        key_id = kms.create_key("bench").key_id
        kms.create_alias("alias/bench", key_id)
        key = envelope.RegionalKey("cn-north-4", key_id)

        print(f"1. throughput, {size // MiB} MiB in process, frames of {FRAME // 1024} KiB (MB/s, best of 3)")
        r = throughput(size, kms, key)
        for name, value in r.items():
            print(f"  {name:28s} {value:9.0f}")

        print(f"2. 1 KiB round trips on the embedded backend, {args.round_trips} per sample")
        rt = round_trips(kms, key, args.round_trips)
        print(f"  envelope encrypt+decrypt     {rt['rt_per_s']:9.0f} /s")
        for name in ("GenerateDataKey", "DescribeKey", "Decrypt"):
            print(f"  emulator {name:19s} {rt[name + '_us']:9.1f} us/call")
        print(f"  the three KMS calls alone    {rt['kms_only_per_s']:9.0f} /s")
        round_trip_profile(kms, key)

        print(f"3. peak RSS, {cli_size // MiB} MiB through kmsctl encrypt - - | kmsctl decrypt - -")
        env = {**os.environ, "KMS_EMULATOR_PATH": str(state),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        env.pop("KMS_ENDPOINT", None)
        idle_enc, idle_dec, _, ok_idle = cli_pipeline(0, env, "cn-north-4:alias/bench")
        enc_rss, dec_rss, seconds, ok = cli_pipeline(cli_size, env, "cn-north-4:alias/bench")
        assert ok and ok_idle, "the CLI round trip changed the data"
        print(f"  encrypt peak RSS {enc_rss:6.1f} MB (empty input {idle_enc:5.1f} MB)")
        print(f"  decrypt peak RSS {dec_rss:6.1f} MB (empty input {idle_dec:5.1f} MB)")
        print(f"  pipeline {cli_size / 1e6 / seconds:6.0f} MB/s, output identical to input")

    peak = max(enc_rss, dec_rss)
    print(f"ratio envelope_encrypt_stream_vs_raw_aesgcm {r['ours_stream_enc'] / r['raw_stream_enc']:.2f}")
    print(f"ratio envelope_decrypt_stream_vs_raw_aesgcm {r['ours_stream_dec'] / r['raw_stream_dec']:.2f}")
    print(f"ratio envelope_encrypt_bytes_vs_raw_aesgcm {r['ours_bytes_enc'] / r['raw_bytes_enc']:.2f}")
    print(f"ratio envelope_decrypt_bytes_vs_raw_aesgcm {r['ours_bytes_dec'] / r['raw_bytes_dec']:.2f}")
    for label in ("default", "64k"):
        for op in ("enc", "dec"):
            verb = "encrypt" if op == "enc" else "decrypt"
            print(f"ratio envelope_{verb}_stream_vs_esdk_{label}_frames "
                  f"{r[f'ours_stream_{op}'] / r[f'esdk_{label}_stream_{op}']:.1f}")
            print(f"ratio envelope_{verb}_bytes_vs_esdk_{label}_frames "
                  f"{r[f'ours_bytes_{op}'] / r[f'esdk_{label}_bytes_{op}']:.1f}")
    print(f"ratio roundtrips_1k_vs_bare_kms_calls {rt['rt_per_s'] / rt['kms_only_per_s']:.2f}")
    print(f"ratio roundtrips_1k_per_s_over_goal_4200 {rt['rt_per_s'] / 4200:.2f}")
    print(f"ratio cli_peak_rss_vs_empty_input {peak / max(idle_enc, idle_dec):.2f}")
    print(f"ratio cli_peak_rss_mb_over_goal_150 {peak / 150:.2f}")


if __name__ == "__main__":
    main()
