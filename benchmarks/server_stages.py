"""Where `kmsctl serve`'s share of a request goes: each stage of one request, timed in-process, in µs.

For Encrypt, Decrypt, GenerateDataKey and DescribeKey in each dialect, one request signed as that cloud's
SDK signs it goes through the server's stages one at a time, each run `--n` times in a row and the median
of `--repeat` such runs reported per call:

- signature: the dialect's signature check (Volcengine's HMAC-SHA256, Huawei Cloud's SDK-HMAC-SHA256);
- routing: the request to its operation and region (Huawei Cloud: method and path to the SDK method);
- decode: the operation's fields read from the body and checked as the SDK's request model types them;
- parse: the fields into the domain action (the handler's `parse`);
- emulator: `Emulator.execute`, the service's rules and its cryptography;
- shape: the result into the answer's document (the handler's `shape`);
- serialize: the answer's envelope, JSON bytes and headers;
- asgi: the whole request through `KmsApp` as uvicorn calls it (body message in, two messages out), and
  `bare`: the same through benchmarks/bare_app.py's fixed answer, the floor of benchmarks/server_vs_moto.py.

The stages' sum is our work; asgi - bare is what the server adds to the HTTP stack's floor in-process (the
socket and HTTP parsing, the same for both, are not here: see benchmarks/server_vs_moto.py for those).

Run hot (the default), a stage is timed n times in a row and finds its code and data in the core's caches:
that is a fraction of what it costs live, where whatever ran between two requests (the client, the
kernel's network path, other processes) has pushed them out. With `--cold MB` each call is timed alone,
after a sweep of MB of bytes and of a heap of small Python objects: at 4 the asgi column comes to the
~100 µs per request that `kmsctl serve` spends live beyond the bare app (benchmarks/server_cpu.py measures
that from the scheduler's account), and each stage shows its live share.

    .venv/bin/python benchmarks/server_stages.py            # --n 2000 --repeat 5
    .venv/bin/python benchmarks/server_stages.py --n 400 --repeat 3 --cold 4
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bare_app  # noqa: E402
from server_vs_moto import ACCESS_KEY, REGION, SECRET_KEY  # noqa: E402

from provider.dialects import Call, WireRequest  # noqa: E402
from provider.dialects.huaweicloud import DIALECT as HUAWEI  # noqa: E402
from provider.dialects.huaweicloud import server as huawei_server  # noqa: E402
from provider.dialects.huaweicloud import signer as huawei_signer  # noqa: E402
from provider.dialects.json_body import write_json  # noqa: E402
from provider.dialects.volcengine import server as volcengine_server  # noqa: E402
from provider.dialects.volcengine import signer as volcengine_signer  # noqa: E402
from provider.emulator import Emulator  # noqa: E402
from provider.server.app import KmsApp  # noqa: E402

HOST = "127.0.0.1:8400"
OPS = ("Encrypt", "Decrypt", "GenerateDataKey", "DescribeKey")
STAGES = ("signature", "routing", "decode", "parse", "emulator", "shape", "serialize")


def secret_for(access_key: str) -> str | None:
    return SECRET_KEY if access_key == ACCESS_KEY else None


def timed(fn: Callable[[], Any], n: int, repeat: int) -> float:
    """The median over `repeat` runs of `fn`'s µs per call, `n` calls a run; with --cold, the median of
    single calls, each after the caches were swept (`evict`)."""
    if COLD:
        times = []
        for _ in range(n * repeat // 4):
            evict()
            start = time.perf_counter_ns()
            fn()
            times.append(time.perf_counter_ns() - start)
        return statistics.median(times) / 1000
    runs = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter_ns() - start) / n / 1000)
    return statistics.median(runs)


# --cold: what runs between two calls. A live server's request finds its code and data pushed out of the
# core's caches (and its pages out of the TLB) by whatever ran since the last one: the client, the
# kernel's network path, other processes. n calls in a row keep all of it in L1/L2 and show a fraction of
# the live cost. The sweep: a C-level copy of a buffer, then a walk over a heap of small Python objects
# (another interpreter's work, spread over many pages); 4 MB of each brings the in-process request to the
# CPU a live `kmsctl serve` spends on it (benchmarks/server_cpu.py).
COLD = bytearray()
_HEAP: list[dict[str, list[Any]]] = []


def evict() -> None:
    bytes(COLD)
    for d in _HEAP:
        for v in d.values():
            v[1]


def volcengine_request(action: str, params: dict[str, Any]) -> WireRequest:
    body = json.dumps(params, separators=(",", ":")).encode()
    query = [("Action", action), ("Version", volcengine_signer.VERSION)]
    headers = volcengine_signer.sign(method="POST", host=HOST, path="/", query=query, body=body,
                                     access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION,
                                     headers={"Content-Type": "application/json"})
    lower = {k.lower(): v for k, v in headers.items()} | {"host": HOST, "content-type": "application/json",
                                                          "content-length": str(len(body))}
    return WireRequest("POST", "/", query, lower, body)


def huawei_request(op: str, params: dict[str, Any]) -> WireRequest:
    path = f"/v1.0/{REGION}/kms/{op}"
    body = json.dumps(params, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json;charset=UTF-8"}
    headers |= huawei_signer.sign("POST", path, [], headers, body, HOST, ACCESS_KEY, SECRET_KEY)
    lower = {k.lower(): v for k, v in headers.items()} | {"host": HOST, "content-length": str(len(body))}
    return WireRequest("POST", path, [], lower, body)


def requests(emulator: Emulator) -> dict[str, dict[str, WireRequest]]:
    """Each op's request in each dialect, on keys made for it (the same as benchmarks/server_vs_moto.py's)."""
    from provider.domain import model

    plaintext = os.urandom(32)
    text = base64.b64encode(plaintext).decode()
    volc_key = emulator.execute(REGION, model.CreateKey(name="bench-main", keyring="default"))
    assert isinstance(volc_key, model.Key)
    blob = emulator.execute(REGION, model.Encrypt(key=model.KeyRef(key_id=volc_key.key_id), plaintext=plaintext))
    hw_key = emulator.execute(REGION, model.CreateKey(name="bench-main-hw"))
    assert isinstance(hw_key, model.Key) and isinstance(blob, model.Ciphertext)
    hw_blob = emulator.execute(REGION, model.Encrypt(key=model.KeyRef(key_id=hw_key.key_id), plaintext=text.encode()))
    assert isinstance(hw_blob, model.Ciphertext)
    return {
        "volcengine": {
            "Encrypt": volcengine_request("Encrypt", {"KeyID": volc_key.key_id, "Plaintext": text}),
            "Decrypt": volcengine_request("Decrypt", {"CiphertextBlob": base64.b64encode(blob.ciphertext).decode()}),
            "GenerateDataKey": volcengine_request("GenerateDataKey", {"KeyID": volc_key.key_id, "NumberOfBytes": 32}),
            "DescribeKey": volcengine_request("DescribeKey", {"KeyID": volc_key.key_id}),
        },
        "huaweicloud": {
            "Encrypt": huawei_request("encrypt-data", {"key_id": hw_key.key_id, "plain_text": text}),
            "Decrypt": huawei_request("decrypt-data", {"cipher_text": base64.b64encode(hw_blob.ciphertext).decode()}),
            "GenerateDataKey": huawei_request("create-datakey", {"key_id": hw_key.key_id, "datakey_length": "256"}),
            "DescribeKey": huawei_request("describe-key", {"key_id": hw_key.key_id}),
        },
    }


def stages(dialect: str, req: WireRequest, emulator: Emulator) -> dict[str, Callable[[], Any]]:
    """Each stage of `req` as a call of its own, on the inputs the stage before it made."""
    if dialect == "volcengine":
        server: Any = volcengine_server
        handlers = volcengine_server.HANDLERS

        def verify() -> Any:
            return volcengine_signer.verify(method=req.method, path=req.path, query=req.query, headers=req.headers,
                                            body=req.body, secret_for=secret_for)

        def route() -> Call:
            return volcengine_server.route(req)._replace(region=REGION)

        def serialize() -> Any:
            return volcengine_server.envelope(call, 200, result=doc)
    else:
        server = HUAWEI.served()
        handlers = huawei_server.HANDLERS

        def verify() -> Any:
            return huawei_signer.verify(req.method, req.path, req.query, req.headers, req.body, secret_for)

        def route() -> Call:
            op, project, _ = server._route(req)
            return Call(req, op.name, HUAWEI.region_of_project(project))

        def serialize() -> Any:
            return write_json(doc.body)

    call = server.decode(route())
    action = server.parse(call)
    result = emulator.execute(REGION, action)
    doc = handlers[call.operation].shape(call, action, result)
    return {
        "signature": verify,
        "routing": route,
        "decode": lambda: server.decode(call),
        "parse": lambda: server.parse(call),
        "emulator": lambda: emulator.execute(REGION, action),
        "shape": lambda: handlers[call.operation].shape(call, action, result),
        "serialize": serialize,
    }


class Asgi:
    """One request through an ASGI app as uvicorn hands it over: scope, one body message, two sends."""

    def __init__(self, app: Any, req: WireRequest) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.scope = {"type": "http", "method": req.method, "path": req.path,
                      "query_string": "&".join(f"{k}={v}" for k, v in req.query).encode(),
                      "headers": [(k.encode(), v.encode()) for k, v in req.headers.items()]}
        self.message = {"type": "http.request", "body": req.body, "more_body": False}
        self.started: Any = None  # the last answer's start (kept alone: a growing list would load the collector)

    async def _receive(self) -> Any:
        return self.message

    async def _send(self, message: Any) -> None:
        if message["type"] == "http.response.start":
            self.started = message

    async def _many(self, n: int) -> None:
        for _ in range(n):
            await self.app(self.scope, self._receive, self._send)

    async def _cold(self, n: int) -> list[int]:
        times = []
        for _ in range(n):
            evict()
            start = time.perf_counter_ns()
            await self.app(self.scope, self._receive, self._send)
            times.append(time.perf_counter_ns() - start)
        return times

    def timed(self, n: int, repeat: int) -> float:
        self.loop.run_until_complete(self._many(1))
        if COLD:
            return statistics.median(self.loop.run_until_complete(self._cold(n * repeat // 4))) / 1000
        runs = []
        for _ in range(repeat):
            start = time.perf_counter_ns()
            self.loop.run_until_complete(self._many(n))
            runs.append((time.perf_counter_ns() - start) / n / 1000)
        return statistics.median(runs)

    def status(self) -> int:
        self.loop.run_until_complete(self.app(self.scope, self._receive, self._send))
        status: int = self.started["status"]
        return status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="calls of each stage a run")
    parser.add_argument("--repeat", type=int, default=5, help="runs; the median is reported")
    parser.add_argument("--cold", type=float, default=0, metavar="MB",
                        help="sweep this many MB through the caches before each call (4: twice a core's L2), "
                        "timing calls one by one, as a live server meets them")
    args = parser.parse_args()
    COLD.extend(bytes(int(args.cold * 1024 * 1024)))
    _HEAP.extend({f"k{i}": [i, str(i), (i,)]} for i in range(int(args.cold * 5000)))
    with tempfile.TemporaryDirectory(prefix="kms-stages-") as tmp:
        emulator = Emulator(Path(tmp) / "state")
        app = KmsApp(emulator, {ACCESS_KEY: SECRET_KEY})
        try:
            reqs = requests(emulator)
            print(f"µs per call, median of {args.repeat} runs of {args.n}" if not args.cold else
                  f"µs per call, median of {args.n * args.repeat // 4} single calls, {args.cold:g} MB swept before "
                  "each")
            print(f"{'':<28}" + "".join(f"{s:>10}" for s in (*STAGES, "sum", "asgi", "bare", "ours/bare")))
            for dialect, by_op in reqs.items():
                for op, req in by_op.items():
                    figures = [timed(fn, args.n, args.repeat) for fn in stages(dialect, req, emulator).values()]
                    ours, bare = Asgi(app, req), Asgi(bare_app.app, req)
                    if ours.status() != 200:
                        raise RuntimeError(f"{dialect} {op}: the server answered {ours.status()}")
                    asgi, floor = ours.timed(args.n, args.repeat), bare.timed(args.n, args.repeat)
                    row = [*figures, sum(figures), asgi, floor]
                    print(f"{dialect + ' ' + op:<28}" + "".join(f"{v:>10.1f}" for v in row) + f"{asgi / floor:>10.1f}")
        finally:
            app.close()


if __name__ == "__main__":
    main()
