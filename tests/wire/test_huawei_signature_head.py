"""Huawei Cloud's `SDK-HMAC-SHA256` check reads the Authorization header's access key and signed names
once per client (the part before the signature); every request is still checked in full: its own
signature, under the secret the server holds now, with the signed names each header carries."""

from __future__ import annotations

import time

import pytest

from provider.dialects.huaweicloud import signer
from provider.dialects.huaweicloud.signer import Unauthorized

AK, SK = "HWAK0123456789", "hw-secret-key/with+chars"
HOST = "127.0.0.1:8400"
PATH = "/v1.0/cn-north-4/kms/describe-key"
BODY = b'{"key_id": "0d0466b0-e727-4d9c-b35d-f84bb474a37f"}'


def _signed(ak: str = AK, sk: str = SK, body: bytes = BODY) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    headers |= signer.sign("POST", PATH, [], headers, body, HOST, ak, sk)
    return {k.lower(): v for k, v in headers.items()} | {"host": HOST}


def _verify(headers: dict[str, str], secrets: dict[str, str], body: bytes = BODY) -> str:
    return signer.verify("POST", PATH, [], headers, body, secrets.get)


def test_a_remembered_head_still_checks_each_signature_and_secret() -> None:
    good = _signed()
    for _ in range(2):  # the second time from the remembered head
        assert _verify(good, {AK: SK}) == AK
    with pytest.raises(Unauthorized, match="signature does not match"):  # the secret changed
        _verify(good, {AK: SK + "x"})
    with pytest.raises(Unauthorized, match="signature does not match"):  # another body under the same head
        _verify(good, {AK: SK}, body=BODY.replace(b"0d", b"1d"))
    other = _signed(ak="HWAK-other")
    assert _verify(other, {"HWAK-other": SK}) == "HWAK-other"
    with pytest.raises(Unauthorized, match="access key is not known"):
        _verify(other, {AK: SK})


def test_malformed_headers_and_missing_signed_names_are_refused_every_time() -> None:
    good = _signed()
    auth = good["authorization"]
    for bad in (auth + ",", auth.replace(", Signature=", " Signature="), auth.replace("Signature=", "Signature=x"),
                auth.replace("SDK-HMAC-SHA256", "SDK-HMAC-SHA1"), auth.replace("Access=", "Access=a,b")):
        for _ in range(2):
            with pytest.raises(Unauthorized, match="Authorization must be"):
                _verify(good | {"authorization": bad}, {AK: SK})
    no_host = good | {"authorization": auth.replace("content-type;host;", "content-type;")}
    for _ in range(2):
        with pytest.raises(Unauthorized, match="SignedHeaders must include host"):
            _verify(no_host, {AK: SK})
    stale = good | {"x-sdk-date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 3600))}
    with pytest.raises(Unauthorized, match="more than 15 minutes"):
        _verify(stale, {AK: SK})
