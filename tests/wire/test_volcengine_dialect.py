"""The volcengine dialect against the SDK's own code, no server: requests built and serialized by
`volcenginesdk-kms` parse into the domain actions they mean; results shaped by the dialect deserialize
into the SDK's response models, and the dialect's client reads them back into the same objects."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
import volcenginesdkkms as v
from volcenginesdkcore.interceptor.interceptors.build_request_interceptor import (
    BuildRequestInterceptor,
    sanitize_for_serialization,
)
from volcenginesdkcore.interceptor.interceptors.deserialized_response_interceptor import (
    DeserializedResponseInterceptor,
)

from provider.dialects import Call, Parsed, WireRequest
from provider.dialects.volcengine import server, wire
from provider.dialects.volcengine.shapes import key_from
from provider.domain import model as m
from provider.domain.errors import InvalidParameter
from provider.domain.rules import KeySpec, KeyState, KeyUsage, MultiRegionType, Origin

KEY_ID = "6f1c8a52-3d7e-4b8a-9c1d-2e3f4a5b6c7d"


def as_sent(request: Any) -> WireRequest:
    """The request as the SDK puts it on the wire: its action's method, JSON body or query parameters."""
    action = type(request).__name__.removesuffix("Request")
    body = sanitize_for_serialization(request)
    query = [("Action", action), ("Version", wire.VERSION)]
    if wire.METHODS[action] == "GET":
        flat = BuildRequestInterceptor()._BuildRequestInterceptor__req_to_params(body)  # the SDK's own flattening
        return WireRequest("GET", "/", [(k, str(val)) for k, val in flat] + query, {}, b"")
    return WireRequest("POST", "/", query, {}, json.dumps(body).encode())


def parse(req: WireRequest) -> Parsed:
    """The domain actions of a request, as the server reads them once its signature is checked."""
    return server.parse(server.decode(server.route(req)))


def test_create_key_as_the_sdk_sends_it() -> None:
    req = as_sent(v.CreateKeyRequest(keyring_name="default", key_name="orders", key_spec="SYMMETRIC_256",
                                     multi_region=True, rotate_state="Enable", rotate_interval=120,
                                     tags=[v.TagForCreateKeyInput(key="team", value="pay")]))
    assert parse(req) == m.CreateKey(name="orders", keyring="default", spec="AES_256", multi_region=True,
                                            rotation_days=120, tags={"team": "pay"})


def test_get_actions_carry_their_parameters_in_the_query() -> None:
    assert parse(as_sent(v.EnableKeyRequest(key_id=KEY_ID))) == m.EnableKey(key=m.KeyRef(key_id=KEY_ID))
    named = as_sent(v.DisableKeyRotationRequest(keyring_name="ring", key_name="orders"))
    assert named.method == "GET" and not named.body
    assert parse(named) == m.DisableKeyRotation(key=m.KeyRef(keyring="ring", name="orders"))


def test_encryption_context_in_both_forms() -> None:
    # The SDK sends a JSON object; Volcengine's documentation a JSON string of one. Both mean the same.
    sdk_form = as_sent(v.EncryptRequest(key_id=KEY_ID, plaintext="aGk=", encryption_context={"a": "1"}))
    doc_form = WireRequest("POST", "/", sdk_form.query, {}, json.dumps(
        {"KeyID": KEY_ID, "Plaintext": "aGk=", "EncryptionContext": json.dumps({"a": "1"})}).encode())
    expected = m.Encrypt(key=m.KeyRef(key_id=KEY_ID), plaintext=b"hi", context={"a": "1"})
    assert parse(sdk_form) == parse(doc_form) == expected
    bad = WireRequest("POST", "/", sdk_form.query, {}, json.dumps(
        {"KeyID": KEY_ID, "Plaintext": "aGk=", "EncryptionContext": "[1]"}).encode())
    with pytest.raises(InvalidParameter, match="EncryptionContext"):
        parse(bad)


def test_paging_tags_and_mac_parameters() -> None:
    listing = parse(as_sent(v.DescribeKeysRequest(current_page=3, page_size=20, keyring_name="ring")))
    assert listing == m.DescribeKeys(keyring="ring", offset=40, limit=20)
    tagging = parse(as_sent(v.TagResourcesRequest(resource_type="keys", resource_ids=[KEY_ID, "k2"],
                                                         tags=[v.TagForTagResourcesInput(key="env", value="prod")])))
    assert tagging == (m.TagKey(key=m.KeyRef(key_id=KEY_ID), tags={"env": "prod"}),
                       m.TagKey(key=m.KeyRef(key_id="k2"), tags={"env": "prod"}))
    rotation = parse(as_sent(v.EnableKeyRotationRequest(key_id=KEY_ID, rotate_interval=90)))
    assert rotation == m.EnableKeyRotation(key=m.KeyRef(key_id=KEY_ID), rotation_days=90)
    mac = parse(as_sent(v.GenerateMacRequest(key_id=KEY_ID, message="bXNn", mac_algorithm="HMAC_SHA_256")))
    assert mac == m.GenerateMac(key=m.KeyRef(key_id=KEY_ID), message=b"msg", algorithm="HMAC_SHA_256")


def test_unknown_parameters_are_named() -> None:
    req = WireRequest("POST", "/", [("Action", "DescribeKey"), ("Version", wire.VERSION)], {},
                      b'{"KeyID": "x", "Limit": 5}')
    with pytest.raises(InvalidParameter, match="Limit is invalid: is not a parameter of DescribeKey"):
        parse(req)


def _key(**changes: Any) -> m.Key:
    base = m.Key(
        key_id=KEY_ID, trn="trn:kms:cn-north-4:2100000000:keyrings/ring/keys/orders", region="cn-north-4",
        keyring="ring", name="orders", spec=KeySpec.AES_256, usage=KeyUsage.ENCRYPT_DECRYPT, origin=Origin.KMS,
        state=KeyState.ENABLE, description="d", enterprise_project="default", created=1_700_000_000.0,
        updated=1_700_000_100.0, tags={"team": "pay"}, rotation_enabled=True, rotation_days=90,
        last_rotation=1_700_000_000.0, deletion_date=None, pending_days=None,
        multi_region_type=MultiRegionType.PRIMARY,
        primary=m.LinkedKey(KEY_ID, "trn:kms:cn-north-4:2100000000:keyrings/ring/keys/orders", "cn-north-4"),
        replicas=(m.LinkedKey("trn:kms:cn-east-3:2100000000:keyrings/ring/keys/orders",
                              "trn:kms:cn-east-3:2100000000:keyrings/ring/keys/orders", "cn-east-3"),),
    )
    return m.replace(base, **changes)


def sdk_reads(action: str, result: Any, response_type: str) -> Any:
    req = WireRequest("POST", "/", [("Action", action), ("Version", wire.VERSION)], {}, b"{}")
    shaped = server.shape(server.route(req), m.DescribeKey(key=m.KeyRef(key_id=KEY_ID)), result)
    assert shaped.status == 200
    return DeserializedResponseInterceptor().deserialize(SimpleNamespace(data=shaped.body.decode()), response_type,
                                                         "volcenginesdkkms")


def test_a_key_as_the_sdk_reads_it_and_back() -> None:
    key = _key()
    got = sdk_reads("DescribeKey", key, "DescribeKeyResponse").key
    assert (got.id, got.key_spec, got.key_state, got.multi_region) == (KEY_ID, "SYMMETRIC_256", "Enable", True)
    assert got.multi_region_configuration.multi_region_key_type == "PRIMARY"
    assert [r.region for r in got.multi_region_configuration.replica_keys] == ["cn-east-3"]
    # The same instant in Volcengine's own form (China Standard Time, milliseconds).
    assert got.rotation_state == "Enable" and got.schedule_rotation_time == "2024-02-13T06:13:20.000+08:00"
    doc = json.loads(server.shape(Call(WireRequest("POST", "/", [("Action", "DescribeKey")], {}, b""), "DescribeKey"),
                                  m.DescribeKey(key=m.KeyRef(key_id=KEY_ID)), key).body)["Result"]["Key"]
    assert key_from(doc) == key


def test_empty_answers_and_metadata() -> None:
    req = WireRequest("GET", "/", [("Action", "EnableKey"), ("Version", wire.VERSION)],
                      {"authorization": "HMAC-SHA256 Credential=AK/20240101/cn-east-3/kms/request, SignedHeaders=host, "
                                        "Signature=00"}, b"")
    doc = json.loads(server.shape(server.route(req), m.EnableKey(key=m.KeyRef(key_id=KEY_ID)), _key()).body)
    assert doc["Result"] == {}
    assert {k: doc["ResponseMetadata"][k] for k in ("Action", "Version", "Service", "Region")} == {
        "Action": "EnableKey", "Version": "2021-02-18", "Service": "kms", "Region": "cn-east-3"}


def test_against_volcengine_the_client_describes_linked_keys_in_their_regions() -> None:
    """Volcengine's answers name a replica by TRN and region only: the client describes it there."""
    from provider.dialects import HttpCall
    from provider.dialects.volcengine import client
    from provider.dialects.volcengine.shapes import key_doc

    primary = _key()
    replica_trn = primary.replicas[0].trn
    replica = _key(key_id="0d8a6c1e-5b4f-4e2a-9c3d-7e6f5a4b3c2d", trn=replica_trn, region="cn-east-3",
                   state=KeyState.PENDING_DELETE, multi_region_type=MultiRegionType.REPLICA, replicas=())

    def volcengine_doc(key: m.Key) -> dict[str, Any]:
        doc = key_doc(key)
        for link in [doc["MultiRegionConfiguration"].get("PrimaryKey") or {},
                     *doc["MultiRegionConfiguration"]["ReplicaKeys"]]:
            link.pop("KeyID", None)
            link.pop("KeyState", None)
        return doc

    sent: list[tuple[str, dict[str, Any]]] = []

    def send(region: str, call: HttpCall) -> tuple[int, bytes]:
        params = json.loads(call.body)
        sent.append((region, params))
        key = replica if params.get("KeyName") == "orders" and region == "cn-east-3" else primary
        body = {"ResponseMetadata": {"Action": "DescribeKey"}, "Result": {"Key": volcengine_doc(key)}}
        return 200, json.dumps(body).encode()

    got = client.execute("cn-north-4", m.DescribeKey(key=m.KeyRef(key_id=KEY_ID)), send)
    assert isinstance(got, m.Key)
    assert got.replicas == (m.LinkedKey(replica.key_id, replica_trn, "cn-east-3", KeyState.PENDING_DELETE),)
    assert got.primary is not None and got.primary.key_id == KEY_ID
    assert sent[1] == ("cn-east-3", {"KeyringName": "ring", "KeyName": "orders"})


def test_what_volcengine_lacks_is_the_dialects_word_not_the_host_names() -> None:
    from provider.dialects.volcengine import VOLCENGINE

    can = VOLCENGINE.capabilities
    assert not can.aliases and not can.enterprise_projects and not can.decrypt_names_key and not can.clock
    assert can.keyrings and can.links_in_answers and can.multi_region_at_create


def test_key_alias_says_so_at_preview_against_volcengine(monkeypatch: pytest.MonkeyPatch) -> None:
    from provider.resources import _common as common
    from provider.resources.key_alias import KeyAliasProvider

    for var in ("KMS_ENDPOINT", "KMS_DIALECT", "KMS_ACCESS_KEY", "KMS_SECRET_KEY", "KMS_REGION_CATALOG"):
        monkeypatch.delenv(var, raising=False)
    news = {"alias_name": "alias/app", "target_key_id": KEY_ID, "region": "cn-beijing"}
    try:
        # Whatever the host (Volcengine's own, or kmsctl serve behind a gateway): the dialect decides.
        for endpoint in ("https://kms.cn-beijing.volcengineapi.com", "http://127.0.0.1:8400"):
            common.reset_config({"endpoint": endpoint, "dialect": "volcengine"})
            failures = KeyAliasProvider().check({}, news).failures or []
            assert [f.property for f in failures] == ["alias_name"]
            assert "Volcengine KMS has no key aliases" in failures[0].reason
        common.reset_config({"endpoint": "http://127.0.0.1:8400", "dialect": "huaweicloud"})
        assert not KeyAliasProvider().check({}, {**news, "region": "cn-north-4"}).failures
    finally:
        common.reset_config()
