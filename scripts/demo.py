"""`make demo`: apply the root stack on the embedded emulator, print its outputs, and decrypt in one region
a ciphertext made in another with the stack's own keys.

Runs the real engine through the Automation API: a LocalWorkspace on the repository root, a local
`file://` state backend in `.pulumi-state/`, passphrase secrets, stack `dev`. The Makefile puts the engine
on PATH first (`eval "$(bash scripts/setup-engine.sh --print-env)"`).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from pulumi import automation as auto

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / ".pulumi-state"
PASSPHRASE = os.environ.get("PULUMI_CONFIG_PASSPHRASE", "kms-keys-as-code-local")


def stack() -> auto.Stack:
    STATE.mkdir(exist_ok=True)
    env = {
        "PULUMI_BACKEND_URL": STATE.as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    }
    opts = auto.LocalWorkspaceOptions(work_dir=str(ROOT), env_vars=env, secrets_provider="passphrase")
    return auto.create_or_select_stack(stack_name="dev", work_dir=str(ROOT), opts=opts)


def cross_region_decrypt(keys: dict[str, Any]) -> None:
    """Encrypt under each primary; decrypt in every replica region with that region's replica key."""
    from provider import config as kms_config

    client = kms_config.connect()  # the same backend the stack used: the embedded emulator in .kms-emulator/
    for name, key in keys.items():
        message = f"{name}: a record sealed in {key['region']}".encode()
        blob = client.in_region(key["region"]).encrypt(key["key_id"], message, context={"app": name})
        for region, replica_id in key["replicas"].items():
            opened_by, plaintext = client.in_region(region).decrypt(
                blob, context={"app": name}, key_id=replica_id
            )
            assert plaintext == message and opened_by == replica_id
            print(
                f"  {name}: encrypted in {key['region']} under {key['key_id']}, "
                f"decrypted in {region} by replica {replica_id}: {plaintext.decode()!r}"
            )


def main() -> int:
    s = stack()
    print(f"pulumi up --yes (stack {s.name}, state {STATE.relative_to(ROOT)}/)", flush=True)
    result = s.up(on_output=print, color="never")
    print("\nStack outputs:")
    outputs = {k: v.value for k, v in result.outputs.items()}
    print(json.dumps(outputs, indent=2))
    print("\nCross-region decryption with the stack's keys:")
    cross_region_decrypt(outputs["keys"])
    show_review()
    return 0


def show_review() -> None:
    """Preview a sample change on this stack (not applied) and say where its review can be read."""
    sys.path.insert(0, str(Path(__file__).parent))
    from review_sample import review_demo_stack

    print("\nReview of a sample change (orders: key_spec AES_256 → RSA_2048; previewed, not applied):")
    md, page = review_demo_stack(STATE, PASSPHRASE)
    print(f"  {md.read_text().splitlines()[0].lstrip('# ')}")
    print(f"  Markdown for the pull request: {md.relative_to(ROOT)}")
    print(f"  the page with the key topology: {page.as_uri()}")


if __name__ == "__main__":
    sys.exit(main())
