"""`kmsctl keys list|describe|schedule-deletion|cancel-deletion` and `kmsctl clock advance`.

Every command finds its backend as the resources do: `KMS_ENDPOINT`, else the embedded emulator at
`KMS_EMULATOR_PATH` or `.kms-emulator/` beside the nearest Pulumi.yaml; with `--stack NAME`, that stack's
`kms:` config over the environment. None of them creates an emulator: where its state is missing there
is no key to read or change, and the error says where kmsctl looked.
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
from ..config import client
from ..domain import model, rules
from ..domain.errors import KmsError
from . import app
from .commands import StackOpt
from .stack import StackError, missing_state, resolve

keys_app = typer.Typer(help="List, describe, schedule and cancel the deletion of keys.", no_args_is_help=True)
clock_app = typer.Typer(help="The emulator's clock (scheduled deletions and rotations).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(clock_app, name="clock")

RegionOpt = Annotated[str | None, typer.Option("--region", help="Region (default: kms:region with --stack, else "
                                                                   "KMS_REGION, else cn-north-4).")]


@contextmanager
def service_errors() -> Iterator[None]:
    """A service error becomes one clear line on stderr and exit status 1, never a traceback."""
    try:
        yield
    except KmsError as exc:
        typer.echo(f"error: {exc}", err=True)  # not rich: it would wrap the line at 80 columns in a pipe
        raise typer.Exit(1) from None


def _client(region: str | None, stack: str | None) -> KmsClient:
    try:
        s = resolve(stack)
    except StackError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    why = missing_state(s, stack)
    if why is not None:
        typer.echo(f"error: {why}", err=True)
        raise typer.Exit(1)
    kms = client(s)
    return kms.in_region(region) if region else kms


def _tag_filters(values: list[str] | None, flag: str, pairs: bool) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for item in values or []:
        name, sep, value = item.partition("=")
        if not name or (sep and not pairs):
            rule = "KEY or KEY=VALUE" if pairs else "a tag KEY (no =VALUE)"
            raise typer.BadParameter(f"{item!r} is not {rule}", param_hint=flag)
        out.append((name, value if sep else None))
    return out


def _matches(key: model.Key, prefix: str | None, tags: list[tuple[str, str | None]],
             without: list[tuple[str, str | None]], states: set[str]) -> bool:
    if prefix is not None and not key.name.startswith(prefix):
        return False
    if states and str(key.state) not in states:
        return False
    if any(name not in key.tags or (value is not None and key.tags[name] != value) for name, value in tags):
        return False
    return not any(name in key.tags for name, _ in without)


@keys_app.command("list")
def list_keys(
    region: RegionOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    name_prefix: Annotated[str | None, typer.Option(
        "--name-prefix", metavar="PREFIX", help="Only keys whose name starts with PREFIX (e.g. a resource's "
        "name: autonamed keys are NAME-xxxxxxx).")] = None,
    tag: Annotated[list[str] | None, typer.Option(
        "--tag", metavar="KEY[=VALUE]", show_default=False,
        help="Only keys with this tag (and value); repeat: every one must match.")] = None,
    without_tag: Annotated[list[str] | None, typer.Option(
        "--without-tag", metavar="KEY", show_default=False,
        help="Only keys that lack this tag; repeat for more.")] = None,
    state: Annotated[list[str] | None, typer.Option(
        "--state", metavar="STATE", show_default=False,
        help="Only keys in this state (Enable, Disable, PendingDelete, PendingImport, Creating); repeat for "
             "more.")] = None,
    stack: StackOpt = None,
) -> None:
    """The keys of a region, all or those matching every filter given.

    To find keys no stack owns (e.g. left behind by an interrupted `pulumi up`), compare with the ids in
    `pulumi stack export`, narrowing the list with --name-prefix, --tag or --without-tag."""
    tags = _tag_filters(tag, "--tag", pairs=True)
    without = _tag_filters(without_tag, "--without-tag", pairs=False)
    states = {s.value for s in rules.KeyState}
    for wanted in state or []:
        if wanted not in states:
            raise typer.BadParameter(f"{wanted!r} is not a key state; one of {', '.join(sorted(states))}",
                                     param_hint="--state")
    with service_errors():
        kms = _client(region, stack)
        keys = [k for k in kms.list_keys() if _matches(k, name_prefix, tags, without, set(state or ()))]
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
def describe(key: Annotated[str, typer.Argument(help="Key id, TRN or alias.")], region: RegionOpt = None,
             stack: StackOpt = None) -> None:
    """One key, as the service describes it (JSON)."""
    with service_errors():
        typer.echo(json.dumps(model.as_dict(_client(region, stack).describe_key(key)), indent=2))


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
    stack: StackOpt = None,
) -> None:
    """Move the emulator's clock so that scheduled deletions and rotations come due."""
    seconds = parse_duration(duration)
    with service_errors():
        out = _client(None, stack).advance_clock(seconds)
    typer.echo(f"advanced {seconds}s; service clock offset is now {int(out.offset_seconds)}s")


def _region_key(key: str) -> tuple[str, str]:
    from ..envelope.errors import EnvelopeError
    from ..envelope.keys import RegionalKey

    try:
        ref = RegionalKey.parse(key)
    except EnvelopeError as exc:
        raise typer.BadParameter(str(exc), param_hint="REGION:KEY") from None
    return ref.region, ref.key


@keys_app.command("schedule-deletion")
def schedule_deletion(
    key: Annotated[str, typer.Argument(metavar="REGION:KEY", help="The key to delete: region, then id, TRN or "
                                       "alias.")],
    days: Annotated[int, typer.Option(
        "--days",
        help=f"The waiting period in days ({rules.PENDING_DAYS_MIN}..{rules.PENDING_DAYS_MAX}) before the key "
             "is gone for good.")] = rules.PENDING_DAYS_DEFAULT,
    stack: StackOpt = None,
) -> None:
    """Schedule a key's deletion: it refuses crypto at once, and is gone with what it encrypted after --days.

    Meant for keys no stack owns (see `kmsctl keys list --help`); a key a stack manages is deleted with
    `pulumi destroy` or by removing its resource. Undo within the window with `kmsctl keys cancel-deletion`."""
    import datetime as dt

    if not rules.PENDING_DAYS_MIN <= days <= rules.PENDING_DAYS_MAX:
        raise typer.BadParameter(f"{days} days is outside the service's deletion window, "
                                 f"{rules.PENDING_DAYS_MIN}..{rules.PENDING_DAYS_MAX} days", param_hint="--days")
    region, ref = _region_key(key)
    with service_errors():
        kms = _client(region, stack)
        done = kms.schedule_key_deletion(ref, days)
    when = (dt.datetime.fromtimestamp(done.deletion_date, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
            if done.deletion_date else f"{days} days from now")
    typer.echo(f"{region}:{done.key_id}: deletion scheduled; the key is {done.state} and gone for good after "
               f"{when}; undo before then: kmsctl keys cancel-deletion {region}:{done.key_id}")


@keys_app.command("cancel-deletion")
def cancel_deletion(
    key: Annotated[str, typer.Argument(metavar="REGION:KEY", help="The key pending deletion: region, then id or TRN.")],
    keep_disabled: Annotated[bool, typer.Option("--keep-disabled", help="Leave it Disable, as the service does.")
                             ] = False,
    stack: StackOpt = None,
) -> None:
    """Undo a scheduled deletion within its window: the key is back and (unless --keep-disabled) enabled."""
    from ..envelope.errors import EnvelopeError
    from ..envelope.keys import RegionalKey

    try:
        ref = RegionalKey.parse(key)
    except EnvelopeError as exc:
        raise typer.BadParameter(str(exc), param_hint="REGION:KEY") from None
    from ..domain.errors import NotFound
    from ..domain.rules import KeyState

    with service_errors():
        kms = _client(ref.region, stack)
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
