"""Times as the clouds send them, read into POSIX seconds.

Volcengine's DescribeKey page shows RFC 3339 times with fractions and an offset
(`2022-01-21T10:31:47.264+08:00`), `CreationDate` in seconds and `UpdateDate` in milliseconds; Huawei Cloud's
KMS API reference gives key dates as millisecond strings and alias times as RFC 3339 (`2024-04-01T00:00:00Z`).
One reader takes every form, so neither side depends on which one an answer uses.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from .errors import UndefinedError

# Past this an epoch number is in milliseconds: 1e11 seconds is the year 5138, 1e11 ms is 1973.
MILLIS_FROM = 1e11
_DIGITS = re.compile(r"^-?\d+(\.\d+)?$")


def epoch(value: float) -> float:
    """An epoch number in seconds or milliseconds, as seconds."""
    return value / 1000 if abs(value) >= MILLIS_FROM else value


def parse(value: Any, field: str = "time") -> float | None:
    """RFC 3339 (fractions, `Z` or an offset), or epoch seconds or milliseconds (a number or a string of
    digits), as POSIX seconds; None for an absent or empty value. Anything else is refused naming `field`."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise UndefinedError(f"the answer's {field} is not a time: {value!r}")
    if isinstance(value, int | float):
        return epoch(float(value))
    text = str(value).strip()
    if _DIGITS.match(text):
        return epoch(float(text))
    try:
        when: dt.datetime | None = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:  # without an offset, which zone it is in is unknowable
        raise UndefinedError(f"the answer's {field} {text[:40]!r} is not RFC 3339 (a date, a time and an offset) "
                             "nor an epoch number")
    return when.timestamp()
