"""The typer app every command registers on (`from . import app` in a module of COMMANDS)."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Multi-region KMS keys: emulator server, keys, clock, envelope encryption.",
                  no_args_is_help=True, add_completion=False)

# Every command takes it (`kmsctl keys list --stack dev`); stack.py reads the config.
StackOpt = Annotated[str | None, typer.Option(
    "--stack", metavar="NAME", show_default=False,
    help="Take the backend (kms:endpoint, kms:dialect, kms:region, credentials, kms:emulatorPath) from this "
         "stack's config, read with `pulumi config` in the project's directory; default: the environment.")]
