"""`kmsctl encrypt` and `kmsctl decrypt` as typer commands: their arguments, help and usage errors.
The work is in streams.py, shared with the quick start of quick.py."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

from ..envelope.format import DEFAULT_FRAME_SIZE, MAX_FRAME_SIZE, MIN_FRAME_SIZE
from . import app, streams
from .commands import StackOpt
from .streams import CONTEXT_FLAGS, FORCE_FLAG, FORCE_HELP, FRAME_SIZE_FLAG, KEY_FLAGS, PROGRESS_MIN_BYTES

__all__ = ["PROGRESS_MIN_BYTES", "decrypt_command", "encrypt_command"]

_IN = typer.Argument(metavar="IN", help="Input file, or - for standard input.", show_default=False)
_OUT = typer.Argument(metavar="OUT", help="Output file, or - for standard output.", show_default=False)
_CONTEXT = typer.Option(*CONTEXT_FLAGS, metavar="NAME=VALUE", show_default=False,
                        help="An encryption context pair; repeat for more.")
_FORCE = typer.Option(FORCE_FLAG, help=FORCE_HELP)


def _usage(err: streams.UsageError) -> NoReturn:
    raise typer.BadParameter(err.message, param_hint=err.flag) from None


def _fail(err: streams.Failed) -> NoReturn:
    typer.echo(str(err), err=True)
    raise typer.Exit(1) from None


@app.command("encrypt")
def encrypt_command(
    inp: Annotated[str, _IN],
    out: Annotated[str, _OUT],
    key: Annotated[list[str], typer.Option(*KEY_FLAGS, metavar="REGION:KEY", show_default=False,
                                           help="A key to encrypt under (id or alias); repeat for more regions. "
                                                "The first generates the data key.")],
    context: Annotated[list[str] | None, _CONTEXT] = None,
    frame_size: Annotated[int, typer.Option(FRAME_SIZE_FLAG, min=MIN_FRAME_SIZE, max=MAX_FRAME_SIZE,
                                            help="Plaintext bytes per authenticated frame.")] = DEFAULT_FRAME_SIZE,
    force: Annotated[bool, _FORCE] = False,
    stack: StackOpt = None,
) -> None:
    """Encrypt IN once so that any of the keys, each in its region, can decrypt it."""
    try:
        s = streams.backend_settings("encrypt", stack)
    except streams.Failed as err:
        _fail(err)
    try:
        refs, ctx = streams.key_refs(key, s.region), streams.context_pairs(context)
    except streams.UsageError as err:
        _usage(err)
    try:
        streams.encrypt(inp, out, refs, ctx, frame_size, s, force, stack)
    except streams.Failed as err:
        _fail(err)


@app.command("decrypt")
def decrypt_command(
    inp: Annotated[str, _IN],
    out: Annotated[str, _OUT],
    key: Annotated[str, typer.Option(*KEY_FLAGS, metavar="REGION:KEY", show_default=False,
                                     help="The key to decrypt with: one the message was encrypted under, or "
                                          "a replica or the primary of one.")],
    context: Annotated[list[str] | None, _CONTEXT] = None,
    force: Annotated[bool, _FORCE] = False,
    stack: StackOpt = None,
) -> None:
    """Decrypt IN with one key, in its region.

    With --context, each pair must be in the message's context. An output file is created readable
    by its owner only."""
    try:
        s = streams.backend_settings("decrypt", stack)
    except streams.Failed as err:
        _fail(err)
    try:
        (ref,), ctx = streams.key_refs([key], s.region), streams.context_pairs(context)
    except streams.UsageError as err:
        _usage(err)
    try:
        streams.decrypt(inp, out, ref, ctx, s, force, stack)
    except streams.Failed as err:
        _fail(err)
