"""uvicorn's httptools protocol, sending each answer in one write.

uvicorn writes a response's status line and headers as soon as the application starts the response,
and its body in a second write: two segments, and on loopback two wake-ups of the client, for an
answer of a few hundred bytes. Here the head waits for the body (or the end of the response, or a
close) and both go out together. Nothing else of uvicorn's HTTP handling changes.

Measured against uvicorn's own protocol by benchmarks/server_protocol.py, rounds alternating (ours and the bare app of
benchmarks/bare_app.py, each with either protocol, 8 ops x 10 rounds of 300 requests): 5-8% more
requests a second (median of the rounds' ratios 1.07 for `kmsctl serve`, 1.06 for the bare app) and
~7 µs less CPU per request. It subclasses a class uvicorn does not publish, so run.py uses it only on the
uvicorn release the [test] extra pins (pyproject.toml), where tests/wire/test_http_semantics.py proves,
through that uvicorn's own code, that an answer leaves in one write; on any other release the server runs
uvicorn's own protocol.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _OneWrite:
    """A transport that holds a response head until the next write; everything else passes through."""

    __slots__ = ("_transport", "_head")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._head: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head + data)
        elif _is_final_head(data):
            self._head = bytes(data)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _is_final_head(data: bytes | bytearray | memoryview) -> bool:
    # A head of uvicorn's is one write that starts with the status line and ends with the blank line;
    # an interim answer (100 Continue) must go out at once, the client waits for it.
    return (isinstance(data, bytes) and data.startswith(b"HTTP/1.1 ") and not data.startswith(b"HTTP/1.1 1")
            and data.endswith(b"\r\n\r\n"))


class OneWriteProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose responses leave in one write (see the module's docstring)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = _OneWrite(transport)  # type: ignore[assignment]

    def on_response_complete(self) -> None:
        # A response without a body write (HEAD, 204, 304) ends here: its head goes now.
        transport = self.transport
        if isinstance(transport, _OneWrite):
            transport.flush()
        super().on_response_complete()
