"""Key retirement (the code that decides when a key, and every ciphertext under it, starts to die) and the
waits it and the creates need.

Every wait is one `poll`: backoff from 50 ms, doubling, capped at 2 s, within a deadline, ended early when
the engine is gone. Each says through `pulumi.log` what it waits for and how long it may take (an info line
when it starts waiting, a debug line for each retry), so a `pulumi destroy` that waits 60 s for replicas says
so instead of looking hung. Log lines name keys and regions only, never material or credentials.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

import pulumi

from ..client import KmsClient
from ..domain import model, rules
from ..domain.errors import InvalidOperation, KmsError, NotFound
from ._common import DEFAULT_CREATE_TIMEOUT, HOST, ProviderError, capabilities

T = TypeVar("T")

DELETE_WAIT = 60.0  # how long a primary waits for its replicas to be scheduled for deletion
MIN_PENDING_DAYS = rules.PENDING_DAYS_MIN  # the window used when a failed create is rolled back
FIRST_DELAY = 0.05  # seconds before the first retry
MAX_DELAY = 2.0  # backoff cap: a state change is noticed within 2 s of happening


def say(line: str, *, debug: bool = False) -> None:
    """A log line to the engine, best effort: a wait must not fail because the engine that would show the
    line is gone or was never there (a provider called outside `pulumi up`)."""
    with contextlib.suppress(Exception):  # grpc's errors and a missing engine alike: the line is only news
        (pulumi.log.debug if debug else pulumi.log.info)(line)


class EngineGone(ProviderError):
    """The Pulumi engine went away while a call waited: the wait stops instead of starting more calls."""


def poll(
    attempt: Callable[[], T],
    done: Callable[[T], bool],
    timeout: float,
    waiting_for: Callable[[T], str],
    *,
    first: T | None = None,
) -> tuple[T, bool]:
    """Call `attempt` until `done` holds for its result or `timeout` seconds have passed, sleeping between
    calls from 50 ms doubling up to 2 s. `first`, when given, is a result already in hand (no call made for
    it). Answers the last result and whether `done` held: the caller words its own timeout.
    `waiting_for(result)` says what is awaited, for the log. Raises EngineGone when the engine goes away."""
    deadline = time.monotonic() + timeout
    delay = FIRST_DELAY
    result = attempt() if first is None else first
    rounds = 0
    while not done(result):
        left = deadline - time.monotonic()
        if left <= 0:
            if rounds:
                say(f"gave up after {timeout:.0f} s waiting for {waiting_for(result)}")
            return result, False
        if rounds == 0:
            say(f"waiting up to {left:.0f} s for {waiting_for(result)}")
        else:
            say(f"still waiting ({left:.0f} s left) for {waiting_for(result)}", debug=True)
        if HOST.engine_gone.wait(min(delay, left)):  # a sleep that ends when the engine goes away
            raise EngineGone(f"the Pulumi engine is gone; stopped waiting for {waiting_for(result)}")
        delay = min(delay * 2, MAX_DELAY)
        rounds += 1
        result = attempt()
    if rounds:
        say(f"done waiting for {waiting_for(result)} after {rounds} retries", debug=True)
    return result, True


def wait_state(c: KmsClient, key_id: str, want: Iterable[str], timeout: float, what: str) -> model.Key:
    """Poll DescribeKey until the key is in one of `want`."""
    wanted = set(want)
    goal = " or ".join(sorted(wanted))
    try:
        key, reached = poll(
            lambda: c.describe_key(key_id), lambda k: k.state in wanted, timeout,
            lambda k: f"key {key_id} in {c.region} to be {goal} (now {k.state})",
        )
    except EngineGone:
        raise ProviderError(f"{what}: the Pulumi engine is gone; stopped waiting for key {key_id}") from None
    if not reached:
        raise ProviderError(
            f"{what}: key {key_id} in {c.region} is still {key.state} after {timeout:.0f}s "
            f"(waiting for {goal}); run the update again to pick it up"
        )
    return key


def live_replicas(c: KmsClient, key: model.Key) -> list[model.LinkedKey]:
    """The replicas of a primary key that are not yet scheduled for deletion. A replica whose state the
    primary's description leaves out (Volcengine's answers name only its TRN and region) is described
    in its own region."""
    if key.multi_region_type != rules.MultiRegionType.PRIMARY:
        return []
    live = []
    for r in key.replicas:
        state = r.state
        if state is None:
            try:
                state = c.in_region(r.region).describe_key(r.key_id).state
            except NotFound:
                continue
        if state != rules.KeyState.PENDING_DELETE:
            live.append(r)
    return live


def set_tags(
    c: KmsClient, key_id: str, old: Mapping[str, str], live: Mapping[str, str], new: Mapping[str, str]
) -> None:
    """Remove the tag keys that were managed (`old`) and are no longer wanted, and set every wanted tag the
    live key lacks. Other tags are left alone: they may belong to a KeyTags resource."""
    gone = sorted(set(old) - set(new))
    if gone:
        c.untag_resources(key_id, gone)
    changed = {k: v for k, v in new.items() if live.get(k) != v}
    if changed:
        c.tag_resources(key_id, changed)


def while_enabled(c: KmsClient, key: model.Key, work: Callable[[], None]) -> None:
    """Run `work` (tagging, rotation: the service needs an enabled key) on a key that may be disabled,
    leaving it in the state it was in."""
    if key.state != rules.KeyState.DISABLE:
        work()
        return
    c.enable_key(key.key_id)
    try:
        work()
    finally:
        c.disable_key(key.key_id)


def retire_key(
    c: KmsClient, key_id: str, pending_days: int, what: str, wait_replicas: float | None = None
) -> None:
    """Schedule a key's deletion so that nothing of it blocks a re-creation: its aliases are deleted and
    it is renamed first. A key that is gone or already pending deletion is left as it is."""
    try:
        key = c.describe_key(key_id)
    except NotFound:
        return
    state = key.state
    if state == rules.KeyState.PENDING_DELETE:
        return
    if state == rules.KeyState.CREATING:
        key = wait_state(
            c, key_id, [rules.KeyState.ENABLE, rules.KeyState.DISABLE], DEFAULT_CREATE_TIMEOUT, what
        )
    # A primary key is scheduled for deletion only after its replicas (Huawei Cloud's ScheduleKeyDeletion,
    # https://support.huaweicloud.com/intl/en-us/api-dew/DeleteKey.html). The engine deletes
    # dependent replicas first; replicas it does not know about (or still being deleted) are waited for,
    # briefly. Where the cloud's answers name no replicas (Huawei Cloud), the service's own refusal is what
    # says to wait.
    can = capabilities()
    budget = DELETE_WAIT if wait_replicas is None else wait_replicas
    started = time.monotonic()
    if can.links_in_answers and (waiting := live_replicas(c, key)):

        def look() -> tuple[model.Key, list[model.LinkedKey]]:
            k = c.describe_key(key_id)
            return k, live_replicas(c, k)

        def replicas(seen: tuple[model.Key, list[model.LinkedKey]]) -> str:
            return f"{len(seen[1])} replica(s) of key {key_id} to be scheduled for deletion"

        try:
            (key, waiting), clear = poll(look, lambda seen: not seen[1], budget, replicas, first=(key, waiting))
        except EngineGone as err:
            raise ProviderError(f"{what}: {err}") from None
        if not clear:
            names = ", ".join(f"{r.key_id} ({r.region})" for r in waiting)
            raise ProviderError(
                f"{what}: key {key_id} is a primary key whose replica keys are not scheduled for deletion: "
                f"{names}; delete the replica keys first"
            )
    if can.aliases:  # a cloud without aliases (Volcengine) has none to free
        for alias in c.list_aliases(key_id):
            with contextlib.suppress(NotFound):
                c.delete_alias(alias.name, key_id)
    original = key.name
    c.update_key(key_id, new_key_name=retired_name(original))
    _schedule(c, key_id, pending_days, original, max(0.0, budget - (time.monotonic() - started)), what)


def _schedule(c: KmsClient, key_id: str, pending_days: int, original: str, budget: float, what: str) -> None:
    """ScheduleKeyDeletion, asked again within `budget` while the service refuses a primary whose replicas
    are live: they may be on their way (a replica that a sibling's deletion renamed at the moment its
    primary looked). Any other failure, or the budget spent, gives the key its name back."""
    refusal: list[InvalidOperation] = []

    def attempt() -> bool:
        try:
            c.schedule_key_deletion(key_id, pending_days)
        except InvalidOperation as err:
            refusal[:] = [err]
            return False
        except KmsError:
            _restore_name(c, key_id, original)  # leave the key as it was found rather than renamed and live
            raise
        return True

    try:
        _, scheduled = poll(
            attempt, bool, budget,
            lambda _: f"key {key_id} in {c.region} to be accepted for deletion (refused: {refusal[-1].message})",
        )
    except EngineGone as err:
        _restore_name(c, key_id, original)
        raise ProviderError(f"{what}: {err}") from None
    if scheduled:
        return
    _restore_name(c, key_id, original)
    if not capabilities().links_in_answers:
        raise ProviderError(
            f"{what}: key {key_id} could not be scheduled for deletion: {refusal[-1]}; if it is a primary "
            "key, delete its replica keys first"
        ) from None
    raise refusal[-1]


def retired_name(name: str) -> str:
    """The name a key takes while it waits out its deletion window, freeing its own name at once."""
    suffix = f"-deleted-{secrets.token_hex(4)}"
    return name[: rules.NAME_MAX - len(suffix)] + suffix


def _restore_name(c: KmsClient, key_id: str, original: str) -> None:
    with contextlib.suppress(KmsError):
        c.update_key(key_id, new_key_name=original)


def roll_back(c: KmsClient, key_id: str, what: str) -> None:
    """A create failed after the key was made: schedule it for deletion (shortest window), then let the
    original error surface."""
    with contextlib.suppress(KmsError, ProviderError):
        retire_key(c, key_id, MIN_PENDING_DAYS, what, wait_replicas=0)
