"""HttpBackend's own HTTP/1.1 client (provider/backend/transport.py) against a raw loopback server that
answers each request with scripted bytes: the framings of RFC 9112, keep-alive, and what counts as a lost
answer. (The backend's retries over it are in test_http_backend_faults.py.)"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from provider.backend.transport import AnswerLost, ConnectFailed, Transport


class Raw:
    """Accepts connections on 127.0.0.1; to each request (read up to its blank line and Content-Length
    body) it writes the next scripted answer, then closes the connection if the script says so."""

    def __init__(self, answers: list[tuple[bytes, bool]]) -> None:
        self.answers = iter(answers)
        self.requests: list[bytes] = []
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        with conn, reader:
            while True:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = reader.readline()
                    if not line:
                        return
                    head += line
                length = next((int(h.split(b":")[1]) for h in head.split(b"\r\n")
                               if h.lower().startswith(b"content-length:")), 0)
                self.requests.append(head + reader.read(length))
                answer, close = next(self.answers)
                conn.sendall(answer)
                if close:
                    return

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def raw() -> Iterator[list[Raw]]:
    servers: list[Raw] = []
    yield servers
    for server in servers:
        server.close()


def serve(servers: list[Raw], *answers: tuple[bytes, bool]) -> tuple[Raw, str]:
    servers.append(Raw(list(answers)))
    return servers[-1], f"http://127.0.0.1:{servers[-1].port}/p?q=1"


OK = (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", False)


def test_a_request_goes_out_as_signed_and_the_connection_is_kept(raw: list[Raw]) -> None:
    server, url = serve(raw, OK, OK)
    t = Transport()
    assert t.request("POST", url, b"{}", {"X-Date": "d"}, 5.0) == (200, b"ok")
    assert t.request("GET", url, None, {}, 5.0) == (200, b"ok")
    t.close()
    first, second = server.requests
    assert first.startswith(b"POST /p?q=1 HTTP/1.1\r\n") and first.endswith(b"\r\n\r\n{}")
    assert f"Host: 127.0.0.1:{server.port}\r\n".encode() in first and b"Content-Length: 2\r\n" in first
    assert b"X-Date: d\r\n" in first
    assert second.startswith(b"GET /p?q=1 HTTP/1.1\r\n") and b"Content-Length" not in second
    assert server.connections == 1


@pytest.mark.parametrize(("answer", "body"), [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n", b"abcde"),
    (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx", b"x"),
    (b"HTTP/1.1 204 No Content\r\n\r\n", b""),
])
def test_the_framings_of_an_answer(raw: list[Raw], answer: bytes, body: bytes) -> None:
    server, url = serve(raw, (answer, False), OK)
    t = Transport()
    status, data = t.request("GET", url, None, {}, 5.0)
    assert data == body and status in (200, 201, 204)
    assert t.request("GET", url, None, {}, 5.0) == (200, b"ok")  # the framing was read exactly: kept alive
    t.close()
    assert server.connections == 1


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.0 200 OK\r\n\r\nok",  # no length: the body ends with the connection
])
def test_an_answer_that_closes_the_connection(raw: list[Raw], answer: bytes) -> None:
    server, url = serve(raw, (answer, True), OK)
    t = Transport()
    assert t.request("GET", url, None, {}, 5.0) == (200, b"ok")
    assert t.request("GET", url, None, {}, 5.0) == (200, b"ok")
    t.close()
    assert server.connections == 2


def test_an_idle_connection_the_server_closed_is_not_used(raw: list[Raw]) -> None:
    server, url = serve(raw, (OK[0], True), OK)  # answers, then closes without saying so
    t = Transport()
    assert t.request("POST", url, b"{}", {}, 5.0) == (200, b"ok")
    threading.Event().wait(0.2)  # the server's close arrives
    assert t.request("POST", url, b"{}", {}, 5.0) == (200, b"ok")  # a write, on a fresh connection
    t.close()
    assert server.connections == 2


@pytest.mark.parametrize("answer", [
    b"SSH-2.0-OpenSSH\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"HTTP/1.1 200 OK\r\nbroken header\r\n\r\n",
])
def test_a_garbled_or_cut_answer_is_lost(raw: list[Raw], answer: bytes) -> None:
    _, url = serve(raw, (answer, True))
    t = Transport()
    with pytest.raises(AnswerLost) as lost:
        t.request("GET", url, None, {}, 5.0)
    assert not lost.value.timed_out
    t.close()


def test_nothing_listening_is_a_connection_never_made() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectFailed) as failed:
        Transport().request("GET", f"http://127.0.0.1:{port}/", None, {}, 5.0)
    assert not failed.value.timed_out and "ConnectionRefusedError" in str(failed.value)
