"""The request signature of Volcengine's OpenAPI (`SignerV4`; https://www.volcengine.com/docs/6369/67270):
HMAC-SHA256 over a canonical request.

One implementation serves both ends: the HTTP backend calls `sign`, the server calls `verify`, and
the worked example of docs/wire-protocol.md is computed by these same functions.

    canonical request = METHOD \\n path \\n canonical query \\n canonical headers \\n signed names \\n body hash
    string to sign    = "HMAC-SHA256" \\n X-Date \\n {date}/{region}/kms/request \\n sha256(canonical request)
    signing key       = HMAC(HMAC(HMAC(HMAC(SK, date), region), "kms"), "request")
    signature         = hex HMAC(signing key, string to sign)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import quote

from ...domain.errors import AccessDenied
from ..hmac_states import keyed_hmac

ALGORITHM = "HMAC-SHA256"
SERVICE = "kms"
TERMINATOR = "request"
VERSION = "2021-02-18"
# The headers every signature must cover (docs/wire-protocol.md).
REQUIRED_SIGNED = ("host", "x-content-sha256", "x-date")
_REQUIRED = frozenset(REQUIRED_SIGNED)
# A signed request is good for 15 minutes either side of the server's clock.
MAX_SKEW_SECONDS = 15 * 60
DATE_FORMAT = "%Y%m%dT%H%M%SZ"

_UNRESERVED = "-_.~"  # with A-Z a-z 0-9, the only characters left as they are
_PLAIN = re.compile(r"[A-Za-z0-9\-_.~]*")
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-_.~/]*")
_DATE_RE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
# An Authorization header is `HEAD,SIG`: the credential scope and signed names, then the signature.
_HEAD_RE = re.compile(
    r"HMAC-SHA256 Credential=(?P<ak>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/(?P<service>[^/,\s]+)/"
    r"(?P<term>[^/,\s]+),\s*SignedHeaders=(?P<signed>[a-z0-9\-;]+)\Z"
)
_SIG_RE = re.compile(r"\s*Signature=([0-9a-f]{64})")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def format_date(when: datetime | float | None = None) -> str:
    """`YYYYMMDDTHHMMSSZ` in UTC: `when` as a datetime, a POSIX time, or now."""
    if when is None:
        when = time.time()
    if isinstance(when, int | float):
        return time.strftime(DATE_FORMAT, time.gmtime(when))
    return when.astimezone(UTC).strftime(DATE_FORMAT)


@lru_cache(maxsize=64)
def parse_date(x_date: str) -> float:
    """The POSIX time of an X-Date; AccessDenied when it is not `YYYYMMDDTHHMMSSZ`. Cached: requests of
    the same second share it."""
    # By hand rather than strptime, which costs more than the rest of a verification together.
    if _DATE_RE.fullmatch(x_date) is None:
        raise AccessDenied("User is not authorized to do this action: X-Date must be YYYYMMDDTHHMMSSZ (UTC)")
    try:
        return datetime(int(x_date[0:4]), int(x_date[4:6]), int(x_date[6:8]), int(x_date[9:11]),
                        int(x_date[11:13]), int(x_date[13:15]), tzinfo=UTC).timestamp()
    except ValueError:
        raise AccessDenied("User is not authorized to do this action: X-Date is not a real date and time") from None


def encode(text: str) -> str:
    """Percent-encode all but `A-Z a-z 0-9 - _ . ~` (UTF-8 bytes for the rest)."""
    return text if _PLAIN.fullmatch(text) else quote(text, safe=_UNRESERVED)


def canonical_query(params: Iterable[tuple[str, str]] | Mapping[str, str]) -> str:
    """Parameters sorted by name (a repeated name keeps its values' order), each name and value
    percent-encoded, `name=value` joined by `&`."""
    return _canonical_query(tuple(params.items()) if isinstance(params, Mapping) else tuple(params))


@lru_cache(maxsize=256)
def _canonical_query(pairs: tuple[tuple[str, str], ...]) -> str:
    # Cached: most requests carry only `Action` and `Version`, a handful of distinct queries.
    return "&".join(f"{encode(k)}={encode(v)}" for k, v in sorted(pairs, key=lambda p: p[0]))


def canonical_request(method: str, path: str, query: str, headers: Mapping[str, str], signed: list[str],
                      body_hash: str) -> str:
    """`headers` maps lowercase names to values; `signed` are the sorted lowercase names to cover."""
    canonical_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in signed)
    path = path or "/"
    if not _PLAIN_PATH.fullmatch(path):
        path = quote(path, safe="/" + _UNRESERVED)
    return "\n".join((method.upper(), path, query, canonical_headers,
                      ";".join(signed), body_hash))


def scope(date: str, region: str, service: str = SERVICE) -> str:
    return f"{date}/{region}/{service}/{TERMINATOR}"


def string_to_sign(x_date: str, credential_scope: str, canonical: str) -> str:
    return "\n".join((ALGORITHM, x_date, credential_scope, sha256_hex(canonical.encode())))


@lru_cache(maxsize=256)
def signing_key(secret_key: str, date: str, region: str, service: str = SERVICE) -> bytes:
    """The derived key of one (secret, day, region): cached, since every request of a day reuses it."""
    key = secret_key.encode()
    for part in (date, region, service, TERMINATOR):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signature(secret_key: str, x_date: str, region: str, canonical: str, service: str = SERVICE) -> str:
    date = x_date[:8]
    # The derived key's HMAC states are kept (keyed_hmac), as verify uses them: one HMAC for both ends.
    return keyed_hmac(signing_key(secret_key, date, region, service),
                      string_to_sign(x_date, scope(date, region, service), canonical).encode())


def authorization(access_key: str, x_date: str, region: str, signed: list[str], sig: str,
                  service: str = SERVICE) -> str:
    return (f"{ALGORITHM} Credential={access_key}/{scope(x_date[:8], region, service)}, "
            f"SignedHeaders={';'.join(signed)}, Signature={sig}")


def sign(*, method: str, host: str, path: str, query: Iterable[tuple[str, str]] | Mapping[str, str],
         body: bytes, access_key: str, secret_key: str, region: str, headers: Mapping[str, str] | None = None,
         when: datetime | float | None = None) -> dict[str, str]:
    """The headers that sign one request: `Host`, `X-Date`, `X-Content-Sha256` and `Authorization`.

    `headers` are extra headers to cover too (e.g. Content-Type); the request must send them as given.
    """
    x_date = format_date(when)
    body_hash = sha256_hex(body)
    out = {"Host": host, "X-Date": x_date, "X-Content-Sha256": body_hash}
    covered = {k.lower(): v for k, v in (headers or {}).items()}
    covered |= {k.lower(): v for k, v in out.items()}
    signed = sorted(covered)
    canonical = canonical_request(method, path, canonical_query(query), covered, signed, body_hash)
    sig = signature(secret_key, x_date, region, canonical)
    out["Authorization"] = authorization(access_key, x_date, region, signed, sig)
    return out


class Credential(NamedTuple):
    """The parsed `Authorization` header (a tuple: made once a request, it must cost little)."""

    access_key: str
    date: str
    region: str
    service: str
    signed: list[str]
    signature: str


def _read_authorization(header: str | None) -> tuple[Credential, str]:
    """The credential, and its signed names as SignedHeaders gives them (`;`-joined)."""
    if not header:
        raise AccessDenied("User is not authorized to do this action: the request is not signed "
                           "(no Authorization header)")
    header = header.strip()
    # The part before the last comma (algorithm, credential scope, signed headers) is the same on every
    # request of a client's day: it is read once (_scope_of); only the signature is new each time. No
    # group of the pattern holds a comma, so a header the whole pattern matches splits exactly there.
    head, comma, tail = header.rpartition(",")
    sig = _SIG_RE.fullmatch(tail) if comma else None
    parts = _scope_of(head) if sig is not None else None
    if parts is None or sig is None:
        raise AccessDenied("User is not authorized to do this action: the Authorization header is not "
                           "'HMAC-SHA256 Credential=AK/DATE/REGION/kms/request, SignedHeaders=..., Signature=...'")
    if isinstance(parts, str):
        raise AccessDenied(parts)
    ak, date, region, service, joined = parts
    return Credential(ak, date, region, service, joined.split(";"), sig[1]), joined


@lru_cache(maxsize=256)
def _scope_of(head: str) -> tuple[str, str, str, str, str] | str | None:
    """(access key, date, region, service, signed names) of an Authorization header's part before its
    signature; None when it is malformed, a message when its scope is not this service's."""
    m = _HEAD_RE.match(head)
    if m is None:
        return None
    if m["service"] != SERVICE or m["term"] != TERMINATOR:
        return f"User is not authorized to do this action: the credential scope must end with /{SERVICE}/{TERMINATOR}"
    return m["ak"], m["date"], m["region"], m["service"], m["signed"]


@lru_cache(maxsize=64)
def _signed_fault(joined: str) -> str | None:
    """What is wrong with a SignedHeaders list, if anything (cached: a client signs the same names)."""
    signed = joined.split(";")
    if not _REQUIRED.issubset(signed):
        missing = [h for h in REQUIRED_SIGNED if h not in signed]
        return f"User is not authorized to do this action: SignedHeaders must include {';'.join(missing)}"
    if signed != sorted(signed) or len(set(signed)) != len(signed):
        return "User is not authorized to do this action: SignedHeaders must be sorted and distinct"
    return None


def verify(*, method: str, path: str, query: Iterable[tuple[str, str]], headers: Mapping[str, str], body: bytes,
           secret_for: Callable[[str], str | None], now: float | None = None) -> Credential:
    """Check one request's signature; answer its credential (whose region selects the region).

    `headers` maps lowercase names to values. Every failure is AccessDenied with a message that says
    what is wrong but never what the right signature would have been.
    """
    cred, joined = _read_authorization(headers.get("authorization"))
    secret = secret_for(cred.access_key)
    if secret is None:
        raise AccessDenied("User is not authorized to do this action: the access key is not known")
    signed = cred.signed
    fault = _signed_fault(joined)
    if fault is not None:
        raise AccessDenied(fault)
    for name in signed:
        if name not in headers:
            raise AccessDenied(f"User is not authorized to do this action: signed header {name} is missing")
    x_date = headers["x-date"].strip()
    when = parse_date(x_date)
    if abs((time.time() if now is None else now) - when) > MAX_SKEW_SECONDS:
        raise AccessDenied("User is not authorized to do this action: X-Date is more than 15 minutes away "
                           "from the server's clock")
    if x_date[:8] != cred.date:
        raise AccessDenied("User is not authorized to do this action: the credential date is not the day of X-Date")
    body_hash = hashlib.sha256(body).hexdigest()
    if not hmac.compare_digest(headers["x-content-sha256"].strip().lower(), body_hash):
        raise AccessDenied("User is not authorized to do this action: X-Content-Sha256 is not the SHA-256 of the body")
    # canonical_request and signature, written out: this runs on every request the server gets.
    if not path or not _PLAIN_PATH.fullmatch(path):
        path = quote(path or "/", safe="/" + _UNRESERVED)
    lines = "".join([f"{name}:{headers[name].strip()}\n" for name in signed])
    canonical = f"{method.upper()}\n{path}\n{_canonical_query(tuple(query))}\n{lines}\n{joined}\n{body_hash}"
    date, region = cred.date, cred.region
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    to_sign = f"{ALGORITHM}\n{x_date}\n{date}/{region}/{SERVICE}/{TERMINATOR}\n{digest}"
    expected = keyed_hmac(signing_key(secret, date, region, SERVICE), to_sign.encode())
    if not hmac.compare_digest(expected, cred.signature):
        raise AccessDenied("User is not authorized to do this action: the signature does not match")
    return cred
