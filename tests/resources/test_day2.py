"""KeyAlias across key usages, and the lookups, called directly on a fresh embedded emulator."""

from __future__ import annotations

import pytest
from pulumi.output import UNKNOWN

from provider import KeyNotFound, get_alias, get_key
from provider.client import KmsClient
from provider.resources import KeyAliasProvider
from provider.resources._common import TARGET_USAGE

ka = KeyAliasProvider()


def alias_state(svc: KmsClient, target: str) -> dict[str, object]:
    created = ka.create({"alias_name": "alias/orders", "target_key_id": target, "region": svc.region})
    return dict(created.outs or {})


def test_a_new_target_of_another_usage_replaces_the_alias(svc: KmsClient) -> None:
    aes = svc.create_key("aes")
    other_aes = svc.create_key("aes-2")
    hmac = svc.create_key("hmac", key_spec="HMAC_256")
    olds = alias_state(svc, aes.key_id)
    assert olds["target_key_usage"] == "ENCRYPT_DECRYPT"

    same = ka.diff("id", olds, {**olds, "target_key_id": other_aes.key_id})
    assert same.changes and same.replaces == []  # retargeted in place

    other = ka.diff("id", olds, {**olds, "target_key_id": hmac.key_id})
    assert other.replaces == ["target_key_id"] and other.delete_before_replace

    # While a replacement is previewed the new key's id is unknown; the program tells its usage.
    previewed = ka.diff("id", olds, {**olds, "target_key_id": UNKNOWN, TARGET_USAGE: "GENERATE_VERIFY_MAC"})
    assert previewed.replaces == ["target_key_id"]
    kept = ka.diff("id", olds, {**olds, "target_key_id": UNKNOWN, TARGET_USAGE: "ENCRYPT_DECRYPT"})
    assert kept.replaces == []


def test_an_update_that_the_service_refuses_across_usages_makes_the_alias_again(svc: KmsClient) -> None:
    aes, hmac = svc.create_key("aes"), svc.create_key("hmac", key_spec="HMAC_256")
    olds = alias_state(svc, aes.key_id)
    # A target whose usage the preview could not know: the update still finishes.
    result = ka.update("id", olds, {**olds, "target_key_id": hmac.key_id})
    assert (result.outs or {})["target_key_usage"] == "GENERATE_VERIFY_MAC"
    assert svc.describe_key("alias/orders").key_id == hmac.key_id


def test_lookups_answer_and_a_missing_key_names_itself_and_its_region(svc: KmsClient) -> None:
    key = svc.create_key("shared")
    svc.create_alias("alias/shared", key.key_id)
    found = get_key(key=key.trn, region="cn-north-4")
    assert (found.key_id, found.key_state, found.multi_region_type) == (key.key_id, "Enable", "NONE")
    assert found.primary_region == "cn-north-4" and found.replica_regions == []
    assert get_alias("alias/shared", region="cn-north-4").key == found
    with pytest.raises(KeyNotFound, match="no key alias/missing in region cn-south-1"):
        get_key("alias/missing", region="cn-south-1")
    with pytest.raises(KeyNotFound, match="no alias alias/missing in region cn-north-4"):
        get_alias("alias/missing")
