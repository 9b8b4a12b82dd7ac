"""`check`: every rule of the domain layer, before anything is created; defaults filled for the preview."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pulumi.output import UNKNOWN

from provider.client import KmsClient
from provider.resources import CustomKeyProvider, KeyAliasProvider, KeyTagsProvider, ReplicaKeyProvider
from provider.resources._common import AUTONAME, AUTONAMED

ck, rk, ka, kt = CustomKeyProvider(), ReplicaKeyProvider(), KeyAliasProvider(), KeyTagsProvider()
PRIMARY = "0f6a3c1e-1111-4222-8333-444455556666"


def failures(provider: Any, news: dict[str, Any], olds: dict[str, Any] | None = None) -> dict[str, str]:
    result = provider.check(olds or {}, news)
    return {f.property: f.reason for f in result.failures}


# (resource, inputs, property, words the reason must carry). Where a rule comes from, the line of Huawei Cloud's
# DEW guide is quoted (DEW = Huawei Cloud Data Encryption Workshop, its pages "Creating a Custom Key" and
# "Creating a Replica Key").
BAD = [
    # DEW, Creating a Custom Key:
    # "You can enter digits, letters, underscores (_), hyphens (-), colons (:), and slashes (/)."
    pytest.param(ck, {"key_name": "bad name!"}, "key_name", "letters, digits", id="key-name-chars"),
    # DEW, Creating a Custom Key: "You can enter up to 255 characters."
    pytest.param(ck, {"key_name": "k" * 256}, "key_name", "at most 255", id="key-name-256"),
    # DEW, Creating a Custom Key: "do not use aliases ending with /default."
    pytest.param(ck, {"key_name": "team/default"}, "key_name", "/default", id="key-name-default"),
    pytest.param(
        rk,
        {"primary_key_id": PRIMARY, "replica_region": "cn-east-3", "key_name": "a b"},
        "key_name",
        "letters, digits",
        id="replica-name-chars",
    ),
    pytest.param(
        ka, {"alias_name": "app", "target_key_id": PRIMARY}, "alias_name", "alias/", id="alias-prefix"
    ),
    pytest.param(
        ka,
        {"alias_name": "alias/x/default", "target_key_id": PRIMARY},
        "alias_name",
        "/default",
        id="alias-default",
    ),
    pytest.param(
        ka,
        {"alias_name": "alias/" + "a" * 250, "target_key_id": PRIMARY},
        "alias_name",
        "at most 255",
        id="alias-256",
    ),
    pytest.param(ck, {"key_spec": "AES_128"}, "key_spec", "not a key spec", id="key-spec"),
    # Only generated AES_256 material rotates: an HMAC or imported key with rotation fails in check.
    pytest.param(
        ck, {"key_spec": "HMAC_256", "rotation_enabled": True}, "rotation_enabled", "does not support rotation",
        id="rotation-hmac",
    ),
    pytest.param(
        ck, {"origin": "external", "rotation_enabled": True}, "rotation_enabled", "does not support rotation",
        id="rotation-external",
    ),
    # DEW, Creating a Custom Key: "For an ECC asymmetric key, the default value is SIGN_VERIFY" (and its only usage).
    pytest.param(
        ck,
        {"key_spec": "EC_P256", "key_usage": "ENCRYPT_DECRYPT"},
        "key_usage",
        "not allowed for key spec",
        id="usage-ec-encrypt",
    ),
    pytest.param(
        ck,
        {"key_spec": "AES_256", "key_usage": "SIGN_VERIFY"},
        "key_usage",
        "not allowed for key spec",
        id="usage-aes-sign",
    ),
    pytest.param(
        ck,
        {"key_spec": "HMAC_256", "key_usage": "ENCRYPT_DECRYPT"},
        "key_usage",
        "GENERATE_VERIFY_MAC",
        id="usage-hmac",
    ),
    pytest.param(ck, {"key_usage": "WRAP"}, "key_usage", "not a key usage", id="usage-unknown"),
    pytest.param(ck, {"origin": "byok"}, "origin", "key material source", id="origin"),
    pytest.param(
        ck, {"origin": "external", "key_spec": "RSA_2048"}, "origin", "symmetric", id="origin-external-rsa"
    ),
    pytest.param(ck, {"keyring_name": "x"}, "keyring_name", "2-31 characters", id="keyring"),
    pytest.param(ck, {"description": "d" * 256}, "description", "at most 255", id="description"),
    # DEW, Creating a Custom Key: "a scheduled deletion date for the key, which ranges from 7 to 1,096 days."
    pytest.param(ck, {"pending_days": 6}, "pending_days", "from 7 to 1096", id="pending-6"),
    pytest.param(ck, {"pending_days": 1097.0}, "pending_days", "from 7 to 1096", id="pending-1097"),
    pytest.param(ck, {"pending_days": 7.5}, "pending_days", "whole number", id="pending-fraction"),
    pytest.param(
        rk,
        {"primary_key_id": PRIMARY, "replica_region": "cn-east-3", "pending_days": 1097},
        "pending_days",
        "from 7 to 1096",
        id="replica-pending-1097",
    ),
    pytest.param(
        ck,
        {"rotation_enabled": True, "rotation_interval_days": 29},
        "rotation_interval_days",
        "from 30 to 365",
        id="rotation-days",
    ),
    # DEW, Creating a Custom Key: "A maximum of 20 tags can be added for one custom key."
    pytest.param(ck, {"tags": {f"t{i}": "v" for i in range(21)}}, "tags", "at most 20", id="tags-21"),
    pytest.param(
        kt,
        {"key_id": PRIMARY, "tags": {f"t{i}": "v" for i in range(21)}},
        "tags",
        "at most 20",
        id="keytags-21",
    ),
    pytest.param(ck, {"tags": {"": "v"}}, "tags", "tag key", id="tag-key-empty"),
    pytest.param(ck, {"tags": ["a"]}, "tags", "map", id="tags-not-map"),
    pytest.param(ck, {"region": "us-east-1"}, "region", "not a region", id="region"),
    pytest.param(
        ka,
        {"alias_name": "alias/a", "target_key_id": PRIMARY, "region": "eu-west-0"},
        "region",
        "not a region",
        id="alias-region",
    ),
    pytest.param(
        rk,
        {"primary_key_id": PRIMARY, "replica_region": "mars-1"},
        "replica_region",
        "not a region",
        id="replica-region-unknown",
    ),
    # DEW, Creating a Replica Key, Table 1: "AP-Singapore | ME-Riyadh" -- a Singapore primary replicates to Riyadh only.
    pytest.param(
        rk,
        {"primary_key_id": PRIMARY, "primary_region": "ap-southeast-3", "replica_region": "cn-east-3"},
        "replica_region",
        "allowed: me-east-1",
        id="replica-region-table-singapore",
    ),
    # DEW, Creating a Replica Key, Table 1:
    # CN North-Beijing4 -> CN East-Shanghai1, CN South-Guangzhou, CN Southwest-Guiyang1.
    pytest.param(
        rk,
        {"primary_key_id": PRIMARY, "primary_region": "cn-north-4", "replica_region": "me-east-1"},
        "replica_region",
        "allowed: cn-east-3, cn-south-1, cn-southwest-2",
        id="replica-region-table-beijing",
    ),
    pytest.param(
        rk,
        {"primary_key_id": PRIMARY, "primary_region": "cn-north-4", "replica_region": "cn-north-4"},
        "replica_region",
        "not valid",
        id="replica-region-own",
    ),
    pytest.param(rk, {"replica_region": "cn-east-3"}, "primary_key_id", "required", id="replica-no-primary"),
    pytest.param(ck, {"enabled": "yes"}, "enabled", "true or false", id="enabled-type"),
    pytest.param(
        ck,
        {"key_material": base64.b64encode(b"k" * 32).decode()},
        "key_material",
        "origin external",
        id="material-without-external",
    ),
    pytest.param(
        ck,
        {"origin": "external", "key_material": "not*base64"},
        "key_material",
        "base64",
        id="material-not-base64",
    ),
    pytest.param(
        ck,
        {"origin": "external", "key_material": base64.b64encode(b"k" * 16).decode()},
        "key_material",
        "32 bytes",
        id="material-length",
    ),
]


@pytest.mark.parametrize(("provider", "news", "prop", "words"), BAD)
def test_bad_input_fails_in_check_naming_property_and_rule(
    provider: Any, news: dict[str, Any], prop: str, words: str, emulator_dir: object
) -> None:
    got = failures(provider, {AUTONAME: "r", **news})
    assert prop in got, f"no failure for {prop}: {got}"
    assert got[prop].startswith(prop), got[prop]
    assert words in got[prop], got[prop]


def test_check_creates_nothing(svc: KmsClient) -> None:
    assert failures(ck, {"key_name": "bad name!"})
    assert svc.list_keys() == []


def test_material_never_repeated_in_a_failure(emulator_dir: object) -> None:
    material = base64.b64encode(b"\x01" * 48).decode()  # valid base64, wrong length for AES_256
    reason = failures(ck, {"origin": "external", "key_material": material})["key_material"]
    assert material not in reason and "48" in reason


def test_defaults_are_filled_for_the_preview(emulator_dir: object) -> None:
    ins = ck.check({}, {AUTONAME: "payments"}).inputs
    assert {
        k: ins[k]
        for k in (
            "region",
            "key_spec",
            "key_usage",
            "origin",
            "keyring_name",
            "enterprise_project",
            "enabled",
            "pending_days",
            "description",
            "rotation_enabled",
        )
    } == {
        "region": "cn-north-4",
        "key_spec": "AES_256",
        "key_usage": "ENCRYPT_DECRYPT",
        "origin": "kms",
        "keyring_name": "default",
        "enterprise_project": "default",
        "enabled": True,
        "pending_days": 30,
        "description": "",
        "rotation_enabled": False,
    }
    assert "tags" not in ins  # omitted: the key's tags are not managed by the CustomKey
    assert ins["key_name"].startswith("payments-") and len(ins["key_name"]) == len("payments-") + 8
    # DEW, Creating a Custom Key, Usage: "For RSA asymmetric keys ... The default value is SIGN_VERIFY.";
    # "For an HMAC symmetric key, the default value is GENERATE_VERIFY_MAC."
    assert ck.check({}, {"key_spec": "RSA_2048"}).inputs["key_usage"] == "SIGN_VERIFY"
    assert ck.check({}, {"key_spec": "HMAC_SM3"}).inputs["key_usage"] == "GENERATE_VERIFY_MAC"
    assert ck.check({}, {"rotation_enabled": True}).inputs["rotation_interval_days"] == 365
    assert ck.check({}, {"origin": "External"}).inputs["origin"] == "external"
    rep = rk.check({}, {"primary_key_id": PRIMARY, "replica_region": "cn-south-1"}).inputs
    assert rep["primary_region"] == "cn-north-4" and rep["enabled"] is True and rep["pending_days"] == 30


def test_region_default_comes_from_stack_config(emulator_dir: object) -> None:
    from provider.resources import _common as common

    common.reset_config({"region": "ap-southeast-3"})
    assert ck.check({}, {}).inputs["region"] == "ap-southeast-3"
    assert rk.check({}, {"primary_key_id": PRIMARY, "replica_region": "me-east-1"}).failures == []


def test_autoname_is_stable_across_previews_and_new_on_replacement(emulator_dir: object) -> None:
    first = ck.check({}, {AUTONAME: "app"}).inputs
    again = ck.check(first, {AUTONAME: "app"}).inputs
    assert again["key_name"] == first["key_name"] and again[AUTONAMED] is True
    # The engine re-checks a replacement without olds: a fresh name, so the new key never collides.
    assert ck.check({}, {AUTONAME: "app"}).inputs["key_name"] != first["key_name"]
    explicit = ck.check(first, {AUTONAME: "app", "key_name": "payments"}).inputs
    assert explicit["key_name"] == "payments" and explicit[AUTONAMED] is False


def test_autoname_of_an_awkward_resource_name_is_legal(emulator_dir: object) -> None:
    name = ck.check({}, {AUTONAME: "my key.v2 " + "x" * 300}).inputs["key_name"]
    assert len(name) <= 255 and failures(ck, {"key_name": name}) == {}


def test_unknown_values_pass_check_during_preview(emulator_dir: object) -> None:
    result = rk.check({}, {"primary_key_id": UNKNOWN, "replica_region": "cn-east-3"})
    assert result.failures == [] and result.inputs["primary_key_id"] == UNKNOWN
    assert ka.check({}, {"alias_name": "alias/a", "target_key_id": UNKNOWN}).failures == []
    assert kt.check({}, {"key_id": UNKNOWN, "tags": {"a": UNKNOWN}}).failures == []
