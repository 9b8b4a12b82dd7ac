"""The engine's own preview JSON (`pulumi preview --json`) read into the steps of this provider's resources.

The engine prints `{"steps": [{"op", "urn", "oldState", "newState", "replaceReasons", ...}], "changeSummary",
"diagnostics", "config"}`. A value the engine does not know until `up` (an id still to be created) is its
unknown sentinel; it becomes `UNKNOWN` here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..domain import rules

KMS_TYPE = "pulumi-python:dynamic/kms:"
KINDS = ("CustomKey", "ReplicaKey", "KeyAlias", "KeyTags")
# The engine's marker for a value computed during `up` (sdk/go/common/resource/properties.go).
UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
# Secret values arrive wrapped under this signature key.
SECRET_SIG = "4dabf18193072939515e22adb298388d"
HIDDEN = frozenset({"key_material"})  # never shown, even when the engine shows it

# The engine's step ops, reduced to what a reviewer needs. Later entries win when a URN has several steps.
OPS = {
    "same": "same", "read": "same", "refresh": "same",
    "create": "create", "import": "create",
    "update": "update",
    "delete": "delete", "discard": "delete",
    "replace": "replace", "create-replacement": "replace", "delete-replaced": "replace",
}
RANK = {"same": 0, "create": 1, "update": 2, "delete": 3, "replace": 4}


class PreviewError(ValueError):
    """The input cannot be reviewed; the message is one line for the user."""


class Malformed(PreviewError):
    """A part of the preview has the wrong shape; the message names the part and the shape it needs."""


class Unknown:
    """A value known only after `up`."""

    def __repr__(self) -> str:
        return "(known after up)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unknown)

    def __hash__(self) -> int:
        return 0


UNKNOWN = Unknown()


@dataclass(frozen=True)
class Step:
    op: str  # create | update | replace | delete | same
    kind: str  # CustomKey | ReplicaKey | KeyAlias | KeyTags
    name: str  # the resource's logical name
    urn: str
    old: Mapping[str, Any]  # old outputs over old inputs (empty for a create)
    new: Mapping[str, Any]  # the new inputs (empty for a delete)
    old_id: str | None
    replace_reasons: tuple[str, ...]
    changed: tuple[str, ...]  # inputs whose value differs between old and new
    depends: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # input -> URNs it comes from
    imported: bool = False


@dataclass(frozen=True)
class Preview:
    steps: tuple[Step, ...]
    summary: Mapping[str, int]
    config: Mapping[str, str]  # the stack's `kms:` config (without the prefix), secrets left out
    unlisted_same: int  # resources the preview left unchanged and did not list (no --show-sames)
    command: str = "pulumi up"  # what applies it: `pulumi destroy` when the stack itself goes

    def of(self, kind: str) -> list[Step]:
        return [s for s in self.steps if s.kind == kind]


# Deeper than any value of these resources (tags are a flat map); a hostile file may nest far deeper.
MAX_DEPTH = 32
# Numbers the review computes dates from (`pending_days`) must be days the service accepts.
DAY_PROPS = frozenset({"pending_days"})
# Properties the review reads as text (ids, regions, names); another JSON type there is malformed.
TEXT_PROPS = frozenset({"region", "key_id", "primary_key_id", "primary_region", "replica_region", "alias_name",
                        "target_key_id", "key_spec", "key_usage", "key_state", "key_name"})


def _mapping(v: Any, what: str) -> Mapping[str, Any]:
    """`v` as an object, {} when absent; anything else is malformed, named by `what`."""
    if v is None:
        return {}
    if not isinstance(v, Mapping):
        raise Malformed(f"{what} is {_kind(v)}, not an object")
    return v


def _short(text: str, limit: int = 80) -> str:
    """A string from the file, safe inside a one-line message: quoted, escaped, shortened."""
    quoted = json.dumps(text)
    return quoted if len(quoted) <= limit else quoted[: limit - 2] + '…"'


def _brief(v: Any) -> str:
    """A value from the file as a short text for a message: a string quoted, anything else as JSON."""
    text = json.dumps(v) if not isinstance(v, str) else _short(v)
    return text if len(text) <= 40 else text[:39] + "…"


def _kind(v: Any) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(v), "null" if v is None else "an object")


def _value(v: Any, what: str, key: str, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise Malformed(f"{what}: {_short(key)} is nested more than {MAX_DEPTH} levels deep")
    if v == UNKNOWN_SENTINEL:
        return UNKNOWN
    if isinstance(v, Mapping):
        if SECRET_SIG in v:
            return "[secret]"
        return {k: _value(x, what, key, depth + 1) for k, x in v.items()}
    if isinstance(v, list):
        return [_value(x, what, key, depth + 1) for x in v]
    return v


def _checked(name: str, v: Any, what: str) -> Any:
    if v is None or v is UNKNOWN or v == "[secret]":
        return v
    if name in TEXT_PROPS and not isinstance(v, str):
        raise Malformed(f"{what}: {name} is {_kind(v)}, not a string")
    if name in DAY_PROPS and (isinstance(v, bool) or not isinstance(v, int | float) or not (
            rules.PENDING_DAYS_MIN <= v <= rules.PENDING_DAYS_MAX) or v != int(v)):
        raise Malformed(f"{what}: {name} is {_brief(v)}, not a whole number of days "
                           f"{rules.PENDING_DAYS_MIN}..{rules.PENDING_DAYS_MAX}")
    return v


def _props(state: Mapping[str, Any], what: str, *parts: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in parts:
        merged.update(_mapping(state.get(part), f"{what}: {part}"))
    return {k: _checked(k, _value(v, what, k), what) for k, v in merged.items() if not k.startswith("__")}


def _deps(state: Mapping[str, Any], what: str) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for k, v in _mapping(state.get("propertyDependencies"), f"{what}: propertyDependencies").items():
        if v is None:
            v = []
        if not isinstance(v, list) or not all(isinstance(u, str) for u in v):
            raise Malformed(f"{what}: propertyDependencies {_short(str(k))} is not a list of URNs")
        out[k] = tuple(v)
    return out


def _step(raw: Mapping[str, Any], index: int) -> Step | None:
    urn = raw.get("urn")
    op = OPS.get(str(raw.get("op")))
    # Named by position and URN; built only for the steps of this provider.
    what = f"step {index + 1} ({_short(urn)})" if isinstance(urn, str) and op is not None else f"step {index + 1}"
    old_state = _mapping(raw.get("oldState"), f"{what}: oldState")
    new_state = _mapping(raw.get("newState"), f"{what}: newState")
    type_ = _type(raw)
    if not isinstance(urn, str) or op is None or not type_.startswith(KMS_TYPE):
        return None
    kind = type_[len(KMS_TYPE):]
    if kind not in KINDS:
        raise Malformed(f"{what}: type {_short(type_)} is not a resource of this provider ({', '.join(KINDS)})")
    old = _props(old_state, what, "inputs", "outputs") if op != "create" else {}
    new = _props(new_state, what, "inputs") if op != "delete" else {}
    old_inputs = _props(old_state, what, "inputs")
    changed = (
        tuple(sorted(k for k in set(old_inputs) | set(new) if old_inputs.get(k) != new.get(k)))
        if op in ("update", "replace")
        else ()
    )
    old_id = old_state.get("id") if op != "create" else None
    if old_id is not None and not isinstance(old_id, str):
        raise Malformed(f"{what}: oldState.id is {_kind(old_id)}, not a string")
    reasons = raw.get("replaceReasons") or []
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise Malformed(f"{what}: replaceReasons is not a list of property names")
    return Step(
        op=op,
        kind=kind,
        name=urn.rsplit("::", 1)[-1],
        urn=urn,
        old=old,
        new=new,
        old_id=old_id or None,
        replace_reasons=tuple(reasons),
        changed=changed,
        depends=_deps(new_state, what) or _deps(old_state, what),
        imported=raw.get("op") == "import",
    )


def parse(text: str | bytes, source: str = "the preview") -> Preview:
    """Read `pulumi preview --json`; a PreviewError names what is wrong in one line."""
    try:
        doc = json.loads(text)
    except RecursionError:
        raise PreviewError(f"{source} is JSON nested too deeply to be a preview") from None
    except (ValueError, UnicodeDecodeError):
        raise PreviewError(
            f"{source} is not JSON: give the output of `pulumi preview --json` (file or -)"
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("steps", []), list) or not (
        "steps" in doc or "changeSummary" in doc
    ):
        raise PreviewError(f"{source} is JSON but not a preview: `pulumi preview --json` prints an object with "
                           '"steps" and "changeSummary"')
    try:
        return _parse(doc, source)
    except Malformed as exc:
        raise PreviewError(f"{source} is not a well-formed preview: {exc}") from None


def _parse(doc: Mapping[str, Any], source: str) -> Preview:
    diagnostics = doc.get("diagnostics") or []
    if not isinstance(diagnostics, list):
        raise Malformed(f"diagnostics is {_kind(diagnostics)}, not a list")
    errors = [
        lines[0]
        for d in diagnostics
        if isinstance(d, Mapping) and d.get("severity") == "error"
        for lines in [str(d.get("message") or "").strip().splitlines()]
        if lines
    ]
    raws = [s for s in doc.get("steps") or [] if isinstance(s, Mapping)]
    if errors and not any(s.get("op") != "same" for s in raws if not _is_stack(s)):
        raise PreviewError(f"{source} is of a preview that failed: {errors[0]}")
    summary = {str(k): int(v) for k, v in _mapping(doc.get("changeSummary"), "changeSummary").items()
               if isinstance(v, int) and not isinstance(v, bool)}
    by_urn: dict[str, Step] = {}
    others = 0
    listed = 0
    for index, raw in enumerate(raws):
        if _is_stack(raw) or _type(raw).startswith("pulumi:providers:"):
            continue
        listed += 1
        step = _step(raw, index)
        if step is None:
            others += 1
            continue
        seen = by_urn.get(step.urn)
        if seen is None or RANK[step.op] > RANK[seen.op]:
            by_urn[step.urn] = step
    total = sum(summary.values())
    if not by_urn:
        if others:
            raise PreviewError(
                f"{source} lists {others} resource(s), none of them a KMS key, replica, alias or tags of this "
                f"provider ({KMS_TYPE}*): nothing to review"
            )
        if total <= 1 and listed == 0:  # at most the stack itself
            raise PreviewError(f"{source} is an empty preview: the stack has no resources to review")
    # Kept for what the preview says about its own stack; never used to reach a backend (the reviewer's own
    # configuration decides that).
    config = {
        k.split(":", 1)[1]: str(v)
        for k, v in _mapping(doc.get("config"), "config").items()
        if isinstance(k, str) and k.startswith("kms:") and isinstance(v, str | int | float)
        and k not in ("kms:secretKey", "kms:accessKey")
    }
    unlisted = max(0, summary.get("same", 0) - sum(1 for s in raws if s.get("op") == "same"))
    destroy = any(_is_stack(s) and s.get("op") == "delete" for s in raws)
    return Preview(steps=tuple(by_urn.values()), summary=summary, config=config, unlisted_same=unlisted,
                   command="pulumi destroy" if destroy else "pulumi up")


def _is_stack(raw: Mapping[str, Any]) -> bool:
    return "::pulumi:pulumi:Stack::" in str(raw.get("urn", ""))


def _type(raw: Mapping[str, Any]) -> str:
    state = raw.get("newState") or raw.get("oldState")
    return str(state.get("type") or "") if isinstance(state, Mapping) else ""
