"""The wire endpoint (contract section 4): `POST /?Action=...&Version=2021-02-18`, signed, JSON in and out.

Thin on purpose: read the body (capped), check the signature, throttle, parse the JSON, call the
emulator, write the envelope of seed 003. The request path is a bare ASGI handler, since it is the
service's hot path; everything else (the OpenAPI document, 404/405 answers) is a Starlette app.
Everything a request needs is built once, when the application is.
"""

from __future__ import annotations

import asyncio
import itertools
import json
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

from ..backend import signer
from ..domain import actions
from ..domain.errors import AccessDenied, InvalidParameter, KmsError, Throttled, UndefinedError
from ..emulator import Emulator

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("kmsctl.server")

MAX_BODY_BYTES = 64 * 1024
# Cheap actions that only read the state run on the event loop (a thread hop costs more than they
# do); writes wait for SQLite's write lock and key generation takes long, so they run in threads.
INLINE = frozenset({
    "DescribeKey", "DescribeKeys", "ListAliases", "GetPublicKey", "Encrypt", "Decrypt", "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext", "ReEncrypt", "GenerateMac", "VerifyMac",
})
_JSON_HEADERS = [(b"content-type", b"application/json")]
_UNDEFINED_MESSAGE = "Undefined Internal Error. Pls Contact With Admin."


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

    `credentials` maps access keys to secret keys. `rate_limit` (requests a second per access key)
    turns on throttling. The emulator is closed when the server shuts down.
    """

    def __init__(self, emulator: Emulator, credentials: Mapping[str, str], *, rate_limit: float | None = None,
                 max_body: int = MAX_BODY_BYTES, workers: int = 8) -> None:
        if not credentials or not all(credentials.values()):
            raise InvalidParameter("the server needs an access key and a secret key (KMS_ACCESS_KEY, KMS_SECRET_KEY)")
        self.emulator = emulator
        self._secrets = dict(credentials)
        self.limiter = RateLimiter(rate_limit) if rate_limit else None
        self.max_body = max_body
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kms-write")
        self._ids = itertools.count(1)
        self._id_suffix = os.urandom(4).hex().upper()
        self._versions_ok = (signer.VERSION,)
        from .openapi import published

        self.openapi = published()
        self.site = self._site()

    def __repr__(self) -> str:
        return f"KmsApp(access_keys={sorted(self._secrets)!r})"

    # --- ASGI ----------------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/" and scope["method"] == "POST":
            await self._handle(scope, receive, send)
        elif scope["type"] == "lifespan":
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
    def _request_id(self) -> str:
        return f"{time.strftime('%Y%m%d%H%M%S', time.gmtime())}{next(self._ids):010X}{self._id_suffix}"

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = self._request_id()
        query = _parse_query(scope["query_string"])
        action = next((v for k, v in query if k == "Action"), "")
        version = next((v for k, v in query if k == "Version"), "")
        region = ""
        try:
            headers = _headers(scope["headers"])
            body = await self._body(headers, receive)
            try:
                cred = signer.verify(method="POST", path="/", query=query, headers=headers, body=body,
                                     secret_for=self._secrets.get)
            except AccessDenied as denied:
                log.warning("denied %s %r: %s", request_id, action[:64], denied.message)
                raise
            region = cred.region
            if self.limiter is not None and not self.limiter.allow(cred.access_key):
                raise Throttled(f"The request of Action: {action[:64]} upper limit is exceeded.")
            params = self._params(query, action, version, body)
            if action in INLINE:
                result = self.emulator.call(region, action, params)
            else:
                loop = asyncio.get_running_loop()
                call = self.emulator.call
                result = await loop.run_in_executor(self._pool, lambda: call(region, action, params))
            status, payload = 200, self._envelope(request_id, action, version, region, result=result)
        except KmsError as err:
            status, payload = err.status, self._envelope(request_id, action, version, region, error=err)
        except Exception as exc:  # the one place an unexpected failure becomes a 500
            # Logged by type and place only: an exception's message or arguments could hold a plaintext.
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error("UndefinedError %s in %r (%s): %s\n%s", request_id, action[:64], region, type(exc).__name__,
                      frames)
            undefined = UndefinedError(f"{_UNDEFINED_MESSAGE} RequestId: {request_id}")
            status, payload = 500, self._envelope(request_id, action, version, region, error=undefined)
        await send({"type": "http.response.start", "status": status,
                    "headers": [*_JSON_HEADERS, (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})

    async def _body(self, headers: Mapping[str, str], receive: Receive) -> bytes:
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise InvalidParameter("The request header Content-Length is invalid: not a number of bytes")
            if int(declared) > self.max_body:
                raise _TooLarge(self.max_body)
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise InvalidParameter("The request body is incomplete: the client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _TooLarge(self.max_body)
            chunks.append(chunk)
            more = message.get("more_body", False)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _params(self, query: list[tuple[str, str]], action: str, version: str, body: bytes) -> Any:
        if sum(1 for k, _ in query if k == "Action") != 1:
            raise InvalidParameter("The request parameter Action is required exactly once in the query string, "
                                   "as in POST /?Action=CreateKey&Version=2021-02-18")
        if version not in self._versions_ok:
            raise InvalidParameter(f"The request parameter Version is invalid: this service speaks Version "
                                   f"{signer.VERSION}")
        if action not in actions.ACTIONS:
            raise InvalidParameter(f"The request parameter Action is invalid: unknown action '{action[:64]}'")
        if not body.strip():
            return {}
        try:
            params = json.loads(body)
        except UnicodeDecodeError:
            raise InvalidParameter("The request body is invalid: it is not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise InvalidParameter(f"The request body is invalid: not JSON ({exc.msg} at line {exc.lineno} "
                                   f"column {exc.colno})") from None
        except (ValueError, RecursionError):
            raise InvalidParameter("The request body is invalid: a number is too long or the JSON nests too "
                                   "deeply") from None
        if not isinstance(params, dict):
            raise InvalidParameter(f"The request body is invalid: it must be a JSON object of parameters, not "
                                   f"a JSON {_json_type(params)}")
        return params

    def _envelope(self, request_id: str, action: str, version: str, region: str, *,
                  result: Mapping[str, Any] | None = None, error: KmsError | None = None) -> bytes:
        meta: dict[str, Any] = {"RequestId": request_id, "Action": action[:64], "Version": version[:32],
                                "Service": signer.SERVICE, "Region": region}
        doc: dict[str, Any] = {"ResponseMetadata": meta}
        if error is not None:
            meta["Error"] = {"Code": error.code, "Message": error.message}
        else:
            doc["Result"] = result
        return json.dumps(doc, separators=(",", ":")).encode()

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
            body = {"ResponseMetadata": {"RequestId": self._request_id(),
                                         "Action": request.query_params.get("Action", "")[:64],
                                         "Version": request.query_params.get("Version", "")[:32],
                                         "Service": signer.SERVICE, "Region": "",
                                         "Error": {"Code": "InvalidParameter" if status == 405 else "NotFound",
                                                   "Message": message}}}
            return JSONResponse(body, status_code=status)

        async def post_only(request: Request) -> Response:
            raise HTTPException(405)

        return Starlette(
            routes=[Route("/openapi.json", openapi, methods=["GET"]), Route("/healthz", health, methods=["GET"]),
                    Route("/", post_only, methods=["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])],
            exception_handlers={404: not_served, 405: not_served},
        )


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
    the general decoder."""
    if b"%" in raw or b"+" in raw:
        return parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    pairs = []
    for part in raw.decode("latin-1").split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((name, value))
    return pairs


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"
