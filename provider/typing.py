"""The names the resources take, as `Literal` types: a misspelt key spec or usage fails the type checker
(mypy, pyright, an editor) before `pulumi preview` rejects it.

They spell the same values as `provider.domain.rules` (a test keeps the two equal); this module imports
nothing but `typing`, so a program pays nothing for it. The values follow the clouds' key APIs:
Huawei Cloud KMS CreateKey (https://support.huaweicloud.com/intl/en-us/api-dew/CreateKey.html) and
Volcengine KMS CreateKey (https://www.volcengine.com/docs/6476/1337064).
"""

from __future__ import annotations

from typing import Literal

__all__ = ["KeySpec", "KeyUsage", "MultiRegionType", "Origin"]

KeySpec = Literal[
    "AES_256",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "HMAC_SM3",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "EC_P256",
    "EC_P384",
]
"""A key's algorithm and size: AES_256 (the default) encrypts, HMAC_* make MACs, RSA_* encrypt or sign,
EC_* sign."""

KeyUsage = Literal["ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC"]
"""What a key does; each spec allows some of these (see `CustomKey`)."""

Origin = Literal["kms", "external"]
"""Where a key's material comes from: made by the service (`kms`) or imported (`external`)."""

MultiRegionType = Literal["NONE", "PRIMARY", "REPLICA"]
"""A key's place among its replicas: a single-region key, a primary, or a replica."""
