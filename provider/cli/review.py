"""`kmsctl review [PREVIEW|-] [--markdown OUT] [--html OUT]`: the consequences of a `pulumi preview --json`.

Heavy imports stay inside the command so that `kmsctl` starts fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from . import app

if TYPE_CHECKING:
    from ..review.live import LiveKey

Reader = Callable[[str, str], "LiveKey | None"]


def _live_reader(config: dict[str, str]) -> tuple[Reader | None, str | None]:
    """A `read(region, key_id)` on the backend configured as for the resources, or why there is none.
    The embedded emulator is read only where its state already exists: a review never creates one."""
    from .. import config as kms_config
    from ..emulator.store import DB_FILE
    from ..review.live import read_key

    s = kms_config.settings(dict(config))
    if s.embedded and not (s.emulator_path / DB_FILE).is_file():
        return None, f"no emulator state at {s.emulator_path}"
    try:
        kms = kms_config.client(s)
    except Exception as exc:  # noqa: BLE001 - the review stands without live keys; say why
        return None, f"backend not usable: {exc}"
    return (lambda region, key_id: read_key(kms, region, key_id)), None


def _write(path: str, text: str) -> None:
    if path == "-":
        sys.stdout.write(text)
        return
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise typer.BadParameter(f"cannot write {path}: {exc.strerror}") from None


@app.command("review")
def review_command(
    preview: Annotated[str, typer.Argument(metavar="[PREVIEW|-]", help="What `pulumi preview --json` printed "
                                           "(file, or - for standard input).", show_default=False)] = "-",
    markdown: Annotated[str | None, typer.Option("--markdown", metavar="OUT",
                                                 help="Write the Markdown here (default: standard output).")] = None,
    html: Annotated[str | None, typer.Option("--html", metavar="OUT",
                                             help="Write the page with the key topology here.")] = None,
) -> None:
    """What a preview does to the keys: which stop working at `up`, when the loss is final, how to undo it."""
    from ..review import PreviewError, build, page, parse
    from ..review import markdown as md

    source = "standard input" if preview == "-" else preview
    try:
        text = sys.stdin.buffer.read() if preview == "-" else Path(preview).read_bytes()
    except OSError as exc:
        typer.echo(f"error: cannot read {source}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    try:
        parsed = parse(text, source)
    except PreviewError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    read, why = _live_reader(dict(parsed.config))
    review = build(parsed, read, unread_because=why or "no backend reachable")
    if html:
        _write(html, page.render(review))
    _write(markdown or "-", md.render(review))
