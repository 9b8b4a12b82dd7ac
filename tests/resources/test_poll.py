"""The one polling helper every wait uses: backoff from 50 ms doubling to 2 s, a deadline, a log line, and an
early stop when the engine goes away."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from provider.resources import _retire
from provider.resources._common import HOST


class Clock:
    """time.monotonic and the engine-gone sleep, without sleeping: each sleep advances the clock."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds
        return False


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    c = Clock()
    monkeypatch.setattr(_retire.time, "monotonic", c.monotonic)
    monkeypatch.setattr(HOST.engine_gone, "wait", c.wait)
    yield c


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    lines: list[str] = []
    monkeypatch.setattr(_retire.pulumi.log, "info", lambda msg, *a, **k: lines.append(f"info {msg}"))
    monkeypatch.setattr(_retire.pulumi.log, "debug", lambda msg, *a, **k: lines.append(f"debug {msg}"))
    return lines


def test_backoff_doubles_from_50_ms_up_to_2_s(clock: Clock, logged: list[str]) -> None:
    calls = itertools.count(1)
    result, done = _retire.poll(lambda: next(calls), lambda n: n >= 9, 60.0, lambda n: f"attempt {n}")
    assert (result, done) == (9, True)
    assert clock.sleeps == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    assert logged[0] == "info waiting up to 60 s for attempt 1"  # once, when the wait starts
    assert sum(line.startswith("info") for line in logged) == 1


def test_the_deadline_ends_the_wait_and_says_so(clock: Clock, logged: list[str]) -> None:
    result, done = _retire.poll(lambda: "still", lambda _: False, 5.0, lambda v: f"it ({v})")
    assert (result, done) == ("still", False)
    assert sum(clock.sleeps) == pytest.approx(5.0)  # the last sleep is cut to the deadline
    assert logged[-1] == "info gave up after 5 s waiting for it (still)"


def test_a_result_in_hand_is_not_asked_again(clock: Clock, logged: list[str]) -> None:
    calls: list[int] = []
    result, done = _retire.poll(lambda: calls.append(1) or 1, bool, 5.0, str, first=1)
    assert (result, done, calls, clock.sleeps, logged) == (1, True, [], [], [])


def test_a_zero_budget_asks_once_and_logs_nothing(clock: Clock, logged: list[str]) -> None:
    result, done = _retire.poll(lambda: 0, bool, 0.0, str)
    assert (result, done, clock.sleeps, logged) == (0, False, [], [])


def test_the_engine_going_away_stops_the_wait(monkeypatch: pytest.MonkeyPatch, logged: list[str]) -> None:
    monkeypatch.setattr(HOST.engine_gone, "wait", lambda seconds: True)
    with pytest.raises(_retire.EngineGone, match="stopped waiting for key k"):
        _retire.poll(lambda: 0, bool, 60.0, lambda _: "key k")


def test_a_log_line_the_engine_cannot_take_leaves_the_wait_going(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    """A provider called while the engine is gone (or outside `pulumi up`): the log RPC fails, the wait goes on."""

    def unreachable(msg: str, *args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError("failed to connect to all addresses")

    monkeypatch.setattr(_retire.pulumi.log, "info", unreachable)
    monkeypatch.setattr(_retire.pulumi.log, "debug", unreachable)
    calls = itertools.count(1)
    assert _retire.poll(lambda: next(calls), lambda n: n >= 3, 60.0, lambda n: f"attempt {n}") == (3, True)
