"""Multi-region KMS keys as code.

`from provider import CustomKey, ReplicaKey, KeyAlias, KeyTags` gives the Pulumi resources; the
emulator, the backends and the envelope SDK live in sub-packages and import without Pulumi.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# The release; pyproject.toml reads it from here (setuptools' `attr:`, without importing the package).
__version__ = "0.1.0"

__all__ = [
    "CustomKey",
    "GetAliasResult",
    "GetKeyResult",
    "KeyAlias",
    "KeyNotFound",
    "KeyTags",
    "ReplicaKey",
    "get_alias",
    "get_alias_output",
    "get_key",
    "get_key_output",
]
_RESOURCES = frozenset({"CustomKey", "KeyAlias", "KeyTags", "ReplicaKey"})  # the rest is in .lookups

if TYPE_CHECKING:
    from .lookups import (
        GetAliasResult,
        GetKeyResult,
        KeyNotFound,
        get_alias,
        get_alias_output,
        get_key,
        get_key_output,
    )
    from .resources import CustomKey, KeyAlias, KeyTags, ReplicaKey


def __getattr__(name: str) -> Any:
    # Lazy: `kmsctl` and the emulator server should not pay for importing Pulumi.
    if name in _RESOURCES:
        from . import resources

        return getattr(resources, name)
    if name in __all__:
        from . import lookups

        return getattr(lookups, name)
    raise AttributeError(f"module 'provider' has no attribute {name!r}")
