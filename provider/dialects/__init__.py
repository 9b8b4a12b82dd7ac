"""Wire dialects (provisional copy of the interface of the brief; branch i9-volc owns this file)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..domain import model
from ..domain.errors import KmsError


@dataclass(frozen=True)
class WireRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class WireResponse:
    status: int
    body: bytes
    headers: list[tuple[str, str]]


@dataclass(frozen=True)
class HttpCall:
    method: str
    path: str
    query: list[tuple[str, str]]
    body: bytes
    headers: dict[str, str]
    repeatable: bool


Send = Callable[[str, HttpCall], tuple[int, bytes]]


class Dialect(Protocol):
    name: str

    def owns(self, req: WireRequest) -> bool: ...

    def authenticate(self, req: WireRequest, secret_for: Callable[[str], str | None]) -> str: ...

    def parse(self, req: WireRequest) -> model.Action: ...

    def shape(self, req: WireRequest, action: model.Action, result: model.Result) -> WireResponse: ...

    def shape_error(self, req: WireRequest, error: KmsError) -> WireResponse: ...

    def execute(self, region: str, action: model.Action, send: Send) -> model.Result: ...

    def sign(self, region: str, call: HttpCall, host: str, access_key: str, secret_key: str) -> dict[str, str]: ...


DIALECTS: dict[str, Dialect] = {}
