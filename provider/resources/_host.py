"""Which dynamic-provider host the running engine starts: ours answers the engine's import, a stock one does not.

Under the CLI our language host tells the program (KMS_ENGINE_IMPORTS, set for the program's process). An
inline Automation API program has no language host of ours: the program runs inside the process that drives
the engine, and that engine (the `pulumi` CLI the Automation API starts) is a child of this process. So the
program looks at its engine children the way the engine itself looks for the Python dynamic-provider plugin:
`pulumi-resource-pulumi-python` on the engine's PATH first, else next to the engine's executable (Pulumi's
plugin lookup: https://www.pulumi.com/docs/iac/concepts/plugins/). Ours is the shim that
scripts/setup-engine.sh writes: it names `kms_provider_host`.

Linux only (it reads /proc); elsewhere no engine child is found and `import_` stays an adoption by create,
which is correct with any host.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

PROVIDER_SHIM = "pulumi-resource-pulumi-python"
PROVIDER_HOST_MARKER = "kms_provider_host"  # in the shim scripts/setup-engine.sh writes
_MARKER_BYTES = PROVIDER_HOST_MARKER.encode()


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def _children(pid: int) -> Iterator[int]:
    """The direct children of `pid` (any of its threads may have started them)."""
    tasks = f"/proc/{pid}/task"
    try:
        tids = os.listdir(tasks)
    except OSError:
        return
    seen = False
    for tid in tids:
        text = _read(f"{tasks}/{tid}/children")
        if text:
            seen = True
        for child in text.split():
            yield int(child)
    if seen:
        return
    # Kernels without /proc/PID/task/TID/children: every process's parent, from its stat line.
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _read(f"/proc/{entry}/stat")
            fields = stat.rpartition(b")")[2].split()
            if len(fields) > 1 and fields[1] == str(pid).encode():
                yield int(entry)


def _shim_of(pid: int, exe: str) -> str | None:
    """The provider plugin the engine process `pid` starts: first on its PATH, else next to its executable."""
    environ = dict(v.split(b"=", 1) for v in _read(f"/proc/{pid}/environ").split(b"\0") if b"=" in v)
    path = environ.get(b"PATH", b"").decode(errors="replace")
    if environ.get(b"PULUMI_IGNORE_AMBIENT_PLUGINS", b"").lower() in (b"1", b"true"):
        path = ""  # the engine then takes only the plugin next to itself
    for directory in [*path.split(os.pathsep), os.path.dirname(exe)]:
        candidate = os.path.join(directory, PROVIDER_SHIM)
        if directory and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def engine_children_import() -> bool:
    """True when this process drives engines (`pulumi` children) and every one of them starts our
    dynamic-provider host; False otherwise (no engine child, a stock host, not Linux)."""
    verdicts = []
    for child in _children(os.getpid()):
        try:
            exe = os.readlink(f"/proc/{child}/exe")
        except OSError:
            continue
        if os.path.basename(exe).removesuffix(" (deleted)") != "pulumi":
            continue
        shim = _shim_of(child, exe)
        verdicts.append(shim is not None and _MARKER_BYTES in _read(shim))
    return bool(verdicts) and all(verdicts)
