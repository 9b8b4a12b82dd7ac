"""`kmsctl encrypt` and `kmsctl decrypt` (contract section 6): the envelope format of seed 004
between files or pipes, the backend found as the resources find it (section 3).

An output file is written beside its final name and renamed into place only when the whole message
has been processed, so a failure never leaves a partial (or unauthenticated) output behind, and an
existing file is kept. Standard output cannot be taken back: there, the exit status says whether
what was written may be used.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from ..client import KmsClient
from ..config import open_backend, settings
from ..domain.errors import KmsError
from ..envelope import (
    DEFAULT_FRAME_SIZE,
    EnvelopeError,
    KeyRef,
    decrypt_stream,
    encrypt_stream,
)
from ..envelope.format import MAX_FRAME_SIZE, MIN_FRAME_SIZE, Progress
from . import app

# Below this an operation is over before a bar would be worth drawing.
PROGRESS_MIN_BYTES = 8 * 1024 * 1024

_IN = typer.Argument(metavar="IN", help="Input file, or - for standard input.", show_default=False)
_OUT = typer.Argument(metavar="OUT", help="Output file, or - for standard output.", show_default=False)
_CONTEXT = typer.Option("--context", "-c", metavar="NAME=VALUE", show_default=False,
                        help="An encryption context pair; repeat for more.")


def _keys(values: list[str], default_region: str) -> list[KeyRef]:
    try:
        return [KeyRef.parse(v, default_region) for v in values]
    except EnvelopeError as err:
        raise typer.BadParameter(str(err), param_hint="--key") from None


def _context(values: list[str] | None) -> dict[str, str]:
    ctx: dict[str, str] = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--context")
        if name in ctx:
            raise typer.BadParameter(f"{name!r} is given twice", param_hint="--context")
        ctx[name] = value
    return ctx


@contextlib.contextmanager
def _input(path: str) -> Iterator[tuple[BinaryIO, int | None]]:
    """The input and its size when it is known (a regular file)."""
    if path == "-":
        src: BinaryIO = sys.stdin.buffer
        yield src, _regular_size(src)
        return
    with open(path, "rb") as f:
        yield f, _regular_size(f)


def _regular_size(f: BinaryIO) -> int | None:
    try:
        st = os.fstat(f.fileno())
    except (OSError, ValueError):
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def _write_through(path: str) -> bool:
    target = Path(path)
    return path == "-" or (target.exists() and not target.is_file())


@contextlib.contextmanager
def _output(path: str, private: bool) -> Iterator[BinaryIO]:
    if path == "-":
        out = sys.stdout.buffer
        yield out
        out.flush()
        return
    target = Path(path)
    if _write_through(path):
        # A device or a FIFO (/dev/null, a named pipe): written as it comes, there is nothing to rename.
        with open(target, "wb") as f:
            yield f
        return
    if not target.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "No such directory for the output", str(target.parent))
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        if not private:
            # mkstemp makes 0600; a ciphertext gets the permissions any new file would get.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _progress(verb: str, size: int | None) -> Iterator[Progress | None]:
    """A bar on a terminal for large inputs of known size; nothing in pipes or logs."""
    if size is None or size < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(), console=Console(stderr=True)) as bar:
        task = bar.add_task(verb, total=size)
        yield lambda n: bar.advance(task, n)


def _run(command: str, verb: str, inp: str, out: str, private: bool,
         work: Callable[[KmsClient, BinaryIO, BinaryIO, Progress | None], None]) -> None:
    s = settings()
    try:
        backend = open_backend(s)
        try:
            with _input(inp) as (src, size), _output(out, private) as dst, _progress(verb, size) as progress:
                work(KmsClient(backend, s.region), src, dst, progress)
        finally:
            backend.close()
    except (EnvelopeError, KmsError, OSError) as err:
        if not _write_through(out):
            where = f" (nothing was written to {out})"
        elif command == "decrypt":
            where = " (what was already written is incomplete: discard it)"
        else:
            where = ""
        typer.echo(f"kmsctl {command}: error: {err}{where}", err=True)
        raise typer.Exit(1) from None


@app.command("encrypt")
def encrypt_command(
    inp: Annotated[str, _IN],
    out: Annotated[str, _OUT],
    key: Annotated[list[str], typer.Option("--key", "-k", metavar="REGION:KEY", show_default=False,
                                           help="A key to encrypt under (id or alias); repeat for more regions. "
                                                "The first generates the data key.")],
    context: Annotated[list[str] | None, _CONTEXT] = None,
    frame_size: Annotated[int, typer.Option("--frame-size", min=MIN_FRAME_SIZE, max=MAX_FRAME_SIZE,
                                            help="Plaintext bytes per authenticated frame.")] = DEFAULT_FRAME_SIZE,
) -> None:
    """Encrypt IN once so that any of the keys, each in its region, can decrypt it."""
    refs = _keys(key, settings().region)
    ctx = _context(context)

    def work(client: KmsClient, src: BinaryIO, dst: BinaryIO, progress: Progress | None) -> None:
        encrypt_stream(client, refs, src, dst, ctx, frame_size=frame_size, progress=progress)

    _run("encrypt", "Encrypting", inp, out, False, work)


@app.command("decrypt")
def decrypt_command(
    inp: Annotated[str, _IN],
    out: Annotated[str, _OUT],
    key: Annotated[str, typer.Option("--key", "-k", metavar="REGION:KEY", show_default=False,
                                     help="The key to decrypt with: one the message was encrypted under, or "
                                          "a replica or the primary of one.")],
    context: Annotated[list[str] | None, _CONTEXT] = None,
) -> None:
    """Decrypt IN with one key, in its region.

    With --context, each pair must be in the message's context. An output file is created readable
    by its owner only."""
    (ref,) = _keys([key], settings().region)
    ctx = _context(context)

    def work(client: KmsClient, src: BinaryIO, dst: BinaryIO, progress: Progress | None) -> None:
        decrypt_stream(client, ref, src, dst, ctx or None, progress=progress)

    _run("decrypt", "Decrypting", inp, out, True, work)
