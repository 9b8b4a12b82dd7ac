"""The emulator's clock lives on its own path, `POST /_emulator/clock/advance`, outside both clouds' APIs,
signed with either cloud's signature; neither cloud's API answers for it any more, and a client pointed
at an endpoint without that path says so in one line (whatever the endpoint's host is called)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from provider.backend.http import HttpBackend
from provider.dialects.huaweicloud import signer as huawei_signer
from provider.dialects.volcengine import signer as volc_signer
from provider.domain import model
from provider.domain.errors import AccessDenied, InvalidOperation, InvalidParameter
from provider.emulator import Emulator
from provider.server.app import KmsApp
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, ThreadServer
from tests.wire.conftest import post

PATH = "/_emulator/clock/advance"
DAY = 86400


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ThreadServer]:
    with ThreadServer(KmsApp(Emulator(tmp_path / "state"), {ACCESS_KEY: SECRET_KEY})) as running:
        yield running


def volcengine_signed(endpoint: str, body: bytes, path: str = PATH, secret: str = SECRET_KEY) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    headers |= volc_signer.sign(method="POST", host=urlsplit(endpoint).netloc, path=path, query=[], body=body,
                                access_key=ACCESS_KEY, secret_key=secret, region="cn-north-4", headers=headers)
    return requests.post(endpoint + path, data=body, headers=headers, timeout=30)


def huawei_signed(endpoint: str, body: bytes, project: str = "cn-north-4") -> requests.Response:
    headers = {"Content-Type": "application/json", "X-Project-Id": project}
    headers |= huawei_signer.sign("POST", PATH, [], headers, body, urlsplit(endpoint).netloc, ACCESS_KEY, SECRET_KEY)
    return requests.post(endpoint + PATH, data=body, headers=headers, timeout=30)


def test_the_clock_moves_under_either_signature_and_deletions_come_due(server: ThreadServer) -> None:
    backend = server.backend()
    key = backend.execute("cn-north-4", model.CreateKey(name="doomed"))
    assert isinstance(key, model.Key)
    backend.execute("cn-north-4", model.ScheduleKeyDeletion(key=model.KeyRef(key_id=key.key_id), pending_days=7))

    first = volcengine_signed(server.endpoint, b'{"seconds": 86400}')
    assert first.status_code == 200, first.text
    assert set(first.json()) == {"now", "offset_seconds"} and first.json()["offset_seconds"] == DAY
    second = huawei_signed(server.endpoint, json.dumps({"seconds": 6 * DAY + 1}).encode())
    assert second.status_code == 200, second.text
    assert second.json()["offset_seconds"] == 7 * DAY + 1
    assert post(server.endpoint, "DescribeKey", {"KeyID": key.key_id}).status == 404  # the deletion came due


@pytest.mark.parametrize("dialect", ["volcengine", "huaweicloud"])
def test_each_dialects_client_moves_the_clock_of_kmsctl_serve(server: ThreadServer, dialect: str) -> None:
    backend = HttpBackend(server.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, dialect=dialect)
    clock = backend.execute("cn-north-4", model.AdvanceClock(seconds=60))
    assert isinstance(clock, model.Clock) and clock.offset_seconds == 60
    with pytest.raises(InvalidParameter):  # the service's own rule, in the dialect's own error
        backend.execute("cn-north-4", model.AdvanceClock(seconds=-5))
    backend.close()


def test_an_unsigned_or_badly_signed_clock_request_is_refused(server: ThreadServer) -> None:
    unsigned = requests.post(server.endpoint + PATH, data=b'{"seconds": 60}', timeout=30)
    assert unsigned.status_code in (401, 403)
    assert unsigned.json()["ResponseMetadata"]["Error"]["Code"] == "AccessDenied"
    wrong = volcengine_signed(server.endpoint, b'{"seconds": 60}', secret="not-the-secret")
    assert wrong.status_code in (401, 403)
    backend = HttpBackend(server.endpoint, access_key=ACCESS_KEY, secret_key="not-the-secret", retries=0)
    with pytest.raises(AccessDenied):
        backend.execute("cn-north-4", model.AdvanceClock(seconds=60))
    backend.close()
    assert volcengine_signed(server.endpoint, b'{"seconds": 0}').json()["offset_seconds"] == 0  # nothing moved


@pytest.mark.parametrize(("body", "words"), [
    (b'{"seconds": -5}', "second"),
    (b'{"seconds": "60"}', "whole number"),
    (b'{"seconds": true}', "whole number"),
    (b'{"Seconds": 60}', "{\"seconds\": N}"),
    (b"[60]", "{\"seconds\": N}"),
    (b"{not json", "not JSON"),
])
def test_a_bad_clock_request_is_a_4xx_naming_the_rule(server: ThreadServer, body: bytes, words: str) -> None:
    answer = volcengine_signed(server.endpoint, body)
    assert answer.status_code == 400, answer.text
    assert words in answer.json()["ResponseMetadata"]["Error"]["Message"]
    huawei = huawei_signed(server.endpoint, body)
    assert huawei.status_code == 400 and words in huawei.json()["error"]["error_msg"]


def test_another_emulator_path_is_not_found(server: ThreadServer) -> None:
    answer = volcengine_signed(server.endpoint, b"{}", path="/_emulator/teleport")
    assert answer.status_code == 404
    assert "/_emulator/clock/advance" in answer.json()["ResponseMetadata"]["Error"]["Message"]


def test_neither_clouds_api_has_the_clock_any_more(server: ThreadServer) -> None:
    old = post(server.endpoint, "AdvanceClock", {"Seconds": 60})
    assert old.status == 404 and old.error is not None and old.error["Code"] == "InvalidActionOrVersion"
    path = "/v1.0/cn-north-4/kms/advance-clock"
    headers = {"Content-Type": "application/json", "X-Project-Id": "cn-north-4"}
    body = b'{"seconds": 60}'
    headers |= huawei_signer.sign("POST", path, [], headers, body, urlsplit(server.endpoint).netloc, ACCESS_KEY,
                                  SECRET_KEY)
    huawei = requests.post(server.endpoint + path, data=body, headers=headers, timeout=30)
    assert (huawei.status_code, huawei.json()["error_code"]) == (404, "APIGW.0101")


class _NotFound(BaseHTTPRequestHandler):
    """A service with no such path, as a real cloud's endpoint is for the emulator's clock."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"error_code": "APIGW.0101", "error_msg": "The API does not exist"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def no_clock() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("dialect", ["volcengine", "huaweicloud"])
def test_a_clock_advance_against_an_endpoint_without_the_clock_fails_in_one_line(no_clock: str, dialect: str) -> None:
    backend = HttpBackend(no_clock, access_key=ACCESS_KEY, secret_key=SECRET_KEY, dialect=dialect, retries=0)
    with pytest.raises(InvalidOperation) as caught:
        backend.execute("cn-north-4", model.AdvanceClock(seconds=60))
    message = caught.value.message
    assert "no emulator clock" in message and "\n" not in message and "HTTP 404" in message
    backend.close()


@pytest.mark.parametrize("dialect", ["volcengine", "huaweicloud"])
def test_kmsctl_clock_advance_moves_kmsctl_serve_and_names_an_endpoint_without_a_clock(
        server: ThreadServer, no_clock: str, dialect: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.cli import invoke


    for name, value in {"KMS_DIALECT": dialect, "KMS_ACCESS_KEY": ACCESS_KEY, "KMS_SECRET_KEY": SECRET_KEY}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "400")  # a wide terminal: the line is not wrapped for display
    monkeypatch.setenv("KMS_ENDPOINT", server.endpoint)
    moved = invoke(["clock", "advance", "1d"])
    assert moved.exit_code == 0, moved.output
    assert "offset is now 86400s" in moved.output
    monkeypatch.setenv("KMS_ENDPOINT", no_clock)
    refused = invoke(["clock", "advance", "1d"])
    assert refused.exit_code == 1
    lines = [line for line in refused.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "has no emulator clock" in lines[0], refused.output


def test_the_emulators_own_pages_are_under_its_prefix_not_at_the_root(server: ThreadServer) -> None:
    assert requests.get(server.endpoint + "/_emulator/health", timeout=10).json() == {"status": "ok"}
    assert requests.get(server.endpoint + "/_emulator/openapi.json", timeout=10).json()["openapi"] == "3.1.0"
    for old in ("/healthz", "/openapi.json"):
        assert requests.get(server.endpoint + old, timeout=10).status_code == 404, old
