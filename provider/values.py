"""Immutable value classes, like frozen slotted dataclasses but without generating code per class.

`dataclasses` execs an __init__, __eq__, __hash__ and __repr__ for each class it decorates (and
importing it pulls `inspect`): with the ~60 value classes on the way of `kmsctl encrypt` and of every
provider host that was most of their start. Here one shared implementation reads each
class's fields from its annotations once, when the class is made. mypy sees them as dataclasses
(`dataclass_transform`): constructor keywords, field types and immutability are checked the same.

    class Point(Value):                  # positional or keyword construction
        x: int
        y: int = 0
    class Secretish(Value, kw_only=True):
        name: str
        blob: bytes = field(repr=False)  # left out of repr (key material, data keys)
        tags: dict[str, str] = field(default_factory=dict)

A class may define `__post_init__(self)` to check its values after construction. An annotation
`ClassVar[...]` (typing's, under any name it is imported as) declares a class attribute, not a field,
as in dataclasses; one that cannot be told apart (its name not importable when the class is made, as
under `if TYPE_CHECKING:`) is a TypeError rather than a silent field.
"""

from __future__ import annotations

import re
import sys
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, dataclass_transform

_V = TypeVar("_V", bound="Value")
_NO_DEFAULT: Any = object()


class _Field:
    __slots__ = ("default", "make", "repr")

    def __init__(self, default: Any, make: Callable[[], Any] | None, repr: bool) -> None:
        self.default, self.make, self.repr = default, make, repr


def field(*, default: Any = _NO_DEFAULT, default_factory: Callable[[], Any] | None = None,
          repr: bool = True) -> Any:
    """A field's default (or a factory making one afresh for each object), and whether repr shows it."""
    return _Field(default, default_factory, repr)


# The head of an annotation written as a string (`from __future__ import annotations`, or quoted):
# `ClassVar[int]` -> `ClassVar`, `typing.ClassVar` -> `typing.ClassVar`.
_HEAD = re.compile(r"\s*([A-Za-z_][\w.]*)\s*(?:\[|$)")


def _is_class_var(cls_name: str, name: str, annotation: Any, module: Mapping[str, Any]) -> bool:
    """Whether an annotation declares a class attribute (`typing.ClassVar`) rather than a field.

    An annotation object is asked directly. A string is resolved by its head alone, in the defining
    module's names as they are when the class is made: a field's type may be a forward reference that
    does not resolve yet, but a ClassVar's head always names typing's (or a module holding it)."""
    if not isinstance(annotation, str):
        return annotation is typing.ClassVar or typing.get_origin(annotation) is typing.ClassVar
    match = _HEAD.match(annotation)
    if match is None:
        return False  # `int | None`, `"Key"`: not a ClassVar, which is never part of a union
    head = match.group(1)
    first, *rest = head.split(".")
    found: Any = module.get(first, _NO_DEFAULT)  # builtins are not looked in: none of them is ClassVar
    for part in rest:
        if found is _NO_DEFAULT:
            break
        found = getattr(found, part, _NO_DEFAULT)
    if found is _NO_DEFAULT:
        if head.rsplit(".", 1)[-1] == "ClassVar":
            raise TypeError(
                f"{cls_name}.{name}: annotation {annotation!r} names a ClassVar that is not importable when the class "
                "is made (imported under `if TYPE_CHECKING:`?): import typing.ClassVar at run time"
            )
        return False  # a forward reference to a type defined later
    return found is typing.ClassVar


def _annotations(cls_name: str, ns: dict[str, Any]) -> dict[str, Any]:
    found = ns.get("__annotations__")
    if found is None and any(k.startswith("__annotate") for k in ns):
        # Python 3.14 evaluates a class's annotations lazily (PEP 649), after the class is made: too late for
        # the slots. `from __future__ import annotations` keeps them in the class body, as strings.
        raise TypeError(f"{cls_name}: a value class's module needs `from __future__ import annotations`")
    return found or {}


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
class _ValueType(type):
    """Gives each class `__slots__` and its fields' names, defaults and repr (parents' first)."""

    _fields: tuple[str, ...]
    _defaults: dict[str, Any]  # a plain default, or a _Field whose factory makes one
    _plain: dict[str, Any]  # the plain defaults alone
    _made: tuple[str, ...]  # the fields whose default a factory makes
    _shown: tuple[str, ...]
    _kw_only: bool
    _post_init: bool  # the class checks its values after construction

    def __new__(mcs, name: str, bases: tuple[type, ...], ns: dict[str, Any], kw_only: bool = False
                ) -> _ValueType:
        module = getattr(sys.modules.get(ns.get("__module__", "")), "__dict__", {})
        own = tuple(n for n, t in _annotations(name, ns).items() if not _is_class_var(name, n, t, module))
        defaults: dict[str, Any] = {}
        hidden = set()
        for n in own:
            if n not in ns:
                continue
            d = ns.pop(n)
            if isinstance(d, _Field):
                if not d.repr:
                    hidden.add(n)
                d = d if d.make is not None else d.default
            if d is not _NO_DEFAULT:
                defaults[n] = d
        ns["__slots__"] = own
        cls = super().__new__(mcs, name, bases, ns)
        parent = next((b for b in bases if isinstance(b, _ValueType)), None)
        cls._fields = (parent._fields if parent else ()) + own
        cls._defaults = {**(parent._defaults if parent else {}), **defaults}
        cls._plain = {n: d for n, d in cls._defaults.items() if not isinstance(d, _Field)}
        cls._made = tuple(n for n, d in cls._defaults.items() if isinstance(d, _Field))
        cls._shown = (parent._shown if parent else ()) + tuple(n for n in own if n not in hidden)
        cls._kw_only = kw_only
        cls._post_init = hasattr(cls, "__post_init__")
        return cls


class Value(metaclass=_ValueType):
    """Keyword (or, unless kw_only, positional) construction; immutable; equal and hashed by value."""

    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls = type(self)
        names = cls._fields
        set_ = object.__setattr__
        if not args and len(kwargs) != len(names) and cls._defaults:
            # Keywords with defaults left out (a described key's protection level): the defaults merged in
            # at C speed, then the hot path below. An unknown keyword fails there and is reported below.
            given = kwargs
            kwargs = {**cls._plain, **given}
            for n in cls._made:
                if n not in kwargs:
                    kwargs[n] = cls._defaults[n].make()
            if len(kwargs) != len(names):
                kwargs = given
        if not args and len(kwargs) == len(names):
            # Every field given by keyword (rows read from the state, results): the hot path of a request.
            try:
                for n in names:
                    set_(self, n, kwargs[n])
            except KeyError:
                pass  # an unknown keyword in place of a field: reported below
            else:
                if cls._post_init:
                    self.__post_init__()  # type: ignore[attr-defined]
                return
        if args:
            if cls._kw_only or len(args) > len(names):
                raise TypeError(f"{cls.__name__}() takes {0 if cls._kw_only else len(names)} positional "
                                f"arguments but {len(args)} were given")
            for n, v in zip(names, args, strict=False):
                if n in kwargs:
                    raise TypeError(f"{cls.__name__}() got multiple values for argument {n!r}")
                kwargs[n] = v
        for n in names:
            v = kwargs.pop(n, _NO_DEFAULT)
            if v is _NO_DEFAULT:
                v = cls._defaults.get(n, _NO_DEFAULT)
                if v is _NO_DEFAULT:
                    raise TypeError(f"{cls.__name__}() missing required argument {n!r}")
                if type(v) is _Field:
                    v = v.make()  # type: ignore[misc]
            set_(self, n, v)
        if kwargs:
            raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {next(iter(kwargs))!r}")
        if cls._post_init:
            self.__post_init__()  # type: ignore[attr-defined]

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in type(self)._fields)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: {type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: {type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in type(self)._shown)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild, (type(self), self._values())


def _rebuild(cls: type[_V], values: tuple[Any, ...]) -> _V:
    obj = object.__new__(cls)
    for n, v in zip(type.__getattribute__(cls, "_fields"), values, strict=True):
        object.__setattr__(obj, n, v)
    return obj


def fields(value: Value | type[Value]) -> tuple[str, ...]:
    """The names of a value's fields, in order."""
    return (value if isinstance(value, type) else type(value))._fields


def replace(value: _V, /, **changes: Any) -> _V:
    """A copy of `value` with some fields changed (as `dataclasses.replace`)."""
    return type(value)(**{**{n: getattr(value, n) for n in type(value)._fields}, **changes})


def as_dict(value: Value) -> dict[str, Any]:
    """The value as a dict of its fields, nested values (in tuples and mappings too) as dicts."""
    return {n: _plain(getattr(value, n)) for n in type(value)._fields}


def _plain(value: Any) -> Any:
    if isinstance(value, Value):
        return as_dict(value)
    if isinstance(value, tuple | list):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
