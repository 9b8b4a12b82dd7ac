"""Volcengine's request signature (docs/wire-protocol.md, "Signing"): our signer, the documented worked
example, and an outside client (`volcengine`'s SignerV4 and its `Service`) held against the live server."""

from __future__ import annotations

import base64
import json
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from volcengine.ApiInfo import ApiInfo
from volcengine.auth.SignerV4 import SignerV4
from volcengine.auth.SignParam import SignParam
from volcengine.base.Service import Service
from volcengine.Credentials import Credentials
from volcengine.ServiceInfo import ServiceInfo

from provider.dialects.volcengine import signer
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, KmsctlServer
from tests.wire.conftest import KR

DOC = Path(__file__).resolve().parents[2] / "docs" / "wire-protocol.md"

# The worked example of docs/wire-protocol.md: fixed inputs, fixed outputs.
EX_AK = "AKLTexample0001"
EX_SK = "kmsExampleSecretKey/0123456789"
EX_REGION = "cn-north-4"
EX_WHEN = datetime(2024, 12, 19, 13, 9, 40, tzinfo=UTC)
EX_HOST = "127.0.0.1:8400"
EX_BODY = b'{"KeyringName":"test","KeyName":"mrk-test","ReplicaRegion":"cn-east-3","Description":"replica key"}'
EX_QUERY = {"Action": "ReplicateKey", "Version": "2021-02-18"}
EX_BODY_HASH = "cdd20f2d6649e8bf39e4c7b7e59d813f51de9518a347ede176e8ad18ec91f3f1"
EX_SIGNING_KEY = "ad74e80113fd37e75fcdeedbce4a901bd05df5bbc98166873ef63872c7aa8557"
EX_SIGNATURE = "2b70d9451afc77324a3a8dcdf347dab4d58bb615af1ffaeb5d5127cce4fad487"
EX_AUTHORIZATION = (
    "HMAC-SHA256 Credential=AKLTexample0001/20241219/cn-north-4/kms/request, "
    "SignedHeaders=content-type;host;x-content-sha256;x-date, Signature=" + EX_SIGNATURE
)


def _volcengine_sign(*, method: str, host: str, query: dict[str, str], body: bytes, ak: str, sk: str, region: str,
                     when: datetime) -> str:
    """The outside signer: volcengine's SignerV4 over the same request."""
    param = SignParam()
    param.set_method(method)
    param.set_host(host)
    param.set_path("/")
    param.set_body(body)
    param.set_query(OrderedDict(query))
    param.set_date(when)
    param.set_header_list(OrderedDict([("Host", host), ("Content-Type", "application/json")]))
    return str(SignerV4.sign_only(param, Credentials(ak, sk, "kms", region)).authorization)


def test_worked_example_gives_the_documented_signature() -> None:
    headers = signer.sign(method="POST", host=EX_HOST, path="/", query=EX_QUERY, body=EX_BODY, access_key=EX_AK,
                          secret_key=EX_SK, region=EX_REGION, headers={"Content-Type": "application/json"},
                          when=EX_WHEN)
    assert headers["X-Date"] == "20241219T130940Z"
    assert headers["X-Content-Sha256"] == EX_BODY_HASH
    assert headers["Authorization"] == EX_AUTHORIZATION
    assert signer.signing_key(EX_SK, "20241219", EX_REGION).hex() == EX_SIGNING_KEY

    # Every intermediate value the document shows is the one the signer computes.
    doc = DOC.read_text()
    canonical = signer.canonical_request(
        "POST", "/", signer.canonical_query(EX_QUERY),
        {"content-type": "application/json", "host": EX_HOST, "x-content-sha256": EX_BODY_HASH,
         "x-date": "20241219T130940Z"},
        ["content-type", "host", "x-content-sha256", "x-date"], EX_BODY_HASH)
    to_sign = signer.string_to_sign("20241219T130940Z", signer.scope("20241219", EX_REGION), canonical)
    for value in (EX_BODY.decode(), EX_BODY_HASH, canonical, to_sign, EX_SIGNING_KEY, EX_SIGNATURE, EX_AUTHORIZATION,
                  EX_AK, EX_SK):
        assert value in doc, f"docs/wire-protocol.md does not show {value!r}"


def test_volcengine_signer_gives_the_same_header_for_the_worked_example() -> None:
    outside = _volcengine_sign(method="POST", host=EX_HOST, query=EX_QUERY, body=EX_BODY, ak=EX_AK, sk=EX_SK,
                               region=EX_REGION, when=EX_WHEN)
    assert outside == EX_AUTHORIZATION


_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)


@settings(max_examples=60, deadline=None)
@given(
    query=st.dictionaries(st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12),
                          _text, min_size=1, max_size=4),
    body=st.binary(max_size=200),
    region=st.sampled_from(["cn-north-4", "cn-east-3", "ap-southeast-3", "me-east-1"]),
    ak=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=4, max_size=24),
    sk=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40),
    when=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)),
    port=st.integers(1024, 65535),
)
def test_signer_agrees_with_volcengine_on_any_request(query: dict[str, str], body: bytes, region: str, ak: str,
                                                      sk: str, when: datetime, port: int) -> None:
    when = when.replace(microsecond=0)
    host = f"127.0.0.1:{port}"
    ours = signer.sign(method="POST", host=host, path="/", query=query, body=body, access_key=ak, secret_key=sk,
                       region=region, headers={"Content-Type": "application/json"}, when=when)
    assert ours["Authorization"] == _volcengine_sign(method="POST", host=host, query=query, body=body, ak=ak, sk=sk,
                                                     region=region, when=when)


def test_canonical_query_encodes_all_but_the_unreserved_characters() -> None:
    assert signer.canonical_query({"b": "x y/z", "a": "1+1=2", "A": "é~._-"}) == (
        "A=%C3%A9~._-&a=1%2B1%3D2&b=x%20y%2Fz"
    )


def test_verify_answers_the_credential_and_rejects_a_changed_byte() -> None:
    headers = signer.sign(method="POST", host=EX_HOST, path="/", query=EX_QUERY, body=EX_BODY, access_key=EX_AK,
                          secret_key=EX_SK, region=EX_REGION, headers={"Content-Type": "application/json"},
                          when=EX_WHEN)
    lower = {k.lower(): v for k, v in headers.items()} | {"content-type": "application/json"}
    cred = signer.verify(method="POST", path="/", query=list(EX_QUERY.items()), headers=lower, body=EX_BODY,
                         secret_for={EX_AK: EX_SK}.get, now=EX_WHEN.timestamp() + 60)
    assert (cred.access_key, cred.region, cred.date) == (EX_AK, EX_REGION, "20241219")
    from provider.domain.errors import AccessDenied

    with pytest.raises(AccessDenied, match="signature does not match"):
        signer.verify(method="POST", path="/", query=list(EX_QUERY.items()),
                      headers=lower | {"content-type": "application/json; charset=utf-8"}, body=EX_BODY,
                      secret_for={EX_AK: EX_SK}.get, now=EX_WHEN.timestamp())


def test_each_request_is_checked_in_full_though_its_credential_scope_is_read_once() -> None:
    """The Authorization header's part before the signature is read once per client and day: the same
    scope under another secret, another access key, another signature or another service is still
    checked on its own."""
    from provider.domain.errors import AccessDenied

    def signed(ak: str, sk: str) -> dict[str, str]:
        headers = signer.sign(method="POST", host=EX_HOST, path="/", query=EX_QUERY, body=EX_BODY, access_key=ak,
                              secret_key=sk, region=EX_REGION, headers={"Content-Type": "application/json"},
                              when=EX_WHEN)
        return {k.lower(): v for k, v in headers.items()} | {"content-type": "application/json"}

    def verify(headers: dict[str, str], secrets: dict[str, str]) -> signer.Credential:
        return signer.verify(method="POST", path="/", query=list(EX_QUERY.items()), headers=headers, body=EX_BODY,
                             secret_for=secrets.get, now=EX_WHEN.timestamp())

    good = signed(EX_AK, EX_SK)
    for _ in range(2):  # the second time from the remembered scope
        assert verify(good, {EX_AK: EX_SK}).signature == EX_SIGNATURE
    with pytest.raises(AccessDenied, match="signature does not match"):  # the secret changed: same scope
        verify(good, {EX_AK: EX_SK + "x"})
    other = signed("AKLTexample0002", EX_SK)
    assert verify(other, {"AKLTexample0002": EX_SK}).access_key == "AKLTexample0002"
    with pytest.raises(AccessDenied, match="access key is not known"):
        verify(other, {EX_AK: EX_SK})
    flipped = good | {"authorization": good["authorization"][:-1] + ("0" if good["authorization"][-1] != "0" else "1")}
    with pytest.raises(AccessDenied, match="signature does not match"):
        verify(flipped, {EX_AK: EX_SK})
    iam = good | {"authorization": good["authorization"].replace("/kms/request", "/iam/request")}
    for _ in range(2):
        with pytest.raises(AccessDenied, match="credential scope must end with /kms/request"):
            verify(iam, {EX_AK: EX_SK})
    for bad in (good["authorization"].replace(", Signature=", ", Signature= x"),
                good["authorization"].replace(", SignedHeaders=", " SignedHeaders="),
                good["authorization"] + ",", good["authorization"].replace("HMAC-SHA256 ", "HMAC-SHA1 ")):
        with pytest.raises(AccessDenied, match="Authorization header is not"):
            verify(good | {"authorization": bad}, {EX_AK: EX_SK})
    unsorted = good | {"authorization": good["authorization"].replace(
        "content-type;host;x-content-sha256;x-date", "host;content-type;x-content-sha256;x-date")}
    with pytest.raises(AccessDenied, match="sorted and distinct"):
        verify(unsorted, {EX_AK: EX_SK})


@pytest.fixture
def volc_service(kmsctl: KmsctlServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Service:
    """volcengine's own client (`Service.json`), pointed at the live `kmsctl serve`."""
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.volc credentials may override ours
    monkeypatch.delenv("VOLC_ACCESSKEY", raising=False)
    monkeypatch.delenv("VOLC_SECRETKEY", raising=False)
    info = ServiceInfo(f"127.0.0.1:{kmsctl.port}", {}, Credentials(ACCESS_KEY, SECRET_KEY, "kms", "cn-north-4"), 5, 30)
    apis = {name: ApiInfo("POST", "/", {"Action": name, "Version": "2021-02-18"}, {}, {})
            for name in ("CreateKey", "Encrypt", "Decrypt", "DescribeKey")}
    return Service(info, apis)


def test_volcengine_client_talks_to_kmsctl_serve(volc_service: Service) -> None:
    created = json.loads(volc_service.json("CreateKey", {}, json.dumps({**KR, "KeyName": "volc-outside"})))
    assert created["ResponseMetadata"]["Region"] == "cn-north-4"
    key = created["Result"]["Key"]
    assert key["KeyName"] == "volc-outside" and key["KeyState"] == "Enable"

    plaintext = base64.b64encode(b"signed by an outside client").decode()
    enc = json.loads(volc_service.json("Encrypt", {}, json.dumps({"KeyID": key["ID"], "Plaintext": plaintext})))
    blob = enc["Result"]["CiphertextBlob"]
    dec = json.loads(volc_service.json("Decrypt", {}, json.dumps({"CiphertextBlob": blob})))
    assert dec["Result"]["Plaintext"] == plaintext


def test_volcengine_client_with_a_wrong_secret_is_refused(volc_service: Service) -> None:
    volc_service.service_info.credentials.set_sk(SECRET_KEY + "x")
    with pytest.raises(Exception, match="AccessDenied"):
        volc_service.json("DescribeKey", {}, json.dumps({"KeyID": "alias/none"}))


@settings(max_examples=200, deadline=None)
@given(key=st.binary(min_size=0, max_size=200), message=st.binary(max_size=300))
def test_the_kept_hmac_states_give_hmacs_bytes_for_any_key(key: bytes, message: bytes) -> None:
    """Both signatures' HMAC from kept per-key states is the standard library's HMAC, for keys shorter
    than, as long as and longer than SHA-256's block (hashed first), and a key never borrows another's
    states."""
    import hashlib
    import hmac

    from provider.dialects.huaweicloud import signer as huawei_signer

    expected = hmac.new(key, message, hashlib.sha256).hexdigest()
    assert signer.keyed_hmac(key, message) == expected
    assert huawei_signer.keyed_hmac(key, message) == expected
    other = key + b"\0"  # a key that pads to the same block must still give its own HMAC
    assert signer.keyed_hmac(other, message) == hmac.new(other, message, hashlib.sha256).hexdigest()
