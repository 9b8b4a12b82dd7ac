"""The Pulumi resources: `CustomKey`, `ReplicaKey`, `KeyAlias`, `KeyTags`.

Each is a dynamic resource with type token `pulumi-python:dynamic/kms:<Name>`; its provider is a
stateless class in this package, pickled by reference into the stack's state.
"""

from __future__ import annotations

from .custom_key import CustomKey, CustomKeyProvider
from .key_alias import KeyAlias, KeyAliasProvider
from .key_tags import KeyTags, KeyTagsProvider
from .replica_key import ReplicaKey, ReplicaKeyProvider

__all__ = [
    "CustomKey",
    "CustomKeyProvider",
    "KeyAlias",
    "KeyAliasProvider",
    "KeyTags",
    "KeyTagsProvider",
    "ReplicaKey",
    "ReplicaKeyProvider",
]
