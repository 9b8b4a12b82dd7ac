"""Input checking: `Checker` for `check`, and what `diff` compares (`changed_inputs`)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from pulumi.dynamic import CheckFailure
from pulumi.output import Unknown
from pulumi.runtime import rpc

from ..config import Settings
from ..domain import rules
from ..domain.errors import KmsError
from ._common import IMPORT_ID, Props, ProviderError, canonical_id, connect, settings

T = TypeVar("T")


# --- values as the engine hands them over ------------------------------------------------------------
def is_unknown(value: Any) -> bool:
    """A value not known during a preview (an output of a resource still to be created or updated): the
    provider host hands it over as an `Unknown` object (or, in some paths, the wire's sentinel string)."""
    if isinstance(value, Unknown):
        return True
    if isinstance(value, str):
        return value == rpc.UNKNOWN
    if isinstance(value, Mapping):
        return any(is_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(is_unknown(v) for v in value)
    return False


class Checker:
    """Collects `CheckFailure`s: each rule of the domain layer is called with the property's name."""

    def __init__(self) -> None:
        self.failures: list[CheckFailure] = []
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        """The configuration, resolved once a check: a check reads it for its region, catalog and the
        cloud's capabilities, and resolving it (stack config, then the environment) costs ~60 µs each time."""
        if self._settings is None:
            self._settings = settings()
        return self._settings

    def fail(self, prop: str, reason: str) -> None:
        # The reason names the property even where the engine prints it alone.
        if not reason.startswith(prop):
            reason = f"{prop}: {reason}"
        self.failures.append(CheckFailure(prop, reason))

    def config(self) -> bool:
        """Whether the stack's kms: settings are valid. Every check calls it first, so a bad setting fails
        at preview naming it, even for a resource that gives its region (and so never asks for kms:region)."""
        try:
            self.settings  # noqa: B018 - resolved here so that a bad setting fails first, naming itself
        except KmsError as err:
            self.fail("kms", err.message)
            return False
        return True

    def rule(self, prop: str, fn: Callable[[], T]) -> T | None:
        try:
            return fn()
        except KmsError as err:
            self.fail(prop, err.message)
            return None

    def string(self, prop: str, value: Any) -> str | None:
        if value is None or is_unknown(value):
            return None
        if not isinstance(value, str):
            self.fail(prop, f"{prop} must be a string, not {type(value).__name__}")
            return None
        return value

    def boolean(self, prop: str, value: Any, default: bool) -> Any:
        if value is None:
            return default
        if is_unknown(value):
            return value
        if not isinstance(value, bool):
            self.fail(prop, f"{prop} must be true or false, not {value!r}")
            return default
        return value

    def whole(self, prop: str, value: Any) -> Any:
        """Numbers cross the engine as floats: 30.0 is the whole number 30."""
        if value is None or is_unknown(value):
            return value
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            self.fail(prop, f"{prop} must be a whole number, not {value!r}")
            return None
        return int(value)

    def tags(self, prop: str, value: Any) -> Any:
        if value is None:
            return {}
        if is_unknown(value):
            return value
        if not isinstance(value, Mapping):
            self.fail(prop, f"{prop} must be a map of tag keys to values")
            return {}
        return self.rule(prop, lambda: rules.tags(value.items(), prop)) or {}

    def region(self, prop: str, value: Any) -> Any:
        if value is None:
            value = self.settings.region
        if is_unknown(value):
            return value
        text = self.string(prop, value)
        if text is None:
            return None
        return self.rule(prop, lambda: self.settings.catalog.region(text, prop))


def decode_material(value: str) -> bytes:
    """Base64 key material; the error never repeats the value."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("key_material must be base64") from None


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")


def duration_seconds(text: str | None) -> float | None:
    """A Go-style duration of CustomTimeouts ("10m", "1h30m", "45s") in seconds."""
    if not text:
        return None
    parts = _DURATION.findall(text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(f"custom timeout {text!r} is not a duration like 10m, 1h30m or 45s")
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(n) * scale[u] for n, u in parts)


def same_tags(a: Any, b: Any) -> bool:
    return dict(a or {}) == dict(b or {})


def changed_inputs(
    inputs: Iterable[str],
    olds: Props,
    news: Props,
    *,
    kept_when_undeclared: Iterable[str] = (),
    key_refs: Mapping[str, str] | None = None,
) -> list[str]:
    """The inputs whose value really changed. Tags compare as unordered maps; a key reference (`key_refs`
    maps it to the property holding its region) compares by the key it names, so id, TRN and alias never
    make a perpetual diff; a property of `kept_when_undeclared` left out of the program keeps its live value."""
    kept, refs = set(kept_when_undeclared), key_refs or {}
    changed = []
    for prop in inputs:
        old, new = olds.get(prop), news.get(prop)
        if prop in kept and new is None:
            continue
        if is_unknown(new):
            changed.append(prop)
        elif prop == "tags":
            if not same_tags(old, new):
                changed.append(prop)
        elif prop in refs:
            if not same_key(news.get(refs[prop]), old, new):
                changed.append(prop)
        elif old != new:
            changed.append(prop)
    return changed


def refuse_imported_replacement(kind: str, olds: Props, news: Props, replaces: list[str]) -> None:
    """As in Pulumi: a resource that still says `import_` is never replaced (it would destroy the key)."""
    if replaces and news.get(IMPORT_ID):
        raise ProviderError(
            f"{kind} {olds.get('key_id') or olds.get('alias_name')}: previously-imported resources that still "
            f"specify import_ may not be replaced (changed: {', '.join(replaces)}); remove import_ from the "
            "resource options"
        )


def same_key(region: Any, a: Any, b: Any) -> bool:
    """Whether two references (id, TRN or alias) name one key: no diff when only the spelling changed."""
    if a == b:
        return True
    if not isinstance(a, str) or not isinstance(b, str) or is_unknown(a) or is_unknown(b):
        return False
    if not isinstance(region, str) or is_unknown(region):
        return False
    c = connect(region)
    try:
        return canonical_id(c, a) == canonical_id(c, b)
    except KmsError:
        return False
