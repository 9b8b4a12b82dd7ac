"""Where a `kmsctl` command finds its backend: the environment, or with `--stack NAME` that stack's config.

A stack's config is read through the Pulumi CLI (`pulumi config --json --show-secrets --stack NAME`, run in
the project's directory), the documented way to read it whatever the state backend and secrets provider
(https://www.pulumi.com/docs/iac/cli/commands/pulumi_config/). Values that are secrets there (`kms:secretKey`)
reach the backend and nothing else: no message here ever quotes a config value.

The embedded emulator is only ever opened where its state already exists: a command that reads keys must not
leave an empty emulator behind and then list it as if it were the user's.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..config import EMULATOR_DIR, Settings, settings

# Long enough for a cold CLI on a busy machine reading a remote state backend.
PULUMI_TIMEOUT = 120.0


class StackError(Exception):
    """The backend cannot be found as asked; `str()` is one line for the user."""


def _project_dir(start: Path) -> Path | None:
    for d in (start, *start.parents):
        if (d / "Pulumi.yaml").is_file() or (d / "Pulumi.yml").is_file():
            return d
    return None


def stack_config(name: str, cwd: Path | None = None) -> tuple[dict[str, str], Path]:
    """The stack's `kms:` config (keys without the prefix) and the project's directory."""
    # Here, not at the top: `kmsctl encrypt` without --stack starts without paying for them.
    import json
    import shutil
    import subprocess

    if not name.strip():
        raise StackError("--stack: the stack name is empty")
    here = (cwd or Path.cwd()).resolve()
    project = _project_dir(here)
    if project is None:
        raise StackError(f"--stack {name}: no Pulumi.yaml in {here} or above: run kmsctl in the project's directory")
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise StackError(f"--stack {name}: the stack's config is read with the pulumi CLI, which is not on PATH; "
                         "install it, or configure kmsctl through the environment (KMS_ENDPOINT, ...)")
    try:
        done = subprocess.run([pulumi, "config", "--json", "--show-secrets", "--stack", name], cwd=project,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=PULUMI_TIMEOUT,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StackError(f"--stack {name}: `pulumi config` did not answer: {exc}") from None
    if done.returncode != 0:
        lines = [ln.strip() for ln in done.stderr.splitlines() if ln.strip()]
        why = lines[0].removeprefix("error: ") if lines else f"exit status {done.returncode}"
        raise StackError(f"--stack {name}: `pulumi config` failed in {project}: {why}")
    try:
        raw = json.loads(done.stdout or "{}")
    except ValueError:
        raise StackError(f"--stack {name}: `pulumi config --json` printed something that is not JSON") from None
    if not isinstance(raw, dict):
        raise StackError(f"--stack {name}: `pulumi config --json` printed no object of settings")
    config: dict[str, str] = {}
    for key, entry in raw.items():
        if not (isinstance(key, str) and key.startswith("kms:") and isinstance(entry, dict)):
            continue
        value = entry.get("value")
        if isinstance(value, bool):
            value = "true" if value else "false"
        if isinstance(value, str | int | float):
            config[key.split(":", 1)[1]] = str(value)
    path = config.get("emulatorPath")
    if path and not Path(path).is_absolute():
        # The provider runs in the project's directory, so a relative path is the project's.
        config["emulatorPath"] = str(project / path)
    return config, project


def resolve(stack: str | None) -> Settings:
    """The settings of a command: the environment, or the stack's config over the environment (as the
    resources resolve them)."""
    if not stack:
        return settings()
    config, project = stack_config(stack)
    return settings(dict(config), cwd=project)


def missing_state(s: Settings, stack: str | None) -> str | None:
    """Why the embedded emulator of `s` cannot be read (its state does not exist), else None."""
    if not s.embedded:
        return None  # an endpoint holds its own state; the emulator's package is no part of that start-up
    from ..emulator.store import DB_FILE

    if (s.emulator_path / DB_FILE).is_file():
        return None
    if stack:
        source = f"stack {stack} sets no kms:endpoint: its kms:emulatorPath, else the project's {EMULATOR_DIR}"
    elif os.environ.get("KMS_EMULATOR_PATH"):
        source = "KMS_EMULATOR_PATH"
    else:
        source = f"no KMS_ENDPOINT, so the embedded emulator's {EMULATOR_DIR} beside the nearest Pulumi.yaml"
    return (f"no emulator state at {s.emulator_path} ({source}): nothing to read there, and kmsctl creates no "
            "emulator to read. Point it at your keys: KMS_EMULATOR_PATH=DIR for an emulator's state, "
            "KMS_ENDPOINT=URL for a server, or --stack NAME for a stack's own config")
