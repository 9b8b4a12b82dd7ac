"""The review as Markdown for a pull-request comment: consequences first, then the changes by region."""

from __future__ import annotations

from collections.abc import Sequence

from .plan import (
    AliasMove,
    Consequence,
    ConsequenceKind,
    Family,
    KeyBox,
    Leaving,
    Review,
    Severity,
    changed_inputs,
    describe_target,
    value_text,
    when,
)
from .preview import Step

VERB = {"create": "created", "update": "updated", "replace": "replaced", "delete": "destroyed", "same": "unchanged"}
MARK = {"create": "+", "update": "~", "replace": "±", "delete": "−", "same": " "}
ICON = {Severity.CRITICAL: "⛔", Severity.WARNING: "⚠️", Severity.NOTICE: "ℹ️"}


def headline(review: Review) -> str:
    n = len(review.leaving) + sum(1 for c in review.consequences if c.kind is ConsequenceKind.DISABLED)
    if n:
        return f"{n} key{'s' if n != 1 else ''} stop{'s' if n == 1 else ''} working at `pulumi up`"
    if any(b.op != "same" for b in review.boxes) or review.moving or any(t.op != "same" for t in review.tags):
        return "no key stops working at `pulumi up`"
    return "no change to any key"


def counts(review: Review) -> str:
    parts = [f"{MARK[op]} {review.count(op)} {VERB[op]}" for op in ("replace", "delete", "create", "update")]
    parts[0] = "keys: " + parts[0]
    parts.append(f"{review.count('same')} unchanged")
    parts.append(f"aliases: {len(review.moving)} change")
    if review.preview.unlisted_same:
        parts.append(f"{review.preview.unlisted_same} unchanged resources not listed")
    return " · ".join(parts)


def _changes(step: Step) -> str:
    props = changed_inputs(step)
    return ", ".join(
        f"`{p}` {value_text(step.old.get(p))} → {value_text(step.new.get(p))}" for p in props
    )


def _key_line(b: KeyBox) -> str:
    s = b.step
    kind = f"{s.kind}{', replica of ' + b.primary.name if b.primary else ''}"
    ident = f"`{b.old_id}`" if b.old_id else "new"
    if b.op == "create":
        what = f"{b.spec} {b.usage}".strip()
        return f"- **created** `{b.name}` ({kind}, {what}{', adopted by import' if s.imported else ''})"
    if b.op == "delete":
        return f"- **destroyed** `{b.name}` ({kind}, {ident}): scheduled for deletion, {b.pending_days}-day window"
    if b.op == "replace":
        forced = ", ".join(f"`{p}`" for p in s.replace_reasons) or "an immutable input"
        forcing = [p for p in s.replace_reasons if p in s.changed]
        detail = ", ".join(f"`{p}` {value_text(s.old.get(p))} → {value_text(s.new.get(p))}" for p in forcing)
        others = ", ".join(
            f"`{p}` {value_text(s.old.get(p))} → {value_text(s.new.get(p))}"
            for p in changed_inputs(s, skip=forcing)
        )
        line = f"- **replaced** `{b.name}` ({kind}, {ident} → a new key): {forced} forces it"
        line += f" ({detail})" if detail else ""
        return line + (f"; also {others}" if others else "")
    if b.op == "update":
        return f"- **updated** `{b.name}` ({kind}, {ident}): {_changes(s) or 'refreshed from drift'}"
    return f"- unchanged `{b.name}` ({kind}, {ident})"


# The consequences' wording, shared with the page (which turns `code` and **bold** into HTML). `pulumi up`
# stands for the command that applies the preview (`as_previewed` turns it into `pulumi destroy` for a destroy).
LEAVING_INTRO = (
    "**Keys that stop working at `pulumi up`.** It schedules their deletion; a key pending deletion refuses to "
    "encrypt and decrypt, so from that moment every ciphertext made under it cannot be decrypted. Running the undo "
    "command before the date below brings the key back (enabled); after that date the loss is final."
)
LEAVING_HEADER = ("key", "region", "key id", "why", "stops decrypting", "window", "lost for good after",
                  "undo before then")
ALIAS_HEADER = ("alias", "region", "now", "after `pulumi up`")
NOTHING = "Nothing stops working: no key is destroyed, replaced or disabled."


def leaving_cells(lv: Leaving) -> list[str]:
    b = lv.box
    why = f"replaced ({', '.join(b.step.replace_reasons)})" if b.op == "replace" else "destroyed"
    stops = "already (pending deletion)" if lv.already_pending else "at `pulumi up`"
    return [f"{b.name} ({b.role})", b.region, f"`{b.old_id}`", why, stops, f"{b.pending_days} days",
            f"**{when(lv.final)}**", f"`{lv.command}`"]


def family_line(f: Family) -> str:
    if f.staying:
        return (
            f"ciphertexts of **{f.primary.name}**'s key material stay readable in {', '.join(f.staying)}; "
            f"decryption in {', '.join(lv.box.region for lv in f.leaving)} stops at `pulumi up`"
        )
    holders = ", ".join(m.region for m in f.members if m.old_id)
    last = max(lv.final for lv in f.leaving)
    return (
        f"every ciphertext made under **{f.primary.name}** or its replicas (key material held in {holders}): "
        "unreadable from `pulumi up`; readable again if one of these deletions is cancelled in time; "
        f"**gone for good after {when(last)}**"
    )


def alias_cells(a: AliasMove) -> list[str]:
    return [f"`{a.name}`", a.region, describe_target(a.old_target, "old"), describe_target(a.new_target, "new")]


def consequence_line(c: Consequence) -> str:
    return f"{ICON[c.severity]} **{c.title}**: {c.detail}"


def as_previewed(review: Review, text: str) -> str:
    if review.preview.command == "pulumi up":
        return text
    return text.replace("`pulumi up`", f"`{review.preview.command}`")


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: Sequence[str], rows: list[list[str]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows), ""]


def render(review: Review) -> str:
    out = [f"## KMS review: {headline(review)}", "", counts(review) + f" · reviewed {when(review.now)}", ""]
    out += ["### Consequences (worst first)", ""]
    if review.leaving:
        out += [LEAVING_INTRO, ""]
        out += _table(LEAVING_HEADER, [leaving_cells(lv) for lv in review.leaving])
        out += ["**Data that becomes unreadable:**", ""]
        out += [f"- {family_line(f)}" for f in review.families]
        out.append("")
    others = review.others
    if others:
        out += ["**Also:**", ""] if review.leaving else []
        out += [f"- {consequence_line(c)}" for c in others]
        out.append("")
    if not review.leaving and not others:
        out += [NOTHING, ""]

    out += ["### Changes by region", ""]
    # Grouped once: a scan of every key, tag and alias per region would grow with regions times keys.
    by_region: dict[object, list[str]] = {region: [] for region in review.regions}
    for b in review.boxes:
        if b.op != "same":
            by_region.setdefault(b.region, []).append(_key_line(b))
    for t in review.tags:
        if t.op != "same":
            by_region.setdefault(t.new.get("region") or t.old.get("region"), []).append(
                f"- **{VERB[t.op]}** tags `{t.name}` on `{t.old.get('key_id') or t.new.get('key_id')}`: "
                f"{_changes(t) or t.op}")
    moving = review.moving
    for a in moving:
        by_region.setdefault(a.region, []).append(
            "- **{}** alias {}: {} → {}".format(VERB[a.step.op], *(c for i, c in enumerate(alias_cells(a)) if i != 1)))
    for region in review.regions:
        lines = by_region[region]
        if lines:
            out += [f"#### {region}", "", *lines, ""]
    follow = [r for b in review.boxes for r in b.replicas if r.op == b.op and b.op != "same"]
    if follow:
        out += ["### Replicas that follow their primary", ""]
        out += [
            f"- `{r.name}` ({r.region}): {VERB[r.op]} with its primary `{r.primary.name}` ({r.primary.region})"
            for r in follow
            if r.primary
        ]
        out.append("")
    if review.moving:
        out += ["### Aliases that move", "", *_table(ALIAS_HEADER, [alias_cells(a) for a in review.moving])]
    if review.notes:
        out += [f"_Note: {n}._" for n in review.notes]
        out.append("")
    return as_previewed(review, "\n".join(out))
