"""Volcengine's answer envelope (https://www.volcengine.com/docs/6499/1125371), for a success and for
every error class the service can reach, and the HTTP backend turning each back into the embedded
backend's exception."""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from provider.backend.http import HttpBackend
from provider.client import KmsClient
from provider.dialects import WireRequest
from provider.dialects.volcengine import server
from provider.domain import errors, model
from provider.emulator import Emulator
from provider.server.app import KmsApp
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, KmsctlServer, ThreadServer
from tests.wire.conftest import KR, REGION, post

META_FIELDS = {"RequestId", "Action", "Version", "Service", "Region"}


def _assert_envelope(doc: Mapping[str, Any], action: str, region: str) -> None:
    meta = doc["ResponseMetadata"]
    assert set(meta) >= META_FIELDS
    assert meta["Action"] == action and meta["Version"] == "2021-02-18"
    assert meta["Service"] == "kms" and meta["Region"] == region
    assert isinstance(meta["RequestId"], str) and len(meta["RequestId"]) >= 16


def test_success_envelope(fresh: ThreadServer) -> None:
    answer = post(fresh.endpoint, "CreateKey", {**KR, "KeyName": "envelope-ok"})
    assert answer.status == 200
    _assert_envelope(answer.doc, "CreateKey", REGION)
    assert "Error" not in answer.doc["ResponseMetadata"]
    # The key object's fields in Volcengine's DescribeKey answer (MultiRegionConfiguration on multi-region
    # keys), Trn and Tags among them.
    key = answer.result["Key"]
    seed_fields = {"ID", "CreationDate", "UpdateDate", "KeyName", "KeySpec", "Description", "KeyState", "KeyUsage",
                   "ProtectionLevel", "Origin", "MultiRegion"}
    assert seed_fields | {"Trn", "Tags"} <= set(key)
    assert (key["KeySpec"], key["MultiRegion"]) == ("SYMMETRIC_256", False)


def test_request_ids_are_distinct(fresh: ThreadServer) -> None:
    ids = {post(fresh.endpoint, "DescribeKeys", {}).doc["ResponseMetadata"]["RequestId"] for _ in range(20)}
    assert len(ids) == 20


# Each case prepares a fresh service through the client and answers the failing call.
Setup = Callable[[KmsClient], tuple[str, dict[str, Any]]]


def _bad_spec(kms: KmsClient) -> tuple[str, dict[str, Any]]:
    return "CreateKey", {**KR, "KeyName": "k", "KeySpec": "AES_128"}


def domain_action(action: str, params: Mapping[str, Any]) -> Any:
    """The domain action a request means, as the dialect parses it."""
    req = WireRequest("POST", "/", [("Action", action), ("Version", "2021-02-18")], {}, json.dumps(params).encode())
    return server.parse(server.decode(server.route(req)))


def _rotate_hmac(kms: KmsClient) -> tuple[str, dict[str, Any]]:
    key = kms.create_key("mac", key_spec="HMAC_256").key_id
    return "EnableKeyRotation", {"KeyID": key}


def _replica_outside_the_table(kms: KmsClient) -> tuple[str, dict[str, Any]]:
    key = kms.create_key("primary").key_id
    return "ReplicateKey", {"KeyID": key, "ReplicaRegion": "ap-southeast-3"}


def _encrypt_disabled(kms: KmsClient) -> tuple[str, dict[str, Any]]:
    key = kms.create_key("off").key_id
    kms.disable_key(key)
    return "Encrypt", {"KeyID": key, "Plaintext": base64.b64encode(b"x").decode()}


def _missing_key(kms: KmsClient) -> tuple[str, dict[str, Any]]:
    return "DescribeKey", {"KeyID": "alias/nothing-here"}


def _name_taken(kms: KmsClient) -> tuple[str, dict[str, Any]]:
    kms.create_key("taken")
    return "CreateKey", {**KR, "KeyName": "taken"}


def _over_quota(kms: KmsClient) -> tuple[str, dict[str, Any]]:
    kms.create_key("only-one")
    return "CreateKey", {**KR, "KeyName": "one-too-many"}


ERROR_CASES: dict[str, tuple[Setup, type[errors.KmsError], int]] = {
    "InvalidParameter": (_bad_spec, errors.InvalidParameter, 400),
    "InvalidOperation": (_rotate_hmac, errors.InvalidOperation, 400),
    "InvalidReplicaRegion": (_replica_outside_the_table, errors.InvalidReplicaRegion, 400),
    "InvalidKeyStatus": (_encrypt_disabled, errors.InvalidKeyStatus, 400),
    "NotFound": (_missing_key, errors.NotFound, 404),
    "Conflict": (_name_taken, errors.Conflict, 409),
    "QuotaExceeded": (_over_quota, errors.QuotaExceeded, 403),
}


def _without_ids(message: str) -> str:
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", message)


@pytest.mark.parametrize("code", list(ERROR_CASES))
def test_error_envelope_and_the_same_exception_as_embedded(code: str, tmp_path: Path) -> None:
    setup, cls, status = ERROR_CASES[code]
    quota = 1 if code == "QuotaExceeded" else None
    # The embedded emulator's exception, on its own fresh state.
    emulator = Emulator(tmp_path / "embedded", quota=quota)
    action, local_params = setup(KmsClient(emulator, REGION))
    with pytest.raises(errors.KmsError) as local:
        emulator.execute(REGION, domain_action(action, local_params))

    app = KmsApp(Emulator(tmp_path / "served", quota=quota), {ACCESS_KEY: SECRET_KEY})
    with ThreadServer(app) as server:
        action, params = setup(KmsClient(server.backend(), REGION))
        answer = post(server.endpoint, action, params)
        assert answer.status == status, answer.text
        _assert_envelope(answer.doc, action, REGION)
        assert answer.error is not None and answer.error["Code"] == code
        assert answer.error["Message"]
        assert "Result" not in answer.doc

        # Over the wire the caller gets the very exception the embedded backend raised.
        with pytest.raises(errors.KmsError) as remote:
            server.backend(retries=0).execute(REGION, domain_action(action, params))
    assert type(remote.value) is type(local.value) is cls
    # The same words too, but for the ids each state generated for itself.
    assert _without_ids(remote.value.message) == _without_ids(local.value.message)


def test_throttling_envelope_and_backend_retry(tmp_path: Path) -> None:
    with KmsctlServer(tmp_path / "state", env={"KMS_RATE_LIMIT": "5"}) as server:
        answers = [post(server.endpoint, "DescribeKeys", {}) for _ in range(15)]
        throttled = [a for a in answers if a.status == 403]
        assert throttled, "15 requests at once against 5 a second were all admitted"
        for answer in throttled:
            assert answer.error == {"Code": "Reject.Throttling.Action",
                                    "Message": "The request of Action: DescribeKeys upper limit is exceeded."}
            _assert_envelope(answer.doc, "DescribeKeys", REGION)
        # The backend backs off and gets through.
        backend = HttpBackend(server.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, retries=8, backoff=0.2)
        kms = KmsClient(backend, REGION)
        names = [kms.create_key(f"throttled-{i}").name for i in range(8)]
        assert names == [f"throttled-{i}" for i in range(8)]
        assert len(kms.list_keys()) == 8
        backend.close()


class _Exploding(Emulator):
    """An emulator with a bug: an exception whose text holds a secret."""

    def execute(self, region: str, action: model.Action) -> model.Result:
        raise RuntimeError(f"bug while holding plaintext {getattr(action, 'plaintext', b'')!r} and {SECRET_KEY}")


def test_an_unexpected_fault_is_a_500_without_secrets(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    plaintext = base64.b64encode(b"very secret plaintext").decode()
    app = KmsApp(_Exploding(tmp_path / "state"), {ACCESS_KEY: SECRET_KEY})
    with caplog.at_level(logging.DEBUG), ThreadServer(app) as server:
        answer = post(server.endpoint, "Encrypt", {"KeyID": "k", "Plaintext": plaintext})
        assert answer.status == 500
        _assert_envelope(answer.doc, "Encrypt", REGION)
        assert answer.error is not None and answer.error["Code"] == "UndefinedError"
        reference = answer.error["Message"].rsplit("Reference: ", 1)[1]
        for secret in (plaintext, SECRET_KEY, "very secret"):
            assert secret not in answer.text
            assert secret not in caplog.text
        # The operator can still find it: the log names the request and the exception type.
        assert reference in caplog.text and "RuntimeError" in caplog.text

        with pytest.raises(errors.UndefinedError):
            server.backend(retries=1).execute(REGION, model.Encrypt(key=model.KeyRef(key_id="k"), plaintext=b"x"))


def test_unknown_path_and_method_answer_the_envelope(fresh: ThreadServer) -> None:
    import requests

    missing = requests.post(fresh.endpoint + "/v2/keys", timeout=10)
    assert missing.status_code == 404 and missing.json()["ResponseMetadata"]["Error"]["Code"] == "NotFound"
    wrong_method = requests.put(fresh.endpoint + "/?Action=DescribeKeys&Version=2021-02-18", timeout=10)
    assert wrong_method.status_code == 405
    assert "POST" in wrong_method.json()["ResponseMetadata"]["Error"]["Message"]
    # GET with the parameters in the query is how the SDK sends a few actions: signed, it is served.
    unsigned_get = requests.get(fresh.endpoint + "/?Action=EnableKey&Version=2021-02-18&KeyID=k", timeout=10)
    assert unsigned_get.status_code == 403
    assert unsigned_get.json()["ResponseMetadata"]["Error"]["Code"] == "AccessDenied"
    assert requests.get(fresh.endpoint + "/_emulator/health", timeout=10).json() == {"status": "ok"}
