"""`kmsctl keys list|describe` and `kmsctl clock advance`: inspect keys and move the emulator clock.

Every command finds its backend as the resources do (contract section 3): `KMS_ENDPOINT`, else the
embedded emulator at `KMS_EMULATOR_PATH` or `.kms-emulator/` beside the nearest Pulumi.yaml.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ..client import KmsClient
from ..config import client, settings
from ..domain import model
from ..domain.errors import KmsError
from . import app

keys_app = typer.Typer(help="List and describe keys.", no_args_is_help=True)
clock_app = typer.Typer(help="The emulator's clock (scheduled deletions and rotations).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(clock_app, name="clock")

RegionOpt = Annotated[str | None, typer.Option("--region", help="Region (default: KMS_REGION or cn-north-4).")]
err = Console(stderr=True)


@contextmanager
def service_errors() -> Iterator[None]:
    """A service error becomes one clear line on stderr and exit status 1, never a traceback."""
    try:
        yield
    except KmsError as exc:
        err.print(f"[red]error[/red]: {exc}", markup=True, highlight=False)
        raise typer.Exit(1) from None


def _client(region: str | None) -> KmsClient:
    kms = client(settings())
    return kms.in_region(region) if region else kms


@keys_app.command("list")
def list_keys(region: RegionOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The keys of a region."""
    with service_errors():
        kms = _client(region)
        keys = kms.list_keys()
    if as_json:
        typer.echo(json.dumps([model.as_dict(k) for k in keys], indent=2))
        return
    table = Table(title=f"keys in {kms.region}")
    # Ids are what a user copies into the next command: never shortened; the rest folds.
    table.add_column("ID", no_wrap=True, min_width=36)
    for col in ("Keyring", "Name", "Spec", "Usage", "State", "Multi-region"):
        table.add_column(col, overflow="fold")
    for k in keys:
        table.add_row(k.key_id, k.keyring, k.name, k.spec, k.usage, k.state, k.multi_region_type)
    console = Console()
    # A pipe gets whole rows (rich would wrap them at 80 columns), a terminal its own width.
    (console if console.is_terminal else Console(width=240)).print(table)


@keys_app.command("describe")
def describe(key: Annotated[str, typer.Argument(help="Key id, TRN or alias.")], region: RegionOpt = None) -> None:
    """One key, as the service describes it (JSON)."""
    with service_errors():
        typer.echo(json.dumps(model.as_dict(_client(region).describe_key(key)), indent=2))


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> int:
    """`90`, `45s`, `30m`, `12h`, `31d`, `2w`, or a sum such as `7d12h`, in whole seconds."""
    parts = re.fullmatch(r"(?:\d+[smhdw]?)+", text.strip())
    if parts is None:
        raise typer.BadParameter(f"'{text}' is not a duration; use e.g. 90, 45s, 30m, 12h, 31d, 2w or 7d12h")
    return sum(int(n) * _UNITS[u or "s"] for n, u in re.findall(r"(\d+)([smhdw]?)", text))


@clock_app.command("advance")
def advance(
    duration: Annotated[str, typer.Argument(help="How far: 90, 45s, 30m, 12h, 31d, 2w or 7d12h.")],
) -> None:
    """Move the emulator's clock so that scheduled deletions and rotations come due."""
    seconds = parse_duration(duration)
    with service_errors():
        out = _client(None).advance_clock(seconds)
    typer.echo(f"advanced {seconds}s; service clock offset is now {int(out.offset_seconds)}s")




@keys_app.command("cancel-deletion")
def cancel_deletion(
    key: Annotated[str, typer.Argument(metavar="REGION:KEY", help="The key pending deletion: region, then id or TRN.")],
    keep_disabled: Annotated[bool, typer.Option("--keep-disabled", help="Leave it Disable, as the service does.")
                             ] = False,
) -> None:
    """Undo a scheduled deletion within its window: the key is back and (unless --keep-disabled) enabled."""
    from ..envelope.errors import EnvelopeError
    from ..envelope.keys import KeyRef

    try:
        ref = KeyRef.parse(key)
    except EnvelopeError as exc:
        raise typer.BadParameter(str(exc), param_hint="REGION:KEY") from None
    from ..domain.errors import NotFound
    from ..domain.rules import KeyState

    with service_errors():
        kms = _client(ref.region)
        try:
            live: model.Key | None = kms.describe_key(ref.key)
        except NotFound:  # any other service error is reported as itself by service_errors
            live = None
        if live is None or live.state != KeyState.PENDING_DELETE:
            why = "no such key (a deletion whose window closed cannot be undone)" if live is None else (
                f"the key is {live.state}, not pending deletion: nothing to cancel")
            typer.echo(f"error: {ref}: {why}", err=True)
            raise typer.Exit(1)
        # The service decides the state a cancelled key returns to (rules.state_after_cancel): Disable,
        # or PendingImport for a key whose material was never imported, which cannot be enabled.
        back = kms.cancel_key_deletion(ref.key)
        if not keep_disabled and back.state == KeyState.DISABLE:
            back = kms.enable_key(ref.key)
    typer.echo(f"{ref.region}:{ref.key}: deletion cancelled; the key is {back.state}"
               f"{' and decrypts again' if back.state == KeyState.ENABLE else ''}")
