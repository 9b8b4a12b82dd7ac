"""Bad requests in the huaweicloud dialect get Huawei's error body naming the problem, never a 500."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from provider.dialects.huaweicloud import server as huawei_server
from provider.dialects.huaweicloud import signer
from provider.emulator import Emulator
from provider.server.app import KmsApp
from tests.huawei.sdk_models import OPERATIONS
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, ThreadServer


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    app = KmsApp(Emulator(tmp_path_factory.mktemp("bad") / "state"), {ACCESS_KEY: SECRET_KEY})
    with ThreadServer(app) as server:
        yield server.endpoint


def send(endpoint: str, method: str, path: str, body: bytes = b"", query: list[tuple[str, str]] | None = None,
         sign: bool = True) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json", "X-Project-Id": path.split("/")[2]}
    if sign:
        headers |= signer.sign(method, path, query or [], headers, body, urlsplit(endpoint).netloc, ACCESS_KEY,
                               SECRET_KEY)
    url = endpoint + path + ("?" + signer.canonical_query(query) if query else "")
    answer = requests.request(method, url, data=body, headers=headers, timeout=30)
    return answer.status_code, answer.json() if answer.content else {}


@pytest.mark.parametrize(("method", "path", "body", "status", "code", "words"), [
    ("POST", "/v1.0/cn-north-4/kms/create-key", b"{not json", 400, "KMS.0202", "not JSON"),
    ("POST", "/v1.0/cn-north-4/kms/create-key", b"[]", 400, "KMS.0202", "JSON object"),
    ("POST", "/v1.0/cn-north-4/kms/create-key", b'{"key_alias": "k", "colour": "red"}', 400, "KMS.0308",
     "create_key takes no parameter colour"),
    ("POST", "/v1.0/cn-north-4/kms/create-key", b"{}", 400, "KMS.0204", "create_key needs key_alias"),
    ("POST", "/v1.0/cn-north-4/kms/create-key", b'{"key_alias": 7}', 400, "KMS.0308", "key_alias must be a string"),
    ("POST", "/v1.0/cn-north-4/kms/create-key", b'{"key_alias": "k", "key_spec": "AES_999"}', 400, "KMS.0308",
     "not a key spec"),
    ("POST", "/v1.0/cn-north-4/kms/schedule-key-deletion", b'{"key_id": "k", "pending_days": "soon"}', 400,
     "KMS.0308", "pending_days must be a whole number"),
    ("POST", "/v1.0/cn-north-4/kms/decrypt-data", b'{"cipher_text": "***"}', 400, "KMS.0308", "not valid base64"),
    # The API gateway matches method and path together; anything else is no API (404 APIGW.0101).
    ("GET", "/v1.0/cn-north-4/kms/create-key", b"", 404, "APIGW.0101", "The API does not exist"),
    ("POST", "/v1.0/cn-north-4/kms/create-grant", b"{}", 404, "APIGW.0101", "The API does not exist"),
    ("POST", "/v1.0/cn-north-4/kms/advance-clock", b'{"seconds": 60}', 404, "APIGW.0101", "The API does not exist"),
    ("POST", "/v1.0/cn-north-4/kms/teleport-key", b"{}", 404, "APIGW.0101", "The API does not exist"),
    ("POST", "/v1.0/nowhere/kms/create-key", b'{"key_alias": "k"}', 400, "KMS.0201", "names no region"),
])
def test_bad_requests_name_the_problem(endpoint: str, method: str, path: str, body: bytes, status: int, code: str,
                                       words: str) -> None:
    got, doc = send(endpoint, method, path, body)
    error = doc.get("error", doc)  # KMS nests its errors; the gateway's own refusals are flat
    assert (got, error["error_code"]) == (status, code)
    assert words in error["error_msg"]
    assert set(error) == {"error_code", "error_msg"}


def test_unsigned_is_401(endpoint: str) -> None:
    got, doc = send(endpoint, "POST", "/v1.0/cn-north-4/kms/list-keys", b"{}", sign=False)
    assert (got, doc["error_code"]) == (401, "APIGW.0301")  # the gateway's refusal: a flat body


JUNK: list[Any] = [None, "", "x", "-1", "0", "99999999999999999999", 7, -3, 2.5, True, [], {}, ["a"], {"k": "v"},
                   "alias/none", "AAAA", "\u0000", "💥" * 10]


def test_random_values_in_every_field_never_answer_500(endpoint: str) -> None:
    rng = random.Random(20261126)
    sdk_names = {o.name for o in OPERATIONS}
    ops = [op for op in huawei_server.routes() if op.name in sdk_names]
    for _ in range(400):
        op = rng.choice(ops)
        fields = sorted(op.fields)
        doc = {f: rng.choice(JUNK) for f in rng.sample(fields, k=min(len(fields), rng.randint(0, 4)))}
        path = f"/{op.version}/cn-north-4/kms" + op.path.pattern.strip("^$").replace(
            "(?P<key_id>[^/]+)", "k1").replace("(?P<tag>[^/]+)", "t1")
        if op.query:
            query = [(k, str(v)) for k, v in doc.items() if v is not None]
            status, answer = send(endpoint, op.method, path, query=query)
        else:
            status, answer = send(endpoint, op.method, path, json.dumps(doc).encode())
        assert status < 500, (op.name, doc, answer)
        if status >= 400:
            assert answer.get("error", answer)["error_code"].startswith(("KMS.", "APIGW.")), answer


def test_every_answer_carries_its_own_request_id(endpoint: str) -> None:
    """Huawei's X-Request-Id: 32 hex digits, a different one on each answer (good or bad)."""
    seen = []
    for body in (b'{"key_alias": "rid-a"}', b"{not json", b'{"key_alias": "rid-b"}'):
        path = "/v1.0/cn-north-4/kms/create-key"
        headers = {"Content-Type": "application/json"}
        headers |= signer.sign("POST", path, [], headers, body, urlsplit(endpoint).netloc, ACCESS_KEY, SECRET_KEY)
        rid = requests.post(endpoint + path, data=body, headers=headers, timeout=30).headers["X-Request-Id"]
        assert len(rid) == 32 and int(rid, 16) >= 0
        seen.append(rid)
    assert len(set(seen)) == 3
