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
from typing import TYPE_CHECKING

from ..config import connect
from ..domain import model, rules
from ..domain.errors import KmsError
from .commands import Failed, UsageError, require_extra
from .stack import StackError, missing_state, resolve

if TYPE_CHECKING:
    from argparse import Namespace

    from ..client import KmsClient


@contextmanager
def service_errors() -> Iterator[None]:
    """A service error becomes one clear line on stderr and exit status 1, never a traceback."""
    try:
        yield
    except KmsError as exc:
        raise Failed(f"error: {exc}") from None


def _connect(region: str | None, stack: str | None) -> KmsClient:
    try:
        s = resolve(stack)
    except StackError as exc:
        raise Failed(f"error: {exc}") from None
    why = missing_state(s, stack)
    if why is not None:
        raise Failed(f"error: {why}")
    kms = connect(s)
    return kms.in_region(region) if region else kms


def _tag_filters(values: list[str] | None, flag: str, pairs: bool) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for item in values or []:
        name, sep, value = item.partition("=")
        if not name or (sep and not pairs):
            rule = "KEY or KEY=VALUE" if pairs else "a tag KEY (no =VALUE)"
            raise UsageError(f"{item!r} is not {rule}", flag)
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


def list_keys(args: Namespace) -> None:
    """`kmsctl keys list`: the keys of a region, all or those matching every filter given."""
    tags = _tag_filters(args.tag, "--tag", pairs=True)
    without = _tag_filters(args.without_tag, "--without-tag", pairs=False)
    states = {s.value for s in rules.KeyState}
    for wanted in args.state or []:
        if wanted not in states:
            raise UsageError(f"{wanted!r} is not a key state; one of {', '.join(sorted(states))}", "--state")
    if not args.as_json:
        require_extra("cli", "kmsctl keys list")  # the table is rich's
    with service_errors():
        kms = _connect(args.region, args.stack)
        keys = [k for k in kms.list_keys() if _matches(k, args.name_prefix, tags, without, set(args.state or ()))]
    if args.as_json:
        print(json.dumps([model.as_dict(k) for k in keys], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

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


def describe(args: Namespace) -> None:
    """`kmsctl keys describe`: one key, as the service describes it (JSON)."""
    with service_errors():
        print(json.dumps(model.as_dict(_connect(args.region, args.stack).describe_key(args.key)), indent=2))


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> int:
    """`90`, `45s`, `30m`, `12h`, `31d`, `2w`, or a sum such as `7d12h`, in whole seconds."""
    parts = re.fullmatch(r"(?:\d+[smhdw]?)+", text.strip())
    if parts is None:
        raise UsageError(f"'{text}' is not a duration; use e.g. 90, 45s, 30m, 12h, 31d, 2w or 7d12h", "DURATION")
    return sum(int(n) * _UNITS[u or "s"] for n, u in re.findall(r"(\d+)([smhdw]?)", text))


def advance(args: Namespace) -> None:
    """`kmsctl clock advance`: move the emulator's clock so that scheduled deletions and rotations come due."""
    seconds = parse_duration(args.duration)
    with service_errors():
        out = _connect(None, args.stack).advance_clock(seconds)
    print(f"advanced {seconds}s; service clock offset is now {int(out.offset_seconds)}s")


def _region_key(key: str) -> tuple[str, str]:
    from ..envelope.errors import EnvelopeError
    from ..envelope.keys import RegionalKey

    try:
        ref = RegionalKey.parse(key)
    except EnvelopeError as exc:
        raise UsageError(str(exc), "REGION:KEY") from None
    return ref.region, ref.key


def schedule_deletion(args: Namespace) -> None:
    """`kmsctl keys schedule-deletion`: the key refuses crypto at once, and is gone with what it encrypted
    after --days."""
    import datetime as dt

    days: int = args.days
    if not rules.PENDING_DAYS_MIN <= days <= rules.PENDING_DAYS_MAX:
        raise UsageError(f"{days} days is outside the service's deletion window, "
                         f"{rules.PENDING_DAYS_MIN}..{rules.PENDING_DAYS_MAX} days", "--days")
    region, ref = _region_key(args.key)
    with service_errors():
        kms = _connect(region, args.stack)
        done = kms.schedule_key_deletion(ref, days)
    when = (dt.datetime.fromtimestamp(done.deletion_date, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
            if done.deletion_date else f"{days} days from now")
    print(f"{region}:{done.key_id}: deletion scheduled; the key is {done.state} and gone for good after "
          f"{when}; undo before then: kmsctl keys cancel-deletion {region}:{done.key_id}")


def cancel_deletion(args: Namespace) -> None:
    """`kmsctl keys cancel-deletion`: the key is back and (unless --keep-disabled) enabled."""
    from ..domain.errors import NotFound
    from ..domain.rules import KeyState

    region, key = _region_key(args.key)
    with service_errors():
        kms = _connect(region, args.stack)
        try:
            live: model.Key | None = kms.describe_key(key)
        except NotFound:  # any other service error is reported as itself by service_errors
            live = None
        if live is None or live.state != KeyState.PENDING_DELETE:
            why = "no such key (a deletion whose window closed cannot be undone)" if live is None else (
                f"the key is {live.state}, not pending deletion: nothing to cancel")
            raise Failed(f"error: {region}:{key}: {why}")
        # The service decides the state a cancelled key returns to (rules.state_after_cancel): Disable,
        # or PendingImport for a key whose material was never imported, which cannot be enabled.
        back = kms.cancel_key_deletion(key)
        if not args.keep_disabled and back.state == KeyState.DISABLE:
            back = kms.enable_key(key)
    print(f"{region}:{key}: deletion cancelled; the key is {back.state}"
          f"{' and decrypts again' if back.state == KeyState.ENABLE else ''}")
