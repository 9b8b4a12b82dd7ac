"""The client side of the emulator's clock, shared by both dialects: `POST /_emulator/clock/advance`.

The path belongs to neither cloud's API (only `kmsctl serve` has it), so the call is the same whichever
dialect signs it. Whether an endpoint has the clock is learned from its answer, never from its host name:
a real cloud (or any other service) answers the path with a 404 or with a body that is not the clock's.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from ..domain import model
from ..domain.errors import InvalidOperation, KmsError
from . import HttpCall

CLOCK_PATH = "/_emulator/clock/advance"


def http_call(seconds: int, headers: dict[str, str] | None = None) -> HttpCall:
    body = json.dumps({"seconds": seconds}, separators=(",", ":")).encode()
    return HttpCall("POST", CLOCK_PATH, [], body, {"Content-Type": "application/json", **(headers or {})},
                    repeatable=False)


def _no_clock(status: int) -> InvalidOperation:
    return InvalidOperation(
        f"the endpoint has no emulator clock (POST {CLOCK_PATH} answered HTTP {status}): only kmsctl serve "
        "and the embedded emulator have one, a real cloud's clock cannot be moved")


def read(status: int, body: bytes, error_of: Callable[[int, bytes], KmsError]) -> model.Clock:
    """The clock the endpoint answered; an endpoint without one fails with one line saying so. Any other
    refusal (a bad signature, a bad number of seconds) is the dialect's own error (`error_of`)."""
    if status == 404:
        raise _no_clock(status)
    if status != 200:
        raise error_of(status, body)
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        raise _no_clock(status) from None
    now = doc.get("now") if isinstance(doc, dict) else None
    offset = doc.get("offset_seconds") if isinstance(doc, dict) else None
    if isinstance(now, bool) or isinstance(offset, bool) or not isinstance(now, int | float) \
            or not isinstance(offset, int | float):
        raise _no_clock(status)
    return model.Clock(now=float(now), offset_seconds=float(offset))
