"""A change to the root stack, previewed and reviewed: the `key_spec` of `orders` goes AES_256 → RSA_2048.

`prepare(dst)` lays down a copy of the root project whose program is the root `__main__.py` as shipped, run
through a small wrapper that applies the changes named in the stack config (namespace `review`):
`orders_key_spec`, `orders_description`, `orders_enabled`, `orders_pending_days`. The tests preview it with
the real engine; `make demo` uses it to show the review of a sample change on the demo's own stack.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / ".review"

WRAPPER = '''"""The root stack (stack_program.py, copied as shipped) with the changes under review from config."""

import runpy
from pathlib import Path
from typing import Any

import pulumi

import provider

change = pulumi.Config("review")


class CustomKey(provider.CustomKey, module="kms", name="CustomKey"):  # same type token as the original
    def __init__(self, resource_name: str, **kwargs: Any) -> None:
        if resource_name == "orders":
            spec = change.get("orders_key_spec")
            if spec:
                kwargs.update(key_spec=spec, key_usage="ENCRYPT_DECRYPT")
                if spec != "AES_256":  # only AES_256 keys rotate (Huawei Cloud DEW, Creating a Custom Key)
                    kwargs.update(rotation_enabled=False, rotation_interval_days=None)
            if change.get("orders_description") is not None:
                kwargs["description"] = change.get("orders_description")
            if change.get_bool("orders_enabled") is not None:
                kwargs["enabled"] = change.get_bool("orders_enabled")
            if change.get_int("orders_pending_days") is not None:
                kwargs["pending_days"] = change.get_int("orders_pending_days")
        super().__init__(resource_name, **kwargs)


provider.CustomKey = CustomKey  # type: ignore[misc]
runpy.run_path(str(Path(__file__).with_name("stack_program.py")), run_name="__main__")
'''


def prepare(dst: Path, venv: Path | None = None) -> Path:
    """The root project with the review wrapper, in `dst` (its `.venv` links to the project's own)."""
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "Pulumi.yaml", dst / "Pulumi.yaml")
    shutil.copy(ROOT / "__main__.py", dst / "stack_program.py")
    (dst / "__main__.py").write_text(WRAPPER)
    link = dst / ".venv"
    if not link.exists():
        link.symlink_to(venv or Path(sys.prefix))
    return dst


def review_demo_stack(state: Path, passphrase: str) -> list[Path]:
    """Preview the sample change on the demo's stack `dev` (nothing is applied) and review it."""
    project = prepare(OUT / "project", ROOT / ".venv")
    for settings in ROOT.glob("Pulumi.dev.yaml"):  # the stack's secrets salt
        shutil.copy(settings, project / settings.name)
    env = {
        **os.environ,
        "PULUMI_BACKEND_URL": state.as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": passphrase,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PYTHONPATH": str(ROOT),
    }

    def pulumi(*args: str) -> str:
        return subprocess.run(["pulumi", *args, "--stack", "dev"], cwd=project, env=env, check=True,
                              capture_output=True, text=True).stdout

    pulumi("config", "set", "kms:emulatorPath", str(ROOT / ".kms-emulator"))
    pulumi("config", "set", "review:orders_key_spec", "RSA_2048")
    preview = OUT / "preview.json"
    preview.write_text(pulumi("preview", "--json", "--show-sames"))
    md, page = OUT / "review.md", OUT / "review.html"
    # --stack: live keys from the stack's own backend (never from the preview); --force: a rerun replaces them.
    subprocess.run([str(Path(sys.executable).with_name("kmsctl")), "review", str(preview), "--markdown", str(md),
                    "--html", str(page), "--stack", "dev", "--force"], check=True, cwd=project, env=env)
    return [md, page]
