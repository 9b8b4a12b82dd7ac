"""From preview steps (and live keys, when readable) to what a reviewer needs: the key topology, and the
consequences of `pulumi up`, worst first.

How the resources act (provider/resources): destroying a CustomKey or ReplicaKey, or replacing one, schedules
the old key's deletion with the resource's `pending_days` (default 30) after deleting its aliases. A key pending
deletion refuses every crypto operation at once; cancelling the deletion within the window brings it back
(disabled; `kmsctl keys cancel-deletion` enables it again); after the window the key and what it encrypted are
gone. A replica shares its primary's key material, so a ciphertext stays readable while any key of the family
(the primary and its replicas) is in service.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..domain import rules
from .live import LiveKey
from .preview import UNKNOWN, Preview, Step

DAY = 86400.0
KEY_KINDS = ("CustomKey", "ReplicaKey")
LEAVING = ("delete", "replace")


@dataclass
class KeyBox:
    """One key of the stack as the page draws it: a CustomKey (primary) or ReplicaKey."""

    step: Step
    region: str
    primary: KeyBox | None = None  # a replica's primary, when it is in the stack
    replicas: list[KeyBox] = field(default_factory=list)
    aliases: list[AliasMove] = field(default_factory=list)
    live: LiveKey | None = None
    external_replicas: list[tuple[str, str]] = field(default_factory=list)  # live, not in the stack

    @property
    def name(self) -> str:
        return self.step.name

    @property
    def op(self) -> str:
        return self.step.op

    @property
    def is_replica(self) -> bool:
        return self.step.kind == "ReplicaKey"

    @property
    def old_id(self) -> str | None:
        return self.step.old_id

    def now_or_then(self, prop: str) -> Any:
        """A property after `up` where known (e.g. the new spec), else as it is now."""
        value = self.step.new.get(prop)
        return self.step.old.get(prop) if value is None or value is UNKNOWN else value

    def _changing(self, prop: str) -> str:
        """`OLD → NEW` when `up` changes it (a replica's spec and usage follow its primary's), else the value."""
        old = self.step.old.get(prop)
        source = self.primary.step if self.is_replica and self.primary else self.step
        new = source.new.get(prop)
        if old and new and new is not UNKNOWN and new != old:
            return f"{old} → {new}"
        return str(self.now_or_then(prop) or "")

    @property
    def spec(self) -> str:
        return self._changing("key_spec")

    @property
    def usage(self) -> str:
        return self._changing("key_usage")

    @property
    def state(self) -> str:
        """The key state a reviewer sees: the live state now, and what `up` makes of it."""
        now = self.live.state if self.live else self.step.old.get("key_state")
        if self.op in LEAVING:
            return f"{now or 'Enable'} → PendingDelete"
        if self.op == "create":
            return "new, Enable" if self.step.new.get("enabled", True) is not False else "new, Disable"
        if self.op == "update" and "enabled" in self.step.changed:
            return f"{now} → {'Enable' if self.step.new.get('enabled') else 'Disable'}"
        return str(now or "")

    @property
    def pending_days(self) -> int:
        days = self.step.old.get("pending_days")
        return int(days) if isinstance(days, int | float) else rules.PENDING_DAYS_DEFAULT

    @property
    def role(self) -> str:
        return "replica" if self.is_replica else "primary" if self.replicas else "key"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.role}, {self.region})"


@dataclass
class AliasMove:
    step: Step
    region: str
    name: str
    old_target: KeyBox | str | None
    new_target: KeyBox | str | None


@dataclass(frozen=True)
class Leaving:
    """A key that leaves service at `up`: scheduled for deletion by a destroy or a replacement."""

    box: KeyBox
    final: dt.datetime  # after this the key and every ciphertext made only under its material are gone
    already_pending: bool

    @property
    def command(self) -> str:
        return f"kmsctl keys cancel-deletion {self.box.region}:{self.box.old_id}"


@dataclass(frozen=True)
class Family:
    """A primary and its replicas: one key material. Readable while any of them is in service."""

    primary: KeyBox
    members: tuple[KeyBox, ...]
    leaving: tuple[Leaving, ...]
    staying: tuple[str, ...]  # regions where a key of this material stays in service


class ConsequenceKind(StrEnum):
    """What `pulumi up` does to a key; the value is the name the report and its JSON use."""

    LEAVES = "leaves"  # scheduled for deletion (destroyed or replaced): stops decrypting, gone after the window
    ORPHAN = "orphan"  # a replica that stays while its primary leaves: `up` fails on the primary
    DISABLED = "disabled"  # stops encrypting and decrypting until enabled again; nothing is deleted
    ROTATION = "rotation"  # automatic rotation turned off
    WINDOW = "window"  # the pending-deletion window shortened for a later destroy


class Severity(StrEnum):
    """How bad a consequence is, worst first (the report's order)."""

    CRITICAL = "critical"  # data becomes unreadable, or `up` fails
    WARNING = "warning"  # service changes, reversibly
    NOTICE = "notice"  # nothing changes now; a later mistake costs more


_WORST_FIRST = {severity: rank for rank, severity in enumerate(Severity)}


@dataclass(frozen=True)
class Consequence:
    kind: ConsequenceKind
    severity: Severity
    title: str
    detail: str
    box: KeyBox | None = None


@dataclass
class Review:
    now: dt.datetime
    preview: Preview
    boxes: list[KeyBox]
    aliases: list[AliasMove]
    tags: list[Step]
    regions: list[str]
    leaving: list[Leaving]
    families: list[Family]
    consequences: list[Consequence]
    notes: list[str]

    def count(self, op: str) -> int:
        return sum(1 for b in self.boxes if b.op == op)

    def in_region(self, region: str) -> list[KeyBox]:
        return [b for b in self.boxes if b.region == region]

    @property
    def others(self) -> list[Consequence]:
        """The consequences besides keys leaving service (those have their own table)."""
        return [c for c in self.consequences if c.kind is not ConsequenceKind.LEAVES]

    @property
    def moving(self) -> list[AliasMove]:
        return [a for a in self.aliases if a.step.op != "same"]


def _region(step: Step, *props: str) -> str:
    for prop in props:
        for side in (step.new, step.old):
            value = side.get(prop)
            if isinstance(value, str):
                return value
    return "?"


@dataclass
class _Index:
    """The boxes by URN and by (old id, region), first listed first: a lookup per input, not a scan."""

    by_urn: dict[str, KeyBox] = field(default_factory=dict)
    by_id: dict[tuple[str, str], KeyBox] = field(default_factory=dict)

    @classmethod
    def of(cls, boxes: list[KeyBox]) -> _Index:
        index = cls()
        for b in boxes:
            index.by_urn.setdefault(b.step.urn, b)
            if b.old_id:
                index.by_id.setdefault((b.old_id, b.region), b)
        return index


def _resolve(step: Step, prop: str, index: _Index, region: str, side: str) -> KeyBox | str | None:
    """The key an input names: through the engine's dependency (the new side) or by the key's old id."""
    if side == "new":
        for urn in step.depends.get(prop, ()):
            if urn in index.by_urn:
                return index.by_urn[urn]
    value = (step.new if side == "new" else step.old).get(prop)
    if value is UNKNOWN:
        return "(known after up)"
    found = index.by_id.get((value, region)) if isinstance(value, str) and value else None
    if found is not None:
        return found
    return str(value) if value else None


def build(
    preview: Preview,
    read: Callable[[str, str], LiveKey | None] | None = None,
    now: dt.datetime | None = None,
    unread_because: str = "no backend reachable",
) -> Review:
    """The review of one preview; `read(region, key_id)` answers a live key, when a backend is reachable
    (else `unread_because` says why not)."""
    now = now or dt.datetime.now(dt.UTC)
    boxes = [
        KeyBox(s, _region(s, "replica_region", "region") if s.kind == "ReplicaKey" else _region(s, "region"))
        for s in preview.steps
        if s.kind in KEY_KINDS
    ]
    index = _Index.of(boxes)
    for b in boxes:
        if b.is_replica:
            primary = _resolve(b.step, "primary_key_id", index, _region(b.step, "primary_region"), "new")
            if not isinstance(primary, KeyBox):
                primary = _resolve(b.step, "primary_key_id", index, _region(b.step, "primary_region"), "old")
            if isinstance(primary, KeyBox):
                b.primary = primary
                primary.replicas.append(b)
        if read is not None and b.old_id:
            b.live = read(b.region, b.old_id)
    for b in boxes:
        b.replicas.sort(key=lambda r: r.region)  # the same picture whatever order the engine listed them in
        if b.live:
            known = {r.old_id for r in b.replicas}
            b.external_replicas = [(r, k) for r, k in b.live.replicas if k not in known]

    aliases = []
    for s in preview.of("KeyAlias"):
        region = _region(s, "region")
        move = AliasMove(
            s, region, str(s.new.get("alias_name") or s.old.get("alias_name")),
            _resolve(s, "target_key_id", index, region, "old") if s.op != "create" else None,
            _resolve(s, "target_key_id", index, region, "new") if s.op != "delete" else None,
        )
        aliases.append(move)
        shown_on = move.new_target if s.op != "delete" else move.old_target
        if isinstance(shown_on, KeyBox):
            shown_on.aliases.append(move)

    # Families that change first (a primary with what `up` does to it or its replicas), primaries before replicas.
    unchanged: dict[int, bool] = {}  # per family, computed once: a primary may list many replicas

    def family_unchanged(b: KeyBox) -> bool:
        head = b.primary or b
        if id(head) not in unchanged:
            unchanged[id(head)] = all(m.op == "same" for m in (head, *head.replicas))
        return unchanged[id(head)]

    boxes.sort(key=lambda b: (family_unchanged(b), b.is_replica))
    seen: dict[str, None] = {}
    for b in boxes:  # primaries' regions first, then their replicas'
        for region in (b.region, *(r.region for r in b.replicas)):
            seen.setdefault(region)
    regions = list(seen)

    leaving = []
    for b in boxes:
        if b.op not in LEAVING or not b.old_id:
            continue
        pending = b.live is not None and b.live.state == rules.KeyState.PENDING_DELETE and b.live.deletion_date
        final = (
            dt.datetime.fromtimestamp(float(b.live.deletion_date or 0), dt.UTC)
            if pending and b.live
            else now + dt.timedelta(days=b.pending_days)
        )
        leaving.append(Leaving(b, final, bool(pending)))
    # Soonest final loss first; a primary before its replicas.
    leaving.sort(key=lambda lv: (lv.final, (lv.box.primary or lv.box).name, lv.box.is_replica, lv.box.region))

    families = _families(boxes, leaving)
    notes = []
    if preview.unlisted_same:
        notes.append(
            f"{preview.unlisted_same} unchanged resource(s) are not in the preview and not drawn: run "
            "`pulumi preview --json --show-sames` to see the whole stack"
        )
    if read is None:
        notes.append(f"live keys not read ({unread_because}): dates assume no key is already pending deletion")
    return Review(
        now=now,
        preview=preview,
        boxes=boxes,
        aliases=aliases,
        tags=preview.of("KeyTags"),
        regions=regions,
        leaving=leaving,
        families=families,
        consequences=_consequences(boxes, leaving),
        notes=notes,
    )


def _families(boxes: list[KeyBox], leaving: list[Leaving]) -> list[Family]:
    out = []
    by_box = {id(lv.box): lv for lv in leaving}
    for p in boxes:
        if p.is_replica:
            continue
        members = (p, *p.replicas)
        gone = tuple(by_box[id(m)] for m in members if id(m) in by_box)
        if not gone:
            continue
        staying = [m.region for m in members if m.old_id and id(m) not in by_box]
        staying += [region for region, _ in p.external_replicas]
        out.append(Family(p, members, gone, tuple(staying)))
    # A replica leaving while its primary is not in the preview: its own family of one.
    for lv in leaving:
        if lv.box.is_replica and lv.box.primary is None:
            out.append(Family(lv.box, (lv.box,), (lv,), ()))
    return out


def when(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _consequences(boxes: list[KeyBox], leaving: list[Leaving]) -> list[Consequence]:
    out = []
    for lv in leaving:
        b = lv.box
        why = (
            f"replaced ({', '.join(b.step.replace_reasons) or 'replacement'} forces it)"
            if b.op == "replace"
            else "destroyed"
        )
        stops = "is already pending deletion and refuses crypto" if lv.already_pending else (
            "stops encrypting and decrypting at `pulumi up`"
        )
        out.append(Consequence(
            ConsequenceKind.LEAVES, Severity.CRITICAL,
            f"{b.name} ({b.region}, {b.old_id}) leaves service: {why}",
            f"{stops}; pending window {b.pending_days} days; lost for good after {when(lv.final)}; "
            f"undo before then: `{lv.command}`",
            b,
        ))
    leaving_ids = {lv.box.old_id for lv in leaving}
    for b in boxes:
        if b.op not in LEAVING:
            continue
        blocking = [(r.region, r.old_id) for r in b.replicas if r.op not in LEAVING and r.old_id]
        blocking += [(region, k) for region, k in b.external_replicas if k not in leaving_ids]
        for region, key_id in blocking:
            out.append(Consequence(
                ConsequenceKind.ORPHAN, Severity.CRITICAL,
                f"replica {key_id} in {region} loses its primary {b.name} ({b.region})",
                "the primary is scheduled for deletion only after its replicas (Huawei Cloud DEW, Creating a Custom "
                f"Key): `pulumi up` fails on {b.name} unless the replica is destroyed too",
                b,
            ))
    for b in boxes:
        old, new = b.step.old, b.step.new
        if b.op in ("update", "replace") and old.get("enabled") is not False and new.get("enabled") is False:
            elsewhere = [r.region for r in b.replicas if r.op not in LEAVING and r.step.new.get("enabled") is not False]
            also = f"; its replicas in {', '.join(elsewhere)} still decrypt them" if elsewhere else ""
            out.append(Consequence(
                ConsequenceKind.DISABLED, Severity.WARNING, f"{b.name} ({b.region}, {b.old_id}) is disabled",
                "stops encrypting and decrypting at `pulumi up`: ciphertexts made under it cannot be decrypted "
                f"in {b.region} until it is enabled again{also} (nothing is deleted: set `enabled` back to true "
                "and `pulumi up`)", b))
        if b.op in ("update", "replace") and old.get("rotation_enabled") is True and new.get(
            "rotation_enabled"
        ) is not True:
            out.append(Consequence(
                ConsequenceKind.ROTATION, Severity.WARNING, f"{b.name} ({b.region}): automatic rotation turned off",
                f"its key material stops rotating (was every {old.get('rotation_interval_days') or '?'} days)", b))
        old_days, new_days = old.get("pending_days"), new.get("pending_days")
        if b.op == "update" and isinstance(old_days, int | float) and isinstance(new_days, int | float) and (
            new_days < old_days
        ):
            out.append(Consequence(
                ConsequenceKind.WINDOW, Severity.NOTICE,
                f"{b.name} ({b.region}): pending window shortened {int(old_days)} → {int(new_days)} days",
                f"a later destroy leaves {int(new_days)} days, not {int(old_days)}, to cancel the deletion", b))
    return sorted(out, key=lambda c: _WORST_FIRST[c.severity])


def describe_target(target: KeyBox | str | None, side: str) -> str:
    """An alias's target for people: the key's name, and on the new side what `up` makes of it."""
    if target is None:
        return "—"
    if isinstance(target, str):
        return f"`{target}`"
    if side == "old" and target.op in ("replace", "delete"):
        return f"{target.name} `{target.old_id}` (leaves service)"
    if side == "new" and target.op in ("replace", "create"):
        what = "replacement of" if target.op == "replace" else "new key"
        return f"{what} {target.name} (id known after up)"
    return f"{target.name} `{target.old_id}`"


def value_text(value: Any) -> str:
    if value is None:
        return "unset"
    if value is UNKNOWN:
        return "(known after up)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={v}" for k, v in sorted(value.items())) + "}"
    return str(value)


def changed_inputs(step: Step, skip: Iterable[str] = ()) -> list[str]:
    hidden = {"key_material", *skip}
    return [p for p in step.changed if p not in hidden]
