"""Request bodies read through orjson (for speed) read as the standard library reads them: the same
values, and the same failures for the dialects to turn into their messages."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provider.dialects.json_body import read_json, write_json

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
)


@given(_json_values, st.booleans())
def test_any_json_reads_as_the_standard_library_reads_it(value: Any, ascii_only: bool) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert read_json(body) == json.loads(body)


@given(_json_values)
def test_answers_written_read_back_the_same(value: Any) -> None:
    assert json.loads(write_json(value)) == value


@pytest.mark.parametrize("body", [
    b'{"NumberOfBytes": NaN}',            # orjson refuses NaN; the standard library reads it
    b'{"a": Infinity}',
    b'"\\ud800"',                         # a lone surrogate
])
def test_what_orjson_refuses_reads_as_the_standard_library_reads_it(body: bytes) -> None:
    got, want = read_json(body), json.loads(body)
    if isinstance(want, dict) and isinstance(want.get("NumberOfBytes"), float):
        assert math.isnan(got["NumberOfBytes"])
    else:
        assert got == want


@pytest.mark.parametrize("body", [b'{"KeyName": ', b"{not json", b"[1,]", b'{"a": 1} x', b"\xff\xfe"])
def test_bodies_that_are_no_json_fail_as_the_standard_library_fails(body: bytes) -> None:
    with pytest.raises(ValueError) as ours:
        read_json(body)
    with pytest.raises(ValueError) as theirs:
        json.loads(body)
    assert type(ours.value) is type(theirs.value) and str(ours.value) == str(theirs.value)


def test_nesting_the_standard_library_cannot_read_fails_as_it_fails() -> None:
    with pytest.raises(RecursionError):
        read_json(b"[" * 30_000 + b"]" * 30_000)
