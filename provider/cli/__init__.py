"""`kmsctl`: the emulator server, key inspection, the emulator clock, and envelope encryption."""

from __future__ import annotations

import typer

app = typer.Typer(help="Multi-region KMS keys: emulator server, keys, clock, envelope encryption.",
                  no_args_is_help=True, add_completion=False)


def main() -> None:
    # Each module registers its commands on `app`.
    from . import envelope, keys, review, serve  # noqa: F401

    app()
