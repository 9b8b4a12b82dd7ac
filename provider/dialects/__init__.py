"""Wire dialects: each real cloud's KMS API as a thin layer over the domain (contract section 4).

A dialect is one package, `provider/dialects/<cloud>/`. Server side it parses an HTTP request into a
domain action and shapes the result (or a `KmsError`) into that cloud's JSON; client side it turns a
domain action into the HTTP calls that cloud's API defines and their answers back into the domain's
result; and it signs and verifies that cloud's signature. `kmsctl serve` routes each request to the
first dialect that `owns` it; `HttpBackend` speaks the one dialect the configuration names.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ..domain import model
from ..domain.errors import InvalidParameter, KmsError
from ..values import Value, field

# Value rather than dataclasses, and orjson imported where the server parses: `kmsctl` through an endpoint
# imports this module, and those two imports alone cost it as much as a bare interpreter's start.


class WireRequest(Value):
    """What the server received; header names are lower-case.

    `notes` is what a dialect worked out about this request in one step and needs again in the next
    (authenticate, parse, shape): the region of its credential, its route and fields."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    notes: dict[str, Any] = field(default_factory=dict, repr=False)

    def param(self, name: str) -> str | None:
        """The first query parameter called `name`."""
        for key, value in self.query:
            if key == name:
                return value
        return None


class WireResponse(Value):
    """What the server answers."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=lambda: [("content-type", "application/json")])


class HttpCall(Value):
    """What a dialect's client side wants sent; `HttpBackend` signs it (per attempt) and sends it."""

    method: str
    path: str
    query: list[tuple[str, str]]
    body: bytes
    headers: dict[str, str]
    repeatable: bool  # safe to send again after a lost answer (reads, crypto, setters that converge)


Send = Callable[[str, HttpCall], tuple[int, bytes]]
# One request may carry several domain actions (Volcengine's TagResources names many keys): the server
# executes them in order and shapes their results together.
Parsed = model.Action | Sequence[model.Action]
Results = model.Result | Sequence[model.Result]


class Dialect(Protocol):
    name: str  # "volcengine" | "huaweicloud"

    # --- server side (`kmsctl serve`) ---
    def owns(self, req: WireRequest) -> bool: ...

    def authenticate(self, req: WireRequest, secret_for: Callable[[str], str | None]) -> tuple[str, str]:
        """Verify the signature; answer the caller's access key (throttling counts per access key) and
        the region the request is for; raise AccessDenied otherwise."""
        ...

    def parse(self, req: WireRequest) -> Parsed: ...

    def shape(self, req: WireRequest, action: Parsed, result: Results) -> WireResponse: ...

    def shape_error(self, req: WireRequest, error: KmsError) -> WireResponse: ...

    # --- client side (`HttpBackend`) ---
    def execute(self, region: str, action: model.Action, send: Send) -> model.Result: ...

    def throttled(self, status: int, body: bytes) -> bool:
        """Whether an answer says "slow down" (HttpBackend retries it with backoff: the server did not act)."""
        ...

    def sign(self, region: str, call: HttpCall, host: str, access_key: str, secret_key: str) -> dict[str, str]:
        """The signature headers for one attempt (called again on every retry: dates move)."""
        ...


def read_json(body: bytes) -> Any:
    """A request body's JSON, as the standard library reads it, through orjson's faster parser.

    Where orjson refuses what the standard library takes (NaN, lone surrogates, nesting past 1024) or
    the body is no JSON at all, the standard library reads it again: the answer, or the error a
    dialect turns into its message, is the standard library's. (One difference stays: a number past 64
    bits reads as a float, which every integer parameter refuses all the same.)"""
    import orjson

    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def write_json(doc: Any) -> bytes:
    """An answer's JSON: compact UTF-8."""
    import orjson

    return orjson.dumps(doc)


# The dialects there are, by name, each in its own package (provider/dialects/<name>/). A client loads only
# the one it is configured for (start-up of `kmsctl` against an endpoint); the server loads them all.
NAMES = ("huaweicloud", "volcengine")
_REGISTERED: dict[str, Dialect] = {}


def register(dialect: Dialect) -> Dialect:
    _REGISTERED[dialect.name] = dialect
    return dialect


def dialect(name: str) -> Dialect:
    """The dialect called `name`, imported on first use; InvalidParameter naming the setting when there is none."""
    found = _REGISTERED.get(name)
    if found is None:
        if name not in NAMES:
            raise InvalidParameter(f"kms:dialect / KMS_DIALECT must be one of {', '.join(NAMES)}, not {name!r}")
        importlib.import_module(f"{__name__}.{name}")  # registers itself on import
        found = _REGISTERED[name]
    return found


def all_dialects() -> dict[str, Dialect]:
    """Every dialect by name, in the order of NAMES (`kmsctl serve` routes to the first that owns a request)."""
    return {name: dialect(name) for name in NAMES}


def __getattr__(name: str) -> Any:
    # `DIALECTS` (every dialect, loaded) stays importable for the server; clients never touch it.
    if name == "DIALECTS":
        return all_dialects()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
