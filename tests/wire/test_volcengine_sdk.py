"""Volcengine's official SDK (`volcenginesdk-kms` 5.0.54, unmodified) as a client of `kmsctl serve`.

An ordinary session, in order, on one server: what a team using the SDK against Volcengine does, with the
service's rules behind it (docs/emulator.md) and their errors surfacing as the SDK surfaces them
(`ApiException` with the HTTP status of the error and the envelope's `Error.Code`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import volcenginesdkcore
import volcenginesdkkms as v
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from volcenginesdkcore.rest import ApiException

from tests.support.live_server import ACCESS_KEY, SECRET_KEY, KmsctlServer
from tests.wire.sdk_answers import checking_volcengine_sdk

HOME, AWAY = "cn-north-4", "cn-east-3"
RING = "payments"
State = dict[str, Any]


def sdk(server: KmsctlServer, region: str, secret_key: str = SECRET_KEY) -> v.KMSApi:
    cfg = volcenginesdkcore.Configuration()
    cfg.ak, cfg.sk, cfg.region = ACCESS_KEY, secret_key, region
    cfg.host, cfg.scheme = f"127.0.0.1:{server.port}", "http"
    cfg.auto_retry = False
    cfg.client_side_validation = True
    # Every raw answer is held to the SDK's response model, with no field left over.
    return v.KMSApi(checking_volcengine_sdk(volcenginesdkcore.ApiClient(cfg)))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def fails(call: Callable[[], Any]) -> tuple[int, str, str]:
    """The HTTP status, `Error.Code` and message of a call the server refuses."""
    with pytest.raises(ApiException) as caught:
        call()
    err = caught.value
    error = json.loads(err.body)["ResponseMetadata"]["Error"]
    return err.status, error["Code"], error["Message"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KmsctlServer]:
    state: Path = tmp_path_factory.mktemp("sdk") / "state"
    with KmsctlServer(state, env={"KMS_REPLICATION_DELAY": "0"}) as running:
        yield running


@pytest.fixture(scope="module")
def home(server: KmsctlServer) -> v.KMSApi:
    return sdk(server, HOME)


@pytest.fixture(scope="module")
def away(server: KmsctlServer) -> v.KMSApi:
    return sdk(server, AWAY)


@pytest.fixture(scope="module")
def s() -> State:
    """What the session's steps hand on to the next ones."""
    return {}


def test_keyrings_are_objects_and_default_always_exists(home: v.KMSApi) -> None:
    made = home.create_keyring(v.CreateKeyringRequest(keyring_name=RING, description="cards")).keyring
    assert (made.keyring_name, made.description, made.keyring_type) == (RING, "cards", "CustomKeyring")
    assert made.id and made.trn.endswith(f"keyrings/{RING}")
    listed = home.describe_keyrings(v.DescribeKeyringsRequest(current_page=1, page_size=10))
    assert {"default", RING} <= {r.keyring_name for r in listed.keyrings}
    assert listed.page_info.total_count == len(listed.keyrings)
    status, code, _ = fails(lambda: home.create_keyring(v.CreateKeyringRequest(keyring_name=RING)))
    assert (status, code) == (409, "Conflict")


def test_multi_region_key_with_tags(home: v.KMSApi, s: State) -> None:
    key = home.create_key(v.CreateKeyRequest(
        keyring_name=RING, key_name="orders", key_spec="SYMMETRIC_256", multi_region=True,
        description="order data", tags=[v.TagForCreateKeyInput(key="team", value="pay")])).key
    assert (key.key_spec, key.key_usage, key.key_state) == ("SYMMETRIC_256", "ENCRYPT_DECRYPT", "Enable")
    assert key.multi_region is True
    assert key.multi_region_configuration.multi_region_key_type == "PRIMARY"
    assert [(t.key, t.value) for t in key.tags] == [("team", "pay")]
    assert key.trn.endswith(f":keyrings/{RING}/keys/orders") and f":{HOME}:" in key.trn
    s["key"] = key.id
    # AES_256, the provider's (and Huawei Cloud's) name of the spec, is the same spec.
    aes = home.create_key(v.CreateKeyRequest(keyring_name=RING, key_name="legacy", key_spec="AES_256")).key
    assert (aes.key_spec, aes.multi_region) == ("SYMMETRIC_256", False)


def test_describe_by_id_and_by_keyring_and_name(home: v.KMSApi, s: State) -> None:
    by_id = home.describe_key(v.DescribeKeyRequest(key_id=s["key"])).key
    by_name = home.describe_key(v.DescribeKeyRequest(keyring_name=RING, key_name="orders")).key
    assert by_id.id == by_name.id == s["key"]
    assert by_name.multi_region is True and by_name.description == "order data"


def test_paged_listing(home: v.KMSApi) -> None:
    for name in ("a-one", "a-two"):
        home.create_key(v.CreateKeyRequest(keyring_name=RING, key_name=name))
    pages = [home.describe_keys(v.DescribeKeysRequest(keyring_name=RING, current_page=n, page_size=3))
             for n in (1, 2)]
    assert [p.page_info.count for p in pages] == [3, 1]
    assert {p.page_info.total_count for p in pages} == {4}
    assert [p.page_info.current_page for p in pages] == [1, 2]
    names = [k.key_name for p in pages for k in p.keys]
    assert sorted(names) == ["a-one", "a-two", "legacy", "orders"]
    tagged = home.describe_keys(v.DescribeKeysRequest(
        keyring_name=RING, tag_filters=[v.TagFilterForDescribeKeysInput(key="team", values=["pay"])]))
    assert [k.key_name for k in tagged.keys] == ["orders"]


def test_update(home: v.KMSApi, s: State) -> None:
    # Not only ASCII: the answer's JSON is UTF-8 as it is, and the SDK reads it back unchanged.
    home.update_key(v.UpdateKeyRequest(key_id=s["key"], description="订单与退款 — orders and refunds"))
    assert home.describe_key(v.DescribeKeyRequest(key_id=s["key"])).key.description == "订单与退款 — orders and refunds"


def test_encrypt_decrypt_with_context(home: v.KMSApi, server: KmsctlServer, s: State) -> None:
    ctx = {"order": "42", "tenant": "acme"}
    blob = home.encrypt(v.EncryptRequest(key_id=s["key"], plaintext=b64(b"card 4111"),
                                         encryption_context=ctx)).ciphertext_blob
    out = home.decrypt(v.DecryptRequest(ciphertext_blob=blob, encryption_context=ctx))
    assert base64.b64decode(out.plaintext) == b"card 4111"
    status, code, _ = fails(lambda: home.decrypt(v.DecryptRequest(ciphertext_blob=blob,
                                                                  encryption_context={"order": "43"})))
    assert (status, code) == (400, "InvalidParameter")
    s["blob"], s["ctx"] = blob, ctx


def test_data_key(home: v.KMSApi, s: State) -> None:
    dk = home.generate_data_key(v.GenerateDataKeyRequest(keyring_name=RING, key_name="orders", number_of_bytes=32))
    plain = base64.b64decode(dk.plaintext)
    assert len(plain) == 32
    opened = home.decrypt(v.DecryptRequest(ciphertext_blob=dk.ciphertext_blob))
    assert base64.b64decode(opened.plaintext) == plain


def test_replicate_and_decrypt_in_the_replica_region(home: v.KMSApi, away: v.KMSApi, s: State) -> None:
    replica = home.replicate_key(v.ReplicateKeyRequest(key_id=s["key"], replica_region=AWAY,
                                                       description="replica")).replica_key
    assert replica.multi_region_configuration.multi_region_key_type == "REPLICA"
    assert replica.multi_region_configuration.primary_key.region == HOME
    assert replica.key_name == "orders" and f":{AWAY}:" in replica.trn
    # The replica has its primary's keyring and name in its own region (Volcengine's ReplicateKey
    # reference, https://www.volcengine.com/docs/6476/1438471).
    there = away.describe_key(v.DescribeKeyRequest(keyring_name=RING, key_name="orders")).key
    assert there.id == replica.id and there.key_state == "Enable"
    opened = away.decrypt(v.DecryptRequest(ciphertext_blob=s["blob"], encryption_context=s["ctx"]))
    assert base64.b64decode(opened.plaintext) == b"card 4111"
    primary = home.describe_key(v.DescribeKeyRequest(key_id=s["key"])).key
    assert [r.region for r in primary.multi_region_configuration.replica_keys] == [AWAY]
    s["replica"] = replica.id


def test_rotation_on_and_off(home: v.KMSApi, away: v.KMSApi, s: State) -> None:
    home.enable_key_rotation(v.EnableKeyRotationRequest(key_id=s["key"], rotate_interval=90))
    key = home.describe_key(v.DescribeKeyRequest(key_id=s["key"])).key
    assert key.rotation_state == "Enable" and key.schedule_rotation_time
    home.disable_key_rotation(v.DisableKeyRotationRequest(key_id=s["key"]))  # a GET with query parameters
    assert home.describe_key(v.DescribeKeyRequest(key_id=s["key"])).key.rotation_state == "Disable"
    # No rotation on a replica (docs/emulator.md, rules table).
    status, code, _ = fails(lambda: away.enable_key_rotation(
        v.EnableKeyRotationRequest(key_id=s["replica"], rotate_interval=90)))
    assert (status, code) == (400, "InvalidOperation")


def test_tag_untag_and_list_tags(home: v.KMSApi, s: State) -> None:
    home.tag_resources(v.TagResourcesRequest(resource_type="keys", resource_ids=[s["key"]],
                                             tags=[v.TagForTagResourcesInput(key="env", value="prod")]))
    listed = home.list_tags_for_resources(v.ListTagsForResourcesRequest(resource_type="keys",
                                                                        resource_ids=[s["key"]]))
    assert {(t.resource_id, t.tag_key, t.tag_value) for t in listed.resource_tags} == {
        (s["key"], "env", "prod"), (s["key"], "team", "pay")}
    home.untag_resources(v.UntagResourcesRequest(resource_type="keys", resource_ids=[s["key"]], tag_keys=["env"]))
    key = home.describe_key(v.DescribeKeyRequest(key_id=s["key"])).key
    assert [(t.key, t.value) for t in key.tags] == [("team", "pay")]


def test_disable_and_enable(home: v.KMSApi, s: State) -> None:
    home.disable_key(v.DisableKeyRequest(key_id=s["key"]))
    assert home.describe_key(v.DescribeKeyRequest(key_id=s["key"])).key.key_state == "Disable"
    status, code, message = fails(lambda: home.encrypt(v.EncryptRequest(key_id=s["key"], plaintext=b64(b"x"))))
    assert (status, code) == (400, "InvalidKeyStatus") and "Disable" in message
    home.enable_key(v.EnableKeyRequest(key_id=s["key"]))  # a GET with query parameters
    assert home.describe_key(v.DescribeKeyRequest(key_id=s["key"])).key.key_state == "Enable"


def test_hmac_key_makes_and_checks_macs(home: v.KMSApi) -> None:
    key = home.create_key(v.CreateKeyRequest(keyring_name=RING, key_name="webhooks", key_spec="HMAC_256",
                                             key_usage="GENERATE_VERIFY_MAC")).key
    msg = b64(b"payload")
    mac = home.generate_mac(v.GenerateMacRequest(key_id=key.id, message=msg, mac_algorithm="HMAC_SHA_256"))
    assert mac.key_id == key.id and len(base64.b64decode(mac.mac)) == 32
    ok = home.verify_mac(v.VerifyMacRequest(key_id=key.id, message=msg, mac=mac.mac, mac_algorithm="HMAC_SHA_256"))
    bad = home.verify_mac(v.VerifyMacRequest(key_id=key.id, message=b64(b"payload!"), mac=mac.mac,
                                             mac_algorithm="HMAC_SHA_256"))
    assert (ok.mac_valid, bad.mac_valid) == (True, False)


def test_ec_key_signs_and_its_public_key_verifies(home: v.KMSApi) -> None:
    key = home.create_key(v.CreateKeyRequest(keyring_name=RING, key_name="signer", key_spec="EC_P256",
                                             key_usage="SIGN_VERIFY")).key
    msg = b"release 1.2.3"
    sig = home.asymmetric_sign(v.AsymmetricSignRequest(key_id=key.id, message=b64(msg), message_type="RAW",
                                                       algorithm="ECDSA_SHA_256"))
    digest = b64(hashlib.sha256(msg).digest())
    verdict = home.asymmetric_verify(v.AsymmetricVerifyRequest(
        key_id=key.id, message=digest, message_type="DIGEST", algorithm="ECDSA_SHA_256", signature=sig.signature))
    assert verdict.signature_valid is True
    pem = home.get_public_key(v.GetPublicKeyRequest(key_id=key.id)).public_key
    public = serialization.load_pem_public_key(pem.encode())
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(base64.b64decode(sig.signature), msg, ec.ECDSA(hashes.SHA256()))  # raises if not valid


def test_deletion_order_and_cancel(home: v.KMSApi, away: v.KMSApi, s: State) -> None:
    # A primary is scheduled for deletion only after its replicas (docs/emulator.md, rules table).
    status, code, _ = fails(lambda: home.schedule_key_deletion(
        v.ScheduleKeyDeletionRequest(key_id=s["key"], pending_window_in_days=7)))
    assert (status, code) == (400, "InvalidOperation")
    away.schedule_key_deletion(v.ScheduleKeyDeletionRequest(key_id=s["replica"], pending_window_in_days=7))
    home.schedule_key_deletion(v.ScheduleKeyDeletionRequest(key_id=s["key"], pending_window_in_days=7))
    key = home.describe_key(v.DescribeKeyRequest(key_id=s["key"])).key
    assert key.key_state == "PendingDelete" and key.schedule_delete_time
    home.cancel_key_deletion(v.CancelKeyDeletionRequest(key_id=s["key"]))
    # Cancelling a deletion leaves the key Disable (docs/emulator.md, rules table).
    assert home.describe_key(v.DescribeKeyRequest(key_id=s["key"])).key.key_state == "Disable"


def test_errors_as_the_sdk_surfaces_them(home: v.KMSApi, server: KmsctlServer) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert fails(lambda: home.describe_key(v.DescribeKeyRequest(key_id=missing)))[:2] == (404, "NotFound")
    duplicate = v.CreateKeyRequest(keyring_name=RING, key_name="orders")
    assert fails(lambda: home.create_key(duplicate))[:2] == (409, "Conflict")
    wrong = sdk(server, HOME, secret_key="not-the-secret")
    assert fails(lambda: wrong.describe_keys(v.DescribeKeysRequest()))[:2] == (403, "AccessDenied")
    status, code, message = fails(lambda: home.create_key(v.CreateKeyRequest(keyring_name=RING, key_name="bad",
                                                                              key_spec="DES_56")))
    assert (status, code) == (400, "InvalidParameter") and "KeySpec" in message


def test_an_action_the_server_does_not_serve_is_refused_as_volcengines_gateway_refuses_it(home: v.KMSApi) -> None:
    status, code, message = fails(lambda: home.create_secret(v.CreateSecretRequest(
        secret_name="db-password", secret_type="Generic", secret_value="not-sent-anywhere")))
    assert (status, code) == (404, "InvalidActionOrVersion")
    assert message == "Could not find operation CreateSecret for version 2021-02-18"
