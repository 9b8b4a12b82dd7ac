"""The HTTP backend against a misbehaving network, scripted in its transport and on real loopback sockets:
throttling, 5xx,
timeouts, garbled answers, refused connections; which calls it repeats and which it must not; the
creates that Volcengine's API cannot make safe to repeat; and the signature of everything it sends."""

from __future__ import annotations

import http.server
import ipaddress
import json
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from provider.backend.http import HttpBackend
from provider.backend.transport import AnswerLost, ConnectFailed, Timeout
from provider.dialects.volcengine import signer
from provider.domain import errors, model
from tests.wire.conftest import KR

AK, SK = "AKFAULTS00000001", "faults-secret-Q7wE9rT1yU3iO5pA"
ENDPOINT = "http://kms.test:8400"
REGION = "cn-north-4"
KEY = {"ID": "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "KeyName": "k", "KeyState": "Enable",
       "Trn": "trn:kms:cn-north-4:2100000000:keyrings/default/keys/k", "KeySpec": "SYMMETRIC_256",
       "KeyUsage": "ENCRYPT_DECRYPT"}
REF = model.KeyRef(key_id=str(KEY["ID"]))

Reply = tuple[int, dict[str, Any] | str] | Exception


def envelope(action: str, *, result: dict[str, Any] | None = None, code: str | None = None,
             message: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"RequestId": "r", "Action": action, "Version": "2021-02-18", "Service": "kms",
                            "Region": REGION}
    if code:
        meta["Error"] = {"Code": code, "Message": message or code}
        return {"ResponseMetadata": meta}
    return {"ResponseMetadata": meta, "Result": result or {}}


@dataclass(frozen=True)
class Sent:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


class Script:
    """The backend's transport: answers its requests from a list (an exception is raised as the real
    transport raises it), and keeps what it was sent."""

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = iter(replies)
        self.requests: list[Sent] = []

    def request(self, method: str, url: str, body: bytes | None, headers: dict[str, str],
                timeout: Timeout) -> tuple[int, bytes]:
        self.requests.append(Sent(method, url, dict(headers), body))
        reply = next(self.replies)
        if isinstance(reply, Exception):
            raise reply
        status, doc = reply
        return status, (doc if isinstance(doc, str) else json.dumps(doc)).encode()

    def close(self) -> None:
        pass

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.body or b"{}") for r in self.requests]


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoff waits, recorded instead of slept."""
    waits: list[float] = []
    monkeypatch.setattr("provider.backend.http.time.sleep", waits.append)
    return waits


def backend(**kwargs: Any) -> HttpBackend:
    return HttpBackend(ENDPOINT, access_key=AK, secret_key=SK, **kwargs)


def run(replies: list[Reply], call: Callable[[HttpBackend], Any], **kwargs: Any) -> tuple[Script, Any]:
    script = Script(replies)
    b = backend(**kwargs)
    b.transport = script  # type: ignore[assignment]
    try:
        return script, call(b)
    finally:
        b.close()


THROTTLED = (403, envelope("DescribeKey", code="Reject.Throttling.Action"))
BROKEN = (500, envelope("DescribeKey", code="UndefinedError"))
OK = (200, envelope("DescribeKey", result={"Key": KEY}))
LOST = AnswerLost("no answer within the timeout", timed_out=True)


def describe(b: HttpBackend) -> Any:
    key = b.execute(REGION, model.DescribeKey(key=REF))
    assert isinstance(key, model.Key)
    return key.key_id


def test_throttled_then_success(sleeps: list[float]) -> None:
    script, result = run([THROTTLED, THROTTLED, OK], describe)
    assert result == KEY["ID"]
    assert len(script.requests) == 3 and len(sleeps) == 2


def test_5xx_then_success(sleeps: list[float]) -> None:
    bad_gateway: Reply = (502, "<html>Bad Gateway</html>")
    script, result = run([BROKEN, bad_gateway, OK], describe)
    assert result == KEY["ID"] and len(script.requests) == 3


def test_5xx_until_the_retries_run_out(sleeps: list[float]) -> None:
    with pytest.raises(errors.UndefinedError):
        run([BROKEN] * 10, describe, retries=3)
    assert len(sleeps) == 3


def test_backoff_is_exponential_with_jitter(sleeps: list[float]) -> None:
    with pytest.raises(errors.Throttled):
        run([THROTTLED] * 10, describe, retries=6, backoff=0.1, max_backoff=1.0)
    caps = [min(1.0, 0.1 * 2 ** n) for n in range(1, 7)]
    assert all(0 <= wait <= cap for wait, cap in zip(sleeps, caps, strict=True))
    assert len(set(sleeps)) == len(sleeps), "waits without jitter would march in step"


def test_read_timeout_is_retried_for_a_read(sleeps: list[float]) -> None:
    script, result = run([LOST, OK], describe)
    assert result == KEY["ID"] and len(script.requests) == 2


def test_read_timeout_is_not_repeated_for_a_non_repeatable_write(sleeps: list[float]) -> None:
    """The server may have disabled the key already: a blind repeat could fail where the first call won."""
    with pytest.raises(errors.UndefinedError, match="timed out") as err:
        run([LOST, OK], lambda b: b.execute(REGION, model.DisableKey(key=REF)))
    assert "DisableKey" in err.value.message
    assert sleeps == []


@pytest.mark.parametrize("failure", [
    ConnectFailed("the connection was not made within the timeout", timed_out=True),
    ConnectFailed("the connection was not made: ConnectionRefusedError", timed_out=False),
])
def test_a_connection_never_made_is_retried_even_for_a_write(sleeps: list[float],
                                                             failure: Exception) -> None:
    done = (200, envelope("DisableKey"))
    script, result = run([failure, done, OK], lambda b: b.execute(REGION, model.DisableKey(key=REF)).key_id)
    assert result == KEY["ID"] and len(script.requests) == 3


def test_throttling_is_retried_even_for_a_write(sleeps: list[float]) -> None:
    done = (200, envelope("ScheduleKeyDeletion"))
    script, _ = run([THROTTLED, done, OK], lambda b: b.execute(REGION, model.ScheduleKeyDeletion(key=REF)))
    assert len(script.requests) == 3


def test_5xx_is_not_repeated_for_a_non_repeatable_write(sleeps: list[float]) -> None:
    with pytest.raises(errors.UndefinedError):
        run([BROKEN, OK], lambda b: b.execute(REGION, model.ScheduleKeyDeletion(key=REF)))
    assert sleeps == []


def test_garbled_answer_never_quotes_the_body(sleeps: list[float]) -> None:
    leak = '{"Result": {"Plaintext": "c2VjcmV0LXBsYWludGV4dA=="'
    with pytest.raises(errors.UndefinedError) as err:
        run([(200, leak)] * 3, lambda b: b.execute(REGION, model.Decrypt(ciphertext=b"\0" * 40)), retries=2)
    assert "envelope" in err.value.message and "c2VjcmV0" not in str(err.value)


def test_a_foreign_error_page_is_not_retried(sleeps: list[float]) -> None:
    with pytest.raises(errors.UndefinedError, match="HTTP 404"):
        run([(404, "<html>no such site</html>"), OK], describe)
    assert sleeps == []


@pytest.mark.parametrize("code", list(errors.ERRORS_BY_CODE))
def test_wire_codes_become_the_domain_exceptions(sleeps: list[float],
                                                 code: str) -> None:
    cls = errors.ERRORS_BY_CODE[code]
    reply = (cls.status, envelope("DescribeKey", code=code, message=f"the words of {code}"))
    with pytest.raises(errors.KmsError) as err:
        run([reply] * 10, describe, retries=1)
    assert type(err.value) is cls
    assert err.value.message == f"the words of {code}"


def test_unknown_wire_code_is_an_undefined_error(sleeps: list[float]) -> None:
    with pytest.raises(errors.UndefinedError, match="Something.New"):
        run([(400, envelope("DescribeKey", code="Something.New"))], describe)


@pytest.mark.parametrize("action", [model.CreateKey(name="k"), model.ReplicateKey(key=REF, replica_region="cn-east-3")])
def test_a_create_is_not_repeated_after_a_lost_answer(sleeps: list[float],
                                                      action: model.Action) -> None:
    """Volcengine's API has no client token: a repeated create could make a second key (or fail on the
    first one's name), so the caller sees the loss and can look before trying again."""
    with pytest.raises(errors.UndefinedError):
        run([BROKEN, OK], lambda b: b.execute(REGION, action))
    assert sleeps == []


def test_a_throttled_create_is_retried_and_carries_only_volcengine_parameters(sleeps: list[float]) -> None:
    ok = (200, envelope("CreateKey", result={"Key": KEY}))
    script, key = run([THROTTLED, ok], lambda b: b.execute(REGION, model.CreateKey(name="k")))
    assert key.key_id == KEY["ID"] and len(script.requests) == 2
    assert script.bodies()[1] == {**KR, "KeyName": "k", "KeySpec": "SYMMETRIC_256"}


class Loopback:
    """A real HTTP/1.1 server on 127.0.0.1 answering from a script; keeps each request as received and
    the client ports it came from (one port: one kept-alive connection)."""

    def __init__(self, replies: list[Reply | str]) -> None:
        self.replies = iter(replies)
        self.requests: list[Sent] = []
        self.ports: list[int] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append(Sent(self.command, self.path, dict(self.headers.items()), body))
                outer.ports.append(self.client_address[1])
                reply = next(outer.replies)
                if reply == "hang":
                    threading.Event().wait(1.0)  # longer than the read timeout (time.sleep is patched)
                    return
                if reply == "drop":
                    self.close_connection = True
                    return
                assert isinstance(reply, tuple)
                status, doc = reply
                data = (doc if isinstance(doc, str) else json.dumps(doc)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def loopback() -> Iterator[Callable[[list[Reply | str]], Loopback]]:
    servers: list[Loopback] = []

    def start(replies: list[Reply | str]) -> Loopback:
        servers.append(Loopback(replies))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_every_request_is_signed_as_the_server_checks(loopback: Callable[[list[Reply | str]], Loopback],
                                                     sleeps: list[float]) -> None:
    server = loopback([THROTTLED, OK])
    b = HttpBackend(server.endpoint, access_key=AK, secret_key=SK)
    assert describe(b) == KEY["ID"]
    b.close()
    assert len(server.requests) == 2
    for request in server.requests:
        parts = urlsplit(request.url)
        query = parse_qsl(parts.query)
        assert query == [("Action", "DescribeKey"), ("Version", "2021-02-18")]
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert headers["host"] == urlsplit(server.endpoint).netloc
        assert headers["content-type"] == "application/json"
        cred = signer.verify(method=request.method, path=parts.path, query=query, headers=headers,
                             body=request.body or b"", secret_for={AK: SK}.get)
        assert (cred.access_key, cred.region) == (AK, REGION)
    # Kept alive: the retry went over the first call's connection.
    assert len(set(server.ports)) == 1


def test_a_refused_connection_is_retried_even_for_a_write(sleeps: list[float]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed on leaving: nothing listens there
    b = HttpBackend(f"http://127.0.0.1:{port}", access_key=AK, secret_key=SK, retries=2)
    with pytest.raises(errors.UndefinedError, match="could not reach"):
        b.execute(REGION, model.DisableKey(key=REF))
    b.close()
    assert len(sleeps) == 2  # never reached the server: a write is safe to send again


def test_a_real_read_timeout_is_retried_for_a_read_only(loopback: Callable[[list[Reply | str]], Loopback],
                                                        sleeps: list[float]) -> None:
    server = loopback(["hang", OK, "hang", OK])
    b = HttpBackend(server.endpoint, access_key=AK, secret_key=SK, timeout=(2.0, 0.2))
    assert describe(b) == KEY["ID"] and len(server.requests) == 2
    with pytest.raises(errors.UndefinedError, match="timed out"):
        b.execute(REGION, model.DisableKey(key=REF))
    b.close()
    assert len(server.requests) == 3


def test_a_real_dropped_answer_is_not_repeated_for_a_write(loopback: Callable[[list[Reply | str]], Loopback],
                                                           sleeps: list[float]) -> None:
    server = loopback(["drop", OK])
    b = HttpBackend(server.endpoint, access_key=AK, secret_key=SK)
    with pytest.raises(errors.UndefinedError, match="could not reach"):
        b.execute(REGION, model.DisableKey(key=REF))
    b.close()
    assert len(server.requests) == 1 and sleeps == []


def test_region_endpoints(sleeps: list[float]) -> None:
    seen: list[tuple[str, str]] = []
    page = json.dumps(envelope("DescribeKeys", result={"Keys": [], "PageInfo": {"TotalCount": 0}})).encode()

    class Answer(Script):
        def request(self, method: str, url: str, body: bytes | None, headers: dict[str, str],
                    timeout: Timeout) -> tuple[int, bytes]:
            region = headers["Authorization"].split("/")[2]
            seen.append((urlsplit(url).netloc, region))
            assert urlsplit(url).path == "/api/"
            return 200, page

    b = HttpBackend("https://kms.{region}.example.test/api", access_key=AK, secret_key=SK)
    b.transport = Answer([])  # type: ignore[assignment]
    for region in ("cn-north-4", "cn-east-3"):
        b.execute(region, model.DescribeKeys())
    b.close()
    assert seen == [("kms.cn-north-4.example.test", "cn-north-4"), ("kms.cn-east-3.example.test", "cn-east-3")]


def test_configuration_errors_name_the_setting() -> None:
    with pytest.raises(errors.InvalidParameter, match="KMS_ACCESS_KEY and KMS_SECRET_KEY"):
        HttpBackend(ENDPOINT, access_key=AK, secret_key=None)
    with pytest.raises(errors.InvalidParameter, match="KMS_ENDPOINT"):
        HttpBackend("kms.test:8400", access_key=AK, secret_key=SK)
    with pytest.raises(errors.InvalidParameter, match="KMS_ENDPOINT"):
        HttpBackend("ftp://kms.test", access_key=AK, secret_key=SK)


def test_the_secret_key_is_never_shown() -> None:
    b = backend()
    assert SK not in repr(b) and SK not in str(vars(b).get("endpoint"))
    b.close()


@pytest.mark.parametrize(("name", "other"), [("volcengine", "huaweicloud"), ("huaweicloud", "volcengine")])
def test_a_client_loads_only_its_own_dialect(name: str, other: str) -> None:
    # What `kmsctl` through an endpoint imports is what its user waits for: one dialect's client half,
    # not the other dialect, not any server half, not the emulator.
    probe = (f"import sys; from provider.backend.http import HttpBackend; "
             f"HttpBackend('http://127.0.0.1:1', access_key='a', secret_key='b', dialect={name!r}); "
             "print(sorted(m for m in sys.modules if m.startswith('provider.')))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert f"provider.dialects.{name}.client" in loaded
    assert f"provider.dialects.{other}" not in loaded
    assert f"provider.dialects.{name}.server" not in loaded
    assert "provider.emulator" not in loaded


def test_an_unknown_dialect_names_the_setting_and_the_choices() -> None:
    with pytest.raises(errors.InvalidParameter, match="KMS_DIALECT must be one of huaweicloud, volcengine, not 'aws'"):
        HttpBackend(ENDPOINT, access_key=AK, secret_key=SK, dialect="aws")


def test_tls_is_verified_against_the_trust_store(tmp_path: Path, sleeps: list[float]) -> None:
    """A server whose certificate no trusted authority signed is refused before anything is sent."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    server = Loopback([OK])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server.server.socket = context.wrap_socket(server.server.socket, server_side=True,
                                               do_handshake_on_connect=False)
    b = HttpBackend(server.endpoint.replace("http://", "https://"), access_key=AK, secret_key=SK, retries=0)
    try:
        with pytest.raises(errors.UndefinedError, match="could not reach .*SSLCertVerificationError"):
            describe(b)
    finally:
        b.close()
        server.close()
    assert server.requests == []
