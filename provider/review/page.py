"""The review as one self-contained HTML page: the consequences, then the stack's key topology in inline SVG
(regions as columns, a box per key, primary → replica arrows, aliases as labels, colour = what `up` does).
Nothing is fetched: no script, no font, no stylesheet from elsewhere."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from html import escape

from ..domain import rules
from . import markdown as md
from .markdown import VERB, counts, headline
from .plan import KeyBox, Review, when

COLOURS = {  # op: (stroke, fill)
    "replace": ("#d9480f", "#fff0e6"),
    "delete": ("#c92a2a", "#ffe3e3"),
    "update": ("#b08800", "#fff9db"),
    "create": ("#2b8a3e", "#ebfbee"),
    "same": ("#868e96", "#f8f9fa"),
}
LEGEND = {
    "replace": "replaced: the old key is scheduled for deletion, a new one takes its place",
    "delete": "destroyed: scheduled for deletion",
    "update": "updated in place",
    "create": "created",
    "same": "unchanged",
}
COL_W, GAP, MARGIN, HEAD = 236, 36, 12, 46
BOX_W, PAD_TOP, LINE = 212, 44, 16
DASHED = ' stroke-dasharray="6 4"'  # a key that does not exist yet


@dataclass
class Placed:
    box: KeyBox
    x: float
    y: float
    h: float


def _families(review: Review) -> list[list[KeyBox]]:
    """Rows of the picture: a primary with its replicas (one key material), then keys on their own."""
    rows = [[b, *b.replicas] for b in review.boxes if not b.is_replica]
    rows += [[b] for b in review.boxes if b.is_replica and b.primary is None]
    return rows


# How many of the latest bands a family may join. First fit over every band costs a scan of all of them per
# family (quadratic in the keys); the latest few keep the picture as compact for any stack one can read.
OPEN_BANDS = 16


def _bands(rows: list[list[KeyBox]], col: dict[str, int]) -> list[list[list[KeyBox]]]:
    """Families side by side where their columns do not interleave (arrows never pass over another's keys)."""
    bands: list[tuple[list[list[KeyBox]], list[tuple[int, int]]]] = []
    for row in rows:
        columns = [col[b.region] for b in row]
        lo, hi = min(columns), max(columns)
        for members, spans in bands[-OPEN_BANDS:]:
            # The spans of a band are disjoint and sorted: only the neighbours of `lo` can overlap.
            at = bisect.bisect_left(spans, (lo, hi))
            if (at == 0 or spans[at - 1][1] < lo) and (at == len(spans) or spans[at][0] > hi):
                members.append(row)
                spans.insert(at, (lo, hi))
                break
        else:
            bands.append(([row], [(lo, hi)]))
    return [members for members, _ in bands]


def _box_height(b: KeyBox) -> float:
    return 6 * LINE + 16 + len(b.aliases) * (LINE + 4)


def _key_svg(p: Placed) -> str:
    b, (stroke, fill) = p.box, COLOURS[p.box.op]
    x, y = p.x, p.y
    ident = b.old_id or "new key (id after up)"
    short = ident if len(ident) <= 30 else ident[:13] + "…" + ident[-8:]
    parts = [
        f'<g class="key op-{b.op}" data-key="{escape(b.name)}" data-region="{escape(b.region)}" '
        f'data-op="{b.op}" data-key-id="{escape(b.old_id or "")}">',
        f"<title>{escape(b.label)}: {VERB[b.op]}; {escape(b.spec)} {escape(b.usage)}; {escape(ident)}</title>",
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{p.h}" rx="8" fill="{fill}" stroke="{stroke}" '
        f'stroke-width="{3 if b.op in ("replace", "delete") else 1.5}"'
        f"{DASHED if b.op == 'create' else ''}/>",
        f'<text x="{x + 10}" y="{y + LINE}" class="badge" fill="{stroke}">{VERB[b.op].upper()} · {b.role}</text>',
        f'<text x="{x + 10}" y="{y + 2 * LINE + 2}" class="name">{escape(b.name)}</text>',
        f'<text x="{x + 10}" y="{y + 3 * LINE + 4}">{escape(b.spec)}</text>',
        f'<text x="{x + 10}" y="{y + 4 * LINE + 4}">{escape(b.usage)}</text>',
        f'<text x="{x + 10}" y="{y + 5 * LINE + 4}" class="state">{escape(b.state)}</text>',
        f'<text x="{x + 10}" y="{y + 6 * LINE + 4}" class="id">{escape(short)}</text>',
    ]
    ay = y + 6 * LINE + 14
    for a in b.aliases:
        astroke, afill = COLOURS[a.step.op]
        moves = a.step.op != "same"  # create, retarget, replace or remove
        label = a.name
        if moves and a.step.op == "delete":
            label += "  (removed)"
        elif moves:
            label += "  → to the new key" if a.old_target is a.new_target else "  ← moves here"
        parts.append(
            f'<g class="alias" data-alias="{escape(a.name)}" data-region="{escape(a.region)}" data-op="{a.step.op}">'
            f'<rect x="{x + 8}" y="{ay}" width="{BOX_W - 16}" height="{LINE}" rx="8" fill="{afill}" '
            f'stroke="{astroke}"/><text x="{x + 16}" y="{ay + LINE - 4}" class="alias-text">{escape(label)}'
            "</text></g>"
        )
        ay += LINE + 4
    parts.append("</g>")
    return "\n".join(parts)


def _arrow(src: Placed, dst: Placed, band_top: float, i: int, n: int) -> str:
    """Primary → replica, over the row's top margin so that it never crosses a box in between."""
    sx = src.x + BOX_W / 2 + (i - (n - 1) / 2) * 16
    ex = dst.x + BOX_W / 2
    sy, ey, lvl = src.y, dst.y - 2, band_top + 2 + 6 * i
    stroke = COLOURS[dst.box.op][0]
    return (
        f'<path class="arrow" data-from="{escape(src.box.name)}" data-to="{escape(dst.box.name)}" '
        f'd="M {sx:.1f} {sy:.1f} C {sx:.1f} {lvl:.1f}, {ex:.1f} {lvl:.1f}, {ex:.1f} {ey:.1f}" fill="none" '
        f'stroke="{stroke}" stroke-width="2" marker-end="url(#head)"><title>{escape(src.box.name)} '
        f"({escape(src.box.region)}) → replica {escape(dst.box.name)} ({escape(dst.box.region)})</title></path>"
    )


def topology_svg(review: Review) -> str:
    col = {r: i for i, r in enumerate(review.regions)}
    width = 2 * MARGIN + len(col) * COL_W + max(0, len(col) - 1) * GAP
    placed: dict[int, Placed] = {}
    arrows: list[str] = []
    y: float = HEAD
    for band in _bands(_families(review), col):
        band_top = y
        h = max(_box_height(b) for row in band for b in row)
        for row in band:
            for b in row:
                x = MARGIN + col[b.region] * (COL_W + GAP) + (COL_W - BOX_W) / 2
                placed[id(b)] = Placed(b, x, band_top + PAD_TOP, h)
            primary = placed[id(row[0])]
            for i, r in enumerate(row[1:]):
                arrows.append(_arrow(primary, placed[id(r)], band_top, i, len(row) - 1))
        y = band_top + PAD_TOP + h + 10
    height = y + MARGIN
    columns = []
    for region, i in col.items():
        x = MARGIN + i * (COL_W + GAP)
        columns.append(
            f'<g class="region" data-region="{escape(region)}"><rect x="{x}" y="8" width="{COL_W}" '
            f'height="{height - 16}" rx="10" class="column"/><text x="{x + COL_W / 2}" y="28" '
            f'text-anchor="middle" class="region-title">{escape(region)}</text><text x="{x + COL_W / 2}" y="44" '
            f'text-anchor="middle">{escape(rules.catalog().names.get(region, ""))}</text></g>'
        )
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" id="topology" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="key topology">',
        '<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="context-stroke"/></marker></defs>',
        *columns,
        *(_key_svg(p) for p in placed.values()),
        *arrows,
        "</svg>",
    ])


CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#212529;max-width:1500px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:24px 0 8px}
.summary{color:#495057;margin-bottom:16px}
.danger{border-left:6px solid #c92a2a;background:#fff5f5;padding:10px 14px;border-radius:6px}
.ok{border-left:6px solid #2b8a3e;background:#ebfbee;padding:10px 14px;border-radius:6px}
table{border-collapse:collapse;margin:8px 0} td,th{border:1px solid #dee2e6;padding:5px 8px;text-align:left;
vertical-align:top} th{background:#f1f3f5}
code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f1f3f5;padding:1px 4px;border-radius:4px}
.danger td b,.danger li b{color:#c92a2a}
.legend span{display:inline-block;margin:2px 14px 2px 0}
.legend i{display:inline-block;width:14px;height:14px;border-radius:3px;vertical-align:-2px;margin-right:5px;
border:2px solid}
svg text{font:12px system-ui,sans-serif;fill:#212529} svg .name{font-weight:700;font-size:14px}
svg .badge{font-weight:700;font-size:11px} svg .id{font:11.5px ui-monospace,monospace;fill:#495057}
svg .region-title{font-weight:700;font-size:13.5px} svg .column{fill:#f8f9fa;stroke:#ced4da}
svg .alias-text{font-size:12px} .figure{overflow-x:auto;border:1px solid #dee2e6;border-radius:8px;padding:6px}
"""


def inline(text: str) -> str:
    """The shared wording's Markdown (`code`, **bold**) as HTML."""
    html = escape(text)
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", html)


def _table(header: tuple[str, ...], rows: list[list[str]], row_attrs: list[str] | None = None) -> str:
    head = "".join(f"<th>{inline(h)}</th>" for h in header)
    body = "".join(
        f"<tr{(row_attrs or [''] * len(rows))[i]}>" + "".join(f"<td>{inline(c)}</td>" for c in row) + "</tr>"
        for i, row in enumerate(rows)
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def render(review: Review) -> str:
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">',
        f"<title>KMS review: {escape(md.as_previewed(review, headline(review)).replace('`', ''))}</title>"
        f"<style>{CSS}</style></head><body>",
        f"<h1>KMS review: {inline(headline(review))}</h1>",
        f'<div class="summary">{inline(counts(review))} · reviewed {escape(when(review.now))}</div>',
        "<h2>Consequences</h2>",
    ]
    if review.leaving:
        out += [
            f'<div class="danger" id="consequences"><p>{inline(md.LEAVING_INTRO)}</p>',
            _table(md.LEAVING_HEADER, [md.leaving_cells(lv) for lv in review.leaving],
                   [f' class="leaving" data-key="{escape(lv.box.name)}"' for lv in review.leaving]),
            "<p><b>Data that becomes unreadable:</b></p><ul>",
            *(f"<li>{inline(md.family_line(f))}</li>" for f in review.families),
            "</ul></div>",
        ]
    if review.others:
        out.append("<ul>" + "".join(f"<li>{inline(md.consequence_line(c))}</li>" for c in review.others) + "</ul>")
    if not review.leaving and not review.others:
        out.append(f'<div class="ok">{inline(md.NOTHING)}</div>')
    out += [
        "<h2>Key topology</h2>",
        '<div class="legend">'
        + "".join(f'<span><i style="background:{f};border-color:{s}"></i>{escape(LEGEND[op])}</span>'
                  for op, (s, f) in COLOURS.items())
        + "<span>→ arrow: primary key to its replica in another region (same key material: a ciphertext made "
        "in one region decrypts in the other)</span><span>rounded label: an alias naming the key in its "
        "region</span></div>",
        f'<div class="figure">{topology_svg(review)}</div>',
    ]
    if review.moving:
        out += ["<h2>Aliases that move</h2>", _table(md.ALIAS_HEADER, [md.alias_cells(a) for a in review.moving])]
    out += [f"<p><i>Note: {escape(n)}.</i></p>" for n in review.notes]
    out.append("</body></html>")
    page = "\n".join(out)
    if review.preview.command != "pulumi up":  # as markdown.as_previewed, on the HTML
        page = page.replace("<code>pulumi up</code>", f"<code>{review.preview.command}</code>")
    return page
