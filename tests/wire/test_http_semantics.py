"""`kmsctl serve` sends each answer's head and body in one write (provider/server/protocol.py), proved through
the pinned uvicorn's own protocol code, and its HTTP works as clients use it: a HEAD answer without a body,
`Expect: 100-continue` (curl sends it for bodies over 1 KiB), keep-alive, and answers on a connection the
server closes."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from provider.server.protocol import _OneWrite
from tests.support.live_server import KmsctlServer


class Recording:
    """A transport that keeps what was written, one entry per write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def _one_write(recording: Recording) -> _OneWrite:
    return _OneWrite(recording)  # type: ignore[arg-type]


def test_a_head_and_its_body_leave_in_one_write() -> None:
    rec = Recording()
    t = _one_write(rec)
    t.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    assert rec.writes == []
    t.write(b"{}")
    assert rec.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]


def test_an_interim_answer_and_other_bytes_are_not_held() -> None:
    rec = Recording()
    t = _one_write(rec)
    t.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    t.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 3\r\n\r\nbad")
    assert rec.writes == [b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 400 Bad Request\r\ncontent-length: 3\r\n\r\nbad"]


def test_a_held_head_goes_out_on_close_and_on_flush() -> None:
    rec = Recording()
    t = _one_write(rec)
    t.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    t.flush()
    assert rec.writes == [b"HTTP/1.1 204 No Content\r\n\r\n"]
    t.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n")
    t.close()
    assert rec.writes[-1] == b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n" and rec.closed
    assert t.is_closing()  # everything else is the transport's




class Connection(Recording):
    """Recording, with what uvicorn's protocol asks of a socket's transport."""

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8400), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _writes_of(request: bytes, tmp_path: Path) -> list[bytes]:
    """The writes `kmsctl serve`'s configured protocol (uvicorn's code, this repository's subclass) makes for
    one request on a connection, through the real application."""
    from uvicorn.server import ServerState

    from provider.server.run import build_app, config

    app = build_app(tmp_path / "state", access_key="AKTEST", secret_key="secret-for-the-test")
    cfg = config(app, "127.0.0.1", 0, own_logging=False)
    cfg.load()

    async def exchange() -> list[bytes]:
        conn = Connection()
        protocol = cfg.http_protocol_class(cfg, ServerState(), {}, asyncio.get_running_loop())  # type: ignore[call-arg]
        protocol.connection_made(conn)  # type: ignore[arg-type]
        protocol.data_received(request)  # type: ignore[attr-defined]
        for _ in range(200):  # the answer, then time for a second write if one were coming
            await asyncio.sleep(0.01)
            if conn.writes and b"\r\n\r\n" in conn.writes[0] and len(conn.writes[0].split(b"\r\n\r\n", 1)[1]):
                break
        await asyncio.sleep(0.05)
        protocol.connection_lost(None)  # type: ignore[attr-defined]
        return conn.writes

    try:
        return asyncio.run(exchange())
    finally:
        app.close()


def test_an_action_answer_leaves_in_one_write_through_uvicorns_own_protocol(tmp_path: Path) -> None:
    writes = _writes_of(b"POST /?Action=DescribeKeys&Version=2021-02-18 HTTP/1.1\r\nHost: t\r\n"
                        b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", tmp_path)
    assert len(writes) == 1, writes  # head and body together
    head, _, body = writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 40") and b'"Code":"AccessDenied"' in body  # unsigned: refused, in full


def test_a_page_answer_leaves_in_one_write_too(tmp_path: Path) -> None:
    writes = _writes_of(b"GET /_emulator/health HTTP/1.1\r\nHost: t\r\n\r\n", tmp_path)
    assert len(writes) == 1 and writes[0].startswith(b"HTTP/1.1 200 ") and writes[0].endswith(b'{"status":"ok"}')


def _exchange(sock: socket.socket, request: bytes) -> bytes:
    """Send `request`; read one answer (head, then content-length bytes)."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    if not request.startswith(b"HEAD "):
        while len(body) < length:
            body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_head_then_get_on_one_keep_alive_connection(kmsctl: KmsctlServer) -> None:
    with socket.create_connection(("127.0.0.1", kmsctl.port), timeout=10) as sock:
        head = _exchange(sock, b"HEAD /_emulator/health HTTP/1.1\r\nHost: t\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 ")  # answered (Starlette: 405 or 200), not left waiting
        got = _exchange(sock, b"GET /_emulator/health HTTP/1.1\r\nHost: t\r\n\r\n")
        assert got.startswith(b"HTTP/1.1 200 ") and got.endswith(b'{"status":"ok"}')


def test_expect_100_continue_gets_its_interim_answer_then_the_real_one(kmsctl: KmsctlServer) -> None:
    body = b'{"KeyringName":"default"}'
    with socket.create_connection(("127.0.0.1", kmsctl.port), timeout=10) as sock:
        sock.sendall(b"POST /?Action=DescribeKeys&Version=2021-02-18 HTTP/1.1\r\nHost: t\r\n"
                     b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        interim = sock.recv(65536)  # the client waits for this before it sends the body
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        rest = interim[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
        sock.sendall(body)
        while b"}}" not in rest:
            chunk = sock.recv(65536)
            assert chunk
            rest += chunk
        # Unsigned: refused in the service's envelope, in full.
        assert rest.startswith(b"HTTP/1.1 401 ") or rest.startswith(b"HTTP/1.1 403 ")
        assert b'"Code":"AccessDenied"' in rest


def test_an_answer_on_a_closing_connection_arrives_whole(kmsctl: KmsctlServer) -> None:
    with socket.create_connection(("127.0.0.1", kmsctl.port), timeout=10) as sock:
        sock.sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(b'{"status":"ok"}')


def test_the_protocol_is_what_kmsctl_serve_runs() -> None:
    from provider.server.protocol import OneWriteProtocol
    from provider.server.run import config

    async def app(scope: object, receive: object, send: object) -> None:  # pragma: no cover - never called
        return None

    assert config(app, "127.0.0.1", 0).http is OneWriteProtocol  # type: ignore[arg-type]


def test_another_uvicorn_release_runs_uvicorns_own_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one-write protocol subclasses a class uvicorn does not publish: only the release the tests pin runs it."""
    import uvicorn

    from provider.server import run

    assert uvicorn.__version__ == run.ONE_WRITE_UVICORN  # the [test] extra's pin: the tests above ran on it
    monkeypatch.setattr(uvicorn, "__version__", "0.99.0")
    assert run._http() == "httptools"
