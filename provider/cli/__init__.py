"""`kmsctl`: the emulator server, key inspection, the emulator clock, and envelope encryption.

One parser, the standard library's argparse (commands.py): it starts in a few milliseconds, so that
`kmsctl encrypt` in a script or a pipe waits for its work rather than for a framework. Each command's module
is imported only when that command runs; `kmsctl serve` and the table of `kmsctl keys list` need an extra
(pyproject.toml) and say which when it is missing.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NoReturn


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The `kmsctl` entry point: runs `argv` (default: the process's arguments, without the program's name)
    and exits with the command's status."""
    from .commands import run

    sys.exit(run(list(sys.argv[1:] if argv is None else argv)))
