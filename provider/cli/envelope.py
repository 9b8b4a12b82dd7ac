"""`kmsctl encrypt` and `kmsctl decrypt`: the envelope format between files or pipes.

One data key wrapped under keys in several regions, inputs of any size streamed (provider/envelope/, the
format of docs/message-format.md). The backend is found as the resources find it: the environment, or
`--stack`'s config.

An output file is written beside its final name and moved into place only when the whole message
has been processed, so a failure never leaves a partial (or unauthenticated) output behind, and an
existing file is kept. An existing output file is refused before any work unless `force`, and the move
itself never replaces a file that appeared meanwhile (a hard link fails where the name exists, link(2)).
Standard output cannot be taken back: there, the exit status says whether what was written may be used.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..config import Settings, open_backend
from ..domain.errors import KmsError
from ..envelope import EnvelopeError, RegionalKey
from .commands import Failed, UsageError
from .stack import StackError, missing_state, resolve

if TYPE_CHECKING:
    from argparse import Namespace

    from ..client import KmsClient
    from ..envelope.format import Progress

# Below this an operation is over before a bar would be worth drawing.
PROGRESS_MIN_BYTES = 8 * 1024 * 1024


def backend_settings(command: str, stack: str | None) -> Settings:
    """The backend as the resources find it: the environment, or `stack`'s config over it."""
    try:
        return resolve(stack)
    except (StackError, KmsError) as err:
        raise Failed(f"kmsctl {command}: error: {err}") from None


def regional_keys(values: list[str], region: str) -> list[RegionalKey]:
    try:
        return [RegionalKey.parse(v, region) for v in values]
    except EnvelopeError as err:
        raise UsageError(str(err), "--key") from None


def context_pairs(values: list[str] | None) -> dict[str, str]:
    ctx: dict[str, str] = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"{item!r} is not NAME=VALUE", "--context")
        if name in ctx:
            raise UsageError(f"{name!r} is given twice", "--context")
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


def _refuse_existing(command: str, path: str, force: bool) -> None:
    if not force and path != "-" and Path(path).is_file():
        raise Failed(f"kmsctl {command}: error: {path} exists and is kept; nothing was written "
                     f"(--force replaces it)")


def _named(err: OSError, path: str) -> OSError:
    """The error as the user's path, not the temporary file beside it."""
    return OSError(err.errno, err.strerror, path) if err.errno is not None else err


def _place(tmp: str, target: Path, path: str, force: bool) -> None:
    if force:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, f"File exists (created while {path} was being written; "
                              f"kept: --force replaces it)", path) from None
    except OSError as err:
        if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        # A file system without hard links: the best it offers is a check just before the rename.
        if target.exists():
            raise FileExistsError(errno.EEXIST, "File exists", path) from None
        os.replace(tmp, target)
        return
    os.unlink(tmp)


@contextlib.contextmanager
def _output(path: str, private: bool, force: bool) -> Iterator[BinaryIO]:
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
    try:
        fd, tmp = _private_part(target)
    except OSError as err:  # e.g. a directory the user cannot write to
        raise _named(err, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        try:
            if not private:
                # mkstemp makes 0600; a ciphertext gets the permissions any new file would get.
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(tmp, 0o666 & ~umask)
            _place(tmp, target, path, force)
        except OSError as err:
            raise _named(err, path) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _private_part(target: Path) -> tuple[int, str]:
    """A new 0600 file beside `target` to write into, then rename. By hand rather than tempfile.mkstemp,
    whose import (shutil, random, the compressors) would cost every start of `kmsctl encrypt`."""
    for _ in range(100):
        tmp = str(target.parent / f".{target.name}.{os.urandom(6).hex()}.part")
        try:
            return os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "No free name for a temporary file beside the output", str(target.parent))


@contextlib.contextmanager
def _progress(verb: str, size: int | None) -> Iterator[Progress | None]:
    """A bar on a terminal for large inputs of known size; nothing in pipes or logs, nor without the [cli]
    extra (rich), which the command does not need otherwise."""
    if size is None or size < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield None
        return
    try:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn
    except ModuleNotFoundError:
        yield None
        return

    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(), console=Console(stderr=True)) as bar:
        task = bar.add_task(verb, total=size)
        yield lambda n: bar.advance(task, n)


def _run(command: str, verb: str, inp: str, out: str, private: bool, s: Settings, force: bool, stack: str | None,
         work: Callable[[KmsClient, BinaryIO, BinaryIO, Progress | None], None]) -> None:
    from ..client import KmsClient

    why = missing_state(s, stack)  # no key can be there: say where kmsctl looked instead of NotFound
    if why is not None:
        raise Failed(f"kmsctl {command}: error: {why}")
    _refuse_existing(command, out, force)
    try:
        backend = open_backend(s)
        try:
            with _input(inp) as (src, size), _output(out, private, force) as dst, \
                    _progress(verb, size) as progress:
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
        raise Failed(f"kmsctl {command}: error: {err}{where}") from None


def encrypt(inp: str, out: str, refs: list[RegionalKey], ctx: dict[str, str], frame_size: int, s: Settings,
            force: bool = False, stack: str | None = None) -> None:
    """Encrypt `inp` once so that any of `refs`, each in its region, can decrypt it."""
    from ..envelope import encrypt_stream

    def work(client: KmsClient, src: BinaryIO, dst: BinaryIO, progress: Progress | None) -> None:
        encrypt_stream(client, refs, src, dst, ctx, frame_size=frame_size, progress=progress)

    _run("encrypt", "Encrypting", inp, out, False, s, force, stack, work)


def decrypt(inp: str, out: str, ref: RegionalKey, ctx: dict[str, str], s: Settings, force: bool = False,
            stack: str | None = None) -> None:
    """Decrypt `inp` with one key; the output file is readable by its owner only."""
    from ..envelope import decrypt_stream

    def work(client: KmsClient, src: BinaryIO, dst: BinaryIO, progress: Progress | None) -> None:
        decrypt_stream(client, ref, src, dst, ctx or None, progress=progress)

    _run("decrypt", "Decrypting", inp, out, True, s, force, stack, work)


def encrypt_command(args: Namespace) -> None:
    """`kmsctl encrypt`: IN once, so that any of the keys, each in its region, can decrypt it."""
    s = backend_settings("encrypt", args.stack)
    refs, ctx = regional_keys(args.key, s.region), context_pairs(args.context)
    encrypt(args.inp, args.out, refs, ctx, args.frame_size, s, args.force, args.stack)


def decrypt_command(args: Namespace) -> None:
    """`kmsctl decrypt`: IN with one key, in its region."""
    s = backend_settings("decrypt", args.stack)
    (ref,), ctx = regional_keys([args.key], s.region), context_pairs(args.context)
    decrypt(args.inp, args.out, ref, ctx, s, args.force, args.stack)
