"""The quick start of `kmsctl encrypt` and `kmsctl decrypt`: their arguments read without typer.

Only the plain forms are read here: `--key V`, `--key=V`, `-k V`, the same for `--context`/`-c`,
`--frame-size` and `--stack` (once), `--force`, and the two paths, in any order. Anything else (help,
an unknown or repeated flag, a value that looks like a flag, `--`, a broken rule) returns without a
side effect, and the typer app reads the arguments again and answers exactly as it always has.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

ENVELOPE_COMMANDS = ("encrypt", "decrypt")  # the commands read here


def _read(args: list[str], command: str) -> tuple[list[str], dict[str, list[str]]] | None:
    """The paths and each flag's values, or None when typer must read them."""
    from ..envelope.format import MAX_FRAME_SIZE, MIN_FRAME_SIZE
    from .streams import CONTEXT_FLAGS, FORCE_FLAG, FRAME_SIZE_FLAG, KEY_FLAGS, STACK_FLAG

    long_flags = {KEY_FLAGS[0]: KEY_FLAGS[0], CONTEXT_FLAGS[0]: CONTEXT_FLAGS[0], FRAME_SIZE_FLAG: FRAME_SIZE_FLAG,
                  STACK_FLAG: STACK_FLAG}
    short_flags = {KEY_FLAGS[1]: KEY_FLAGS[0], CONTEXT_FLAGS[1]: CONTEXT_FLAGS[0]}
    paths: list[str] = []
    values: dict[str, list[str]] = {flag: [] for flag in (*long_flags, FORCE_FLAG)}
    rest = iter(args)
    for arg in rest:
        if arg == "-" or not arg.startswith("-"):
            paths.append(arg)
            continue
        if arg == FORCE_FLAG:
            values[FORCE_FLAG].append("")
            continue
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        flag = long_flags.get(name) or (short_flags.get(name) if not eq else None)
        if flag is None:
            return None
        if not eq:
            value = next(rest, "-")  # a missing value: "-" sends it to typer below
            if value.startswith("-"):
                return None
        values[flag].append(value)
    frame_sizes = values[FRAME_SIZE_FLAG]
    if len(paths) != 2 or not values[KEY_FLAGS[0]] or len(frame_sizes) > 1 or len(values[STACK_FLAG]) > 1 \
            or len(values[FORCE_FLAG]) > 1:
        return None
    if command == "decrypt" and (len(values[KEY_FLAGS[0]]) > 1 or frame_sizes):
        return None
    if frame_sizes and not (frame_sizes[0].isascii() and frame_sizes[0].isdigit()
                            and MIN_FRAME_SIZE <= int(frame_sizes[0]) <= MAX_FRAME_SIZE):
        return None
    return paths, values


def _exit(status: int, line: str | None = None) -> NoReturn:
    if line is not None:
        print(line, file=sys.stderr, flush=True)
    sys.exit(status)


def run(argv: list[str]) -> None:
    """Do `encrypt` or `decrypt` and exit, or return having done nothing."""
    command = argv[0] if argv else ""
    if command not in ENVELOPE_COMMANDS or any(
            v.startswith("_") and v.endswith("_COMPLETE") for v in os.environ):  # click's shell completion
        return
    read = _read(argv[1:], command)
    if read is None:
        return
    (inp, out), values = read
    from ..envelope.format import DEFAULT_FRAME_SIZE
    from . import streams
    from .streams import CONTEXT_FLAGS, FORCE_FLAG, FRAME_SIZE_FLAG, KEY_FLAGS, STACK_FLAG

    stack = values[STACK_FLAG][0] if values[STACK_FLAG] else None
    force = bool(values[FORCE_FLAG])
    try:
        s = streams.backend_settings(command, stack)
    except streams.Failed as err:
        _exit(1, str(err))
    try:
        refs = streams.key_refs(values[KEY_FLAGS[0]], s.region)
        ctx = streams.context_pairs(values[CONTEXT_FLAGS[0]])
    except streams.UsageError:
        return  # typer shows it, as a usage error
    frame_size = int(values[FRAME_SIZE_FLAG][0]) if values[FRAME_SIZE_FLAG] else DEFAULT_FRAME_SIZE
    try:
        if command == "encrypt":
            streams.encrypt(inp, out, refs, ctx, frame_size, s, force, stack)
        else:
            streams.decrypt(inp, out, refs[0], ctx, s, force, stack)
    except streams.Failed as err:
        _exit(1, str(err))
    except KeyboardInterrupt:
        _exit(130)  # as typer does
    _exit(0)
