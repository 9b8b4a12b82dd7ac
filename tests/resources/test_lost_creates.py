"""Creates the engine lost (a killed `up`): the next create of the same resource takes over what the lost one
made, and never what belongs to another stack or resource. The providers are called as this project's provider
host calls them (Check carries the URN and the engine's random seed), on the embedded emulator and over the wire
in Huawei Cloud's dialect (whose answers name no replicas and whose describe-key takes ids only)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi.dynamic import Config, ConfigureRequest

from provider.client import OWNER_TAG, KmsClient, tags_of
from provider.emulator import Emulator
from provider.resources import CustomKeyProvider, KeyAliasProvider, KeyTagsProvider, ReplicaKeyProvider
from provider.resources import _common as common
from provider.resources._common import AUTONAME, CHECK_SEED, CHECK_URN, OWNER, ProviderError
from provider.server.app import KmsApp
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, ThreadServer

ck, rk, ka, kt = CustomKeyProvider(), ReplicaKeyProvider(), KeyAliasProvider(), KeyTagsProvider()
URN = "urn:pulumi:dev::shop::pulumi-python:dynamic/kms:CustomKey::orders"


def host(news: dict[str, Any], urn: str = URN, seed: bytes | None = None) -> dict[str, Any]:
    """`news` as tools/engine/kms_provider_host.py hands them to check: with the URN and a random seed."""
    return {**news, CHECK_URN: urn, CHECK_SEED: (seed or os.urandom(32)).hex()}


def checked(provider: Any, news: dict[str, Any], olds: dict[str, Any] | None = None) -> dict[str, Any]:
    result = provider.check(olds or {}, news)
    assert result.failures == [], [f.reason for f in result.failures]
    inputs: dict[str, Any] = result.inputs
    assert CHECK_URN not in inputs and CHECK_SEED not in inputs  # never kept in state
    return inputs


def test_autoname_is_stable_across_a_retry_and_new_for_each_replacement(emulator_dir: Path) -> None:
    first = checked(ck, host({AUTONAME: "orders"}))
    retry = checked(ck, host({AUTONAME: "orders"}))  # a later `up`: another random seed
    assert first["key_name"] == retry["key_name"] and first["key_name"].startswith("orders-")
    assert first[OWNER] == retry[OWNER]
    # Another stack, another resource: other names.
    assert checked(ck, host({AUTONAME: "orders"}, URN.replace(":dev::", ":prod::")))["key_name"] != first["key_name"]
    assert checked(ck, host({AUTONAME: "orders"}, URN + "2"))["key_name"] != first["key_name"]
    # A replacement (key_spec changes): checked with the old inputs, then again without them, one seed.
    seed = os.urandom(32)
    news = {AUTONAME: "orders", "key_spec": "HMAC_256"}
    assert checked(ck, host(news, seed=seed), olds=first)["key_name"] == first["key_name"]
    replacement = checked(ck, host(news, seed=seed))["key_name"]
    assert replacement != first["key_name"] and replacement.startswith("orders-")
    # ... and a retry of that replacement (a new up, a new seed) names the same new key.
    seed = os.urandom(32)
    checked(ck, host(news, seed=seed), olds=first)
    assert checked(ck, host(news, seed=seed))["key_name"] == replacement


def test_stock_host_names_stay_random_and_nothing_is_marked(emulator_dir: Path, svc: KmsClient) -> None:
    a, b = checked(ck, {AUTONAME: "orders"}), checked(ck, {AUTONAME: "orders"})
    assert a["key_name"] != b["key_name"] and OWNER not in a
    key_id = ck.create(a).id
    assert OWNER_TAG not in dict(svc.describe_key(key_id).tags)


def test_a_lost_create_is_taken_over_not_made_again(emulator_dir: Path, svc: KmsClient) -> None:
    news = host({AUTONAME: "orders", "tags": {"team": "payments"}, "description": "v1"})
    lost = ck.create(checked(ck, news))  # the engine never saw this answer
    key = svc.describe_key(lost.id)
    assert dict(key.tags)[OWNER_TAG] == checked(ck, news)[OWNER]
    assert tags_of(key) == {"team": "payments"}  # the mark is not one of the program's tags
    again = ck.create(checked(ck, host({AUTONAME: "orders", "tags": {"team": "payments"}, "description": "v2"})))
    assert again.id == lost.id and len(svc.list_keys()) == 1
    assert again.outs is not None and again.outs["tags"] == {"team": "payments"}
    assert svc.describe_key(lost.id).description == "v2"  # made to match the program
    assert common.was_adopted(lost.id)


def test_an_explicit_name_is_taken_over_only_with_this_resources_mark(emulator_dir: Path, svc: KmsClient) -> None:
    lost = ck.create(checked(ck, host({"key_name": "payments"}))).id
    assert ck.create(checked(ck, host({"key_name": "payments"}))).id == lost
    # The same name asked for by another resource: the key is not its.
    with pytest.raises(ProviderError, match="name is taken"):
        ck.create(checked(ck, host({"key_name": "payments"}, URN + "-other")))
    # A key made by hand under that name: never taken over.
    svc.create_key("by-hand")
    with pytest.raises(ProviderError, match="name is taken"):
        ck.create(checked(ck, host({"key_name": "by-hand"})))
    assert len(svc.list_keys()) == 2


def test_a_lost_key_that_no_longer_matches_the_program_is_named(emulator_dir: Path, svc: KmsClient) -> None:
    inputs = checked(ck, host({AUTONAME: "orders"}))
    lost = ck.create(inputs).id
    with pytest.raises(ProviderError, match=r"interrupted create of this resource .*key_usage"):
        ck.create({**inputs, "key_spec": "AES_256", "key_usage": "SIGN_VERIFY"})
    assert [k.key_id for k in svc.list_keys()] == [lost]


def test_an_alias_that_names_the_stacks_key_is_taken_over(emulator_dir: Path, svc: KmsClient) -> None:
    key_id = ck.create(checked(ck, host({AUTONAME: "orders"}))).id
    other = svc.create_key("someone-else").key_id
    svc.create_alias("alias/orders", key_id)  # the lost create of the alias
    made = ka.create(checked(ka, {"alias_name": "alias/orders", "target_key_id": key_id}))
    assert made.outs is not None and made.outs["target_key_id"] == key_id
    svc.create_alias("alias/theirs", other)
    with pytest.raises(ProviderError, match="Conflict"):
        ka.create(checked(ka, {"alias_name": "alias/theirs", "target_key_id": key_id}))
    assert svc.describe_key("alias/theirs").key_id == other


def test_tags_and_a_replica_made_twice_are_one(
    emulator_dir: Path, svc: KmsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KMS_REPLICATION_DELAY", "0")
    key_id = ck.create(checked(ck, host({AUTONAME: "orders"}))).id
    tags = checked(kt, {"key_id": key_id, "tags": {"cost": "42"}})
    assert kt.create(tags).id == kt.create(tags).id
    assert tags_of(svc.describe_key(key_id)) == {"cost": "42"}
    news = host({"primary_key_id": key_id, "replica_region": "cn-east-3"}, URN.replace("CustomKey", "ReplicaKey"))
    first = rk.create(checked(rk, news)).id
    assert rk.create(checked(rk, news)).id == first
    assert len(svc.in_region("cn-east-3").list_keys()) == 1


@pytest.fixture
def huawei(tmp_path: Path, emulator_dir: Path) -> Iterator[KmsClient]:
    """The providers configured for `kmsctl serve`'s Huawei Cloud dialect (an in-thread server)."""
    with ThreadServer(KmsApp(Emulator(tmp_path / "server-state"), {ACCESS_KEY: SECRET_KEY})) as srv:
        raw = {"kms:endpoint": srv.endpoint, "kms:dialect": "huaweicloud", "kms:accessKey": ACCESS_KEY,
               "kms:secretKey": SECRET_KEY, "kms:region": "cn-north-4"}
        ck.configure(ConfigureRequest(Config(raw, "proj")))
        yield common.connect("cn-north-4")
        common.reset_config()


def test_huawei_lost_key_and_replica_are_found_by_name_and_mark(
    huawei: KmsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KMS_REPLICATION_DELAY", "0")
    inputs = checked(ck, host({AUTONAME: "orders", "tags": {"team": "payments"}}))
    lost = ck.create(inputs).id
    assert ck.create(inputs).id == lost and len(huawei.list_keys()) == 1
    # A key whose create was lost before its tags were set (Huawei tags after create-key): its autoname,
    # which embeds the owner, is enough.
    bare = checked(ck, host({AUTONAME: "ledger"}, URN + "-ledger"))
    untagged = huawei.create_key(bare["key_name"]).key_id
    assert ck.create(bare).id == untagged
    # Replicas: Huawei's answers never name them, so the mark on the replica finds it.
    news = host({"primary_key_id": lost, "replica_region": "cn-east-3"}, URN.replace("CustomKey", "ReplicaKey"))
    first = rk.create(checked(rk, news)).id
    assert rk.create(checked(rk, news)).id == first
    assert len(huawei.in_region("cn-east-3").list_keys()) == 1
