"""Bad input of any shape answers a 4xx with a code and a message naming the parameter, never a 5xx
(no input ever answers 500: docs/wire-protocol.md)."""

from __future__ import annotations

import base64
import json
import socket

import pytest

from provider.dialects.volcengine import signer
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, KmsctlServer
from tests.wire.conftest import KR, post

GOOD_B64 = base64.b64encode(b"x").decode()

# name -> (action or None, body (bytes or params), query override or None, expected status, words the message has)
CASES: dict[str, tuple[str | None, bytes | dict[str, object], list[tuple[str, str]] | None, int, list[str]]] = {
    "malformed JSON": ("CreateKey", b'{"KeyName": ', None, 400, ["body", "not JSON"]),
    "JSON array": ("CreateKey", b"[]", None, 400, ["body", "JSON object", "array"]),
    "JSON string": ("CreateKey", b'"KeyName"', None, 400, ["body", "JSON object", "string"]),
    "JSON number": ("CreateKey", b"42", None, 400, ["body", "JSON object", "number"]),
    "JSON null": ("CreateKey", b"null", None, 400, ["body", "JSON object", "null"]),
    "not UTF-8": ("CreateKey", b'{"KeyName": "\xff\xfe"}', None, 400, ["body", "UTF-8"]),
    "nested 30000 deep": ("CreateKey", b"[" * 30_000 + b"]" * 30_000, None, 400, ["body", "deeply"]),
    "a 5000-digit number": ("GenerateDataKey", b'{"KeyID": "k", "NumberOfBytes": ' + b"9" * 5000 + b"}", None,
                            400, ["body"]),
    "NaN": ("GenerateDataKey", b'{"KeyID": "k", "NumberOfBytes": NaN}', None, 400, ["NumberOfBytes"]),
    "missing required parameter": ("CreateKey", {}, None, 400, ["KeyName", "required"]),
    "unknown parameter": ("CreateKey", {**KR, "KeyName": "k", "Colour": "red"}, None, 400, ["Colour"]),
    "number for a string": ("CreateKey", {**KR, "KeyName": 5}, None, 400, ["KeyName"]),
    "string for a list": ("CreateKey", {**KR, "KeyName": "k", "Tags": "a=b"}, None, 400, ["Tags"]),
    "tag without a key": ("CreateKey", {**KR, "KeyName": "k", "Tags": [{"Value": "v"}]}, None, 400, ["Tags", "Key"]),
    "string for a number": ("GenerateDataKey", {"KeyID": "k", "NumberOfBytes": "32"}, None, 400, ["NumberOfBytes"]),
    "boolean for a number": ("ScheduleKeyDeletion", {"KeyID": "k", "PendingWindowInDays": True}, None, 400,
                             ["PendingWindowInDays"]),
    "context of numbers": ("Encrypt", {"KeyID": "k", "Plaintext": GOOD_B64, "EncryptionContext": {"a": 1}}, None,
                           400, ["EncryptionContext"]),
    "bad base64": ("Encrypt", {"KeyID": "k", "Plaintext": "not*base64!"}, None, 400, ["Plaintext", "base64"]),
    "base64 of the wrong type": ("Decrypt", {"CiphertextBlob": 12345}, None, 400, ["CiphertextBlob"]),
    "truncated ciphertext": ("Decrypt", {"CiphertextBlob": base64.b64encode(b"\x01\x02\x03").decode()}, None,
                             400, ["CiphertextBlob"]),
    "name too long": ("CreateKey", {**KR, "KeyName": "k" * 5000}, None, 400, ["KeyName"]),
    "name with a NUL": ("CreateKey", {**KR, "KeyName": "a\u0000b"}, None, 400, ["KeyName"]),
    "name ending /default": ("CreateKey", {**KR, "KeyName": "team/default"}, None, 400, ["KeyName", "/default"]),
    "data key of 0 bytes": ("GenerateDataKey", {"KeyID": "k", "NumberOfBytes": 0}, None, 400, ["NumberOfBytes"]),
    "pending window of 3 days": ("ScheduleKeyDeletion", {"KeyID": "k", "PendingWindowInDays": 3}, None, 400,
                                 ["PendingWindowInDays"]),
    "ClientToken (Volcengine's CreateKey has none)": ("CreateKey", {**KR, "KeyName": "k", "ClientToken": "t-1"}, None,
                                                      400, ["ClientToken", "not a parameter of CreateKey"]),
    "a 100 KiB body": ("Encrypt", {"KeyID": "k", "Plaintext": "A" * 100_000}, None, 413, ["body", "limit"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_answers_4xx_naming_the_parameter(kmsctl: KmsctlServer, case: str) -> None:
    action, body, query, status, words = CASES[case]
    answer = post(kmsctl.endpoint, action, body if isinstance(body, bytes) else dict(body), query=query)
    assert answer.status == status, answer.text[:500]
    assert answer.error is not None, answer.text[:500]
    assert answer.error["Code"] == "InvalidParameter"
    for word in words:
        assert word in answer.error["Message"], answer.error["Message"]
    assert "Result" not in answer.doc


# Volcengine's gateway refuses an Action it has no operation for (or a Version it does not serve) with
# 404 InvalidActionOrVersion, "Could not find operation {Action} for version {Version}".
UNKNOWN: dict[str, tuple[str | None, list[tuple[str, str]] | None]] = {
    "wrong Version": (None, [("Action", "DescribeKeys"), ("Version", "2020-01-01")]),
    "no Version": (None, [("Action", "DescribeKeys")]),
    "unknown action": ("StealAllKeys", None),
    "no action": (None, [("Version", "2021-02-18")]),
    "action twice": (None, [("Action", "DescribeKeys"), ("Action", "CreateKey"), ("Version", "2021-02-18")]),
    "action in another alphabet": (None, [("Action", "Créer\u202eKey"), ("Version", "2021-02-18")]),
    "an action of the SDK this service does not emulate": ("CreateSecret", None),
}


@pytest.mark.parametrize("case", list(UNKNOWN))
def test_an_operation_volcengine_lacks_is_refused_as_its_gateway_does(kmsctl: KmsctlServer, case: str) -> None:
    action, query = UNKNOWN[case]
    answer = post(kmsctl.endpoint, action, {}, query=query)
    assert answer.status == 404, answer.text[:500]
    assert answer.error is not None and answer.error["Code"] == "InvalidActionOrVersion", answer.text[:500]
    assert answer.error["Message"].startswith("Could not find operation ")
    assert "Result" not in answer.doc


def test_the_server_survives_the_matrix(kmsctl: KmsctlServer) -> None:
    """After every bad request above it still serves (and no bad request left a key behind)."""
    answer = post(kmsctl.endpoint, "DescribeKeys", {"PageSize": 100})
    assert answer.status == 200
    assert not [k for k in answer.result["Keys"] if k["KeyName"] in ("k", "a\u0000b", "team/default")]


def test_oversized_body_is_refused_before_the_signature(kmsctl: KmsctlServer) -> None:
    answer = post(kmsctl.endpoint, "Encrypt", b"{" + b" " * 200_000 + b"}", sign=False)
    assert answer.status == 413 and answer.error is not None


def test_a_20_mb_body_is_answered_413_not_reset(kmsctl: KmsctlServer) -> None:
    """The client sends all of it and reads the envelope; the server stays up."""
    answer = post(kmsctl.endpoint, "Encrypt", {"KeyID": "k", "Plaintext": "A" * (20 * 1024 * 1024)})
    assert answer.status == 413, answer.text[:300]
    assert answer.error is not None and answer.error["Code"] == "InvalidParameter"
    assert answer.doc["ResponseMetadata"]["Action"] == "Encrypt"
    assert post(kmsctl.endpoint, "DescribeKeys", {}).status == 200


def test_the_http_backend_reads_the_413(kmsctl: KmsctlServer) -> None:
    from provider.domain import model
    from provider.domain.errors import InvalidParameter

    backend = kmsctl.backend(retries=0)
    key = backend.execute("cn-north-4", model.CreateKey(name="big-body"))
    assert isinstance(key, model.Key)
    with pytest.raises(InvalidParameter, match="larger than the limit"):
        backend.execute("cn-north-4", model.Encrypt(key=model.KeyRef(key_id=key.key_id),
                                                    plaintext=b"x" * (20 * 1024 * 1024)))
    backend.close()


def _raw(port: int, head: bytes, body_parts: list[bytes]) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(head)
        try:
            for part in body_parts:
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before the body is all sent
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data


def test_chunked_body_over_the_limit_is_413(kmsctl: KmsctlServer) -> None:
    """No Content-Length to refuse up front: the server counts as it reads."""
    chunk = b"A" * 16384
    body = json.dumps({"KeyID": "k", "Plaintext": ""}).encode()
    headers = signer.sign(method="POST", host=f"127.0.0.1:{kmsctl.port}", path="/",
                          query=[("Action", "Encrypt"), ("Version", "2021-02-18")], body=body,
                          access_key=ACCESS_KEY, secret_key=SECRET_KEY, region="cn-north-4")
    head = (b"POST /?Action=Encrypt&Version=2021-02-18 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
            + b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items()) + b"\r\n")
    parts = [b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(8)] + [b"0\r\n\r\n"]
    status, data = _raw(kmsctl.port, head, parts)
    assert status == 413, data[:300]


def test_garbage_http_is_a_4xx(kmsctl: KmsctlServer) -> None:
    status, _ = _raw(kmsctl.port, b"POST /?Action=Encrypt HTTP/1.1\r\nContent-Length: many\r\n\r\n", [])
    assert 400 <= status < 500
