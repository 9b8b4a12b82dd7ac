"""The floor under `kmsctl serve`: the same HTTP stack (uvicorn, httptools, uvloop) with nothing of ours.

It reads each request's body and answers one fixed JSON document of the right shape for the dialect the
path names (Volcengine's `/?Action=...` envelope, Huawei Cloud's `/v1.0/...` object), with the headers our
server sends. benchmarks/server_vs_moto.py runs it beside `kmsctl serve` on the same signed loop: the
ratio of the two is the share of each request that is ours (signature check, routing, parsing, the
emulator, shaping).

    python benchmarks/bare_app.py PORT
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

# Enough for the benchmark's set-up calls (a key id, a ciphertext) in either dialect.
VOLCENGINE = json.dumps({
    "ResponseMetadata": {"RequestId": "0" * 32, "Action": "Encrypt", "Version": "2021-02-18", "Service": "kms",
                         "Region": "cn-north-4"},
    "Result": {"Key": {"ID": "00000000-0000-0000-0000-000000000000"}, "CiphertextBlob": "AAAA"},
}, separators=(",", ":")).encode()
HUAWEI = json.dumps({"key_info": {"key_id": "00000000-0000-0000-0000-000000000000"}, "cipher_text": "AAAA"},
                    separators=(",", ":")).encode()


async def app(scope: Scope, receive: Callable[[], Awaitable[Message]],
              send: Callable[[Message], Awaitable[None]]) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:  # the whole body, as our server reads it
        message = await receive()
        more = message.get("more_body", False)
    body = HUAWEI if scope["path"].startswith("/v") else VOLCENGINE
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"x-request-id", b"0" * 32)]})
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), http="httptools", loop="uvloop", lifespan="off",
                access_log=False, server_header=False, log_level="warning")
