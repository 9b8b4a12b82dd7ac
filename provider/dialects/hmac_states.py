"""HMAC-SHA256 from a key's kept inner and outer hash states, for both dialects' signatures.

A server checks every request under the same few keys (Volcengine: the day's derived signing key; Huawei
Cloud: the secret key itself), so the key's padded inner and outer SHA-256 states are computed once and
copied per message: RFC 2104's precomputation, half the cost of a fresh `hmac.new`, and byte for byte the
same digest.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

_BLOCK = 64  # SHA-256's block size
_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))


def keyed_hmac(key: bytes, message: bytes) -> str:
    """hex HMAC-SHA256 of `message` under `key`: the bytes of hmac.new(key, message, sha256).hexdigest()."""
    inner, outer = _hmac_states(key)
    h = inner.copy()
    h.update(message)
    o = outer.copy()
    o.update(h.digest())
    return o.hexdigest()


@lru_cache(maxsize=256)
def _hmac_states(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD))
