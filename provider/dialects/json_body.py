"""Request and answer bodies as JSON, for the server side of every dialect.

A module of its own, which only the server halves import: orjson is bound once, at import, rather than
imported again inside each call of the hot path, and `kmsctl` through an endpoint (which imports
provider.dialects but never parses a request) never loads it.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def read_json(body: bytes) -> Any:
    """A request body's JSON, as the standard library reads it, through orjson's faster parser.

    Where orjson refuses what the standard library takes (NaN, lone surrogates, nesting past 1024) or
    the body is no JSON at all, the standard library reads it again: the answer, or the error a
    dialect turns into its message, is the standard library's. (One difference stays: a number past 64
    bits reads as a float, which every integer parameter refuses all the same.)"""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def write_json(doc: Any) -> bytes:
    """An answer's JSON: compact UTF-8."""
    return orjson.dumps(doc)
