"""The pluggable backend: one small interface, two implementations.

A backend carries one action of the wire API (contract section 4) to a region of the service and
answers its `Result` object, or raises the domain's typed errors. `EmbeddedBackend` calls the
emulator in process; `HttpBackend` signs and sends the same call to an endpoint. Everything above
(the resources, the envelope SDK, `kmsctl`) talks to this interface only, through `KmsClient`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Backend(Protocol):
    def call(self, region: str, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Run `action` with wire-shaped `params` in `region`; answer the wire's `Result` object."""
        ...

    def close(self) -> None: ...


__all__ = ["Backend"]
