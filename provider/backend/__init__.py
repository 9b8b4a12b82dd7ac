"""The pluggable backend: one small interface, two implementations.

A backend carries one typed action of the domain (provider/domain/model.py) to a region of the
service and answers its typed result, or raises the domain's typed errors. `EmbeddedBackend` calls
the emulator in process; `HttpBackend` encodes the action in a cloud's dialect, signs and sends it,
and decodes the answer into the same result. Everything above (the resources, the envelope SDK,
`kmsctl`) talks to this interface only, through `KmsClient`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..domain import model


@runtime_checkable
class Backend(Protocol):
    def execute(self, region: str, action: model.Action) -> model.Result:
        """Run `action` in `region`; answer its typed result."""
        ...

    def close(self) -> None: ...


__all__ = ["Backend"]
