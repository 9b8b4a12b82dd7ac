"""`kmsctl`: the emulator server, key inspection, the emulator clock, and envelope encryption.

A user waits for its start (issue 13): typer brings rich and pydantic, a tenth of a second before
any work. So `encrypt` and `decrypt`, the commands run in scripts and pipes, start without it when
their arguments are plain (quick.py); help, completion and every usage error go to the typer app,
which each module of COMMANDS fills on import.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

    app: typer.Typer

# The modules that register commands on the app; add a module here to add its commands.
COMMANDS = ("envelope", "keys", "review", "serve")


def _app() -> typer.Typer:
    from .commands import app

    globals()["app"] = app  # before the imports below: a module may register with `from . import app`
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}")
    return app


def __getattr__(name: str) -> Any:
    if name == "app":
        return _app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# The optional parts of the package (pyproject.toml extras) and the modules each brings.
EXTRAS = {"cli": ("typer", "click", "rich"), "server": ("uvicorn", "starlette", "httptools", "uvloop")}


def _missing_extra(err: ModuleNotFoundError) -> str | None:
    top = (err.name or "").partition(".")[0]
    return next((extra for extra, modules in EXTRAS.items() if top in modules), None)


def main() -> None:
    from .quick import run

    run(sys.argv[1:])  # exits when it can do the command on its own
    try:
        _app()()
    except ModuleNotFoundError as err:
        extra = _missing_extra(err)
        if extra is None:
            raise
        command = " ".join(["kmsctl", *sys.argv[1:2]])
        if sys.argv[1:2] == ["serve"]:
            extra = "server"  # it brings the CLI's modules too
        print(
            f"{command} needs the [{extra}] extra ({err.name} is not installed): "
            f"pip install 'kms-keys-as-code[{extra}]'",
            file=sys.stderr,
        )
        sys.exit(2)
