"""HttpBackend's HTTP/1.1 client: requests over kept-alive sockets, one pool per host.

`kmsctl` through an endpoint makes one or two calls and exits: a user waits for the client's import more
than for the calls. The standard library's http.client brings the email package (its header parser) and
ssl with it, which cost a bare interpreter's start again; what HttpBackend needs of a client is small and
kept here instead, over the socket module:

- HTTP/1.1 as RFC 9112 frames it (https://www.rfc-editor.org/rfc/rfc9112): a request line, headers and a
  body with its Content-Length; an answer framed by Content-Length, chunked transfer coding, or the end of
  the connection; `Connection: close` and HTTP/1.0 honoured.
- A pool of idle kept-alive connections per (scheme, host, port); one the server closed while it was idle
  is noticed before it is used.
- A connect timeout (name lookup aside, which the system resolver bounds) and a read timeout.
- TLS verified against the system's trust store with the host name checked (`ssl.create_default_context`,
  https://docs.python.org/3/library/ssl.html#ssl-security), ssl imported for the first https call only.
- No proxy from the environment: a signed call goes where it was signed for.
- Failures told apart by whether the request can have reached the server: ConnectFailed (it cannot), or
  AnswerLost (it may have been acted on).
"""

from __future__ import annotations

import select
import socket
from typing import Any
from urllib.parse import urlsplit

MAX_LINE = 65536  # a status or header line longer than this is no answer of a KMS API
MAX_HEADERS = 100


class ConnectFailed(Exception):
    """No connection was made (refused, unresolvable, connect timeout): the server cannot have acted."""

    def __init__(self, message: str, *, timed_out: bool) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class AnswerLost(Exception):
    """The request may have reached the server but no whole answer came back (read timeout, dropped)."""

    def __init__(self, message: str, *, timed_out: bool) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class BadAnswer(Exception):
    """What came back is not an HTTP/1.x answer (or breaks its framing)."""


Timeout = float | tuple[float, float]  # one for both, or (connect, read), as requests takes them


def _split(timeout: Timeout) -> tuple[float, float]:
    return timeout if isinstance(timeout, tuple) else (timeout, timeout)


class _Connection:
    """One socket and the buffered reader of its answers."""

    __slots__ = ("reader", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = sock.makefile("rb")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    def dropped(self) -> bool:
        """Whether the server closed this idle connection: readable while idle means EOF (or a stray byte,
        which makes it no use either)."""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def line(self) -> bytes:
        text = self.reader.readline(MAX_LINE + 1)
        if len(text) > MAX_LINE:
            raise BadAnswer("a line of the answer is too long")
        if not text.endswith(b"\n"):
            raise BadAnswer("the connection closed inside the answer's head")
        return text

    def exactly(self, n: int) -> bytes:
        data = self.reader.read(n)
        if len(data) != n:
            raise BadAnswer("the connection closed inside the answer's body")
        return data


def _host_for_lookup(host: str) -> str | bytes:
    """The host as getaddrinfo takes it: ASCII names as bytes, which skips the IDNA codec's import; others
    as text (IDNA-encoded by the resolver call)."""
    return host.encode() if host.isascii() else host


class Transport:
    """Connections per (scheme, host, port), at most `pool_size` idle ones kept for each."""

    def __init__(self, pool_size: int = 16) -> None:
        self.pool_size = pool_size
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._tls: Any = None  # ssl.SSLContext, made (and ssl imported) for the first https call only

    def close(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()

    def _connect(self, scheme: str, host: str, port: int, connect_timeout: float) -> _Connection:
        sock: socket.socket | None = None
        try:
            sock = socket.create_connection((_host_for_lookup(host), port), timeout=connect_timeout)  # type: ignore[arg-type]
            # Each request goes out in one write; no waiting to coalesce it with the next (Nagle's algorithm).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                sock = self._tls_context().wrap_socket(sock, server_hostname=host)  # the handshake, host checked
        except TimeoutError:
            if sock is not None:
                sock.close()
            raise ConnectFailed("the connection was not made within the timeout", timed_out=True) from None
        except OSError as exc:  # refused, unresolvable (socket.gaierror), ssl.SSLError (untrusted, wrong host)
            if sock is not None:
                sock.close()
            raise ConnectFailed(f"the connection was not made: {type(exc).__name__}", timed_out=False) from None
        return _Connection(sock)

    def _tls_context(self) -> Any:
        if self._tls is None:
            import ssl

            self._tls = ssl.create_default_context()  # the system's trust store; checks the host name
        return self._tls

    def _idle_connection(self, where: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(where)
        while idle:
            conn = idle.pop()
            if not conn.dropped():
                return conn
            conn.close()
        return None

    def _keep(self, where: tuple[str, str, int], conn: _Connection) -> None:
        idle = self._idle.setdefault(where, [])
        if len(idle) < self.pool_size:
            idle.append(conn)
        else:
            conn.close()

    def request(self, method: str, url: str, body: bytes | None, headers: dict[str, str],
                timeout: Timeout) -> tuple[int, bytes]:
        """Send one request; answer (status, body). Raises ConnectFailed or AnswerLost."""
        parts = urlsplit(url)
        scheme = parts.scheme
        host = parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
        where = (scheme, host, port)
        connect_timeout, read_timeout = _split(timeout)
        conn = self._idle_connection(where) or self._connect(scheme, host, port, connect_timeout)
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        try:
            conn.sock.settimeout(read_timeout)
            conn.sock.sendall(_head(method, target, parts.netloc, headers, body) + (body or b""))
            status, data, keep = _answer(conn, method)
        except TimeoutError:
            conn.close()
            raise AnswerLost("no answer within the timeout", timed_out=True) from None
        except (OSError, BadAnswer) as exc:
            conn.close()
            raise AnswerLost(f"the connection was dropped: {type(exc).__name__}", timed_out=False) from None
        if keep:
            self._keep(where, conn)
        else:
            conn.close()
        return status, data


def _head(method: str, target: str, netloc: str, headers: dict[str, str], body: bytes | None) -> bytes:
    """The request line and headers. `Host` is the URL's authority as written, which is what the caller
    signed, unless the headers name it themselves."""
    lines = [f"{method} {target} HTTP/1.1"]
    names = {name.lower() for name in headers}
    if "host" not in names:
        lines.append(f"Host: {netloc}")
    if "content-length" not in names and (body or method in ("POST", "PUT", "PATCH")):
        lines.append(f"Content-Length: {len(body or b'')}")
    lines += (f"{name}: {value}" for name, value in headers.items())
    if "\r" in "".join(lines) or "\n" in "".join(lines):
        raise ValueError("a request line or header holds a line break")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _answer(conn: _Connection, method: str) -> tuple[int, bytes, bool]:
    """(status, body, whether the connection may carry another request)."""
    while True:
        version, status, _ = _status_line(conn.line())
        fields = _fields(conn)
        if not 100 <= status < 200:
            break  # an interim answer (100 Continue, 103 Early Hints) precedes the real one
    connection = fields.get("connection", "").lower()
    keep = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
    if method == "HEAD" or status in (204, 304):
        return status, b"", keep
    coding = fields.get("transfer-encoding", "").lower()
    if coding:
        if coding.rsplit(",", 1)[-1].strip() != "chunked":
            return status, conn.reader.read(), False  # framed by the end of the connection
        return status, _chunked(conn), keep
    length = fields.get("content-length")
    if length is None:
        return status, conn.reader.read(), False
    if not length.strip().isdigit():
        raise BadAnswer("the answer's Content-Length is not a number")
    return status, conn.exactly(int(length)), keep


def _status_line(line: bytes) -> tuple[str, int, str]:
    parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not (len(parts[1]) == 3 and parts[1].isdigit()):
        raise BadAnswer("the answer does not start with an HTTP/1.x status line")
    return parts[0], int(parts[1]), parts[2] if len(parts) > 2 else ""


def _fields(conn: _Connection) -> dict[str, str]:
    """The header fields by lower-case name; repeated fields joined with commas."""
    fields: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        line = conn.line()
        if line in (b"\r\n", b"\n"):
            return fields
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep or not name or name != name.strip():
            raise BadAnswer("a header line of the answer is malformed")
        key = name.lower()
        value = value.strip()
        fields[key] = f"{fields[key]}, {value}" if key in fields else value
    raise BadAnswer("the answer has too many header lines")


def _chunked(conn: _Connection) -> bytes:
    chunks: list[bytes] = []
    while True:
        size_text = conn.line().split(b";", 1)[0].strip()
        if not size_text or size_text.strip(b"0123456789abcdefABCDEF"):
            raise BadAnswer("a chunk size of the answer is not hexadecimal")
        size = int(size_text, 16)
        if size == 0:
            break
        chunks.append(conn.exactly(size))
        if conn.line() not in (b"\r\n", b"\n"):
            raise BadAnswer("a chunk of the answer does not end where its size says")
    while conn.line() not in (b"\r\n", b"\n"):  # trailer fields, read and left
        pass
    return b"".join(chunks)


__all__ = ["AnswerLost", "ConnectFailed", "Timeout", "Transport"]
