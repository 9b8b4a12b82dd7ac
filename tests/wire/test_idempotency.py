"""A create whose answer is lost on the way back: the server made the key, the client never heard.

A proxy on loopback forwards each request to a live server and drops the first answers (closes the
client's connection instead of relaying). Volcengine's API has no client token, so the HTTP backend does
not repeat a create: it reports the loss, and the caller finds the one key by its keyring and name. The
server's own `ClientToken` (ours) makes a repeated raw create answer the first key."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from provider.backend.http import HttpBackend
from provider.client import KmsClient
from provider.domain import errors
from provider.domain.model import KeyRef
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, ThreadServer
from tests.wire.conftest import KR, REGION, post


def _read_message(sock: socket.socket) -> bytes | None:
    """One HTTP/1.1 message with a Content-Length body, or None when the peer closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head + b"\r\n\r\n" + body


class DroppingProxy:
    """Forwards to `upstream_port`; the answers of the first `drop` requests never reach the client."""

    def __init__(self, upstream_port: int, drop: int) -> None:
        self.upstream_port = upstream_port
        self.drop = drop
        self.forwarded = 0
        self.dropped = 0
        self._lock = threading.Lock()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port: int = self.listener.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client, socket.create_connection(("127.0.0.1", self.upstream_port)) as upstream:
            while True:
                request = _read_message(client)
                if request is None:
                    return
                upstream.sendall(request)
                answer = _read_message(upstream)
                if answer is None:
                    return
                with self._lock:
                    self.forwarded += 1
                    lose = self.dropped < self.drop
                    self.dropped += lose
                if lose:
                    return  # the server acted; the client sees its connection close without an answer
                client.sendall(answer)

    def close(self) -> None:
        self._stop = True
        self.listener.close()


@pytest.fixture
def proxy(fresh: ThreadServer) -> Iterator[DroppingProxy]:
    p = DroppingProxy(fresh.port, drop=1)
    yield p
    p.close()


def _names(fresh: ThreadServer, region: str = REGION) -> list[str]:
    return [k["KeyName"] for k in post(fresh.endpoint, "DescribeKeys", {"PageSize": 100}, region=region).result["Keys"]]


def _client(proxy: DroppingProxy) -> KmsClient:
    return KmsClient(HttpBackend(proxy.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, backoff=0.01), REGION)


def test_lost_create_answer_is_reported_and_the_one_key_found(fresh: ThreadServer, proxy: DroppingProxy) -> None:
    kms = _client(proxy)
    with pytest.raises(errors.UndefinedError):
        kms.create_key("made-once")
    assert proxy.dropped == 1 and proxy.forwarded == 1  # sent once, never repeated
    assert _names(fresh) == ["made-once"]
    assert kms.describe_key(KeyRef(keyring="default", name="made-once")).name == "made-once"


def test_lost_replicate_answer_is_reported_and_the_one_replica_found(fresh: ThreadServer,
                                                                     proxy: DroppingProxy) -> None:
    primary = post(fresh.endpoint, "CreateKey", {**KR, "KeyName": "primary"}).result["Key"]
    kms = _client(proxy)
    with pytest.raises(errors.UndefinedError):
        kms.replicate_key(primary["ID"], "cn-east-3")
    assert proxy.forwarded == 1
    assert _names(fresh, "cn-east-3") == ["primary"]
    # The replica has its primary's keyring and name in its own region (Volcengine's ReplicateKey
    # reference, https://www.volcengine.com/docs/6476/1438471).
    assert kms.in_region("cn-east-3").describe_key(KeyRef(keyring="default", name="primary")).is_replica


def test_the_server_takes_no_client_token_volcengines_create_key_has_none(fresh: ThreadServer) -> None:
    """Volcengine's CreateKey has no ClientToken: the server refuses it naming the parameter, and makes no key."""
    refused = post(fresh.endpoint, "CreateKey", {**KR, "KeyName": "tokened", "ClientToken": "t-1"})
    assert refused.status == 400 and refused.error is not None
    assert "ClientToken" in refused.error["Message"]
    assert post(fresh.endpoint, "DescribeKey", {**KR, "KeyName": "tokened"}).status == 404


def test_without_the_token_the_repeat_would_have_failed(fresh: ThreadServer) -> None:
    """Why the token matters: the same create sent twice without it is refused the second time."""
    assert post(fresh.endpoint, "CreateKey", {**KR, "KeyName": "no-token"}).status == 200
    again = post(fresh.endpoint, "CreateKey", {**KR, "KeyName": "no-token"})
    assert again.status == 409 and again.error is not None and again.error["Code"] == "Conflict"


def test_lost_answer_of_a_non_repeatable_write_is_reported_not_repeated(fresh: ThreadServer,
                                                                        proxy: DroppingProxy) -> None:
    key = post(fresh.endpoint, "CreateKey", {**KR, "KeyName": "to-disable"}).result["Key"]
    with pytest.raises(errors.UndefinedError, match="DisableKey|reach"):
        _client(proxy).disable_key(key["ID"])
    assert proxy.forwarded == 1
    # The server did act; the caller can look and see it.
    assert post(fresh.endpoint, "DescribeKey", {"KeyID": key["ID"]}).result["Key"]["KeyState"] == "Disable"
