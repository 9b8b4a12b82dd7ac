"""`SDK-HMAC-SHA256`, the AK/SK signature of Huawei Cloud's API gateway, as `huaweicloudsdkcore` signs.

Canonical request = method, canonical URI (each path segment percent-encoded, a trailing `/`),
canonical query (pairs sorted, names and values encoded leaving `~` and unreserved characters),
`name:value` lines of the signed headers, their names joined by `;`, and the hex SHA-256 of the body.
String to sign = algorithm, `X-Sdk-Date`, hex SHA-256 of the canonical request. The signature is the
hex HMAC-SHA256 of that under the secret key itself (no derived key, no credential scope): the
project id in the path names the region, not the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import ClassVar
from urllib.parse import quote, unquote

from ...domain.errors import AccessDenied
from ..hmac_states import keyed_hmac

ALGORITHM = "SDK-HMAC-SHA256"
DATE_HEADER = "X-Sdk-Date"
CONTENT_HASH_HEADER = "X-Sdk-Content-Sha256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_SKEW_SECONDS = 15 * 60
_CONTENT_HASH = CONTENT_HASH_HEADER.lower()
# An Authorization header is `HEAD,SIG`: the access key and signed names, then the signature.
_HEAD_RE = re.compile(r"SDK-HMAC-SHA256\s+Access=(?P<ak>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+)\Z")
_SIG_RE = re.compile(r"\s*Signature=([0-9a-f]+)")


class Unauthorized(AccessDenied):
    """The API gateway's refusal of a request it cannot authenticate: 401, before KMS sees it."""

    huawei_code: ClassVar[str] = "APIGW.0301"  # "Incorrect IAM authentication information"
    status: ClassVar[int] = 401


def _encode(value: str) -> str:
    return quote(value, safe="~")


@lru_cache(maxsize=512)
def canonical_uri(path: str, decoded: bool = False) -> str:
    """`decoded`: the path is already percent-decoded (as a server receives it), else it is decoded here.
    Cached: a server sees the same few dozen paths over and over, and quoting each segment is most of a
    verification."""
    uri = "/".join(_encode(segment) for segment in (path if decoded else unquote(path)).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(query: Iterable[tuple[str, str]]) -> str:
    if not query:  # a POST's: most requests
        return ""
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(query))


def _canonical_request(
    method: str, path: str, query: Iterable[tuple[str, str]], headers: Mapping[str, str], signed: list[str],
    body: bytes, decoded: bool = False,
) -> str:
    lines = "".join(f"{name}:{headers[name].strip()}\n" for name in signed)
    payload = headers.get(_CONTENT_HASH) if body else None
    return "\n".join([
        method.upper(), canonical_uri(path, decoded), canonical_query(query), lines, ";".join(signed),
        payload or hashlib.sha256(body).hexdigest(),
    ])


def signature(canonical_request: str, date: str, secret_key: str) -> str:
    to_sign = f"{ALGORITHM}\n{date}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    # The secret key's HMAC states are kept (keyed_hmac): the server checks every request under one key.
    return keyed_hmac(secret_key.encode(), to_sign.encode())


def sign(
    method: str, path: str, query: Iterable[tuple[str, str]], headers: Mapping[str, str], body: bytes, host: str,
    access_key: str, secret_key: str, now: float | None = None,
) -> dict[str, str]:
    """The headers to add to a request: `X-Sdk-Date` and `Authorization` (every given header is signed)."""
    date = datetime.fromtimestamp(time.time() if now is None else now, UTC).strftime(DATE_FORMAT)
    lower = {k.lower(): v for k, v in headers.items() if "_" not in k}
    lower["host"] = host
    lower[DATE_HEADER.lower()] = date
    signed = sorted(lower)
    sig = signature(_canonical_request(method, path, query, lower, signed, body), date, secret_key)
    auth = f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(signed)}, Signature={sig}"
    return {DATE_HEADER: date, "Authorization": auth}


@lru_cache(maxsize=64)
def _posix(date: str) -> float:
    """The POSIX time of an X-Sdk-Date. Cached: requests of the same second share it, and strptime costs
    more than the rest of a verification."""
    return datetime.strptime(date, DATE_FORMAT).replace(tzinfo=UTC).timestamp()


def verify(
    method: str, path: str, query: Iterable[tuple[str, str]], headers: Mapping[str, str], body: bytes,
    secret_for: Callable[[str], str | None], now: float | None = None,
) -> str:
    """Check a request's signature (`path` as received: percent-decoded); answer its access key or raise
    `Unauthorized` saying why."""
    header = headers.get("authorization", "").strip()
    # The part before the last comma (access key, signed names) is the same on every request of a
    # client: read once (_head_of); only the signature is new. No group of the pattern holds a comma,
    # so a header the whole pattern matches splits exactly there.
    head, comma, tail = header.rpartition(",")
    sig = _SIG_RE.fullmatch(tail) if comma else None
    parts = _head_of(head) if sig is not None else None
    if parts is None or sig is None:
        raise Unauthorized(f"Authorization must be '{ALGORITHM} Access=..., SignedHeaders=..., Signature=...'")
    access_key, signed, fault = parts
    if fault is not None:
        raise Unauthorized(fault)
    missing = [name for name in signed if name not in headers]
    if missing:
        raise Unauthorized(f"signed headers missing from the request: {', '.join(missing)}")
    date = headers[DATE_HEADER.lower()].strip()
    try:
        when = _posix(date)
    except ValueError:
        raise Unauthorized(f"{DATE_HEADER} '{date}' is not YYYYMMDDTHHMMSSZ") from None
    if abs((time.time() if now is None else now) - when) > MAX_SKEW_SECONDS:
        raise Unauthorized(f"{DATE_HEADER} {date} is more than {MAX_SKEW_SECONDS // 60} minutes from the server's time")
    secret = secret_for(access_key)
    if secret is None:
        raise Unauthorized("the access key is not known")
    expected = signature(_canonical_request(method, path, query, headers, signed, body, decoded=True), date, secret)
    if not hmac.compare_digest(expected, sig[1]):
        raise Unauthorized("the request signature does not match; check the secret key and the signing method")
    return access_key


@lru_cache(maxsize=256)
def _head_of(head: str) -> tuple[str, list[str], str | None] | None:
    """(access key, signed names, what is wrong with them or None) of an Authorization header's part
    before its signature; None when it is malformed."""
    found = _HEAD_RE.match(head)
    if found is None:
        return None
    signed = found["signed"].split(";")
    fault = next((f"SignedHeaders must include {name}" for name in ("host", DATE_HEADER.lower()) if name not in signed),
                 None)
    return found["ak"], signed, fault
