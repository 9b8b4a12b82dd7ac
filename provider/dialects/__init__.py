"""Wire dialects: each real cloud's KMS API as a thin layer over the domain.

A dialect is one package, `provider/dialects/<cloud>/`. Server side it checks a request's signature and
decodes the request into a `Call`, finds the operation's `Handler` in its table (keyed by the operation, as
the emulator keys its own by the action's type), whose `parse` turns the call into domain actions and whose
`shape` turns their results (or a `KmsError`) into that cloud's JSON. Client side it turns a domain action
into the HTTP calls that cloud's API defines and their answers back into the domain's result. `kmsctl serve`
routes each request to the first dialect that `owns` it; `HttpBackend` speaks the one dialect the
configuration names.

Everything here is immutable (NamedTuples: cheap to make, once per request): what a dialect learns about a
request (its region, its operation, its fields) travels in the `Call` it decodes, never in the request.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from ..domain import model
from ..domain.errors import InvalidParameter, KmsError

JSON_HEADERS: tuple[tuple[bytes, bytes], ...] = ((b"content-type", b"application/json"),)


class WireRequest(NamedTuple):
    """What the server received; header names are lower-case."""

    method: str
    path: str
    query: Sequence[tuple[str, str]]
    headers: Mapping[str, str]
    body: bytes = b""

    def param(self, name: str) -> str | None:
        """The first query parameter called `name`."""
        for key, value in self.query:
            if key == name:
                return value
        return None


class WireResponse(NamedTuple):
    """What the server answers; headers as ASGI sends them (latin-1 bytes), made so once, not per answer."""

    status: int
    body: bytes
    headers: Sequence[tuple[bytes, bytes]] = JSON_HEADERS


class Call(NamedTuple):
    """One request as its dialect decoded it: what a handler's `parse` and `shape` both receive.

    `operation` is the cloud's name for it (Volcengine's Action, Huawei Cloud's SDK method); `region` the
    region it acts in (from the credential scope, or the project id); `params` its fields as the dialect
    read and checked them (None until `decode`); `access_key` the caller's (throttling counts per key)."""

    wire: WireRequest
    operation: str = ""
    region: str = ""
    params: Any = None
    access_key: str = ""


# One request may carry several domain actions (Volcengine's TagResources names many keys): the server
# executes them in order and shapes their results together.
Parsed = model.Action | Sequence[model.Action]
Results = model.Result | Sequence[model.Result]


class Handler(NamedTuple):
    """One operation of a dialect's table: its call into domain actions, their results into its answer (the
    document the dialect wraps; for Huawei Cloud, with its status)."""

    parse: Callable[[Call], Parsed]
    shape: Callable[[Call, Any, Any], Any]


class HttpCall(NamedTuple):
    """What a dialect's client side wants sent; `HttpBackend` signs it (per attempt) and sends it."""

    method: str
    path: str
    query: Sequence[tuple[str, str]]
    body: bytes
    headers: dict[str, str]
    repeatable: bool  # safe to send again after a lost answer (reads, crypto, setters that converge)

    def __repr__(self) -> str:
        # Never the body: it may hold a plaintext or key material.
        return f"HttpCall({self.method} {self.path} query={list(self.query)!r}, {len(self.body)} bytes)"


Send = Callable[[str, HttpCall], tuple[int, bytes]]


class ServedApi(Protocol):
    """The server side of a dialect: what `kmsctl serve` needs of whatever answers a request.

    A request goes owns -> authenticate -> (throttle) -> decode -> parse -> (the emulator) -> shape;
    shape_error answers a failure at any step, with whatever the call had learned by then."""

    def owns(self, req: WireRequest) -> bool: ...

    def authenticate(self, req: WireRequest, secret_for: Callable[[str], str | None]) -> Call:
        """Verify the signature and route the request: a Call naming its operation, region and access key;
        AccessDenied (or the cloud's refusal of an unknown operation) otherwise."""
        ...

    def decode(self, call: Call) -> Call:
        """The call with its operation's fields read and checked (`params`)."""
        ...

    def parse(self, call: Call) -> Parsed: ...

    def shape(self, call: Call, action: Parsed, result: Results) -> WireResponse: ...

    def shape_error(self, call: Call, error: KmsError) -> WireResponse: ...


class Dialect(Protocol):
    name: str  # "volcengine" | "huaweicloud"

    def served(self) -> ServedApi:
        """The server side (`kmsctl serve`), loaded on first use: a client never needs it."""
        ...

    # --- client side (`HttpBackend`) ---
    def execute(self, region: str, action: model.Action, send: Send) -> model.Result: ...

    def throttled(self, status: int, body: bytes) -> bool:
        """Whether an answer says "slow down" (HttpBackend retries it with backoff: the server did not act)."""
        ...

    def sign(self, region: str, call: HttpCall, host: str, access_key: str, secret_key: str) -> dict[str, str]:
        """The signature headers for one attempt (called again on every retry: dates move)."""
        ...


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
