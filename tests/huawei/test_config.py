"""Configuration of the huaweicloud dialect (README, "Configuration"): `kms:projectIds` / `KMS_PROJECT_IDS`,
and inputs one cloud's API lacks refused at preview (`check`), never dropped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from provider.config import settings
from provider.domain.errors import InvalidParameter
from provider.resources import CustomKeyProvider
from provider.resources import _common as common

ENDPOINT = "http://127.0.0.1:8400"


def test_project_ids_are_read_from_config_before_the_environment() -> None:
    s = settings({"dialect": "huaweicloud", "projectIds": "cn-north-4=abc123, cn-east-3=def456"},
                 environ={"KMS_PROJECT_IDS": "cn-south-1=zzz"})
    assert dict(s.project_ids) == {"cn-north-4": "abc123", "cn-east-3": "def456"}
    s = settings({}, environ={"KMS_DIALECT": "huaweicloud", "KMS_PROJECT_IDS": "cn-south-1=zzz"})
    assert dict(s.project_ids) == {"cn-south-1": "zzz"}


@pytest.mark.parametrize(("config", "words"), [
    ({"dialect": "huaweicloud", "projectIds": "cn-north-4"}, "kms:projectIds: 'cn-north-4' must be region=project_id"),
    ({"dialect": "huaweicloud", "projectIds": "mars-1=abc"}, "kms:projectIds: region 'mars-1' is not a region"),
    ({"dialect": "huaweicloud", "projectIds": "cn-north-4=a b"}, "kms:projectIds: project id 'a b'"),
    ({"dialect": "huaweicloud", "projectIds": "cn-north-4=x,cn-east-3=x"}, "names two regions"),
    ({"dialect": "huaweicloud", "projectIds": "cn-north-4=x,cn-north-4=y"}, "given twice"),
    ({"projectIds": "cn-north-4=abc"}, "kms:projectIds: project ids are for the huaweicloud dialect"),
])
def test_a_wrong_project_ids_setting_names_the_setting(config: dict[str, str], words: str) -> None:
    with pytest.raises(InvalidParameter, match=words.replace("(", r"\(")):
        settings(config, environ={})


@pytest.mark.parametrize("source", ["config", "environment"])
def test_an_unknown_dialect_fails_naming_the_setting_and_the_choices(source: str) -> None:
    config, environ = ({"dialect": "aws"}, {}) if source == "config" else ({}, {"KMS_DIALECT": "aws"})
    with pytest.raises(InvalidParameter, match="kms:dialect / KMS_DIALECT must be one of huaweicloud, volcengine"):
        settings({"endpoint": ENDPOINT, **config}, environ=environ)


def test_an_unknown_dialect_fails_the_preview(configured: Any) -> None:
    configured({"endpoint": ENDPOINT, "dialect": "huawei", "accessKey": "a", "secretKey": "s"})
    # check answers the setting's fault as a failure of the preview, naming it (not an exception trace)
    reasons = [f.reason for f in CustomKeyProvider().check({}, {"key_name": "k"}).failures]
    assert any("kms:dialect" in r for r in reasons), reasons


def test_the_environment_variable_is_named_when_it_is_the_source() -> None:
    with pytest.raises(InvalidParameter, match="KMS_PROJECT_IDS: 'oops'"):
        settings({"dialect": "huaweicloud"}, environ={"KMS_PROJECT_IDS": "oops"})


@pytest.fixture
def configured() -> Iterator[Any]:
    def use(values: dict[str, str]) -> None:
        common.reset_config(values)

    yield use
    common.reset_config()


def _failures(news: dict[str, Any]) -> dict[str, str]:
    return {f.property: f.reason for f in CustomKeyProvider().check({}, news).failures}


def test_keyrings_are_refused_at_preview_against_huawei(configured: Any) -> None:
    configured({"endpoint": ENDPOINT, "dialect": "huaweicloud", "accessKey": "a", "secretKey": "s"})
    assert "Huawei Cloud KMS has no keyrings" in _failures({"key_name": "k", "keyring_name": "team-a"})["keyring_name"]
    assert _failures({"key_name": "k", "keyring_name": "default", "enterprise_project": "proj-1"}) == {}


def test_enterprise_projects_are_refused_at_preview_against_volcengine(configured: Any) -> None:
    configured({"endpoint": ENDPOINT, "dialect": "volcengine", "accessKey": "a", "secretKey": "s"})
    reason = _failures({"key_name": "k", "enterprise_project": "proj-1"})["enterprise_project"]
    assert "no enterprise projects" in reason
    assert _failures({"key_name": "k", "keyring_name": "team-a"}) == {}


def test_the_embedded_emulator_takes_both(configured: Any, tmp_path: Any) -> None:
    configured({"emulatorPath": str(tmp_path)})
    assert _failures({"key_name": "k", "keyring_name": "team-a", "enterprise_project": "proj-1"}) == {}


def test_a_bad_project_ids_setting_fails_the_preview_naming_it(configured: Any) -> None:
    configured({"endpoint": ENDPOINT, "dialect": "huaweicloud", "projectIds": "cn-north-4", "accessKey": "a",
                "secretKey": "s"})
    reasons = [f.reason for f in CustomKeyProvider().check({}, {"key_name": "k"}).failures]
    assert any("kms:projectIds" in r for r in reasons), reasons


def test_what_a_cloud_can_do_is_decided_by_the_dialect_never_by_the_host_name() -> None:
    # A real account behind a company gateway has a host name like our emulator's, and kmsctl serve may sit
    # behind a cloud-looking name: only kms:dialect says which API (and so which operations) there are.
    for endpoint in ("https://kms.{region}.myhuaweicloud.com", "http://127.0.0.1:8400", "https://kms.corp.example"):
        huawei = settings({"endpoint": endpoint, "dialect": "huaweicloud"}, environ={}).capabilities
        volc = settings({"endpoint": endpoint, "dialect": "volcengine"}, environ={}).capabilities
        assert huawei.aliases and not huawei.keyrings and not huawei.links_in_answers and not huawei.clock
        assert not volc.aliases and volc.keyrings and volc.multi_region_at_create and not volc.decrypt_names_key
    embedded = settings({}, environ={}).capabilities
    assert embedded.aliases and embedded.keyrings and embedded.links_in_answers and embedded.clock


# --- region catalogs: each cloud's own, replaced by kms:regionCatalog / KMS_REGION_CATALOG ------------------
CATALOG = '{"regions": {"eu-west-101": {"name": "EU-Dublin", "replica_regions": ["eu-west-0"]}, ' \
          '"eu-west-0": {"name": "EU-Paris", "replica_regions": []}}}'


def test_each_cloud_has_its_own_regions_and_the_default_region_is_its_first() -> None:
    huawei = settings({"endpoint": ENDPOINT, "dialect": "huaweicloud"}, environ={})
    volc = settings({"endpoint": ENDPOINT, "dialect": "volcengine"}, environ={})
    embedded = settings({}, environ={})
    assert huawei.catalog.replica_regions["cn-north-4"] == ("cn-east-3", "cn-south-1", "cn-southwest-2")
    assert huawei.catalog.replica_regions["ap-southeast-3"] == ("me-east-1",)
    assert volc.catalog.replica_region("cn-beijing", "cn-shanghai") == "cn-shanghai"
    assert "cn-north-4" not in volc.catalog.names and "cn-beijing" not in huawei.catalog.names
    assert embedded.catalog == huawei.catalog  # the embedded emulator: Huawei Cloud's unless told otherwise
    assert (huawei.region, volc.region, embedded.region) == ("cn-north-4", "cn-beijing", "cn-north-4")


def test_a_region_catalog_comes_from_stack_config_before_the_environment_inline_or_from_a_file(
    tmp_path: Any,
) -> None:
    path = tmp_path / "regions.json"
    path.write_text(CATALOG)
    other = '{"regions": {"xx-1": {"name": "X", "replica_regions": []}}}'
    s = settings({"regionCatalog": str(path)}, environ={"KMS_REGION_CATALOG": other})
    assert list(s.catalog.names) == ["eu-west-101", "eu-west-0"] and s.region == "eu-west-101"
    assert s.catalog.replica_region("eu-west-101", "eu-west-0") == "eu-west-0"
    assert list(settings({}, environ={"KMS_REGION_CATALOG": other}).catalog.names) == ["xx-1"]
    inline = settings({"endpoint": ENDPOINT, "dialect": "volcengine", "regionCatalog": CATALOG}, environ={})
    assert "eu-west-0" in inline.catalog.names


@pytest.mark.parametrize(("value", "words"), [
    ("/nowhere/regions.json", "kms:regionCatalog: cannot read the region catalog file '/nowhere/regions.json'"),
    ("{not json", "kms:regionCatalog: the region catalog is not JSON"),
    ('{"regions": {}}', "kms:regionCatalog: a region catalog is a JSON object"),
    ('{"regions": {"EU West": {"name": "x"}}}', "kms:regionCatalog: region id 'EU West' must be lower-case"),
    ('{"regions": {"a-1": {"replica_regions": ["b-1"]}}}', "region a-1 replicates to 'b-1', which is not a region"),
    ('{"regions": {"a-1": {"replica_regions": ["a-1"]}}}', "region a-1 cannot replicate to itself"),
    ('{"regions": {"a-1": {"replica_regions": "b-1"}}}', '"replica_regions" must be a list of region ids'),
])
def test_a_wrong_region_catalog_names_the_setting_and_the_fault(value: str, words: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        settings({"regionCatalog": value}, environ={})
    assert words in caught.value.message
    with pytest.raises(InvalidParameter, match="KMS_REGION_CATALOG"):
        settings({}, environ={"KMS_REGION_CATALOG": value})


def test_a_stacks_region_catalog_is_what_check_and_the_embedded_emulator_both_apply(
    configured: Any, tmp_path: Any,
) -> None:
    from provider.resources import ReplicaKeyProvider

    configured({"emulatorPath": str(tmp_path / "emu"), "regionCatalog": CATALOG})
    assert CustomKeyProvider().check({}, {"key_name": "k"}).inputs["region"] == "eu-west-101"
    reason = {f.property: f.reason for f in ReplicaKeyProvider().check(
        {}, {"primary_key_id": "k", "primary_region": "eu-west-0", "replica_region": "eu-west-101"}).failures}
    assert "not valid for a primary key in eu-west-0" in reason["replica_region"]
    key = common.connect("eu-west-101").create_key("dublin")
    assert common.connect("eu-west-101").replicate_key(key.key_id, "eu-west-0").region == "eu-west-0"
