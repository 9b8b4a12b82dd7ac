"""The wire endpoint: each cloud's KMS API (Volcengine's, Huawei Cloud's), on one port, signed, JSON in and out.

Thin on purpose: read the body (capped: a larger one is drained and answered 413), pick the dialect that
owns the request, let it check the signature and route the request into a `Call`, throttle, let the
dialect decode the call's fields and parse it into domain actions, run them on the emulator
(`Emulator.execute`), let the dialect shape the answer. The request path is a bare ASGI
handler, since it is the service's hot path; everything else (the OpenAPI document, 404/405 answers) is a
Starlette app. Everything a request needs is built once, when the application is.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..dialects import DIALECTS, Call, Dialect, Parsed, Results, ServedApi, WireRequest, WireResponse
from ..domain import model
from ..domain.errors import AccessDenied, InvalidParameter, KmsError, Throttled, UndefinedError
from ..emulator import Emulator
from .emulator_api import EmulatorApi

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("kmsctl.server")

MAX_BODY_BYTES = 64 * 1024
# A body over the cap is read and dropped (so the client gets its 413 instead of a reset) up to this
# much; past it the connection is closed.
MAX_DRAIN_BYTES = 1024 * 1024 * 1024
# Cheap actions that only read the state run on the event loop (a thread hop costs more than they
# do); writes wait for SQLite's write lock and key generation takes long, so they run in threads.
INLINE: frozenset[type[model.Action]] = frozenset({
    model.DescribeKey, model.DescribeKeys, model.ListAliases, model.GetPublicKey, model.Encrypt, model.Decrypt,
    model.GenerateDataKey, model.ReEncrypt, model.GenerateMac, model.VerifyMac, model.DescribeKeyrings,
})
_UNDEFINED_MESSAGE = "Undefined Internal Error. Pls Contact With Admin."
_SERVER_MODELS = ("provider.dialects.volcengine.params", "provider.dialects.huaweicloud.models")
# The emulator's own unsigned pages, beside its signed endpoints under /_emulator/ (emulator_api.py).
OPENAPI_PATH = "/_emulator/openapi.json"
HEALTH_PATH = "/_emulator/health"
_SITE_PATHS = frozenset({OPENAPI_PATH, HEALTH_PATH})
_DIGITS = str.isdigit


class RateLimiter:
    """A token bucket per access key: `rate` requests a second, bursts up to one second's worth."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise InvalidParameter(f"KMS_RATE_LIMIT must be a positive number of requests a second, not {rate}")
        self.rate = rate
        self.burst = max(1.0, rate)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, access_key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(access_key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[access_key] = (tokens, now)
                return False
            self._buckets[access_key] = (tokens - 1.0, now)
            return True


class KmsApp:
    """The ASGI application of `kmsctl serve`.

    `credentials` maps access keys to secret keys. `rate_limit` (requests a second) turns on throttling.
    `dialects` are tried in order; the first that owns a request answers it. The emulator is closed when
    the server shuts down.
    """

    def __init__(self, emulator: Emulator, credentials: Mapping[str, str], *, rate_limit: float | None = None,
                 max_body: int = MAX_BODY_BYTES, workers: int = 8, dialects: tuple[Dialect, ...] | None = None) -> None:
        if not credentials or not all(credentials.values()):
            raise InvalidParameter("the server needs an access key and a secret key (KMS_ACCESS_KEY, KMS_SECRET_KEY)")
        self.emulator = emulator
        self._secrets = dict(credentials)
        self.limiter = RateLimiter(rate_limit) if rate_limit else None
        self.max_body = max_body
        # The emulator's own path comes first: it is outside every cloud's API (emulator_api.py).
        self.dialects: tuple[ServedApi, ...] = (EmulatorApi(), *(d.served() for d in (
            dialects if dialects is not None else tuple(DIALECTS.values()))))
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kms-write")
        # The request models generated from the SDKs load now rather than with the first request (the
        # dialects load them lazily: HttpBackend, which imports the dialects too, never parses a request).
        for module in _SERVER_MODELS:
            importlib.import_module(module)
        from .openapi import published

        self.openapi = published()
        self.site = self._site()

    def __repr__(self) -> str:
        return f"KmsApp(access_keys={sorted(self._secrets)!r})"

    # --- ASGI ----------------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in _SITE_PATHS:
            req = WireRequest(scope["method"], scope["path"], _parse_query(scope["query_string"]),
                              _headers(scope["headers"]), b"")
            for dialect in self.dialects:  # a loop, not next(generator): this runs on every request
                if dialect.owns(req):
                    await self._handle(dialect, req, receive, send)
                    return
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        else:
            await self.site(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def close(self) -> None:
        """Let running writes finish, then close the state."""
        self._pool.shutdown(wait=True)
        self.emulator.close()
        log.info("stopped: every write finished, the state is closed")

    # --- the action endpoint -------------------------------------------------------------------------
    async def _handle(self, dialect: ServedApi, head: WireRequest, receive: Receive, send: Send) -> None:
        call = Call(head)  # what is known of the request until authenticate routes it: an error is shaped from it
        close = False
        try:
            message = await receive()
            if (message["type"] == "http.request" and not message.get("more_body", False)
                    and len(body := message.get("body", b"")) <= self.max_body
                    and _DIGITS(head.headers.get("content-length", "0"))):
                pass  # the whole body in one message, as a keep-alive client's small request comes
            else:
                body, close = await self._body(head.headers, receive, message)
            req = WireRequest(head.method, head.path, head.query, head.headers, body)
            try:
                call = dialect.authenticate(req, self._secrets.get)
            except AccessDenied as denied:
                log.warning("denied %s %s: %s", req.method, (req.param("Action") or req.path)[:64], denied.message)
                raise
            if self.limiter is not None and not self.limiter.allow(call.access_key):
                raise Throttled(f"The request of Action: {(req.param('Action') or req.path)[:64]} upper limit is "
                                "exceeded.")
            call = dialect.decode(call)
            parsed = dialect.parse(call)
            if _inline(parsed):
                results = _run(self.emulator, call.region, parsed)
            else:
                loop = asyncio.get_running_loop()
                emulator, region = self.emulator, call.region
                results = await loop.run_in_executor(self._pool, lambda: _run(emulator, region, parsed))
            answer = dialect.shape(call, parsed, results)
        except KmsError as err:
            close = isinstance(err, _TooLarge)  # whatever followed the dropped body is not trusted
            answer = dialect.shape_error(call, err)
        except Exception as exc:  # the one place an unexpected failure becomes a 500
            # Logged by type and place only: an exception's message or arguments could hold a plaintext.
            frames = "".join(traceback.format_tb(exc.__traceback__))
            reference = os.urandom(8).hex().upper()
            log.error("UndefinedError %s in %s %r: %s\n%s", reference, head.method,
                      (head.param("Action") or head.path)[:64], type(exc).__name__, frames)
            answer = dialect.shape_error(call, UndefinedError(f"{_UNDEFINED_MESSAGE} Reference: {reference}"))
        await _respond(send, answer, close=close)

    async def _body(self, headers: Mapping[str, str], receive: Receive, first: Message) -> tuple[bytes, bool]:
        """The body, and whether the connection must close after the answer. A body over the cap is
        read to its end and dropped, then answered 413: a client still sending gets the answer, not a
        reset. `first` is the body's first message, already received."""
        declared = headers.get("content-length")
        if declared is not None and not declared.isdigit():
            raise InvalidParameter("The request header Content-Length is invalid: not a number of bytes")
        chunks: list[bytes] = []
        size = 0
        more = True
        message: Message | None = first
        while more:
            if message is None:
                message = await receive()
            if message["type"] == "http.disconnect":
                raise InvalidParameter("The request body is incomplete: the client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            more = message.get("more_body", False)
            message = None
            if size > self.max_body:
                while more and size <= MAX_DRAIN_BYTES:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        break
                    size += len(message.get("body", b""))
                    more = message.get("more_body", False)
                raise _TooLarge(self.max_body)
            chunks.append(chunk)
        return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), False

    # --- everything else -----------------------------------------------------------------------------
    def _site(self) -> Starlette:
        async def openapi(request: Request) -> Response:
            return Response(self.openapi, media_type="application/json")

        async def health(request: Request) -> Response:
            return JSONResponse({"status": "ok"})

        async def not_served(request: Request, exc: Exception) -> Response:
            status = exc.status_code if isinstance(exc, HTTPException) else 404
            if status == 405:
                message = (f"The request method {request.method} is not allowed here: actions are "
                           "POST /?Action=...&Version=2021-02-18")
            else:
                message = f"Not found path [{request.url.path[:128]}]: actions are POST /?Action=...&Version=2021-02-18"
            body = {"ResponseMetadata": {"RequestId": "", "Action": request.query_params.get("Action", "")[:64],
                                         "Version": request.query_params.get("Version", "")[:32],
                                         "Service": "kms", "Region": "",
                                         "Error": {"Code": "InvalidParameter" if status == 405 else "NotFound",
                                                   "Message": message}}}
            return JSONResponse(body, status_code=status)

        async def post_only(request: Request) -> Response:
            raise HTTPException(405)

        return Starlette(
            routes=[Route(OPENAPI_PATH, openapi, methods=["GET"]), Route(HEALTH_PATH, health, methods=["GET"]),
                    Route("/", post_only, methods=["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])],
            exception_handlers={404: not_served, 405: not_served},
        )


def _inline(parsed: Parsed) -> bool:
    if type(parsed) in INLINE:
        return True
    return isinstance(parsed, tuple) and all(type(a) in INLINE for a in parsed)


def _run(emulator: Emulator, region: str, parsed: Parsed) -> Results:
    if isinstance(parsed, model.Action):
        return emulator.execute(region, parsed)
    return tuple(emulator.execute(region, action) for action in parsed)


async def _respond(send: Send, answer: WireResponse, *, close: bool) -> None:
    headers = [*answer.headers, (b"content-length", b"%d" % len(answer.body))]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


class _TooLarge(InvalidParameter):
    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"The request body is invalid: larger than the limit of {limit} bytes")


def _headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Lowercase names to values; a repeated header's values joined by commas, as HTTP reads them."""
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in raw}
    if len(headers) != len(raw):
        headers = {}
        for raw_name, raw_value in raw:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


def _parse_query(raw: bytes) -> list[tuple[str, str]]:
    """The query's (name, value) pairs in order; the plain `Action=X&Version=Y` of every request skips
    the general decoder, and a short query seen before is not read again (the same list: no dialect
    changes a request's query)."""
    known = _QUERIES.get(raw)
    if known is not None:
        return known
    if b"%" in raw or b"+" in raw:
        pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    else:
        pairs = []
        for part in raw.decode("latin-1").split("&"):
            if part:
                name, _, value = part.partition("=")
                pairs.append((name, value))
    if len(raw) <= _QUERY_KEPT_BYTES:
        if len(_QUERIES) >= _QUERIES_KEPT:  # queries may hold key ids (Volcengine's GET actions): bounded
            _QUERIES.clear()
        _QUERIES[raw] = pairs
    return pairs


_QUERIES: dict[bytes, list[tuple[str, str]]] = {}
_QUERIES_KEPT = 1024
_QUERY_KEPT_BYTES = 256
