"""Naming a KMS key for the envelope: a region and a key id, TRN or alias."""

from __future__ import annotations

import re

from ..values import Value
from .errors import InvalidInput

_REGION = re.compile(r"[a-z]+(?:-[a-z0-9]+)+")


class RegionalKey(Value):
    """A KMS key as the envelope names it: the region whose KMS holds it, and its id, TRN or alias there.
    (The domain's `model.KeyRef` names a key inside a region already chosen.)"""

    region: str
    key: str  # a key id, a TRN or an alias name (`alias/...`)

    def __post_init__(self) -> None:
        if not isinstance(self.region, str) or not _REGION.fullmatch(self.region):
            raise InvalidInput(f"key reference {self.region!r}:{self.key!r}: the region must look like cn-north-4")
        if not isinstance(self.key, str) or not self.key.strip():
            raise InvalidInput(f"key reference {self.region}:{self.key!r}: the key id or alias is empty")

    def __str__(self) -> str:
        return f"{self.region}:{self.key}"

    @classmethod
    def parse(cls, text: str, default_region: str | None = None) -> RegionalKey:
        """`REGION:KEY`; a bare TRN names its own region; a bare id or alias takes `default_region`.
        Aliases may contain ':', so only a region-shaped prefix is read as the region."""
        if not isinstance(text, str) or not text:
            raise InvalidInput("a key reference is empty: use REGION:KEY, e.g. cn-north-4:alias/app")
        if text.startswith("trn:kms:"):
            parts = text.split(":", 4)
            if len(parts) == 5 and _REGION.fullmatch(parts[2]):
                return cls(parts[2], text)
        prefix, sep, rest = text.partition(":")
        if sep and _REGION.fullmatch(prefix):
            if not rest:
                raise InvalidInput(f"key reference {text!r} names a region but no key: use REGION:KEY")
            return cls(prefix, rest)
        if default_region is None:
            raise InvalidInput(f"key reference {text!r} has no region: use REGION:KEY, e.g. cn-north-4:alias/app")
        return cls(default_region, text)


def regional_keys(keys: RegionalKey | str | list[RegionalKey | str] | tuple[RegionalKey | str, ...],
                  default_region: str | None = None) -> list[RegionalKey]:
    items = [keys] if isinstance(keys, RegionalKey | str) else list(keys)
    refs = [k if isinstance(k, RegionalKey) else RegionalKey.parse(k, default_region) for k in items]
    if not refs:
        raise InvalidInput("give at least one key to encrypt under")
    seen: set[RegionalKey] = set()
    for ref in refs:
        if ref in seen:
            raise InvalidInput(f"key {ref} is given twice")
        seen.add(ref)
    return refs
