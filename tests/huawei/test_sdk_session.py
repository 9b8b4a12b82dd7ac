"""An ordinary DEW session through the unmodified official SDK, `huaweicloudsdkkms`, against a live
`kmsctl serve`: every call goes over loopback HTTP, signed by huaweicloudsdkcore, into the emulator.
The service's rules (docs/emulator.md, with their public sources) are named where a step checks one."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkkms.v2 import KmsClient
from huaweicloudsdkkms.v2 import model as m

from tests.huawei.sdk_models import response_checker
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, KmsctlServer

PRIMARY = "cn-north-4"
REPLICA = "cn-east-3"  # a cn-north-4 key replicates to cn-east-3, cn-south-1, cn-southwest-2
# A region named by an opaque project id, as a real account's are: the server maps it (KMS_PROJECT_IDS).
REPLICA_PROJECT = "0b1c2d3e4f5a46b7a8d9e0f1a2b3c4d5"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KmsctlServer]:
    env = {"KMS_REPLICATION_DELAY": "0", "KMS_PROJECT_IDS": f"{REPLICA}={REPLICA_PROJECT}"}
    with KmsctlServer(tmp_path_factory.mktemp("dew") / "state", env=env) as running:
        yield running


def sdk(server: KmsctlServer, project: str = PRIMARY, secret: str = SECRET_KEY) -> KmsClient:
    credentials = BasicCredentials(ACCESS_KEY, secret, project_id=project)
    # Every raw answer is held to the SDK's response model, with no field left over.
    return (KmsClient.new_builder().with_credentials(credentials).with_endpoint(server.endpoint)
            .with_http_handler(response_checker()).build())


@pytest.fixture(scope="module")
def kms(server: KmsctlServer) -> KmsClient:
    return sdk(server)


def refused(call: object) -> ClientRequestException:
    with pytest.raises(ClientRequestException) as caught:
        call()  # type: ignore[operator]
    return caught.value


def new_key(kms: KmsClient, alias: str, spec: str = "AES_256", usage: str | None = None) -> str:
    body = m.CreateKeyRequestBody(key_alias=f"{alias}-{uuid.uuid4().hex[:6]}", key_spec=spec, key_usage=usage)
    key_id: str = kms.create_key(m.CreateKeyRequest(body=body)).key_info.key_id
    return key_id


def describe(kms: KmsClient, key_id: str) -> m.KeyDetails:
    return kms.list_key_detail(m.ListKeyDetailRequest(body=m.OperateKeyRequestBody(key_id=key_id))).key_info


def encrypt(kms: KmsClient, key_id: str, text: str, aad: str | None = None) -> str:
    body = m.EncryptDataRequestBody(key_id=key_id, plain_text=text, additional_authenticated_data=aad)
    cipher: str = kms.encrypt_data(m.EncryptDataRequest(body=body)).cipher_text
    return cipher


def decrypt(kms: KmsClient, cipher: str, aad: str | None = None) -> m.DecryptDataResponse:
    body = m.DecryptDataRequestBody(cipher_text=cipher, additional_authenticated_data=aad)
    return kms.decrypt_data(m.DecryptDataRequest(body=body))


def test_create_describe_list_and_update(kms: KmsClient) -> None:
    key_id = new_key(kms, "orders")
    info = describe(kms, key_id)
    assert (info.key_state, info.key_spec, info.key_usage, info.origin) == ("2", "AES_256", "ENCRYPT_DECRYPT", "kms")
    assert info.realm == PRIMARY and info.key_rotation_enabled == "false" and info.creation_date.isdigit()
    listed = kms.list_keys(m.ListKeysRequest(body=m.ListKeysRequestBody(limit="100", key_spec="ALL")))
    assert key_id in listed.keys and listed.truncated == "false" and isinstance(listed.total, int)
    kms.update_key_description(m.UpdateKeyDescriptionRequest(
        body=m.UpdateKeyDescriptionRequestBody(key_id=key_id, key_description="订单 at rest — ü")))
    renamed = kms.update_key_alias(m.UpdateKeyAliasRequest(
        body=m.UpdateKeyAliasRequestBody(key_id=key_id, key_alias=f"orders-renamed-{key_id[:8]}")))
    assert renamed.key_info.key_alias == f"orders-renamed-{key_id[:8]}"
    info = describe(kms, key_id)
    assert info.key_description == "订单 at rest — ü" and info.key_alias == f"orders-renamed-{key_id[:8]}"


def test_list_keys_pages_with_a_marker(kms: KmsClient) -> None:
    made = {new_key(kms, "page") for _ in range(3)}
    seen: list[str] = []
    marker = None
    while True:
        page = kms.list_keys(m.ListKeysRequest(body=m.ListKeysRequestBody(limit="2", marker=marker, key_spec="ALL")))
        assert len(page.keys) <= 2
        seen += page.keys
        if page.truncated == "false":
            break
        marker = page.next_marker
    assert made <= set(seen) and len(seen) == len(set(seen))


def test_encrypt_decrypt_with_context_and_data_keys(kms: KmsClient) -> None:
    key_id = new_key(kms, "payments")
    cipher = encrypt(kms, key_id, "card 4111", aad="tenant-a")
    opened = decrypt(kms, cipher, aad="tenant-a")
    assert (opened.key_id, opened.plain_text) == (key_id, "card 4111")
    assert refused(lambda: decrypt(kms, cipher, aad="tenant-b")).status_code == 400

    made = kms.create_datakey(m.CreateDatakeyRequest(
        body=m.CreateDatakeyRequestBody(key_id=key_id, datakey_length="256", additional_authenticated_data="db")))
    assert len(bytes.fromhex(made.plain_text)) == 32
    back = kms.decrypt_datakey(m.DecryptDatakeyRequest(body=m.DecryptDatakeyRequestBody(
        key_id=key_id, cipher_text=made.cipher_text, datakey_cipher_length="64", additional_authenticated_data="db")))
    assert back.data_key == made.plain_text
    assert back.datakey_dgst == hashlib.sha256(bytes.fromhex(made.plain_text)).hexdigest()
    bare = kms.create_datakey_without_plaintext(m.CreateDatakeyWithoutPlaintextRequest(
        body=m.CreateDatakeyRequestBody(key_id=key_id, key_spec="AES_128")))
    assert bare.cipher_text and not hasattr(bare, "plain_text")
    dek = bytes(range(32))
    wrapped = kms.encrypt_datakey(m.EncryptDatakeyRequest(body=m.EncryptDatakeyRequestBody(
        key_id=key_id, plain_text=(dek + hashlib.sha256(dek).digest()).hex(), datakey_plain_length="32")))
    assert wrapped.datakey_length == "32"
    unwrapped = kms.decrypt_datakey(m.DecryptDatakeyRequest(body=m.DecryptDatakeyRequestBody(
        key_id=key_id, cipher_text=wrapped.cipher_text, datakey_cipher_length="64")))
    assert bytes.fromhex(unwrapped.data_key) == dek


def test_rotation_and_tags(kms: KmsClient) -> None:
    key_id = new_key(kms, "rotating")
    op = m.OperateKeyRequestBody(key_id=key_id)
    kms.enable_key_rotation(m.EnableKeyRotationRequest(body=op))
    kms.update_key_rotation_interval(m.UpdateKeyRotationIntervalRequest(
        body=m.UpdateKeyRotationIntervalRequestBody(key_id=key_id, rotation_interval=90)))
    status = kms.show_key_rotation_status(m.ShowKeyRotationStatusRequest(body=op))
    assert status.key_rotation_enabled is True and status.rotation_interval == 90
    assert describe(kms, key_id).key_rotation_enabled == "true"
    kms.disable_key_rotation(m.DisableKeyRotationRequest(body=op))
    assert kms.show_key_rotation_status(m.ShowKeyRotationStatusRequest(body=op)).key_rotation_enabled is False

    kms.create_kms_tag(m.CreateKmsTagRequest(key_id=key_id, body=m.CreateKmsTagRequestBody(
        tag=m.TagItem(key="team", value="payments"))))
    kms.batch_create_kms_tags(m.BatchCreateKmsTagsRequest(key_id=key_id, body=m.BatchCreateKmsTagsRequestBody(
        action="create", tags=[m.TagItem(key="env", value="prod"), m.TagItem(key="cost", value="42")])))
    tags = kms.show_kms_tags(m.ShowKmsTagsRequest(key_id=key_id))
    assert {(t.key, t.value) for t in tags.tags} == {("team", "payments"), ("env", "prod"), ("cost", "42")}
    assert tags.exist_tags_num == 3
    kms.delete_tag(m.DeleteTagRequest(key_id=key_id, key="cost"))
    kms.batch_create_kms_tags(m.BatchCreateKmsTagsRequest(key_id=key_id, body=m.BatchCreateKmsTagsRequestBody(
        action="delete", tags=[m.TagItem(key="env")])))
    assert [(t.key, t.value) for t in kms.show_kms_tags(m.ShowKmsTagsRequest(key_id=key_id)).tags] == [
        ("team", "payments")]


def test_disabled_key_refuses_crypto_until_enabled(kms: KmsClient) -> None:
    key_id = new_key(kms, "toggled")
    op = m.OperateKeyRequestBody(key_id=key_id)
    assert kms.disable_key(m.DisableKeyRequest(body=op)).key_info.key_state == "3"
    # Only enabled keys encrypt or decrypt (docs/emulator.md, rules table).
    error = refused(lambda: encrypt(kms, key_id, "x"))
    assert (error.status_code, error.error_code) == (400, "KMS.0209")
    assert kms.enable_key(m.EnableKeyRequest(body=op)).key_info.key_state == "2"
    assert decrypt(kms, encrypt(kms, key_id, "back")).plain_text == "back"


def test_replica_in_a_matrix_region_decrypts_the_primarys_ciphertext(server: KmsctlServer, kms: KmsClient) -> None:
    key_id = new_key(kms, "global")
    cipher = encrypt(kms, key_id, "shared secret", aad="eu")
    made = kms.replicate_key(m.ReplicateKeyRequest(key_id=key_id, body=m.ReplicateKeyRequestBody(
        key_id=key_id, replica_region=REPLICA, replica_project_id=REPLICA_PROJECT, key_alias=f"global-r-{key_id[:6]}",
        tags=[m.TagItem(key="copy", value="yes")])))
    assert made.region == REPLICA and made.key_id != key_id
    there = sdk(server, REPLICA_PROJECT)
    replica = describe(there, made.key_id)
    assert replica.realm == REPLICA and replica.key_state in ("1", "2")
    # The replica key and the master key share the same key material (Huawei Cloud's ReplicateKey reference (https://support.huaweicloud.com/intl/en-us/api-dew/ReplicateKey.html)).
    opened = decrypt(there, cipher, aad="eu")
    assert (opened.key_id, opened.plain_text) == (made.key_id, "shared secret")
    assert decrypt(kms, encrypt(there, made.key_id, "reply")).plain_text == "reply"


def test_replica_region_outside_the_matrix_is_refused(kms: KmsClient) -> None:
    key_id = new_key(kms, "local")
    error = refused(lambda: kms.replicate_key(m.ReplicateKeyRequest(key_id=key_id, body=m.ReplicateKeyRequestBody(
        key_id=key_id, replica_region="ap-southeast-3", replica_project_id="ap-southeast-3",
        key_alias=f"local-r-{key_id[:6]}"))))
    assert error.status_code == 400 and error.error_code == "KMS.0312" and "ap-southeast-3" in error.error_msg


def test_what_huaweis_reference_makes_mandatory_is_required(kms: KmsClient) -> None:
    """ReplicateKey needs key_alias (the replica's alias) and replica_project_id, DeleteAlias needs key_id,
    as Huawei's API reference makes them mandatory: a request without one is refused naming it, and
    nothing happens."""
    key_id = new_key(kms, "mandatory")
    error = refused(lambda: kms.replicate_key(m.ReplicateKeyRequest(key_id=key_id, body=m.ReplicateKeyRequestBody(
        key_id=key_id, replica_region=REPLICA, replica_project_id=REPLICA_PROJECT))))
    assert (error.status_code, error.error_code) == (400, "KMS.0204") and "key_alias" in error.error_msg
    error = refused(lambda: kms.replicate_key(m.ReplicateKeyRequest(key_id=key_id, body=m.ReplicateKeyRequestBody(
        key_id=key_id, replica_region=REPLICA, key_alias=f"mandatory-r-{key_id[:6]}"))))
    assert (error.status_code, error.error_code) == (400, "KMS.0204") and "replica_project_id" in error.error_msg
    alias = f"alias/mandatory-{key_id[:6]}"
    kms.create_alias(m.CreateAliasRequest(body=m.CreateAliasRequestBody(key_id=key_id, alias=alias)))
    error = refused(lambda: kms.delete_alias(m.DeleteAliasRequest(body=m.DeleteAliasRequestBody(aliases=[alias]))))
    assert (error.status_code, error.error_code) == (400, "KMS.0204") and "key_id" in error.error_msg
    assert alias in [a.alias for a in kms.list_aliases(m.ListAliasesRequest(key_id=key_id)).body[0].aliases]


def test_hmac_keys_make_and_check_macs(kms: KmsClient) -> None:
    key_id = new_key(kms, "mac", "HMAC_256", "GENERATE_VERIFY_MAC")
    message = base64.b64encode(b"ledger line 7").decode()
    made = kms.generate_mac(m.GenerateMacRequest(body=m.GenerateMacRequestBody(
        key_id=key_id, mac_algorithm="HMAC_SHA_256", message=message)))
    assert len(base64.b64decode(made.mac)) == 32

    def check(mac: str) -> bool:
        verdict: bool = kms.verify_mac(m.VerifyMacRequest(body=m.VerifyMacRequestBody(
            key_id=key_id, mac_algorithm="HMAC_SHA_256", message=message, mac=mac))).mac_valid
        return verdict

    assert check(made.mac) is True
    assert check(base64.b64encode(bytes(32)).decode()) is False
    # list-keys answers AES_256 keys unless key_spec asks for another spec or ALL (Huawei's default).
    aes_only = kms.list_keys(m.ListKeysRequest(body=m.ListKeysRequestBody(limit="1000")))
    hmac_only = kms.list_keys(m.ListKeysRequest(body=m.ListKeysRequestBody(limit="1000", key_spec="HMAC_256")))
    assert key_id not in aes_only.keys and key_id in hmac_only.keys


def test_ec_keys_sign_and_the_public_key_verifies(kms: KmsClient) -> None:
    key_id = new_key(kms, "signer", "EC_P256", "SIGN_VERIFY")
    message = b"release 1.4.2"
    signed = kms.sign(m.SignRequest(body=m.SignRequestBody(
        key_id=key_id, message=base64.b64encode(message).decode(), signing_algorithm="ECDSA_SHA_256",
        message_type="RAW")))
    verdict = kms.validate_signature(m.ValidateSignatureRequest(body=m.VerifyRequestBody(
        key_id=key_id, message=base64.b64encode(message).decode(), signature=signed.signature,
        signing_algorithm="ECDSA_SHA_256", message_type="RAW")))
    assert verdict.signature_valid == "true"
    pem = kms.show_public_key(m.ShowPublicKeyRequest(body=m.OperateKeyRequestBody(key_id=key_id))).public_key
    public = serialization.load_pem_public_key(pem.encode())
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(base64.b64decode(signed.signature), message, ec.ECDSA(hashes.SHA256()))  # raises if wrong


def test_aliases_name_keys_and_move_between_them(kms: KmsClient) -> None:
    first, second = new_key(kms, "a1"), new_key(kms, "a2")
    alias = f"alias/app-{first[:8]}"
    made = kms.create_alias(m.CreateAliasRequest(body=m.CreateAliasRequestBody(key_id=first, alias=alias)))
    assert (made.alias, made.key_id) == (alias, first)
    assert decrypt(kms, encrypt(kms, alias, "via alias")).key_id == first
    listed = kms.list_aliases(m.ListAliasesRequest(key_id=first))
    assert [a.alias for page in listed.body for a in page.aliases] == [alias]
    moved = kms.associate_alias(m.AssociateAliasRequest(body=m.AssociateAliasRequestBody(
        alias=alias, target_key_id=second)))
    assert moved.key_id == second
    kms.delete_alias(m.DeleteAliasRequest(body=m.DeleteAliasRequestBody(aliases=[alias], key_id=second)))
    assert refused(lambda: encrypt(kms, alias, "gone")).status_code == 404


def test_deletion_order_and_cancel(server: KmsctlServer, kms: KmsClient) -> None:
    key_id = new_key(kms, "retiring")
    made = kms.replicate_key(m.ReplicateKeyRequest(key_id=key_id, body=m.ReplicateKeyRequestBody(
        key_id=key_id, replica_region="cn-south-1", replica_project_id="cn-south-1",
        key_alias=f"retiring-r-{key_id[:6]}")))
    # A primary key is scheduled for deletion only after its replicas are (docs/emulator.md, rules table).
    error = refused(lambda: kms.delete_key(m.DeleteKeyRequest(
        body=m.ScheduleKeyDeletionRequestBody(key_id=key_id, pending_days="7"))))
    assert (error.status_code, error.error_code) == (400, "KMS.0311")
    south = sdk(server, "cn-south-1")
    assert south.delete_key(m.DeleteKeyRequest(body=m.ScheduleKeyDeletionRequestBody(
        key_id=made.key_id, pending_days="7"))).key_state == "4"
    gone = kms.delete_key(m.DeleteKeyRequest(body=m.ScheduleKeyDeletionRequestBody(key_id=key_id, pending_days="30")))
    assert gone.key_state == "4"
    assert describe(kms, key_id).scheduled_deletion_date.isdigit()
    # Cancelling a scheduled deletion leaves the key disabled (docs/emulator.md, rules table).
    back = kms.cancel_key_deletion(m.CancelKeyDeletionRequest(body=m.OperateKeyRequestBody(key_id=key_id)))
    assert back.key_state == "3" and describe(kms, key_id).key_state == "3"


def test_a_key_that_does_not_exist_is_kms_0207(kms: KmsClient) -> None:
    error = refused(lambda: describe(kms, str(uuid.uuid4())))
    assert (error.status_code, error.error_code) == (404, "KMS.0207")
    assert error.request_id  # the SDK reads X-Request-Id


def test_a_bad_signature_is_refused_with_401(server: KmsctlServer) -> None:
    error = refused(lambda: new_key(sdk(server, secret="not-the-secret"), "forged"))
    assert (error.status_code, error.error_code) == (401, "APIGW.0301")
    assert SECRET_KEY not in server.log()


def test_an_unknown_project_is_refused(server: KmsctlServer) -> None:
    error = refused(lambda: new_key(sdk(server, project="ffffffffffffffffffffffffffffffff"), "lost"))
    assert error.status_code == 400 and "KMS_PROJECT_IDS" in error.error_msg



def test_one_server_answers_both_clouds_sdks(server: KmsctlServer, kms: KmsClient) -> None:
    """A key made through Huawei's SDK is the same key through Volcengine's, on the same port; a
    ciphertext made through one opens through the other (the context is the same JSON object)."""
    import volcenginesdkcore
    import volcenginesdkkms as v

    cfg = volcenginesdkcore.Configuration()
    cfg.ak, cfg.sk, cfg.region = ACCESS_KEY, SECRET_KEY, PRIMARY
    cfg.host, cfg.scheme = f"127.0.0.1:{server.port}", "http"
    volc = v.KMSApi(volcenginesdkcore.ApiClient(cfg))
    key_id = new_key(kms, "both")
    seen = volc.describe_key(v.DescribeKeyRequest(key_id=key_id)).key
    assert (seen.id, seen.key_name, seen.key_state) == (key_id, describe(kms, key_id).key_alias, "Enable")
    cipher = encrypt(kms, key_id, "made by huawei", aad='{"app":"both"}')
    opened = volc.decrypt(v.DecryptRequest(ciphertext_blob=cipher, encryption_context='{"app":"both"}'))
    assert base64.b64decode(opened.plaintext) == b"made by huawei"


def test_every_operation_served_answers_exactly_its_sdk_response_model(server: KmsctlServer) -> None:
    """One call of every operation the server serves, through the SDK, each raw answer held to the
    operation's response model with no field left over; the route table holds nothing unexercised."""
    from cryptography.hazmat.primitives.asymmetric import padding

    from provider.dialects.huaweicloud import models as generated
    from provider.dialects.huaweicloud import server as huawei_server
    from tests.huawei.sdk_models import operation_of

    seen: list[str] = []
    credentials = BasicCredentials(ACCESS_KEY, SECRET_KEY, project_id=PRIMARY)
    kms = (KmsClient.new_builder().with_credentials(credentials).with_endpoint(server.endpoint)
           .with_http_handler(response_checker(seen)).build())
    key_id = new_key(kms, "every")
    op = m.OperateKeyRequestBody(key_id=key_id)
    describe(kms, key_id)
    kms.list_keys(m.ListKeysRequest(body=m.ListKeysRequestBody(limit="5", key_spec="ALL")))
    kms.disable_key(m.DisableKeyRequest(body=op))
    kms.enable_key(m.EnableKeyRequest(body=op))
    kms.update_key_alias(m.UpdateKeyAliasRequest(body=m.UpdateKeyAliasRequestBody(key_id=key_id,
                                                                                  key_alias=f"every-{key_id[:8]}")))
    kms.update_key_description(m.UpdateKeyDescriptionRequest(
        body=m.UpdateKeyDescriptionRequestBody(key_id=key_id, key_description="every operation")))
    cipher = encrypt(kms, key_id, "text", aad="a")
    decrypt(kms, cipher, aad="a")
    other = new_key(kms, "every-other")
    kms.re_encrypt(m.ReEncryptRequest(body=m.ReEncryptRequestBody(
        cipher_text=cipher, source_additional_authenticated_data="a", destination_key_id=other)))
    made = kms.create_datakey(m.CreateDatakeyRequest(body=m.CreateDatakeyRequestBody(key_id=key_id,
                                                                                     datakey_length="256")))
    kms.create_datakey_without_plaintext(m.CreateDatakeyWithoutPlaintextRequest(
        body=m.CreateDatakeyRequestBody(key_id=key_id, key_spec="AES_256")))
    dek = bytes.fromhex(made.plain_text)
    kms.encrypt_datakey(m.EncryptDatakeyRequest(body=m.EncryptDatakeyRequestBody(
        key_id=key_id, plain_text=(dek + hashlib.sha256(dek).digest()).hex(), datakey_plain_length="32")))
    kms.decrypt_datakey(m.DecryptDatakeyRequest(body=m.DecryptDatakeyRequestBody(
        key_id=key_id, cipher_text=made.cipher_text, datakey_cipher_length="64")))
    kms.enable_key_rotation(m.EnableKeyRotationRequest(body=op))
    kms.update_key_rotation_interval(m.UpdateKeyRotationIntervalRequest(
        body=m.UpdateKeyRotationIntervalRequestBody(key_id=key_id, rotation_interval=120)))
    kms.show_key_rotation_status(m.ShowKeyRotationStatusRequest(body=op))
    kms.disable_key_rotation(m.DisableKeyRotationRequest(body=op))
    kms.create_kms_tag(m.CreateKmsTagRequest(key_id=key_id, body=m.CreateKmsTagRequestBody(
        tag=m.TagItem(key="a", value="1"))))
    kms.batch_create_kms_tags(m.BatchCreateKmsTagsRequest(key_id=key_id, body=m.BatchCreateKmsTagsRequestBody(
        action="create", tags=[m.TagItem(key="b", value="2")])))
    kms.show_kms_tags(m.ShowKmsTagsRequest(key_id=key_id))
    kms.delete_tag(m.DeleteTagRequest(key_id=key_id, key="a"))
    alias = f"alias/every-{key_id[:8]}"
    kms.create_alias(m.CreateAliasRequest(body=m.CreateAliasRequestBody(key_id=key_id, alias=alias)))
    kms.associate_alias(m.AssociateAliasRequest(body=m.AssociateAliasRequestBody(alias=alias, target_key_id=other)))
    kms.list_aliases(m.ListAliasesRequest(key_id=other))
    kms.delete_alias(m.DeleteAliasRequest(body=m.DeleteAliasRequestBody(aliases=[alias], key_id=other)))
    kms.replicate_key(m.ReplicateKeyRequest(key_id=key_id, body=m.ReplicateKeyRequestBody(
        key_id=key_id, replica_region="cn-south-1", replica_project_id="cn-south-1",
        key_alias=f"every-r-{key_id[:8]}")))
    signer_id = new_key(kms, "every-ec", "EC_P256", "SIGN_VERIFY")
    message = base64.b64encode(b"every").decode()
    signed = kms.sign(m.SignRequest(body=m.SignRequestBody(key_id=signer_id, message=message,
                                                            signing_algorithm="ECDSA_SHA_256", message_type="RAW")))
    kms.validate_signature(m.ValidateSignatureRequest(body=m.VerifyRequestBody(
        key_id=signer_id, message=message, signature=signed.signature, signing_algorithm="ECDSA_SHA_256",
        message_type="RAW")))
    kms.show_public_key(m.ShowPublicKeyRequest(body=m.OperateKeyRequestBody(key_id=signer_id)))
    mac_id = new_key(kms, "every-mac", "HMAC_256", "GENERATE_VERIFY_MAC")
    mac = kms.generate_mac(m.GenerateMacRequest(body=m.GenerateMacRequestBody(
        key_id=mac_id, mac_algorithm="HMAC_SHA_256", message=message))).mac
    kms.verify_mac(m.VerifyMacRequest(body=m.VerifyMacRequestBody(
        key_id=mac_id, mac_algorithm="HMAC_SHA_256", message=message, mac=mac)))
    body = m.CreateKeyRequestBody(key_alias=f"every-ext-{key_id[:6]}", key_spec="AES_256", origin="external")
    external = kms.create_key(m.CreateKeyRequest(body=body)).key_info.key_id
    params = kms.create_parameters_for_import(m.CreateParametersForImportRequest(
        body=m.GetParametersForImportRequestBody(key_id=external, wrapping_algorithm="RSAES_OAEP_SHA_256")))
    wrapping = serialization.load_der_public_key(base64.b64decode(params.public_key))
    wrapped = wrapping.encrypt(bytes(range(32)), padding.OAEP(  # type: ignore[union-attr]
        mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    kms.import_key_material(m.ImportKeyMaterialRequest(body=m.ImportKeyMaterialRequestBody(
        key_id=external, import_token=params.import_token, encrypted_key_material=base64.b64encode(wrapped).decode())))
    kms.delete_key(m.DeleteKeyRequest(body=m.ScheduleKeyDeletionRequestBody(key_id=other, pending_days="7")))
    kms.cancel_key_deletion(m.CancelKeyDeletionRequest(body=m.OperateKeyRequestBody(key_id=other)))

    answered = {operation_of(*call.split(" ", 1)).name for call in seen}
    served = set(huawei_server.OPERATIONS)
    assert served <= set(generated.OPERATIONS)
    assert answered == served, f"not exercised: {sorted(served - answered)}"


def test_an_operation_the_server_does_not_serve_is_refused_as_huaweis_gateway_refuses_it(kms: KmsClient) -> None:
    key_id = new_key(kms, "granted")
    error = refused(lambda: kms.create_grant(m.CreateGrantRequest(body=m.CreateGrantRequestBody(
        key_id=key_id, grantee_principal="0" * 32, operations=["describe-key"]))))
    assert (error.status_code, error.error_code) == (404, "APIGW.0101")
    assert error.error_msg == "The API does not exist or has not been published in the environment"
