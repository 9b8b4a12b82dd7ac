"""The floor under `kmsctl serve`: the same HTTP stack (uvicorn, httptools, uvloop) with nothing of ours.

It reads each request's body and answers a fixed JSON document. benchmarks/server_vs_moto.py runs it
beside `kmsctl serve` on the same signed loop: the ratio of the two is the share of each request that
is ours (signature check, routing, parsing, the emulator, shaping).

A fair floor is set up as `kmsctl serve`'s uvicorn is (provider/server/run.py), so that only our own
work differs:
- the same HTTP implementation (`provider.server.run.HTTP`: httptools, head and body in one write) and uvloop, no
  access log, no Server header (the Date header as uvicorn sends it), no proxy headers;
- the same answer per operation: a document of the dialect's shape and of the byte size `kmsctl serve`
  answers that operation with on the benchmark's loop (the Volcengine envelope for `/?Action=...`,
  Huawei Cloud's object for `/v1.0/...`), under the same response headers (Volcengine's content-type;
  Huawei's Content-Type and a 32-character X-Request-Id).
The request id is fixed rather than counted: the floor does not pay for one.

With `--essential` the app does, for Encrypt, the work no KMS server can skip, and nothing else
(benchmarks/server_essential.py measures it): the signature checked (this project's signers, as
`kmsctl serve` checks them), the JSON body parsed, the plaintext AES-GCM-encrypted under a fixed key with a
fresh nonce, the answer built with a counted request id. No key is looked up, no state or rule consulted,
no parameter validated, no error shaped; every other operation gets the fixed answer.

    python benchmarks/bare_app.py PORT [--essential]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from provider.server.run import HTTP  # noqa: E402

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

_KEY_ID = "00000000-0000-4000-8000-000000000000"
_BLOB = "A" * 108  # a 32-byte plaintext's ciphertext blob, base64 (header, nonce, body, tag)
_PLAIN = "A" * 43 + "="  # 32 bytes, base64


def _volcengine(action: str, result: dict[str, Any]) -> bytes:
    return json.dumps({
        "ResponseMetadata": {"RequestId": "0" * 32, "Action": action, "Version": "2021-02-18", "Service": "kms",
                             "Region": "cn-north-4"},
        "Result": result,
    }, separators=(",", ":")).encode()


_VOLCENGINE_KEY = {
    "ID": _KEY_ID, "Trn": "trn:kms:cn-north-4:2100000000:keyrings/default/keys/bench-main", "KeyName": "bench-main",
    "KeySpec": "SYMMETRIC_256", "KeyUsage": "ENCRYPT_DECRYPT", "KeyState": "Enable", "Description": "",
    "Origin": "CloudKMS", "ProtectionLevel": "SOFTWARE", "CreationDate": 1796461801, "UpdateDate": 1796461801113,
    "RotationState": "Disable", "MultiRegion": False, "Tags": [],
}
VOLCENGINE = {
    "CreateKey": _volcengine("CreateKey", {"Key": _VOLCENGINE_KEY}),
    "DescribeKey": _volcengine("DescribeKey", {"Key": _VOLCENGINE_KEY}),
    "Encrypt": _volcengine("Encrypt", {"CiphertextBlob": _BLOB}),
    "Decrypt": _volcengine("Decrypt", {"Plaintext": _PLAIN}),
    "GenerateDataKey": _volcengine("GenerateDataKey", {"CiphertextBlob": _BLOB, "Plaintext": _PLAIN}),
}

_HUAWEI_KEY = {
    "key_id": _KEY_ID, "domain_id": "2100000000", "key_alias": "bench-main-hw", "realm": "cn-north-4",
    "key_spec": "AES_256", "key_usage": "ENCRYPT_DECRYPT", "key_description": "", "creation_date": "1796461801115",
    "scheduled_deletion_date": "", "key_state": "2", "default_key_flag": "0", "key_type": "1", "expiration_time": "",
    "origin": "kms", "key_rotation_enabled": "false", "sys_enterprise_project_id": "0", "keystore_id": "0",
}


def _huawei(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


HUAWEI = {
    "create-key": _huawei({"key_info": {"key_id": _KEY_ID, "domain_id": "2100000000", "region_id": "cn-north-4"}}),
    "describe-key": _huawei({"key_info": _HUAWEI_KEY}),
    "encrypt-data": _huawei({"key_id": _KEY_ID, "cipher_text": "A" * 124}),
    "decrypt-data": _huawei({"key_id": _KEY_ID, "plain_text": _PLAIN, "plain_text_base64": "A" * 60}),
    "create-datakey": _huawei({"key_id": _KEY_ID, "cipher_text": "0" * 162, "plain_text": "0" * 64}),
}
_VOLCENGINE_HEADERS = [(b"content-type", b"application/json")]
_HUAWEI_HEADERS = [(b"Content-Type", b"application/json"), (b"X-Request-Id", b"0" * 32)]


async def app(scope: Scope, receive: Callable[[], Awaitable[Message]],
              send: Callable[[Message], Awaitable[None]]) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:  # the whole body, as our server reads it
        message = await receive()
        more = message.get("more_body", False)
    path: str = scope["path"]
    if path.startswith("/v"):
        body, headers = HUAWEI.get(path.rsplit("/", 1)[-1], HUAWEI["create-key"]), _HUAWEI_HEADERS
    else:
        action = scope["query_string"].split(b"&", 1)[0].removeprefix(b"Action=").decode()
        body, headers = VOLCENGINE.get(action, VOLCENGINE["CreateKey"]), _VOLCENGINE_HEADERS
    await send({"type": "http.response.start", "status": 200,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def essential_app() -> Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
                                 Awaitable[None]]:
    """The bare app, but Encrypt does the work any KMS server must (see the module's docstring)."""
    import base64
    import itertools
    import os

    import orjson
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from server_vs_moto import ACCESS_KEY, SECRET_KEY  # the credentials its clients sign with

    from provider.dialects.huaweicloud import signer as huawei_signer
    from provider.dialects.volcengine import signer as volcengine_signer

    aes = AESGCM(os.urandom(32))
    ids = itertools.count(1)
    secret_for = {ACCESS_KEY: SECRET_KEY}.get

    def seal(plaintext_b64: str, key_id: str) -> str:
        nonce = os.urandom(12)
        return base64.b64encode(b"\x01" + nonce + aes.encrypt(nonce, base64.b64decode(plaintext_b64),
                                                              key_id.encode())).decode()

    async def essential(scope: Scope, receive: Callable[[], Awaitable[Message]],
                        send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        query = scope["query_string"]
        if not (path.endswith("/encrypt-data") or query.startswith(b"Action=Encrypt&")):
            await app(scope, receive, send)
            return
        message = await receive()
        body: bytes = message.get("body", b"")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        params = orjson.loads(body)
        if path.startswith("/v"):
            huawei_signer.verify("POST", path, [], headers, body, secret_for)
            answer = orjson.dumps({"key_id": params["key_id"], "cipher_text": seal(params["plain_text"],
                                                                                    params["key_id"])})
            extra = [(b"Content-Type", b"application/json"), (b"X-Request-Id", b"%032d" % next(ids))]
        else:
            pairs = [(k, v) for k, _, v in (p.partition("=") for p in query.decode("latin-1").split("&"))]
            cred = volcengine_signer.verify(method="POST", path=path, query=pairs, headers=headers, body=body,
                                            secret_for=secret_for)
            answer = orjson.dumps({
                "ResponseMetadata": {"RequestId": f"{next(ids):032d}", "Action": "Encrypt", "Version": "2021-02-18",
                                     "Service": "kms", "Region": cred.region},
                "Result": {"CiphertextBlob": seal(params["Plaintext"], params["KeyID"])},
            })
            extra = _VOLCENGINE_HEADERS
        await send({"type": "http.response.start", "status": 200,
                    "headers": [*extra, (b"content-length", b"%d" % len(answer))]})
        await send({"type": "http.response.body", "body": answer})

    return essential


if __name__ == "__main__":
    served = essential_app() if "--essential" in sys.argv[2:] else app
    uvicorn.run(served, host="127.0.0.1", port=int(sys.argv[1]), http=HTTP, loop="uvloop", lifespan="off",
                access_log=False, proxy_headers=False, server_header=False, log_level="warning")
