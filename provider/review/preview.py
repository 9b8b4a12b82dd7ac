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


def _value(v: Any) -> Any:
    if v == UNKNOWN_SENTINEL:
        return UNKNOWN
    if isinstance(v, Mapping):
        if SECRET_SIG in v:
            return "[secret]"
        return {k: _value(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_value(x) for x in v]
    return v


def _props(state: Mapping[str, Any] | None, *parts: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in parts:
        merged.update((state or {}).get(part) or {})
    return {k: _value(v) for k, v in merged.items() if not k.startswith("__")}


def _deps(state: Mapping[str, Any] | None) -> dict[str, tuple[str, ...]]:
    return {k: tuple(v or ()) for k, v in ((state or {}).get("propertyDependencies") or {}).items()}


def _step(raw: Mapping[str, Any]) -> Step | None:
    urn = raw.get("urn")
    op = OPS.get(str(raw.get("op")))
    old_state, new_state = raw.get("oldState"), raw.get("newState")
    type_ = _type(raw)
    if not isinstance(urn, str) or op is None or not type_.startswith(KMS_TYPE):
        return None
    old = _props(old_state, "inputs", "outputs") if op != "create" else {}
    new = _props(new_state, "inputs") if op != "delete" else {}
    old_inputs = _props(old_state, "inputs")
    changed = (
        tuple(sorted(k for k in set(old_inputs) | set(new) if old_inputs.get(k) != new.get(k)))
        if op in ("update", "replace")
        else ()
    )
    return Step(
        op=op,
        kind=type_[len(KMS_TYPE):],
        name=urn.rsplit("::", 1)[-1],
        urn=urn,
        old=old,
        new=new,
        old_id=(old_state or {}).get("id") if op != "create" else None,
        replace_reasons=tuple(raw.get("replaceReasons") or ()),
        changed=changed,
        depends=_deps(new_state) or _deps(old_state),
        imported=raw.get("op") == "import",
    )


def parse(text: str | bytes, source: str = "the preview") -> Preview:
    """Read `pulumi preview --json`; a PreviewError names what is wrong in one line."""
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise PreviewError(
            f"{source} is not JSON: give the output of `pulumi preview --json` (file or -)"
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("steps", []), list) or not (
        "steps" in doc or "changeSummary" in doc
    ):
        raise PreviewError(f"{source} is JSON but not a preview: `pulumi preview --json` prints an object with "
                           '"steps" and "changeSummary"')
    errors = [
        str(d.get("message", "")).strip().splitlines()[0]
        for d in doc.get("diagnostics") or []
        if isinstance(d, Mapping) and d.get("severity") == "error" and d.get("message")
    ]
    raws = [s for s in doc.get("steps") or [] if isinstance(s, Mapping)]
    if errors and not any(s.get("op") != "same" for s in raws if not _is_stack(s)):
        raise PreviewError(f"{source} is of a preview that failed: {errors[0]}")
    summary = {str(k): int(v) for k, v in (doc.get("changeSummary") or {}).items() if isinstance(v, int)}
    by_urn: dict[str, Step] = {}
    others = 0
    listed = 0
    for raw in raws:
        if _is_stack(raw) or _type(raw).startswith("pulumi:providers:"):
            continue
        listed += 1
        step = _step(raw)
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
    config = {
        k.split(":", 1)[1]: str(v)
        for k, v in (doc.get("config") or {}).items()
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
    return str((raw.get("newState") or raw.get("oldState") or {}).get("type") or "")
