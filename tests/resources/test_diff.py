"""`diff`: exactly the changed inputs; `replaces` names the immutable ones (docs/resources.md, "How the
operations behave")."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.output import UNKNOWN

from provider.client import KmsClient
from provider.resources import CustomKeyProvider, KeyAliasProvider, KeyTagsProvider, ReplicaKeyProvider
from provider.resources._common import AUTONAME

ck, rk, ka, kt = CustomKeyProvider(), ReplicaKeyProvider(), KeyAliasProvider(), KeyTagsProvider()

# Every input of every resource: a new value, and whether the change replaces (True) or updates (False).
TABLE = [
    (ck, "region", "cn-east-3", True),
    (ck, "key_spec", "RSA_2048", True),
    (ck, "key_usage", "SIGN_VERIFY", True),
    (ck, "origin", "external", True),
    (ck, "keyring_name", "payments", True),
    (ck, "key_name", "renamed", False),
    (ck, "description", "new words", False),
    (ck, "enterprise_project", "finance", False),
    (ck, "enabled", False, False),
    (ck, "pending_days", 7, False),
    (ck, "rotation_enabled", True, False),
    (ck, "tags", {"team": "b"}, False),
    (rk, "primary_key_id", "another-key-id", True),
    (rk, "primary_region", "cn-south-1", True),
    (rk, "replica_region", "cn-southwest-2", True),
    (rk, "key_name", "renamed", False),
    (rk, "description", "new words", False),
    (rk, "enabled", False, False),
    (rk, "pending_days", 8, False),
    (rk, "tags", {"team": "b"}, False),
    (ka, "alias_name", "alias/other", True),
    (ka, "target_key_id", "another-key-id", False),
    (ka, "region", "cn-east-3", True),
    (kt, "key_id", "another-key-id", True),
    (kt, "region", "cn-east-3", True),
    (kt, "tags", {"team": "b"}, False),
]


def base(provider: Any) -> dict[str, Any]:
    """Checked inputs of a typical resource, and outputs that match them (as after create)."""
    if provider is ck:
        ins = ck.check(
            {}, {AUTONAME: "app", "key_name": "app", "tags": {"team": "a"}, "rotation_interval_days": 90}
        )
    elif provider is rk:
        ins = rk.check(
            {},
            {
                "primary_key_id": "key-1",
                "replica_region": "cn-east-3",
                "key_name": "app",
                "description": "d",
                "tags": {"team": "a"},
            },
        )
    elif provider is ka:
        ins = ka.check({}, {"alias_name": "alias/app", "target_key_id": "key-1"})
    else:
        ins = kt.check({}, {"key_id": "key-1", "tags": {"team": "a"}})
    assert ins.failures == []
    return dict(ins.inputs)


@pytest.mark.parametrize(
    ("provider", "prop", "value", "replaces"),
    TABLE,
    ids=[f"{type(p).__name__[:-8]}.{prop}" for p, prop, _, _ in TABLE],
)
def test_each_input_updates_or_replaces(
    provider: Any, prop: str, value: Any, replaces: bool, emulator_dir: object
) -> None:
    olds = base(provider)
    assert provider.diff("id", olds, olds).changes is False
    news = {**olds, prop: value}
    d = provider.diff("id", olds, news)
    assert d.changes is True
    assert d.replaces == ([prop] if replaces else [])


def test_rotation_interval_updates_only_while_rotation_is_on(emulator_dir: object) -> None:
    olds = {**base(ck), "rotation_enabled": True}
    assert ck.diff("id", olds, {**olds, "rotation_interval_days": 120}).replaces == []
    assert ck.diff("id", olds, {**olds, "rotation_interval_days": 120}).changes is True
    off = {**olds, "rotation_enabled": False}
    assert ck.diff("id", off, {**off, "rotation_interval_days": 120}).changes is False


def test_several_changes_name_exactly_the_immutable_ones(emulator_dir: object) -> None:
    olds = base(ck)
    d = ck.diff(
        "id", olds, {**olds, "key_spec": "HMAC_256", "key_usage": "GENERATE_VERIFY_MAC", "description": "x"}
    )
    assert sorted(d.replaces or []) == ["key_spec", "key_usage"]


def test_tags_compare_as_unordered_maps(emulator_dir: object) -> None:
    olds = {**base(ck), "tags": {"a": "1", "b": "2"}}
    assert ck.diff("id", olds, {**olds, "tags": {"b": "2", "a": "1"}}).changes is False


def test_numbers_from_the_engine_compare_as_numbers(emulator_dir: object) -> None:
    olds = base(ck)
    assert ck.diff("id", {**olds, "pending_days": 30.0}, olds).changes is False


def test_delete_before_replace_when_a_name_must_stay_unique(emulator_dir: object) -> None:
    explicit = base(ck)
    assert ck.diff("id", explicit, {**explicit, "key_spec": "RSA_2048"}).delete_before_replace is True
    auto = ck.check({}, {AUTONAME: "app"}).inputs
    # Autonamed: the replacement gets a fresh name, so it is created before the old key goes.
    assert ck.diff("id", auto, {**auto, "key_spec": "RSA_2048"}).delete_before_replace is False
    alias = base(ka)
    assert ka.diff("id", alias, {**alias, "alias_name": "alias/b"}).delete_before_replace is True
    replica = {**base(rk), "key_name": None}
    # Same primary, same region: one replica per region per primary (Huawei Cloud
    # ReplicateKey, https://support.huaweicloud.com/intl/en-us/api-dew/ReplicateKey.html), the old one goes first.
    assert rk.diff("id", replica, {**replica, "primary_region": "cn-south-1"}).delete_before_replace is True
    # A new primary (its replacement): the new replica can stand beside the old one.
    assert rk.diff("id", replica, {**replica, "primary_key_id": UNKNOWN}).delete_before_replace is False


def test_unknown_primary_during_preview_is_a_replacement(emulator_dir: object) -> None:
    olds = base(rk)
    d = rk.diff("id", olds, {**olds, "primary_key_id": UNKNOWN})
    assert d.changes is True and d.replaces == ["primary_key_id"]


def test_undeclared_replica_name_and_description_are_no_opinion(emulator_dir: object) -> None:
    olds = {**base(rk), "key_name": "primary-name", "description": "from the primary"}
    news = {k: v for k, v in olds.items() if k not in ("key_name", "description")}
    assert rk.diff("id", olds, news).changes is False


def test_a_key_named_by_id_trn_or_alias_is_one_key(svc: KmsClient) -> None:
    key = svc.create_key("named")
    svc.create_alias("alias/named", key.key_id)
    for spelling in (key.trn, "alias/named"):
        olds = {**base(rk), "primary_key_id": key.key_id}
        assert rk.diff("id", olds, {**olds, "primary_key_id": spelling}).changes is False
        olds = {**base(ka), "target_key_id": key.key_id}
        assert ka.diff("id", olds, {**olds, "target_key_id": spelling}).changes is False
        olds = {**base(kt), "key_id": key.key_id}
        assert kt.diff("id", olds, {**olds, "key_id": spelling}).changes is False
    other = svc.create_key("other")
    olds = {**base(ka), "target_key_id": key.key_id}
    assert ka.diff("id", olds, {**olds, "target_key_id": other.key_id}).changes is True


def test_material_change_matters_only_while_the_key_waits_for_it(emulator_dir: object) -> None:
    olds = {**base(ck), "origin": "external", "key_state": "Enable"}
    news = {**olds, "key_material": "AAAA"}
    assert ck.diff("id", olds, news).changes is False
    assert ck.diff("id", {**olds, "key_state": "PendingImport"}, news).changes is True


def test_replacing_an_adopted_key_that_still_says_import_is_refused(emulator_dir: object) -> None:
    olds = base(ck)
    with pytest.raises(Exception, match="remove import_"):
        ck.diff("id", olds, {**olds, "key_spec": "RSA_2048", "__import_id": "k"})
