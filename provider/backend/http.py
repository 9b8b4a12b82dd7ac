"""The real-endpoint backend: each call signed and sent to a server speaking the wire protocol.

A caller cannot tell it from the embedded emulator except by speed: the same `Result` objects, the
same typed errors (rebuilt from the answer's `Error.Code`). What a network adds is handled here:
a pooled keep-alive session, timeouts, and retries with exponential backoff and full jitter.

Retries are careful about repeating a write. Throttling (`Reject.Throttling.Action`, 429, 503) and a
connection that was never made are always retried: the server did not act. A lost answer (a read
timeout, a dropped connection, a 5xx, a garbled body) is retried only for actions that are safe to
repeat: reads, cryptography, setters that converge, and the two creating actions, which carry a
`ClientToken` the server honours, so a retried CreateKey or ReplicateKey never makes a second key.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase

from ..domain.errors import InvalidParameter, KmsError, UndefinedError, error_from_wire
from . import signer

# Safe to send twice: repeating them cannot make a second thing nor fail where the first succeeded.
REPEATABLE = frozenset({
    "DescribeKey", "DescribeKeys", "ListAliases", "GetPublicKey", "Encrypt", "Decrypt", "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext", "ReEncrypt", "AsymmetricSign", "AsymmetricVerify", "GenerateMac",
    "VerifyMac", "GetParametersForImport", "UpdateKey", "EnableKeyRotation", "DisableKeyRotation", "TagResources",
    "UntagResources", "UpdateAlias", "CreateKey", "ReplicateKey",
})
# Carry a client token so that the server makes one key however often the call is repeated.
TOKENED = frozenset({"CreateKey", "ReplicateKey"})
RETRY_STATUS = frozenset({500, 502, 503, 504})
THROTTLED = "Reject.Throttling.Action"


@dataclass(frozen=True)
class _Target:
    url: str
    host: str
    path: str


class _Retry(Exception):
    """One attempt failed in a way worth another; `error` is what the caller gets if none is left."""

    def __init__(self, error: KmsError, *, processed: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.processed = processed  # the server may have acted on the request


class HttpBackend:
    """`endpoint` is a URL such as `http://127.0.0.1:8400`; `{region}` in it is replaced per call."""

    def __init__(self, endpoint: str, *, access_key: str | None, secret_key: str | None,
                 timeout: float | tuple[float, float] = (5.0, 60.0), retries: int = 4,
                 backoff: float = 0.1, max_backoff: float = 5.0, pool_size: int = 16) -> None:
        if not endpoint or not urlsplit(endpoint.replace("{region}", "r")).netloc:
            raise InvalidParameter(f"kms:endpoint / KMS_ENDPOINT must be a URL such as http://127.0.0.1:8400, "
                                   f"not {endpoint!r}")
        if urlsplit(endpoint).scheme not in ("http", "https"):
            raise InvalidParameter(f"kms:endpoint / KMS_ENDPOINT must start with http:// or https://, not {endpoint!r}")
        if not access_key or not secret_key:
            raise InvalidParameter("an endpoint needs credentials: set kms:accessKey and kms:secretKey (stack "
                                   "config, --secret) or KMS_ACCESS_KEY and KMS_SECRET_KEY")
        if retries < 0:
            raise InvalidParameter(f"retries must be 0 or more, not {retries}")
        self.endpoint = endpoint
        self.access_key = access_key
        self._secret_key = secret_key
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._targets: dict[str, _Target] = {}
        self.session = requests.Session()
        # Retries are ours (they know which actions are safe to repeat): the adapter makes none.
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.trust_env = False  # a proxy setting in the environment must not redirect signed calls

    def __repr__(self) -> str:
        return f"HttpBackend({self.endpoint!r}, access_key={self.access_key!r}, secret_key=<hidden>)"

    def close(self) -> None:
        self.session.close()

    # --- one call -------------------------------------------------------------------------------------
    def _target(self, region: str) -> _Target:
        target = self._targets.get(region)
        if target is None:
            base = self.endpoint.replace("{region}", region).rstrip("/")
            parts = urlsplit(base)
            path = (parts.path or "") + "/"
            target = _Target(url=f"{base}/", host=parts.netloc, path=path)
            self._targets[region] = target
        return target

    def call(self, region: str, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        body_params = dict(params)
        if action in TOKENED and not body_params.get("ClientToken"):
            # One token for every attempt of this call: the server answers a repeat with the first key.
            body_params["ClientToken"] = str(uuid.uuid4())
        body = json.dumps(body_params, separators=(",", ":")).encode()
        target = self._target(region)
        attempt = 0
        while True:
            try:
                return self._attempt(target, region, action, body)
            except _Retry as failure:
                may_repeat = not failure.processed or action in REPEATABLE
                if attempt >= self.retries or not may_repeat:
                    raise failure.error from None
            attempt += 1
            # Exponential backoff with full jitter: clients throttled together do not return together.
            time.sleep(random.uniform(0, min(self.max_backoff, self.backoff * 2 ** attempt)))

    def _attempt(self, target: _Target, region: str, action: str, body: bytes) -> dict[str, Any]:
        query = (("Action", action), ("Version", signer.VERSION))
        headers = signer.sign(method="POST", host=target.host, path=target.path, query=query, body=body,
                              access_key=self.access_key, secret_key=self._secret_key, region=region,
                              headers={"Content-Type": "application/json"})
        headers["Content-Type"] = "application/json"
        try:
            resp = self.session.post(f"{target.url}?{signer.canonical_query(query)}", data=body, headers=headers,
                                     timeout=self.timeout)
        except requests.ConnectTimeout:
            raise _Retry(UndefinedError(f"could not connect to {target.url} within the timeout"),
                         processed=False) from None
        except requests.Timeout:
            raise _Retry(UndefinedError(f"{action} at {target.url} timed out waiting for the answer"),
                         processed=True) from None
        except requests.ConnectionError as exc:
            # A refused connection never reached the server; one dropped mid-answer may have.
            refused = "NewConnectionError" in repr(exc) or "Connection refused" in str(exc)
            raise _Retry(UndefinedError(f"could not reach {target.url}: {type(exc).__name__}"),
                         processed=not refused) from None
        return self._answer(resp, target, action)

    @staticmethod
    def _answer(resp: requests.Response, target: _Target, action: str) -> dict[str, Any]:
        try:
            doc = resp.json()
        except ValueError:
            doc = None
        meta = doc.get("ResponseMetadata") if isinstance(doc, dict) else None
        if not isinstance(meta, dict):
            # Not this protocol's answer (a proxy's error page, a cut or garbled body): the body is never
            # quoted, it might hold a plaintext.
            err = UndefinedError(f"{action} at {target.url} answered HTTP {resp.status_code} without the "
                                 "protocol's JSON envelope")
            if resp.status_code in RETRY_STATUS or resp.status_code == 429 or resp.ok:
                raise _Retry(err, processed=resp.status_code != 503)
            raise err
        error = meta.get("Error")
        if isinstance(error, dict):
            code = str(error.get("Code") or "UndefinedError")
            typed = error_from_wire(code, str(error.get("Message") or code))
            if code == THROTTLED or resp.status_code in (429, 503):
                raise _Retry(typed, processed=False)
            if resp.status_code in RETRY_STATUS:
                raise _Retry(typed, processed=True)
            raise typed
        if resp.status_code in RETRY_STATUS or resp.status_code == 429:
            raise _Retry(UndefinedError(f"{action} at {target.url} answered HTTP {resp.status_code}"),
                         processed=resp.status_code != 503)
        result = doc.get("Result") if isinstance(doc, dict) else None
        if not isinstance(result, dict):
            raise _Retry(UndefinedError(f"{action} at {target.url} answered without a Result object"), processed=True)
        return result


class HmacAuth(AuthBase):
    """Signs any `requests` call for the wire protocol: `requests.post(url, json=..., auth=HmacAuth(...))`.

    For tools that make their own requests (a fuzzer, a script); the backend signs by itself."""

    def __init__(self, access_key: str, secret_key: str, region: str) -> None:
        self.access_key = access_key
        self._secret_key = secret_key
        self.region = region

    def __repr__(self) -> str:
        return f"HmacAuth(access_key={self.access_key!r}, region={self.region!r}, secret_key=<hidden>)"

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        parts = urlsplit(r.url or "")
        body = r.body if isinstance(r.body, bytes) else (r.body or "").encode()
        covered = {"Content-Type": r.headers["Content-Type"]} if "Content-Type" in r.headers else {}
        r.headers.update(signer.sign(
            method=r.method or "POST", host=parts.netloc, path=parts.path or "/",
            query=parse_qsl(parts.query, keep_blank_values=True), body=body, access_key=self.access_key,
            secret_key=self._secret_key, region=self.region, headers=covered,
        ))
        return r
