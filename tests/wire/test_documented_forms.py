"""Answers in the forms the clouds document that the emulator never makes itself: times with fractions and
offsets, epoch seconds or milliseconds, key specs the emulator does not create. The HTTP backend reads them,
`kmsctl keys list` lists such keys, and only an input that must use such a spec is refused.

The answers are the clouds' documented ones (Volcengine's DescribeKey page; Huawei Cloud's list-keys and
list-aliases references), sent by a real HTTP server on loopback, so the backend's whole path is the real one.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from provider.backend.http import HttpBackend
from provider.client import KmsClient
from provider.domain import rules
from provider.domain.errors import InvalidParameter
from provider.resources import CustomKeyProvider
from provider.resources import _common as common
from provider.resources._common import AUTONAME
from tests.support.cli import invoke

AK, SK = "AKDOCUMENTED0001", "documented-secret-0001"
VOLC_SPECS = ("SYMMETRIC_128", "EC_SM2", "EC_P256K", "EC_P521")
HUAWEI_SPECS = ("SM4", "SM2", "SECP256K1", "ED25519")
Answer = Callable[[str, str, dict[str, str], bytes], dict[str, Any] | list[Any]]


@pytest.fixture
def canned() -> Iterator[Callable[[Answer], str]]:
    """A loopback HTTP server answering every request with `answer(method, path, query, body)` as JSON."""
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Answer) -> str:
        class Handler(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                parts = urlsplit(self.path)
                size = int(self.headers.get("Content-Length") or 0)
                doc = answer(self.command, parts.path, dict(parse_qsl(parts.query)), self.rfile.read(size))
                data = json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _reply

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def volcengine_key(n: int, spec: str) -> dict[str, Any]:
    # As Volcengine's DescribeKey page shows a key: RFC 3339 with fraction and offset, CreationDate in
    # seconds and UpdateDate in milliseconds.
    return {
        "ID": f"0000000{n}-1111-2222-3333-444444444444", "KeyName": f"doc-{n}", "KeySpec": spec,
        "KeyUsage": "SIGN_VERIFY" if spec.startswith("EC") else "ENCRYPT_DECRYPT",
        "KeyState": "Enable", "Origin": "CloudKMS", "ProtectionLevel": "SOFTWARE", "Description": "",
        "Trn": f"trn:kms:cn-beijing:2100042018:keyrings/default/keys/doc-{n}",
        "CreationDate": 1642732307, "UpdateDate": 1642732307264, "RotationState": "Disable",
        "LastRotationTime": "2022-01-21T10:31:47.264+08:00", "MultiRegion": False,
    }


def volcengine_answer(method: str, path: str, query: dict[str, str], body: bytes) -> dict[str, Any]:
    keys = [volcengine_key(n, spec) for n, spec in enumerate(VOLC_SPECS, 1)]
    meta = {"RequestId": "1", "Action": query.get("Action"), "Version": "2021-02-18", "Service": "kms",
            "Region": "cn-beijing"}
    if query.get("Action") == "DescribeKeys":
        page = {"CurrentPage": 1, "PageSize": 100, "Count": len(keys), "TotalCount": len(keys)}
        return {"ResponseMetadata": meta, "Result": {"Keys": keys, "PageInfo": page}}
    return {"ResponseMetadata": meta, "Result": {"Key": keys[0]}}


def huawei_key(n: int, spec: str) -> dict[str, Any]:
    return {
        "key_id": f"0000000{n}-1111-2222-3333-444444444444", "domain_id": "b168fe00ff56492495a7d22974df2d0b",
        "key_alias": f"doc-{n}", "realm": "cn-north-4", "key_spec": spec,
        "key_usage": "SIGN_VERIFY" if spec in ("SM2", "SECP256K1", "ED25519") else "ENCRYPT_DECRYPT",
        "key_description": "", "creation_date": "1502799822000", "scheduled_deletion_date": "",
        "key_state": "2", "default_key_flag": "0", "key_type": "1", "expiration_time": "", "origin": "kms",
        "key_rotation_enabled": "false", "sys_enterprise_project_id": "0", "keystore_id": "0",
    }


def huawei_answer(method: str, path: str, query: dict[str, str], body: bytes) -> dict[str, Any] | list[Any]:
    if path.endswith("/kms/list-keys"):
        details = [huawei_key(n, spec) for n, spec in enumerate(HUAWEI_SPECS, 1)]
        return {"keys": [d["key_id"] for d in details], "key_details": details, "next_marker": "",
                "truncated": "false", "total": len(details)}
    if path.endswith("/kms/aliases"):
        alias = {"domain_id": "b168fe00ff56492495a7d22974df2d0b", "key_id": huawei_key(1, "SM4")["key_id"],
                 "alias": "alias/test", "alias_urn": "kms:cn-north-4:b168fe00ff56492495a7d22974df2d0b:alias/test",
                 "create_time": "2024-04-01T00:00:00Z", "update_time": "2024-04-01T00:00:00.123+08:00"}
        return [{"aliases": [alias], "page_info": {"next_marker": "", "size": 1, "total": 1}}]
    return {}


def test_volcengine_times_with_fractions_and_offsets_and_specs_we_do_not_emulate_are_listed(
    canned: Callable[[Answer], str],
) -> None:
    endpoint = canned(volcengine_answer)
    kms = KmsClient(HttpBackend(endpoint, access_key=AK, secret_key=SK, dialect="volcengine"), "cn-beijing")
    keys = kms.list_keys()
    assert [k.spec for k in keys] == list(VOLC_SPECS)  # described as what they are
    assert keys[0].last_rotation == 1642732307.264  # 10:31:47.264+08:00 is 02:31:47.264 UTC
    assert keys[0].created == 1642732307 and keys[0].updated == 1642732307.264
    described = kms.describe_key(keys[0].key_id)
    assert described.spec == "SYMMETRIC_128" and described.state == "Enable"


def test_kmsctl_keys_list_shows_a_region_holding_keys_we_do_not_emulate(
    canned: Callable[[Answer], str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    for dialect, answer, region, specs in (("volcengine", volcengine_answer, "cn-beijing", VOLC_SPECS),
                                           ("huaweicloud", huawei_answer, "cn-north-4", HUAWEI_SPECS)):
        for var, value in (("KMS_ENDPOINT", canned(answer)), ("KMS_DIALECT", dialect), ("KMS_ACCESS_KEY", AK),
                           ("KMS_SECRET_KEY", SK), ("KMS_REGION", region)):
            monkeypatch.setenv(var, value)
        out = invoke(["keys", "list", "--json"])
        assert out.exit_code == 0, out.output
        assert [k["spec"] for k in json.loads(out.output)] == list(specs)


def test_huawei_alias_times_in_rfc_3339_and_specs_we_do_not_emulate_are_read(
    canned: Callable[[Answer], str],
) -> None:
    endpoint = canned(huawei_answer)
    kms = KmsClient(HttpBackend(endpoint, access_key=AK, secret_key=SK, dialect="huaweicloud"), "cn-north-4")
    assert [k.spec for k in kms.list_keys()] == list(HUAWEI_SPECS)
    [alias] = kms.list_aliases()
    assert alias.name == "alias/test" and alias.created == 1711929600.0  # 2024-04-01T00:00:00Z


def test_a_spec_we_do_not_emulate_is_refused_only_as_an_input_naming_the_rule(tmp_path: Any) -> None:
    common.reset_config({"emulatorPath": str(tmp_path)})
    try:
        for spec in (*VOLC_SPECS, *HUAWEI_SPECS):
            assert rules.KeySpec(spec).value == spec  # read as what it is
            reasons = {f.property: f.reason for f in CustomKeyProvider().check({}, {AUTONAME: "k", "key_spec": spec})
                       .failures}
            assert f"key_spec '{spec}' is not a key spec this provider creates" in reasons["key_spec"]
            with pytest.raises(InvalidParameter, match="allowed: AES_256"):
                rules.key_spec(spec)
    finally:
        common.reset_config()
