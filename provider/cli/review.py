"""`kmsctl review [PREVIEW|-] [--markdown OUT] [--html OUT]`: the consequences of a `pulumi preview --json`.

Heavy imports stay inside the command so that `kmsctl` starts fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from .commands import Failed

if TYPE_CHECKING:
    from argparse import Namespace

    from ..review.live import LiveKey

Reader = Callable[[str, str], "LiveKey | None"]


class _Reader:
    """Reads live keys until the backend first fails (unreachable, refused), then no more: one failure says
    enough, and waiting on every key of a large preview would not."""

    def __init__(self, read: Reader) -> None:
        self._read = read
        self.failed: str | None = None

    def __call__(self, region: str, key_id: str) -> LiveKey | None:
        from ..domain.errors import KmsError

        if self.failed is not None:
            return None
        try:
            return self._read(region, key_id)
        except KmsError as exc:
            self.failed = str(exc)
            return None


def _live_reader(stack: str | None) -> tuple[Reader | None, str | None]:
    """A `read(region, key_id)` on the backend the reviewer configured (the environment, or `--stack`'s
    config), or why there is none. Never the preview's own `config`: a preview attached to a pull request
    may name any endpoint, and reading it there would send requests signed with the reviewer's credentials.
    The embedded emulator is read only where its state already exists: a review never creates one."""
    from .. import config as kms_config
    from ..domain.errors import KmsError
    from ..review.live import read_key
    from .stack import missing_state, resolve

    try:
        s = resolve(stack)
    except KmsError as exc:
        return None, f"backend settings not usable: {exc}"
    if missing_state(s, stack) is not None:
        return None, f"no emulator state at {s.emulator_path}"
    try:
        kms = kms_config.connect(s)
    except Exception as exc:  # noqa: BLE001 - the review stands without live keys; say why
        return None, f"backend not usable: {exc}"
    return (lambda region, key_id: read_key(kms, region, key_id)), None


def _fail(line: str, status: int = 1) -> NoReturn:
    raise Failed(f"error: {line}", status)


def _refuse_existing(path: str | None, flag: str, force: bool) -> None:
    if path and path != "-" and not force and Path(path).is_file():
        _fail(f"{flag} {path}: the file exists and is kept; nothing was written (--force replaces it)")


def _write(path: str, text: str, force: bool) -> None:
    if path == "-":
        sys.stdout.write(text)
        return
    try:
        # "x" creates only: a file that appeared since the check above is kept too.
        with open(path, "w" if force else "x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        _fail(f"{path}: the file exists and is kept (--force replaces it)")
    except OSError as exc:
        _fail(f"cannot write {path}: {exc.strerror}")


def review_command(args: Namespace) -> None:
    """`kmsctl review`: what a preview does to the keys: which stop working at `up`, when the loss is final,
    how to undo it.

    Live keys (a key already pending deletion, replicas the stack does not manage) are read from the
    backend you configured, the environment or --stack's config, never from settings inside the preview."""
    from ..review import PreviewError, build, page, parse
    from ..review import markdown as md
    from .stack import StackError

    preview: str = args.preview
    markdown: str | None = args.markdown
    html: str | None = args.html
    force: bool = args.force
    _refuse_existing(markdown, "--markdown", force)
    _refuse_existing(html, "--html", force)
    source = "standard input" if preview == "-" else preview
    try:
        text = sys.stdin.buffer.read() if preview == "-" else Path(preview).read_bytes()
    except OSError as exc:
        _fail(f"cannot read {source}: {exc.strerror}", 2)
    try:
        parsed = parse(text, source)
    except PreviewError as exc:
        _fail(str(exc))
    try:
        read, why = _live_reader(args.stack)
    except StackError as exc:
        _fail(str(exc))
    reader = _Reader(read) if read is not None else None
    try:
        review = build(parsed, reader, unread_because=why or "no backend reachable")
        if reader is not None and reader.failed is not None:
            review.notes.append(f"live keys not read after the backend failed ({reader.failed}): dates assume no "
                                "key is already pending deletion")
        html_text = page.render(review) if html else ""
        md_text = md.render(review)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError) as exc:
        # parse() checks the shapes it knows; anything it let through is still one line, not a traceback.
        _fail(f"{source} could not be reviewed: a value of an unexpected shape ({type(exc).__name__})")
    if html:
        _write(html, html_text, force)
    _write(markdown or "-", md_text, force)
