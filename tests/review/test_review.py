"""`kmsctl review` on previews printed by the real engine (`pulumi preview --json`) of the repository's root stack.

What a reviewer must be able to answer from the review alone: which keys stop working at `pulumi up`, which
data becomes unreadable and when for good, and how to undo it. Huawei Cloud DEW, Creating a Custom Key: a pending key
refuses crypto (`InvalidKeyStatus`); cancelling within the window brings it back. The resources destroy a key with their
`pending_days` (provider/resources/_retire.py: retire_key), so the date of final loss is up + pending_days.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import pytest

from provider.backend.embedded import EmbeddedBackend
from provider.client import KmsClient
from provider.domain.errors import InvalidKeyStatus
from provider.review.page import COLOURS

from .browser import Elements, count_colour, dump_dom, screenshot
from .conftest import REPO_ROOT, Sample

pytestmark = pytest.mark.engine
DAY = 86400
CK, RK = "pulumi-python:dynamic/kms:CustomKey", "pulumi-python:dynamic/kms:ReplicaKey"
SCREENSHOTS = REPO_ROOT / ".review" / "screenshots"


def stack_keys(sample: Sample) -> dict[str, dict[str, str]]:
    """The stack's keys as the engine's state has them: name -> id, region, primary (for replicas)."""
    keys: dict[str, dict[str, str]] = {}
    for r in sample.stack.state_resources():
        if r["type"] in (CK, RK):
            out = r["outputs"]
            keys[r["urn"].rsplit("::", 1)[-1]] = {"id": r["id"], "region": out["region"],
                                                   "primary_id": out.get("primary_key_id") or ""}
    return keys


def dates(moment: float) -> set[str]:
    """The review's minute-resolution date for `moment`, allowing the minute to turn while the test runs."""
    return {dt.datetime.fromtimestamp(moment + d, dt.UTC).strftime("%Y-%m-%d %H:%M UTC") for d in (-60, 0, 60)}


def table_row(markdown: str, key_id: str) -> str:
    rows = [line for line in markdown.splitlines() if line.startswith("|") and f"`{key_id}`" in line
            and "cancel-deletion" in line]
    assert len(rows) == 1, f"one consequences row for {key_id}: {rows}"
    return rows[0]


def review(sample: Sample, preview: str, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "preview.json"
    path.write_text(preview)
    done = sample.kmsctl("review", str(path), *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_no_change(sample: Sample, tmp_path: Path) -> None:
    sample.stack.up()
    md = review(sample, sample.preview("--show-sames"), tmp_path, "--html", str(tmp_path / "r.html"))
    assert md.startswith("## KMS review: no change to any key")
    assert "Nothing stops working" in md and "cancel-deletion" not in md
    assert "0 replaced" in md and "5 unchanged" in md
    page = Elements((tmp_path / "r.html").read_text())
    assert {k["data-key"]: k["data-op"] for k in page.by_class["key"]} == dict.fromkeys(stack_keys(sample), "same")
    # Without --show-sames the engine lists no unchanged resource: the review says so instead of drawing nothing.
    bare = review(sample, sample.preview(), tmp_path)
    assert "no change to any key" in bare and "--show-sames" in bare


def test_in_place_update_disables_a_key_and_shortens_its_window(sample: Sample, tmp_path: Path) -> None:
    sample.stack.up()
    sample.change(orders_description="order records, v2", orders_enabled="false", orders_pending_days="7")
    md = review(sample, sample.preview("--show-sames"), tmp_path)
    orders = stack_keys(sample)["orders"]
    assert md.startswith("## KMS review: 1 key stops working at `pulumi up`")
    assert "cancel-deletion" not in md  # nothing is deleted
    assert f"**orders (cn-north-4, {orders['id']}) is disabled**: stops encrypting and decrypting at `pulumi up`: " \
        "ciphertexts made under it cannot be decrypted in cn-north-4 until it is enabled again; its replicas in " \
        "cn-east-3, cn-south-1 still decrypt them" in md
    assert "pending window shortened 30 → 7 days" in md
    assert (
        f"- **updated** `orders` (CustomKey, `{orders['id']}`): `description` Envelope key of order records → "
        "order records, v2, `enabled` true → false, `pending_days` 30 → 7"
    ) in md
    # Consequences come before the changes.
    assert md.index("is disabled") < md.index("### Changes by region")
    # What the review said is what `up` does.
    sample.stack.up()
    kms = KmsClient(EmbeddedBackend(sample.emulator), "cn-north-4")
    assert kms.describe_key(orders["id"]).state == "Disable"


def test_key_spec_replacement_names_every_doomed_key_and_its_undo(sample: Sample, tmp_path: Path) -> None:
    sample.stack.up()
    before = stack_keys(sample)
    kms = KmsClient(EmbeddedBackend(sample.emulator), "cn-north-4")
    sealed = kms.encrypt(before["orders"]["id"], b"order 1", context={"app": "orders"})

    sample.change(orders_key_spec="RSA_2048")
    reviewed_at = time.time()
    page = tmp_path / "review.html"
    md = review(sample, sample.preview("--show-sames"), tmp_path, "--html", str(page))

    assert md.startswith("## KMS review: 3 keys stop working at `pulumi up`")
    doomed = ["orders", "orders-cn-east-3", "orders-cn-south-1"]
    for name in doomed:
        key = before[name]
        row = table_row(md, key["id"])
        assert f"| {key['region']} |" in row and "at `pulumi up`" in row and "| 30 days |" in row
        assert any(f"**{d}**" in row for d in dates(reviewed_at + 30 * DAY)), row
        assert f"`kmsctl keys cancel-deletion {key['region']}:{key['id']}`" in row
    for name in ("payments", "payments-me-east-1"):
        assert f"cancel-deletion {before[name]['region']}:{before[name]['id']}" not in md
    assert "every ciphertext made under **orders** or its replicas (key material held in cn-north-4, cn-east-3, " \
           "cn-south-1): unreadable from `pulumi up`" in md
    assert "`key_spec` forces it (`key_spec` AES_256 → RSA_2048)" in md
    assert "- `orders-cn-east-3` (cn-east-3): replaced with its primary `orders` (cn-north-4)" in md
    for name, region in (("orders", "cn-north-4"), ("orders-cn-east-3", "cn-east-3"),
                         ("orders-cn-south-1", "cn-south-1")):
        assert (f"| `alias/orders` | {region} | {name} `{before[name]['id']}` (leaves service) | replacement of "
                f"{name} (id known after up) |") in md
    assert md.index("### Consequences") < md.index("### Changes by region") < md.index("### Aliases that move")

    check_page_in_browser(page, sample, tmp_path)

    # `up` does what the review says: the old keys refuse crypto at once, final loss at the reviewed date.
    sample.stack.up()
    with pytest.raises(InvalidKeyStatus):
        kms.decrypt(sealed, context={"app": "orders"})
    old = kms.describe_key(before["orders"]["id"])
    assert old.state == "PendingDelete"
    assert abs((old.deletion_date or 0) - (reviewed_at + 30 * DAY)) < 300
    # Within the window (29 of 30 days later) the review's own command undoes it: the old ciphertext opens again.
    kms.advance_clock(29 * DAY)
    command = re.search(rf"`(kmsctl keys cancel-deletion cn-north-4:{before['orders']['id']})`", md)
    assert command is not None
    done = sample.kmsctl(*command.group(1).split()[1:])
    assert done.returncode == 0, done.stderr
    assert "decrypts again" in done.stdout
    assert kms.decrypt(sealed, context={"app": "orders"}) == (before["orders"]["id"], b"order 1")


def check_page_in_browser(page: Path, sample: Sample, tmp_path: Path) -> None:
    """The page as chromium renders it: every key, region and primary → replica arrow of the stack."""
    keys = stack_keys(sample)
    by_id = {k["id"]: name for name, k in keys.items()}
    dom = Elements(dump_dom(page, tmp_path))
    drawn = {k["data-key"]: (k["data-region"], k["data-op"]) for k in dom.by_class["key"]}
    assert drawn == {
        name: (k["region"], "replace" if name.startswith("orders") else "same") for name, k in keys.items()
    }
    assert {r["data-region"] for r in dom.by_class["region"]} == {k["region"] for k in keys.values()}
    arrows = {(a["data-from"], a["data-to"]) for a in dom.by_class["arrow"]}
    assert arrows == {(by_id[k["primary_id"]], name) for name, k in keys.items() if k["primary_id"]}
    labels = {(a["data-alias"], a["data-region"], a["data-op"]) for a in dom.by_class["alias"]}
    assert labels == {("alias/orders", r, "update") for r in ("cn-north-4", "cn-east-3", "cn-south-1")} | {
        ("alias/payments", r, "same") for r in ("ap-southeast-3", "me-east-1")
    }
    assert {row["data-key"] for row in dom.by_class["leaving"]} == {"orders", "orders-cn-east-3", "orders-cn-south-1"}
    shot = screenshot(page, SCREENSHOTS / "key-spec-change.png", tmp_path)
    print(f"screenshot of the review page: {shot}")
    # Painted, not just present: the replaced keys' colour and the unchanged keys' colour are on screen.
    assert count_colour(shot, COLOURS["replace"][0]) > 500
    assert count_colour(shot, COLOURS["same"][0]) > 200


def test_destroy_lists_every_key_with_its_date(sample: Sample, tmp_path: Path) -> None:
    sample.stack.up()
    keys = stack_keys(sample)
    # A replica made outside the stack (Huawei Cloud DEW, Creating a Replica Key allows cn-southwest-2 for cn-north-4):
    # only the live key shows it.
    kms = KmsClient(EmbeddedBackend(sample.emulator), "cn-north-4")
    stray = kms.replicate_key(keys["orders"]["id"], "cn-southwest-2")
    reviewed_at = time.time()
    md = review(sample, sample.pulumi("destroy", "--preview-only", "--json"), tmp_path)
    assert (f"**replica {stray.key_id} in cn-southwest-2 loses its primary orders (cn-north-4)**: the primary is "
            "scheduled for deletion only after its replicas (Huawei Cloud DEW, Creating a Custom Key): "
            "`pulumi destroy` fails on orders") in md
    assert "ciphertexts of **orders**'s key material stay readable in cn-southwest-2" in md
    kms.in_region("cn-southwest-2").schedule_key_deletion(stray.key_id, 7)  # so that the stack can go
    assert md.startswith("## KMS review: 5 keys stop working at `pulumi destroy`")
    assert "`pulumi up`" not in md
    for key in keys.values():
        row = table_row(md, key["id"])
        assert "destroyed" in row and f"`kmsctl keys cancel-deletion {key['region']}:{key['id']}`" in row
        assert any(d in row for d in dates(reviewed_at + 30 * DAY)), row
    assert "every ciphertext made under **payments**" in md
    assert "| `alias/payments` | me-east-1 | payments-me-east-1" in md and "(leaves service) | — |" in md
