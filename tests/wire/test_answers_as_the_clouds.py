"""`kmsctl serve` answers as each cloud does, nothing more: what a real account would not tell a client,
the server does not tell it either (so a client that works here works there). Raw answers, read as
JSON, since the SDKs drop whatever their models lack."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from huaweicloudsdkkms.v2 import model as huawei_sdk

from provider.emulator import Emulator
from provider.server.app import KmsApp
from tests.huawei.test_bad_input import send
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, ThreadServer
from tests.wire.conftest import KR, post


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state: Path = tmp_path_factory.mktemp("answers") / "state"
    with ThreadServer(KmsApp(Emulator(state, replication_delay=0), {ACCESS_KEY: SECRET_KEY})) as server:
        yield server.endpoint


# --- Volcengine ----------------------------------------------------------------------------------------
def test_volcengine_decrypt_does_not_say_which_key_opened_the_ciphertext(endpoint: str) -> None:
    key = post(endpoint, "CreateKey", {**KR, "KeyName": "which-key"}).result["Key"]["ID"]
    blob = post(endpoint, "Encrypt", {"KeyID": key, "Plaintext": base64.b64encode(b"x").decode()}).result
    opened = post(endpoint, "Decrypt", {"CiphertextBlob": blob["CiphertextBlob"]}).result
    assert opened == {"Plaintext": base64.b64encode(b"x").decode()}  # DecryptResponse: the plaintext alone


def test_volcengine_names_the_ends_of_a_multi_region_link_by_trn_and_region_only(endpoint: str) -> None:
    primary = post(endpoint, "CreateKey", {**KR, "KeyName": "linked", "MultiRegion": True}).result["Key"]
    replica = post(endpoint, "ReplicateKey", {"KeyID": primary["ID"], "ReplicaRegion": "cn-east-3"}).result
    links = replica["ReplicaKey"]["MultiRegionConfiguration"]
    assert links["PrimaryKey"] == {"Trn": primary["Trn"], "Region": "cn-north-4"}
    described = post(endpoint, "DescribeKey", {"KeyID": primary["ID"]}).result["Key"]["MultiRegionConfiguration"]
    assert [set(r) for r in described["ReplicaKeys"]] == [{"Trn", "Region"}]
    assert described["ReplicaKeys"][0]["Region"] == "cn-east-3"


@pytest.mark.parametrize(("action", "params"), [
    ("CreateAlias", {"AliasName": "alias/none", "KeyID": "k"}),
    ("UpdateAlias", {"AliasName": "alias/none", "KeyID": "k"}),
    ("DeleteAlias", {"AliasName": "alias/none"}),
    ("ListAliases", {}),
    ("AdvanceClock", {"Seconds": 60}),
])
def test_volcengine_serves_no_aliases_and_no_clock_action(endpoint: str, action: str, params: dict[str, Any]) -> None:
    answer = post(endpoint, action, params)
    assert answer.status == 404 and answer.error is not None
    assert answer.error == {"Code": "InvalidActionOrVersion",
                            "Message": f"Could not find operation {action} for version 2021-02-18"}


# --- Huawei Cloud --------------------------------------------------------------------------------------
KEY_DETAILS = set(huawei_sdk.KeyDetails.attribute_map.values())


def _huawei(endpoint: str, op: str, body: dict[str, Any], *, project: str = "cn-north-4", version: str = "v1.0",
            method: str = "POST", status: int = 200) -> dict[str, Any]:
    got, doc = send(endpoint, method, f"/{version}/{project}/kms/{op}", json.dumps(body).encode())
    assert got == status, doc
    return doc


def test_huawei_describe_key_and_list_keys_are_key_details_and_nothing_more(endpoint: str) -> None:
    key = _huawei(endpoint, "create-key", {"key_alias": "details-only"})["key_info"]["key_id"]
    _huawei(endpoint, "create-datakey", {"key_id": key, "datakey_length": "256"})  # an ordinary key in use
    assert set(_huawei(endpoint, "describe-key", {"key_id": key})["key_info"]) == KEY_DETAILS
    listed = _huawei(endpoint, "list-keys", {"key_spec": "ALL", "limit": "100"})
    assert listed["key_details"] and all(set(d) == KEY_DETAILS for d in listed["key_details"])


def test_huawei_no_answer_names_a_keys_primary_or_replicas(endpoint: str) -> None:
    key = _huawei(endpoint, "create-key", {"key_alias": "huawei-primary"})["key_info"]["key_id"]
    made = _huawei(endpoint, f"keys/{key}/replicate", {"key_id": key, "replica_region": "cn-east-3",
                                                       "replica_project_id": "cn-east-3",
                                                       "key_alias": "huawei-primary-r"}, version="v2")
    assert set(made) == {"key_id", "domain_id", "region"} and made["region"] == "cn-east-3"
    for where, which in (("cn-north-4", key), ("cn-east-3", made["key_id"])):
        details = _huawei(endpoint, "describe-key", {"key_id": which}, project=where)["key_info"]
        assert set(details) == KEY_DETAILS  # no primary_key, replica_keys, multi-region type, key_urn
        assert key not in json.dumps({k: v for k, v in details.items() if k != "key_id"})


def test_huawei_rotation_interval_is_answered_by_get_key_rotation_status_alone(endpoint: str) -> None:
    key = _huawei(endpoint, "create-key", {"key_alias": "rotating-answers"})["key_info"]["key_id"]
    _huawei(endpoint, "enable-key-rotation", {"key_id": key})
    _huawei(endpoint, "update-key-rotation-interval", {"key_id": key, "rotation_interval": 180})
    status = _huawei(endpoint, "get-key-rotation-status", {"key_id": key})
    assert status["key_rotation_enabled"] is True and status["rotation_interval"] == 180
    details = _huawei(endpoint, "describe-key", {"key_id": key})["key_info"]
    assert details["key_rotation_enabled"] == "true" and "rotation_interval" not in details


def test_huawei_alias_times_are_rfc3339_as_documented(endpoint: str) -> None:
    key = _huawei(endpoint, "create-key", {"key_alias": "alias-times"})["key_info"]["key_id"]
    made = _huawei(endpoint, "aliases", {"key_id": key, "alias": "alias/times"}, status=201)  # 201 Created
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", made["create_time"]), made
    assert made["update_time"] == made["create_time"]
    deleted = send(endpoint, "DELETE", "/v1.0/cn-north-4/kms/aliases",
                   json.dumps({"key_id": key, "aliases": ["alias/times"]}).encode())
    assert deleted == (204, {})  # 204 No Content, as Huawei's DeleteAlias reference answers


def test_volcengine_times_are_in_volcengines_own_form_and_read_back_whatever_the_offset(endpoint: str) -> None:
    from provider.dialects.volcengine.shapes import from_rfc3339
    from provider.domain.errors import UndefinedError

    params = {**KR, "KeyName": "timed", "RotateState": "Enable", "RotateInterval": 90}
    key = post(endpoint, "CreateKey", params).result["Key"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00", key["ScheduleRotationTime"]), key
    assert from_rfc3339("2022-01-21T10:31:47.264+08:00") == from_rfc3339("2022-01-21T02:31:47.264Z") == 1642732307.264
    assert from_rfc3339("2022-01-21T02:31:47Z") == 1642732307.0
    with pytest.raises(UndefinedError, match="not RFC 3339"):
        from_rfc3339("2022-01-21T10:31:47")  # no offset: which zone is unknowable


def test_every_volcengine_action_served_answers_exactly_its_sdk_response_model() -> None:
    """The docs' scripted run takes every action the dialect serves once; each `Result` is held to the
    SDK's `{Action}Response` with no field left over, and to the generated model in strict JSON types."""
    import volcenginesdkkms.models as volc_sdk

    from provider.dialects.volcengine import models as generated
    from provider.dialects.volcengine import wire
    from provider.server.docs import sample_results
    from tests.wire.sdk_answers import check_volcengine_model

    results = sample_results()
    assert set(results) == set(wire.METHODS)
    for action, result in results.items():
        check_volcengine_model(getattr(volc_sdk, f"{action}Response"), result, f"{action} answer")
        generated.OPERATIONS[action].response.model_validate(result, strict=True)
