"""The real-endpoint backend: each action carried to a server in a real cloud's KMS API (a dialect).

A caller cannot tell it from the embedded emulator except by speed: the same result objects, the same
typed errors. The dialect (provider/dialects/<cloud>/) decides which HTTP calls an action takes and reads
their answers; what a network adds is handled here: a pooled keep-alive session, the signature of every
attempt, timeouts, and retries with exponential backoff and full jitter
(https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/). The HTTP client is a small
one of the package's own over the socket module (transport.py): it starts in a fraction of any library's time.

Retries are careful about repeating a write. Throttling (the dialect says which answers are) and a
connection that was never made are always retried: the server did not act. A lost answer (a read
timeout, a dropped connection, a 5xx) is retried only for calls the dialect marks repeatable: reads,
cryptography, setters that converge.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode, urlsplit

from ..config import check_endpoint
from ..dialects import Dialect, HttpCall
from ..dialects import dialect as dialect_named
from ..domain import model
from ..domain.errors import InvalidParameter, KmsError, UndefinedError
from .transport import AnswerLost, ConnectFailed, Transport

RETRY_STATUS = frozenset({500, 502, 503, 504})


class _Target:
    """Where a region's calls go."""

    __slots__ = ("base", "host", "prefix")

    def __init__(self, base: str, host: str, prefix: str) -> None:
        self.base = base  # scheme://host[:port][/prefix], no trailing slash
        self.host = host  # the URL's authority, as signed and sent in Host
        self.prefix = prefix


class _Retry(Exception):
    """One attempt failed in a way worth another; `error` is what the caller gets if none is left."""

    def __init__(self, error: KmsError, *, processed: bool, answer: tuple[int, bytes] | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.processed = processed  # the server may have acted on the request
        self.answer = answer  # the last answer, handed to the dialect when no attempt is left


class HttpBackend:
    """`endpoint` is a URL such as `http://127.0.0.1:8400`; `{region}` in it is replaced per call."""

    def __init__(self, endpoint: str, *, access_key: str | None, secret_key: str | None,
                 dialect: str | Dialect = "volcengine",
                 timeout: float | tuple[float, float] = (5.0, 60.0), retries: int = 4,
                 backoff: float = 0.1, max_backoff: float = 5.0, pool_size: int = 16) -> None:
        check_endpoint(endpoint, "kms:endpoint / KMS_ENDPOINT")
        if not access_key or not secret_key:
            raise InvalidParameter("an endpoint needs credentials: set kms:accessKey and kms:secretKey (stack "
                                   "config, --secret) or KMS_ACCESS_KEY and KMS_SECRET_KEY")
        if retries < 0:
            raise InvalidParameter(f"retries must be 0 or more, not {retries}")
        self.endpoint = endpoint
        # A name from the registry, or a configured dialect (huaweicloud with the stack's project ids).
        self.dialect: Dialect = dialect_named(dialect) if isinstance(dialect, str) else dialect
        self.access_key = access_key
        self._secret_key = secret_key
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._targets: dict[str, _Target] = {}
        # Keep-alive connections; no retries of its own (ours know which calls are safe to repeat); no
        # proxy from the environment (a signed call must not be redirected).
        self.transport = Transport(pool_size=pool_size)

    def __repr__(self) -> str:
        return (f"HttpBackend({self.endpoint!r}, dialect={self.dialect.name!r}, access_key={self.access_key!r}, "
                "secret_key=<hidden>)")

    def close(self) -> None:
        self.transport.close()

    def execute(self, region: str, action: model.Action) -> model.Result:
        return self.dialect.execute(region, action, self.send)

    # --- one HTTP call, with its retries ------------------------------------------------------------------
    def _target(self, region: str) -> _Target:
        target = self._targets.get(region)
        if target is None:
            base = self.endpoint.replace("{region}", region).rstrip("/")
            parts = urlsplit(base)
            target = _Target(base=base, host=parts.netloc, prefix=parts.path)
            self._targets[region] = target
        return target

    def send(self, region: str, call: HttpCall) -> tuple[int, bytes]:
        """Send `call` to `region`'s endpoint; answer the final (status, body). Raises UndefinedError when
        no answer came at all."""
        target = self._target(region)
        attempt = 0
        while True:
            try:
                return self._attempt(target, region, call)
            except _Retry as failure:
                if attempt >= self.retries or (failure.processed and not call.repeatable):
                    if failure.answer is not None:
                        return failure.answer
                    raise failure.error from None
            attempt += 1
            import random  # only once a call is retried

            # Exponential backoff with full jitter: clients throttled together do not return together.
            time.sleep(random.uniform(0, min(self.max_backoff, self.backoff * 2 ** attempt)))

    def _attempt(self, target: _Target, region: str, call: HttpCall) -> tuple[int, bytes]:
        signed = HttpCall(call.method, target.prefix + call.path, call.query, call.body, call.headers, call.repeatable)
        headers = {**call.headers, **self.dialect.sign(region, signed, target.host, self.access_key, self._secret_key)}
        url = target.base + call.path + ("?" + urlencode(call.query) if call.query else "")
        what = call.query[0][1] if call.query else call.path
        try:
            answer = self.transport.request(call.method, url, call.body or None, headers, self.timeout)
        except ConnectFailed as exc:
            # No connection was made: the server never saw the request.
            message = (f"could not connect to {target.base} within the timeout" if exc.timed_out
                       else f"could not reach {target.base}: {exc}")
            raise _Retry(UndefinedError(message), processed=False) from None
        except AnswerLost as exc:
            # The request may have been acted on; only a repeatable call is sent again.
            message = (f"{what} at {target.base} timed out waiting for the answer" if exc.timed_out
                       else f"could not reach {target.base}: {exc}")
            raise _Retry(UndefinedError(message), processed=True) from None
        status = answer[0]
        if self.dialect.throttled(*answer):
            raise _Retry(UndefinedError(f"{what} at {target.base} was throttled"), processed=False, answer=answer)
        if status in RETRY_STATUS:
            raise _Retry(UndefinedError(f"{what} at {target.base} answered HTTP {status}"),
                         processed=status != 503, answer=answer)
        return answer
