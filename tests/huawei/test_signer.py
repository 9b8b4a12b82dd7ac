"""`SDK-HMAC-SHA256` as huaweicloudsdkcore signs: our signer makes the SDK's header byte for byte, and
our verifier accepts what the SDK signs and refuses (401, as Huawei's API gateway) anything changed."""

from __future__ import annotations

import calendar
import time
from urllib.parse import unquote

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from provider.dialects.huaweicloud import signer
from provider.dialects.huaweicloud.signer import Unauthorized

AK, SK = "HWAK0123456789", "hw-secret-key/with+chars"
HOST = "127.0.0.1:8400"
CASES = [
    ("POST", "/v1.0/cn-north-4/kms/describe-key", [], b'{"key_id": "0d0466b0-e727-4d9c-b35d-f84bb474a37f"}'),
    ("GET", "/v1.0/0a1b2c3d/kms/aliases", [("limit", "10"), ("key_id", "k 1/2"), ("marker", "~a+b")], b""),
    ("DELETE", "/v1.0/cn-east-3/kms/abc/tags/team%20name", [], b""),
    ("POST", "/v2/ap-southeast-3/kms/keys/abc/replicate", [], "{\"key_alias\": \"ключ\"}".encode()),
]


def _sdk_signed(method: str, path: str, query: list[tuple[str, str]], body: bytes, date: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "X-Project-Id": path.split("/")[2], "X-Sdk-Date": date,
               "User-Agent": "huaweicloud-usdk-python/3.0"}
    request = SdkRequest(method=method, schema="http", host=HOST, resource_path=path, query_params=list(query),
                         header_params=headers, body=body)
    Signer(BasicCredentials(AK, SK)).sign(request)
    return {k.lower(): v for k, v in request.header_params.items()}


@pytest.mark.parametrize(("method", "path", "query", "body"), CASES)
def test_our_signature_is_the_sdks_byte_for_byte(method: str, path: str, query: list[tuple[str, str]],
                                                  body: bytes) -> None:
    now = calendar.timegm(time.gmtime())
    date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    sdk = _sdk_signed(method, path, query, body, date)
    ours = signer.sign(method, path, query, {"Content-Type": "application/json", "X-Project-Id": path.split("/")[2],
                                            "User-Agent": "huaweicloud-usdk-python/3.0"}, body, HOST, AK, SK, now=now)
    assert ours["X-Sdk-Date"] == date
    assert ours["Authorization"] == sdk["authorization"]


@pytest.mark.parametrize(("method", "path", "query", "body"), CASES)
def test_what_the_sdk_signs_verifies(method: str, path: str, query: list[tuple[str, str]], body: bytes) -> None:
    date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    headers = _sdk_signed(method, path, query, body, date)
    assert signer.verify(method, unquote(path), query, headers, body, {AK: SK}.get) == AK


def _signed() -> tuple[dict[str, str], bytes]:
    method, path, query, body = CASES[0]
    return _sdk_signed(method, path, query, body, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())), body


@pytest.mark.parametrize(("change", "reason"), [
    (lambda h, b: (h, b + b" "), "does not match"),
    (lambda h, b: ({**h, "x-project-id": "cn-east-3"}, b), "does not match"),
    (lambda h, b: ({k: v for k, v in h.items() if k != "authorization"}, b), "Authorization must be"),
    (lambda h, b: ({**h, "authorization": h["authorization"].replace(AK, "SOMEONE")}, b), "not known"),
    (lambda h, b: ({**h, "x-sdk-date": "20200101T000000Z"}, b), "minutes"),
    (lambda h, b: ({k: v for k, v in h.items() if k != "x-project-id"}, b), "missing"),
])
def test_a_changed_request_is_refused_with_401(change: object, reason: str) -> None:
    headers, body = _signed()
    headers, body = change(headers, body)  # type: ignore[operator]
    with pytest.raises(Unauthorized, match=reason) as caught:
        signer.verify("POST", CASES[0][1], [], headers, body, {AK: SK}.get)
    assert caught.value.status == 401
    assert SK not in str(caught.value)


def test_wrong_secret_is_refused() -> None:
    headers, body = _signed()
    with pytest.raises(Unauthorized, match="does not match"):
        signer.verify("POST", CASES[0][1], [], headers, body, {AK: "another-secret"}.get)
