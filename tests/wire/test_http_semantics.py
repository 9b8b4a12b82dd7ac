"""`kmsctl serve`'s HTTP works as clients use it: a HEAD answer without a body, `Expect: 100-continue` (curl
sends it for bodies over 1 KiB), keep-alive, and answers on a connection the server closes; and it runs on
uvicorn's own httptools protocol."""

from __future__ import annotations

import socket

from tests.support.live_server import KmsctlServer


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


def test_kmsctl_serve_runs_uvicorns_httptools_protocol() -> None:
    from provider.server.run import config

    async def app(scope: object, receive: object, send: object) -> None:  # pragma: no cover - never called
        return None

    assert config(app, "127.0.0.1", 0).http == "httptools"  # type: ignore[arg-type]
