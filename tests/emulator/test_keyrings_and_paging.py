"""Keyrings as objects (Volcengine KMS API reference, ReplicateKey) and DescribeKeys pages. The conformance half runs on
every backend of tests/conftest.py; the state migration and tag filters are the embedded emulator's own."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from provider.client import KmsClient
from provider.domain import model
from provider.domain.errors import Conflict, InvalidOperation, InvalidParameter, NotFound
from provider.emulator import Emulator

DAY = 86400


# --- keyrings ------------------------------------------------------------------------------------------
def test_default_keyring_exists_in_every_region(kms: KmsClient) -> None:
    # Keyrings are objects, and the keyring `default` always exists (docs/emulator.md, keyrings).
    for region in ("cn-north-4", "me-east-1"):
        (ring,) = kms.in_region(region).list_keyrings()
        assert ring.name == "default" and ring.key_count == 0
        assert ring.trn.endswith(":keyrings/default") and f":{region}:" in ring.trn
    kms.create_key("in-default")
    assert [(r.name, r.key_count) for r in kms.list_keyrings()] == [("default", 1)]


def test_key_goes_into_a_created_keyring(kms: KmsClient) -> None:
    ring = kms.create_keyring("payments", description="team payments")
    assert (ring.name, ring.description, ring.key_count) == ("payments", "team payments", 0)
    key = kms.create_key("ledger", keyring_name="payments")
    assert key.keyring == "payments" and key.trn.endswith(":keyrings/payments/keys/ledger")
    # Volcengine KMS API reference, ReplicateKey: a key is named by KeyID, or by KeyringName + KeyName.
    assert kms.describe_key(model.KeyRef(keyring="payments", name="ledger")).key_id == key.key_id
    counts = {r.name: r.key_count for r in kms.list_keyrings()}
    assert counts == {"default": 0, "payments": 1}
    # The same key name may stand in another keyring.
    assert kms.create_key("ledger").keyring == "default"


def test_create_key_into_a_missing_keyring_is_not_found(kms: KmsClient) -> None:
    with pytest.raises(NotFound, match=r"keyring \[nowhere\]"):
        kms.create_key("lost", keyring_name="nowhere")
    assert kms.list_keys() == []


@pytest.mark.parametrize(
    "name",
    [
        "x",  # Volcengine KMS API reference, ReplicateKey: "长度为 2 - 31 个字符" (2-31 characters)
        "k" * 32,
        "has space",  # "合法字符:[a-zA-Z0-9-_]"
        "dots.not.allowed",
        "slash/no",
    ],
)
def test_keyring_name_rule(kms: KmsClient, name: str) -> None:
    with pytest.raises(InvalidParameter, match="2-31 characters of letters, digits, - and _"):
        kms.create_keyring(name)


def test_keyring_name_bounds_accepted(kms: KmsClient) -> None:
    for name in ("ab", "A-b_9" + "z" * 26):
        assert kms.create_keyring(name).name == name
    assert len(kms.list_keyrings()) == 3


def test_keyring_names_are_unique(kms: KmsClient) -> None:
    kms.create_keyring("team")
    with pytest.raises(Conflict):
        kms.create_keyring("team")
    with pytest.raises(Conflict):
        kms.create_keyring("default")


def test_update_keyring_description(kms: KmsClient) -> None:
    kms.create_keyring("ops")
    assert kms.update_keyring("ops", description="on call").description == "on call"
    assert [r.description for r in kms.list_keyrings() if r.name == "ops"] == ["on call"]
    with pytest.raises(NotFound):
        kms.update_keyring("nope", description="x")


def test_keyring_holding_keys_cannot_be_deleted(kms: KmsClient) -> None:
    kms.create_keyring("short")
    key = kms.create_key("k", keyring_name="short")
    with pytest.raises(InvalidOperation, match="still holds 1 key"):
        kms.delete_keyring("short")
    # A key pending deletion still lives in its keyring; once its deletion came due the ring is empty.
    kms.schedule_key_deletion(key.key_id, 7)
    with pytest.raises(InvalidOperation, match="still holds 1 key"):
        kms.delete_keyring("short")
    kms.advance_clock(7 * DAY + 60)
    kms.delete_keyring("short")
    assert [r.name for r in kms.list_keyrings()] == ["default"]
    with pytest.raises(NotFound):
        kms.delete_keyring("short")
    with pytest.raises(NotFound):
        kms.create_key("again", keyring_name="short")


def test_default_keyring_cannot_be_deleted(kms: KmsClient) -> None:
    with pytest.raises(InvalidOperation, match="default always exists"):
        kms.delete_keyring("default")


def test_replica_takes_its_primarys_keyring_to_the_replica_region(kms: KmsClient) -> None:
    kms.create_keyring("global")
    primary = kms.create_key("mrk", keyring_name="global")
    replica = kms.replicate_key(primary.key_id, "cn-east-3")
    assert replica.keyring == "global" and replica.trn.endswith(":keyrings/global/keys/mrk")
    east = {r.name: r.key_count for r in kms.in_region("cn-east-3").list_keyrings()}
    assert east == {"default": 0, "global": 1}


# --- DescribeKeys pages --------------------------------------------------------------------------------
def test_describe_keys_pages_with_a_total(kms: KmsClient) -> None:
    names = [f"key-{i:02d}" for i in range(7)]
    for name in reversed(names):
        kms.create_key(name)
    pages = [kms.describe_keys(offset=offset, limit=3) for offset in (0, 3, 6)]
    assert [p.total for p in pages] == [7, 7, 7]
    assert [[k.name for k in p.keys] for p in pages] == [names[0:3], names[3:6], names[6:7]]
    assert kms.describe_keys(offset=9, limit=3).keys == ()
    assert [k.name for k in kms.list_keys()] == names


def test_describe_keys_by_keyring(kms: KmsClient) -> None:
    kms.create_keyring("blue")
    kms.create_key("a", keyring_name="blue")
    kms.create_key("b")
    page = kms.describe_keys(keyring_name="blue")
    assert ([k.name for k in page.keys], page.total) == (["a"], 1)
    assert [k.name for k in kms.list_keys("default")] == ["b"]


@pytest.mark.parametrize(("offset", "limit"), [(-1, 10), (0, 0), (0, 1001)])
def test_describe_keys_page_bounds(tmp_path: Path, offset: int, limit: int) -> None:
    # The emulator's own bounds: a dialect's client maps offset/limit onto its cloud's page numbers.
    kms = KmsClient(Emulator(tmp_path), "cn-north-4")
    with pytest.raises(InvalidParameter, match="page"):
        kms.describe_keys(offset=offset, limit=limit)


def test_describe_keys_tag_filters(tmp_path: Path) -> None:
    kms = KmsClient(Emulator(tmp_path), "cn-north-4")
    kms.create_key("prod-a", tags={"env": "prod", "team": "a"})
    kms.create_key("prod-b", tags={"env": "prod", "team": "b"})
    kms.create_key("dev-a", tags={"env": "dev", "team": "a"})
    kms.create_key("bare")

    def names(tags: dict[str, tuple[str, ...]]) -> list[str]:
        page = kms.describe_keys(tags=tags)
        assert page.total == len(page.keys)
        return [k.name for k in page.keys]

    assert names({"env": ("prod",)}) == ["prod-a", "prod-b"]
    assert names({"env": ("prod", "dev"), "team": ("a",)}) == ["dev-a", "prod-a"]
    assert names({"team": ()}) == ["dev-a", "prod-a", "prod-b"]  # any value
    assert names({"env": ("qa",)}) == []


# --- state written before keyrings were objects -----------------------------------------------------------
def test_state_without_a_keyrings_table_still_opens(tmp_path: Path) -> None:
    kms = KmsClient(Emulator(tmp_path), "cn-north-4")
    kms.create_keyring("legacy")
    key = kms.create_key("old", keyring_name="legacy")
    blob = kms.encrypt(key.key_id, b"kept")
    kms.backend.close()
    with sqlite3.connect(tmp_path / "kms.sqlite3") as db:
        # Layout 2 had no keyrings table (tests/emulator/test_state_migrations.py builds each real one).
        db.execute("DROP TABLE keyrings")
        db.execute("ALTER TABLE keys DROP COLUMN multi_region")
        db.execute("PRAGMA user_version=2")
    again = KmsClient(Emulator(tmp_path), "cn-north-4")
    # Every keyring the stored keys name becomes a keyring object.
    assert {r.name: r.key_count for r in again.list_keyrings()} == {"default": 0, "legacy": 1}
    assert again.decrypt(blob) == (key.key_id, b"kept")
    assert again.create_key("new", keyring_name="legacy").keyring == "legacy"
