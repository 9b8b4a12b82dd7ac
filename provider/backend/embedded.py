"""The default backend: the emulator in process, no server and no account."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ..domain import model, rules
from ..emulator import Emulator

# One emulator per state directory per process: the engine calls a provider many times in one
# process, and each call building its own would re-open the database and lose the material cache.
_open: dict[tuple[Path, int], Emulator] = {}
_lock = threading.Lock()


def emulator_at(path: str | os.PathLike[str], catalog: rules.RegionCatalog | None = None) -> Emulator:
    """The emulator of `path` in this process; `catalog` (the stack's region catalog) applies when it opens."""
    where = Path(path).resolve()
    with _lock:
        emu = _open.get((where, os.getpid()))
        if emu is None:
            emu = Emulator(where, catalog=catalog)
            _open[(where, os.getpid())] = emu
        return emu


class EmbeddedBackend:
    def __init__(self, path: str | os.PathLike[str], catalog: rules.RegionCatalog | None = None) -> None:
        self.path = Path(path)
        self.emulator = emulator_at(self.path, catalog)

    def execute(self, region: str, action: model.Action) -> model.Result:
        return self.emulator.execute(region, action)

    def close(self) -> None:
        """The emulator is shared by every backend of this process on the same path: left open."""
