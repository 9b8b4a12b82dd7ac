"""`kmsctl serve`, in each wire dialect it speaks (Volcengine, Huawei Cloud), against moto's KMS
server and against its own HTTP stack bare: the same raw HTTP loop on one keep-alive connection.

For each of CreateKey, DescribeKey, Encrypt, Decrypt and GenerateDataKey, both servers get the same
number of sequential requests from this process over one keep-alive connection (http.client). Our
requests are signed one by one as that cloud's SDK signs them (Volcengine's HMAC-SHA256, Huawei's
SDK-HMAC-SHA256: the signature is part of what a client pays); moto's are not (it does not check
them). Both servers run as subprocesses on loopback; each dialect is compared with moto in its own
alternating rounds.

The third column is the floor: benchmarks/bare_app.py, the same uvicorn with httptools and uvloop
answering a fixed JSON document, sent the same signed requests of the dialect. Our ops/s over the bare
app's is the share of each request that is not ours; 1 would mean our code costs nothing.
benchmarks/server_essential.py adds, for Encrypt, the bare app doing only the work no KMS server can skip
(the signature, the JSON, AES-GCM): how close to the floor any server could come.
benchmarks/server_stages.py shows, in-process, where our share goes (signature, routing, parsing, the
emulator, shaping, serialization): with `--cold 4` at the cost each stage has live, where the caches are
cold at each request's start. benchmarks/server_cpu.py gives both servers' CPU per request to the
nanosecond, with their context switches.

Each op runs in interleaved rounds (ours, moto, bare, ours, moto, bare, ...); X is the median over
rounds of our ops/s over the other's in the same round, so a burst of load from elsewhere on this 2-core
machine moves one round, not the figure. CreateKey (moto's slowest by far) gets a third of the requests.

Prints each op's ops/s, p50 and p99 for the three, the CPU time our server and the bare app spent per
request (from /proc: each request's cost measured in the server process itself), a line
`ratio server_over_moto DIALECT OP X` and `ratio server_over_bare DIALECT OP Y` per op, and last the
minimum over the ops of each per dialect.
Goals: X >= 5 for every op and dialect, p99 < 5 ms for the crypto ops, Y >= 0.85 for Encrypt, Decrypt,
GenerateDataKey and DescribeKey (CreateKey makes a durable commit, which the bare app does not).

    .venv/bin/python benchmarks/server_vs_moto.py            # 600 requests per op in 10 rounds
    .venv/bin/python benchmarks/server_vs_moto.py --n 3000   # or BENCH_FULL=1
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from provider.dialects.huaweicloud import signer as huawei_signer  # noqa: E402
from provider.dialects.volcengine import signer  # noqa: E402

ACCESS_KEY = "AKBENCH000000001"
SECRET_KEY = "bench-secret-key-0123456789abcdef"
REGION = "cn-north-4"
OPS = ["CreateKey", "DescribeKey", "Encrypt", "Decrypt", "GenerateDataKey"]
CRYPTO_OPS = {"Encrypt", "Decrypt", "GenerateDataKey"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_listening(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{what} did not listen on {port}")


def stop(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    """Each server terminated, then waited for; killed if it has not stopped in 15 s (a graceful stop
    waits for open connections)."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


class Client:
    """One keep-alive connection; `call` answers (status, parsed JSON)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.host = f"127.0.0.1:{port}"
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        try:
            self.conn.request("POST", path, body=body, headers=headers)
            resp = self.conn.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closed the connection while it sat idle (the other dialect's rounds): reopen it.
            self.conn.close()
            self.conn.request("POST", path, body=body, headers=headers)
            resp = self.conn.getresponse()
        data = resp.read()
        return resp.status, json.loads(data)


class Ours(Client):
    def call(self, action: str, params: dict[str, Any]) -> Any:
        body = json.dumps(params, separators=(",", ":")).encode()
        query = (("Action", action), ("Version", signer.VERSION))
        headers = signer.sign(method="POST", host=self.host, path="/", query=query, body=body,
                              access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION,
                              headers={"Content-Type": "application/json"})
        headers["Content-Type"] = "application/json"
        status, doc = self.post(f"/?Action={action}&Version={signer.VERSION}", body, headers)
        if status != 200:
            raise RuntimeError(f"kmsctl serve {action}: {status} {doc}")
        return doc["Result"]


class Huawei(Client):
    """Huawei Cloud KMS's v1.0 API, the project id being the region (as the emulator accepts it)."""

    def call(self, op: str, params: dict[str, Any]) -> Any:
        path = f"/v1.0/{REGION}/kms/{op}"
        body = json.dumps(params, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json;charset=UTF-8"}
        headers |= huawei_signer.sign("POST", path, [], headers, body, self.host, ACCESS_KEY, SECRET_KEY)
        status, doc = self.post(path, body, headers)
        if status != 200:
            raise RuntimeError(f"kmsctl serve (huaweicloud) {op}: {status} {doc}")
        return doc


class Moto(Client):
    AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/kms/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64)

    def call(self, action: str, params: dict[str, Any]) -> Any:
        body = json.dumps(params, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"TrentService.{action}",
                   "Authorization": self.AUTH, "X-Amz-Date": "20240101T000000Z"}
        status, doc = self.post("/", body, headers)
        if status != 200:
            raise RuntimeError(f"moto {action}: {status} {doc}")
        return doc


def workloads(client: Ours | Huawei | Moto) -> dict[str, Callable[[int], Any]]:
    """The five operations with fitting parameters for each server's dialect."""
    plaintext = base64.b64encode(os.urandom(32)).decode()
    if isinstance(client, Huawei):
        hw = client
        hw_id = hw.call("create-key", {"key_alias": "bench-main-hw"})["key_info"]["key_id"]
        hw_blob = hw.call("encrypt-data", {"key_id": hw_id, "plain_text": plaintext})["cipher_text"]
        return {
            "CreateKey": lambda i: hw.call("create-key", {"key_alias": f"bench-hw-{i}"}),
            "DescribeKey": lambda i: hw.call("describe-key", {"key_id": hw_id}),
            "Encrypt": lambda i: hw.call("encrypt-data", {"key_id": hw_id, "plain_text": plaintext}),
            "Decrypt": lambda i: hw.call("decrypt-data", {"cipher_text": hw_blob}),
            "GenerateDataKey": lambda i: hw.call("create-datakey", {"key_id": hw_id, "datakey_length": "256"}),
        }
    if isinstance(client, Ours):
        key_id = client.call("CreateKey", {"KeyringName": "default", "KeyName": "bench-main"})["Key"]["ID"]
        blob = client.call("Encrypt", {"KeyID": key_id, "Plaintext": plaintext})["CiphertextBlob"]
        return {
            "CreateKey": lambda i: client.call("CreateKey", {"KeyringName": "default", "KeyName": f"bench-{i}"}),
            "DescribeKey": lambda i: client.call("DescribeKey", {"KeyID": key_id}),
            "Encrypt": lambda i: client.call("Encrypt", {"KeyID": key_id, "Plaintext": plaintext}),
            "Decrypt": lambda i: client.call("Decrypt", {"CiphertextBlob": blob}),
            "GenerateDataKey": lambda i: client.call("GenerateDataKey", {"KeyID": key_id, "NumberOfBytes": 32}),
        }
    key_id = client.call("CreateKey", {"Description": "bench-main"})["KeyMetadata"]["KeyId"]
    blob = client.call("Encrypt", {"KeyId": key_id, "Plaintext": plaintext})["CiphertextBlob"]
    return {
        "CreateKey": lambda i: client.call("CreateKey", {"Description": f"bench-{i}"}),
        "DescribeKey": lambda i: client.call("DescribeKey", {"KeyId": key_id}),
        "Encrypt": lambda i: client.call("Encrypt", {"KeyId": key_id, "Plaintext": plaintext}),
        "Decrypt": lambda i: client.call("Decrypt", {"CiphertextBlob": blob}),
        "GenerateDataKey": lambda i: client.call("GenerateDataKey", {"KeyId": key_id, "NumberOfBytes": 32}),
    }


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) a process has used so far, from /proc; 0 where there is none."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Tally:
    """Latencies of one op against one server, gathered over several rounds, each round's ops/s, and the
    server process's CPU time over the rounds (our share of a request, measured where it is spent)."""

    def __init__(self, pid: int | None = None) -> None:
        self.latencies: list[float] = []
        self.seconds = 0.0
        self.rounds: list[float] = []
        self.pid = pid
        self.cpu = 0.0

    def run(self, fn: Callable[[int], Any], n: int, offset: int) -> None:
        cpu = cpu_seconds(self.pid) if self.pid else 0.0
        start = time.perf_counter()
        for i in range(n):
            t = time.perf_counter()
            fn(offset + i)
            self.latencies.append(time.perf_counter() - t)
        took = time.perf_counter() - start
        if self.pid:
            self.cpu += cpu_seconds(self.pid) - cpu
        self.seconds += took
        self.rounds.append(n / took)

    def cpu_us(self) -> float:
        """The server's CPU microseconds per request (at the clock tick's resolution, 10 ms over the rounds)."""
        return self.cpu / max(1, len(self.latencies)) * 1e6

    def over(self, other: Tally) -> float:
        """The median over rounds of this server's ops/s over the other's in the same round."""
        return statistics.median(mine / theirs for mine, theirs in zip(self.rounds, other.rounds, strict=True))

    def figures(self) -> tuple[float, float, float]:
        """(ops/s, p50 ms, p99 ms)."""
        lat = sorted(self.latencies)
        return (len(lat) / self.seconds, lat[len(lat) // 2] * 1000,
                lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000)


def compare(sides: list[Callable[[int], Any]], n: int, warmup: int, rounds: int,
            pids: list[int | None]) -> list[Tally]:
    """The servers in alternating rounds: a burst of load from elsewhere on the machine falls on all."""
    for i in range(warmup):
        for side in sides:
            side(i)
    tallies = [Tally(pid) for pid in pids]
    per_round = max(1, n // rounds)
    for r in range(rounds):
        offset = warmup + r * per_round
        for side, tally in zip(sides, tallies, strict=True):
            tally.run(side, per_round, offset)
    return tallies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    full = bool(os.environ.get("BENCH_FULL"))
    parser.add_argument("--n", type=int, default=3000 if full else 600, help="measured requests per op")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds per op")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kms-bench-") as tmp:
        ours_port, moto_port, bare_port = free_port(), free_port(), free_port()
        env = {**os.environ, "KMS_ACCESS_KEY": ACCESS_KEY, "KMS_SECRET_KEY": SECRET_KEY,
               # The service's quota (100 keys a region) would stop a CreateKey loop early.
               "KMS_KEY_QUOTA": str(10 * (args.n + args.warmup) + 10)}
        ours_proc = subprocess.Popen(
            [sys.executable, "-c", "import sys; from provider.cli import main; sys.argv[0] = 'kmsctl'; main()",
             "serve", "--port", str(ours_port), "--state", str(Path(tmp) / "state"), "--log-level", "warning"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        moto_proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        bare_proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("bare_app.py")), str(bare_port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_listening(ours_port, ours_proc, "kmsctl serve")
            wait_listening(moto_port, moto_proc, "moto server")
            wait_listening(bare_port, bare_proc, "bare uvicorn app")
            moto_work = workloads(Moto(moto_port))
            dialects = {"volcengine": (workloads(Ours(ours_port)), workloads(Ours(bare_port))),
                        "huaweicloud": (workloads(Huawei(ours_port)), workloads(Huawei(bare_port)))}
            print(f"{args.n} requests per op and server ({args.n // 3} for CreateKey) in {args.rounds} interleaved "
                  f"rounds, one keep-alive connection each, {args.warmup} warm-up; ratio = median of the rounds'")
            ratios: dict[str, dict[str, float]] = {}
            floors: dict[str, dict[str, float]] = {}
            p99s: list[tuple[str, str, float]] = []
            for dialect, (ours_work, bare_work) in dialects.items():
                print(f"{dialect:<16}{'server ops/s':>13}{'p50 ms':>8}{'p99 ms':>8}{'moto ops/s':>12}"
                      f"{'p50 ms':>8}{'p99 ms':>8}{'bare ops/s':>12}{'cpu us/req':>12}{'bare cpu':>10}")
                ratios[dialect], floors[dialect] = {}, {}
                for op in OPS:
                    n = args.n // 3 if op == "CreateKey" else args.n
                    mine, theirs, bare = compare([ours_work[op], moto_work[op], bare_work[op]], n, args.warmup,
                                                 args.rounds, [ours_proc.pid, None, bare_proc.pid])
                    s, m, b = mine.figures(), theirs.figures(), bare.figures()
                    ratios[dialect][op] = mine.over(theirs)
                    floors[dialect][op] = mine.over(bare)
                    if op in CRYPTO_OPS:
                        p99s.append((dialect, op, s[2]))
                    print(f"{op:<16}{s[0]:>13.0f}{s[1]:>8.2f}{s[2]:>8.2f}{m[0]:>12.0f}{m[1]:>8.2f}{m[2]:>8.2f}"
                          f"{b[0]:>12.0f}{mine.cpu_us():>12.0f}{bare.cpu_us():>10.0f}")
            for dialect, op, p99 in p99s:
                print(f"p99 {dialect} {op} {p99:.2f} ms ({'ok' if p99 < 5.0 else 'over the 5 ms goal'})")
            for dialect, by_op in ratios.items():
                for op, ratio in by_op.items():
                    print(f"ratio server_over_moto {dialect} {op} {ratio:.2f}")
                    print(f"ratio server_over_bare {dialect} {op} {floors[dialect][op]:.2f}")
            for dialect, by_op in floors.items():
                # CreateKey commits to disk, the bare app does not: the goal covers the other four.
                print(f"ratio server_over_bare_min {dialect} "
                      f"{min(v for op, v in by_op.items() if op != 'CreateKey'):.2f}")
            for dialect, by_op in ratios.items():
                print(f"ratio server_over_moto_min {dialect} {min(by_op.values()):.2f}")
        finally:
            stop((ours_proc, moto_proc, bare_proc))


if __name__ == "__main__":
    main()
