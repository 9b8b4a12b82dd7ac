"""HttpBackend's HTTP/1.1 client: the standard library's http.client, kept-alive connections, one pool.

`kmsctl` through an endpoint makes one or two calls and exits: a user waits for the client's import
more than for the calls, and requests with urllib3 costs several times a bare interpreter's start.
What HttpBackend needs of a client is small and kept here: a pool of keep-alive connections per
host, a connect and a read timeout, TLS verified against the system's trust store with the host name
checked (`ssl.create_default_context`), no proxy from the environment (a signed call goes where it
was signed for), and failures told apart by whether the request can have reached the server.
"""

from __future__ import annotations

import http.client
import select
from typing import Any
from urllib.parse import urlsplit


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


Timeout = float | tuple[float, float]  # one for both, or (connect, read), as requests takes them


def _split(timeout: Timeout) -> tuple[float, float]:
    return timeout if isinstance(timeout, tuple) else (timeout, timeout)


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """Whether an idle kept-alive connection was closed by the server (readable while idle means EOF)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class Transport:
    """Connections per (scheme, host, port), at most `pool_size` idle ones kept for each."""

    def __init__(self, pool_size: int = 16) -> None:
        self.pool_size = pool_size
        self._idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = {}
        self._tls: Any = None  # ssl.SSLContext, made (and ssl imported) for the first https call only

    def close(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()

    def _connect(self, scheme: str, host: str, port: int, connect_timeout: float) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if scheme == "https":
            import ssl

            if self._tls is None:
                self._tls = ssl.create_default_context()  # the system's trust store; checks the host name
            conn = http.client.HTTPSConnection(host, port, timeout=connect_timeout, context=self._tls)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=connect_timeout)
        try:
            conn.connect()
        except TimeoutError:
            conn.close()
            raise ConnectFailed("the connection was not made within the timeout", timed_out=True) from None
        except OSError as exc:  # ssl.SSLError (a certificate not trusted, a wrong host) is one too
            conn.close()
            raise ConnectFailed(f"the connection was not made: {type(exc).__name__}", timed_out=False) from None
        return conn

    def request(self, method: str, url: str, body: bytes | None, headers: dict[str, str],
                timeout: Timeout) -> tuple[int, bytes]:
        """Send one request; answer (status, body). Raises ConnectFailed or AnswerLost."""
        parts = urlsplit(url)
        scheme = parts.scheme
        host = parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
        where = (scheme, host, port)
        connect_timeout, read_timeout = _split(timeout)
        idle = self._idle.setdefault(where, [])
        conn: http.client.HTTPConnection | None = None
        while idle:
            candidate = idle.pop()
            if _dropped(candidate):
                candidate.close()
            else:
                conn = candidate
                break
        if conn is None:
            conn = self._connect(scheme, host, port, connect_timeout)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        try:
            if conn.sock is not None:
                conn.sock.settimeout(read_timeout)
            conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except TimeoutError:
            conn.close()
            raise AnswerLost("no answer within the timeout", timed_out=True) from None
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise AnswerLost(f"the connection was dropped: {type(exc).__name__}", timed_out=False) from None
        if resp.will_close or len(idle) >= self.pool_size:
            conn.close()
        else:
            idle.append(conn)
        return resp.status, data


__all__ = ["AnswerLost", "ConnectFailed", "Timeout", "Transport"]
