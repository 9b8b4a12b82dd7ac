"""An unsigned request, a wrong signature, an unknown AK or an X-Date more than 15 minutes away answers 403
AccessDenied (docs/wire-protocol.md, "Signing") — and a refused request changes nothing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from provider.dialects.volcengine import signer
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, KmsctlServer
from tests.wire.conftest import KR, Answer, post


def _key_names(server: KmsctlServer, region: str = "cn-north-4") -> set[str]:
    answer = post(server.endpoint, "DescribeKeys", {"PageSize": 100}, region=region)
    return {k["KeyName"] for k in answer.result["Keys"]}


def _assert_denied(answer: Answer, action: str, why: str) -> None:
    assert answer.status == 403, answer.text
    meta = answer.doc["ResponseMetadata"]
    assert meta["Error"]["Code"] == "AccessDenied"
    assert why in meta["Error"]["Message"]
    assert meta["Action"] == action and meta["Version"] == "2021-02-18" and meta["Service"] == "kms"
    assert meta["RequestId"]
    assert "Result" not in answer.doc
    assert SECRET_KEY not in answer.text


def _signed_headers(body: bytes, endpoint: str, **overrides: str) -> dict[str, str]:
    host = endpoint.removeprefix("http://")
    return signer.sign(method="POST", host=host, path="/", query=[("Action", "CreateKey"), ("Version", "2021-02-18")],
                       body=body, access_key=ACCESS_KEY, secret_key=SECRET_KEY, region="cn-north-4",
                       headers={"Content-Type": "application/json", **overrides})


def _create(name: str) -> bytes:
    return json.dumps({**KR, "KeyName": name}).encode()


BAD_REQUESTS: dict[str, tuple[Callable[[str, str], Answer], str]] = {
    "unsigned": (lambda ep, n: post(ep, "CreateKey", {**KR, "KeyName": n}, sign=False), "not signed"),
    "wrong secret key": (lambda ep, n: post(ep, "CreateKey", {**KR, "KeyName": n}, secret_key=SECRET_KEY + "!"),
                         "signature does not match"),
    "unknown access key": (lambda ep, n: post(ep, "CreateKey", {**KR, "KeyName": n}, access_key="AKNOBODY0000"),
                           "access key is not known"),
    "X-Date 16 minutes old": (lambda ep, n: post(ep, "CreateKey", {**KR, "KeyName": n}, when=time.time() - 16 * 60),
                              "15 minutes"),
    "X-Date 16 minutes ahead": (lambda ep, n: post(ep, "CreateKey", {**KR, "KeyName": n}, when=time.time() + 16 * 60),
                                "15 minutes"),
    "body changed after signing": (
        lambda ep, n: post(ep, "CreateKey", {**KR, "KeyName": n + "-signed"}, send_body=_create(n)),
        "X-Content-Sha256"),
    "body and its hash changed after signing": (
        lambda ep, n: post(ep, "CreateKey", {**KR, "KeyName": n + "-signed"}, send_body=_create(n),
                           tamper={"X-Content-Sha256": signer.sha256_hex(_create(n))}),
        "signature does not match"),
    "action changed after signing": (
        lambda ep, n: post(ep, "DescribeKeys", {"KeyName": n},
                           send_query=[("Action", "CreateKey"), ("Version", "2021-02-18")]),
        "signature does not match"),
    "signed header left out": (
        lambda ep, n: post(ep, "CreateKey", {**KR, "KeyName": n}, tamper={
            "Authorization": _signed_headers(_create(n), ep)["Authorization"].replace(
                "SignedHeaders=content-type;host;", "SignedHeaders=content-type;")}),
        "must include host"),
    "signed header not sent": (
        lambda ep, n: post(ep, "CreateKey", _create(n), tamper=_signed_headers(_create(n), ep, **{"X-Extra": "1"})),
        "x-extra is missing"),
    "scope of another service": (
        lambda ep, n: post(ep, "CreateKey", {**KR, "KeyName": n}, tamper={
            "Authorization": _signed_headers(_create(n), ep)["Authorization"].replace("/kms/request", "/iam/request")}),
        "scope must end with /kms/request"),
    "scope of another day": (
        lambda ep, n: post(ep, "CreateKey", {**KR, "KeyName": n}, tamper={
            "Authorization": _signed_headers(_create(n), ep)["Authorization"].replace(
                f"/{time.strftime('%Y%m%d', time.gmtime())}/", "/20000101/")}),
        "credential date"),
    "malformed Authorization": (
        lambda ep, n: post(ep, "CreateKey", {**KR, "KeyName": n}, tamper={"Authorization": "Bearer abc"}),
        "Authorization header is not"),
    "malformed X-Date": (
        lambda ep, n: post(ep, "CreateKey", {**KR, "KeyName": n}, tamper={"X-Date": "2024-12-19 13:09:40"}),
        "X-Date must be"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_signature_is_denied_and_changes_nothing(kmsctl: KmsctlServer, case: str) -> None:
    make, why = BAD_REQUESTS[case]
    name = "denied-" + case.replace(" ", "-")
    before = _key_names(kmsctl)
    answer = make(kmsctl.endpoint, name)
    _assert_denied(answer, "CreateKey", why)  # every case sends CreateKey
    after = _key_names(kmsctl)
    assert after == before, f"a refused request made keys {after - before}"


def test_refused_disable_leaves_the_key_enabled(kmsctl: KmsctlServer) -> None:
    key = post(kmsctl.endpoint, "CreateKey", {**KR, "KeyName": "denied-disable"}).result["Key"]
    answer = post(kmsctl.endpoint, "DisableKey", {"KeyID": key["ID"]}, secret_key="guess")
    assert answer.status == 403
    state = post(kmsctl.endpoint, "DescribeKey", {"KeyID": key["ID"]}).result["Key"]["KeyState"]
    assert state == "Enable"


def test_x_date_inside_the_window_is_accepted(kmsctl: KmsctlServer) -> None:
    for skew in (-14 * 60, 14 * 60):
        answer = post(kmsctl.endpoint, "DescribeKeys", {}, when=time.time() + skew)
        assert answer.status == 200, answer.text


def test_credential_scope_region_selects_the_region(kmsctl: KmsctlServer) -> None:
    answer = post(kmsctl.endpoint, "CreateKey", {**KR, "KeyName": "scoped-east"}, region="cn-east-3")
    assert ":cn-east-3:" in answer.result["Key"]["Trn"]
    assert answer.doc["ResponseMetadata"]["Region"] == "cn-east-3"
    assert "scoped-east" in _key_names(kmsctl, "cn-east-3")
    assert "scoped-east" not in _key_names(kmsctl, "cn-north-4")


def test_unknown_region_in_the_scope_is_a_bad_parameter(kmsctl: KmsctlServer) -> None:
    answer = post(kmsctl.endpoint, "DescribeKeys", {}, region="mars-1")
    assert answer.status == 400
    assert answer.error is not None and answer.error["Code"] == "InvalidParameter"
    assert "mars-1" in answer.error["Message"] and "region" in answer.error["Message"]


def test_throttling_counts_per_access_key(tmp_path: Path) -> None:
    """KMS_RATE_LIMIT is a budget per access key: one caller using up its own leaves another's alone."""
    from provider.emulator import Emulator
    from provider.server.app import KmsApp

    app = KmsApp(Emulator(tmp_path), {"AK-BUSY": "SK-BUSY", "AK-CALM": "SK-CALM"}, rate_limit=1)

    def status(access_key: str, secret_key: str) -> int:
        body = b'{"PageSize":10}'
        query = (("Action", "DescribeKeys"), ("Version", signer.VERSION))
        headers = signer.sign(method="POST", host="127.0.0.1", path="/", query=query, body=body,
                              access_key=access_key, secret_key=secret_key, region="cn-north-4",
                              headers={"Content-Type": "application/json"})
        raw = [(k.lower().encode(), v.encode()) for k, v in {**headers, "Content-Type": "application/json"}.items()]
        scope = {"type": "http", "method": "POST", "path": "/", "headers": raw,
                 "query_string": f"Action=DescribeKeys&Version={signer.VERSION}".encode()}
        sent: list[dict[str, object]] = []

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        loop = asyncio.new_event_loop()  # not asyncio.run: it unsets the thread's loop later tests rely on
        try:
            loop.run_until_complete(app(scope, receive, send))
        finally:
            loop.close()
        return int(sent[0]["status"])  # type: ignore[call-overload]

    try:
        assert status("AK-BUSY", "SK-BUSY") == 200
        assert status("AK-BUSY", "SK-BUSY") == 403  # Reject.Throttling.Action: the burst of 1 is spent
        assert status("AK-CALM", "SK-CALM") == 200
    finally:
        app.close()
