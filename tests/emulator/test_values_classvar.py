"""A value class's `ClassVar` annotations are class attributes, not fields, however the module is
written: with or without `from __future__ import annotations`, ClassVar imported by any name or through
`typing`. One that cannot be told apart is refused at class creation, never silently made a field."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from itertools import count

import pytest

FUTURE = "from __future__ import annotations\n"
_names = count()


def _module(source: str) -> types.ModuleType:
    """Run `source` as a module of its own (value classes resolve annotations in their module)."""
    module = types.ModuleType(f"_values_classvar_{next(_names)}")
    sys.modules[module.__name__] = module
    try:
        exec(compile(source, module.__name__, "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    return module


@pytest.fixture(params=[FUTURE, ""], ids=["future-annotations", "eager-annotations"])
def header(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.param


CLASSES = """
import typing
import typing as t
from typing import ClassVar, ClassVar as CV
from provider.values import Value, fields

class Later(Value):  # a forward reference to a class defined below is a field
    ref: "Point | None" = None

class Point(Value):
    LIMIT: ClassVar[int] = 10
    UNITS: typing.ClassVar[str] = "m"
    SCALE: t.ClassVar[float] = 1.5
    ALIASED: CV[tuple[str, ...]] = ("a",)
    BARE: ClassVar = "bare"
    x: int
    y: int = 0
    tags: dict[str, str] | None = None
"""


def test_classvar_is_a_class_attribute_not_a_field(header: str) -> None:
    m = _module(header + CLASSES)
    assert m.fields(m.Point) == ("x", "y", "tags")
    assert m.fields(m.Later) == ("ref",)
    p = m.Point(1)
    assert (p.x, p.y, p.LIMIT, p.UNITS, p.SCALE, p.ALIASED, p.BARE) == (1, 0, 10, "m", 1.5, ("a",), "bare")
    assert m.Point(x=1, y=2) == m.Point(1, 2)
    with pytest.raises(TypeError, match="takes 3 positional"):
        m.Point(1, 2, None, 4)


def test_a_subclass_keeps_its_parents_fields_and_adds_no_classvar(header: str) -> None:
    m = _module(header + CLASSES + """
class Point3(Point):
    KIND: ClassVar[str] = "3d"
    z: int = 0
""")
    assert m.fields(m.Point3) == ("x", "y", "tags", "z")
    assert m.Point3(1, z=3).KIND == "3d"


def test_a_classvar_not_importable_when_the_class_is_made_is_refused() -> None:
    # Under TYPE_CHECKING the name ClassVar does not exist at run time: the detection cannot tell, so it
    # refuses rather than make the attribute a field.
    source = FUTURE + """
from typing import TYPE_CHECKING
from provider.values import Value
if TYPE_CHECKING:
    from typing import ClassVar

class Broken(Value):
    LIMIT: ClassVar[int] = 10
    x: int
"""
    with pytest.raises(TypeError, match=r"Broken\.LIMIT: .*ClassVar.* not importable"):
        _module(source)
