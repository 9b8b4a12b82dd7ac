"""`kmsctl serve`: the emulator as a shared server speaking the wire protocol (contract sections 4, 6)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from . import app
from .commands import StackOpt


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on; loopback unless told otherwise.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port to listen on.")] = 8400,
    state: Annotated[Path | None, typer.Option(
        help="Directory of the emulator state (created if missing); default: KMS_EMULATOR_PATH, else "
             ".kms-emulator beside the project's Pulumi.yaml, the embedded emulator's state.")] = None,
    log_level: Annotated[str, typer.Option(help="Log level: debug, info, warning or error.")] = "info",
    stack: StackOpt = None,
) -> None:
    """Serve the emulator over HTTP to both clouds' SDKs on one port, every request signed.

    Volcengine KMS at /?Action=...&Version=2021-02-18; Huawei Cloud KMS at /v1.0/{project_id}/kms/...
    and /v2/{project_id}/kms/... (a project id is a region's name, or an id mapped by KMS_PROJECT_IDS).

    Credentials come from KMS_ACCESS_KEY and KMS_SECRET_KEY; KMS_RATE_LIMIT (requests a second per
    access key) turns on throttling; KMS_REPLICATION_DELAY sets how long a new replica stays Creating.
    """
    access_key = os.environ.get("KMS_ACCESS_KEY", "").strip()
    secret_key = os.environ.get("KMS_SECRET_KEY", "").strip()
    missing = [name for name, value in (("KMS_ACCESS_KEY", access_key), ("KMS_SECRET_KEY", secret_key)) if not value]
    if missing:
        typer.echo(f"kmsctl serve: {' and '.join(missing)} not set. The server checks the signature of every "
                   "request against one access key / secret key pair: export KMS_ACCESS_KEY and KMS_SECRET_KEY "
                   "(the same pair the clients use) and start it again.", err=True)
        raise typer.Exit(2)
    if log_level.lower() not in ("debug", "info", "warning", "error"):
        typer.echo(f"kmsctl serve: --log-level must be debug, info, warning or error, not {log_level!r}", err=True)
        raise typer.Exit(2)

    from ..domain.errors import KmsError
    from ..server import serve as run
    from .stack import StackError, resolve

    if state is None:
        try:
            state = resolve(stack).emulator_path  # with --stack: that stack's kms:emulatorPath
        except (StackError, KmsError) as err:
            typer.echo(f"kmsctl serve: {err}", err=True)
            raise typer.Exit(2) from None

    try:
        run(state, host, port, access_key=access_key, secret_key=secret_key, log_level=log_level)
    except KmsError as err:
        typer.echo(f"kmsctl serve: {err.message}", err=True)
        raise typer.Exit(2) from None
