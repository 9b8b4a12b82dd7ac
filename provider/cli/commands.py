"""The typer app every command registers on (`from . import app` in a module of COMMANDS)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Multi-region KMS keys: emulator server, keys, clock, envelope encryption.",
                  no_args_is_help=True, add_completion=False)
