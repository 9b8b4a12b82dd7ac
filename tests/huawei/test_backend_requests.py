"""The provider's own client over the `huaweicloud` dialect: HttpBackend against a real server on
loopback, every request it sends checked against the SDK's request model (fields and their types),
every answer against the SDK's response model. One session exercises every action the provider uses."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from provider.backend.http import HttpBackend
from provider.client import KmsClient
from provider.dialects import HttpCall
from provider.dialects.huaweicloud import HuaweiCloud
from provider.domain.errors import Conflict, InvalidKeyStatus, InvalidParameter, InvalidReplicaRegion, NotFound
from provider.emulator import Emulator
from provider.server.app import KmsApp
from tests.huawei.sdk_models import SdkOperation, check_request, check_response
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, ThreadServer

REGION = "cn-north-4"
PROJECTS = {"cn-north-4": "a1b2c3d4e5f60718293a4b5c6d7e8f90", "cn-east-3": "0f1e2d3c4b5a69788796a5b4c3d2e1f0"}


@pytest.fixture
def sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[KmsClient, list[SdkOperation]]]:
    monkeypatch.setenv("KMS_REPLICATION_DELAY", "0")
    # The server's own map of project ids to regions (its clock path reads the environment's, as kmsctl serve).
    monkeypatch.setenv("KMS_PROJECT_IDS", ",".join(f"{r}={p}" for r, p in PROJECTS.items()))
    server_dialect = HuaweiCloud(project_ids=PROJECTS)
    app = KmsApp(Emulator(tmp_path / "state"), {ACCESS_KEY: SECRET_KEY}, dialects=(server_dialect,))
    with ThreadServer(app) as server:
        backend = HttpBackend(server.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY,
                              dialect=HuaweiCloud(project_ids=PROJECTS))
        seen: list[SdkOperation] = []
        transport = backend.send

        def checked(region: str, call: HttpCall) -> tuple[int, bytes]:
            if call.path.startswith("/_emulator/"):  # the emulator's own path, outside Huawei's API
                return transport(region, call)
            assert call.path.split("/")[2] == PROJECTS[region]  # the project id of the region, in the path
            assert call.headers["X-Project-Id"] == PROJECTS[region]
            op = check_request(call.method, call.path, call.query, call.body)
            status, body = transport(region, call)
            if status < 400:
                check_response(op, body)
            seen.append(op)
            return status, body

        backend.send = checked  # type: ignore[method-assign]
        yield KmsClient(backend, REGION), seen
        backend.close()


def test_every_request_validates_against_the_sdks_models(sent: tuple[KmsClient, list[SdkOperation]]) -> None:
    kms, seen = sent
    key = kms.create_key("orders", description="orders at rest", tags={"team": "pay"}, rotation_days=90)
    assert (key.state, key.name, key.tags, key.rotation_enabled, key.rotation_days) == (
        "Enable", "orders", {"team": "pay"}, True, 90)
    assert kms.describe_key(key.key_id).enterprise_project == "default"
    assert key.key_id in {k.key_id for k in kms.list_keys()}
    key = kms.update_key(key.key_id, new_key_name="orders-v2", description="v2")
    assert (key.name, key.description) == ("orders-v2", "v2")
    assert kms.disable_key(key.key_id).state == "Disable"
    with pytest.raises(InvalidKeyStatus):
        kms.encrypt(key.key_id, b"refused")
    assert kms.enable_key(key.key_id).state == "Enable"
    assert kms.disable_key_rotation(key.key_id).rotation_enabled is False
    assert kms.enable_key_rotation(key.key_id, 120).rotation_days == 120
    assert kms.tag_resources(key.key_id, {"env": "prod"}).tags == {"team": "pay", "env": "prod"}
    assert kms.untag_resources(key.key_id, ["team"]).tags == {"env": "prod"}

    # Text goes through encrypt-data, bytes that are not text (a data key) through encrypt-datakey.
    blob = kms.encrypt(key.key_id, b"card 4111", context={"tenant": "a"})
    assert kms.decrypt(blob, context={"tenant": "a"}) == (key.key_id, b"card 4111")
    raw = os.urandom(32) + b"\xff"
    assert kms.decrypt(kms.encrypt(key.key_id, raw)) == (key.key_id, raw)
    key_id, plain, wrapped = kms.generate_data_key(key.key_id, 16, context={"db": "x"})
    assert len(plain) == 16 and kms.decrypt(wrapped, context={"db": "x"}) == (key.key_id, plain)
    assert kms.decrypt(kms.generate_data_key_without_plaintext(key.key_id))[0] == key.key_id
    other = kms.create_key("other")
    moved = kms.re_encrypt(blob, other.key_id, old_context={"tenant": "a"})
    assert kms.decrypt(moved) == (other.key_id, b"card 4111")

    replica = kms.replicate_key(key.key_id, "cn-east-3", replica_key_name="orders-east", tags={"copy": "yes"})
    assert (replica.region, replica.multi_region_type, replica.primary and replica.primary.key_id) == (
        "cn-east-3", "REPLICA", key.key_id)
    # Huawei's KeyDetails names no replicas: the primary reads as it is answered (the resources keep the link).
    assert kms.describe_key(key.key_id).replica_regions == ()
    assert kms.in_region("cn-east-3").decrypt(blob, context={"tenant": "a"}) == (replica.key_id, b"card 4111")
    with pytest.raises(InvalidReplicaRegion):
        kms.replicate_key(other.key_id, "ap-southeast-3")

    alias = kms.create_alias("alias/orders", key.key_id)
    assert (alias.name, alias.key_id) == ("alias/orders", key.key_id)
    assert kms.update_alias("alias/orders", other.key_id).key_id == other.key_id
    assert [a.name for a in kms.list_aliases(other.key_id)] == ["alias/orders"]
    assert [a.name for a in kms.list_aliases()] == ["alias/orders"]
    kms.delete_alias("alias/orders")
    assert kms.list_aliases() == []

    mac_key = kms.create_key("mac", key_spec="HMAC_384")
    mac = kms.generate_mac(mac_key.key_id, b"line")
    assert len(mac) == 48 and kms.verify_mac(mac_key.key_id, b"line", mac) is True
    assert kms.verify_mac(mac_key.key_id, b"other line", mac) is False

    signer = kms.create_key("signer", key_spec="EC_P256", key_usage="SIGN_VERIFY")
    digest = hashlib.sha256(b"release").digest()
    signature = kms.sign(signer.key_id, digest, "ECDSA_SHA_256", digest=True)
    assert kms.verify(signer.key_id, digest, signature, "ECDSA_SHA_256", digest=True) is True
    from cryptography.hazmat.primitives import serialization
    public = serialization.load_pem_public_key(kms.get_public_key(signer.key_id).encode())
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(signature, b"release", ec.ECDSA(hashes.SHA256()))

    byok = kms.create_key("byok", origin="external")
    assert byok.state == "PendingImport"
    material = os.urandom(32)
    assert kms.import_material(byok.key_id, material).state == "Enable"

    assert kms.in_region("cn-east-3").schedule_key_deletion(replica.key_id, 7).state == "PendingDelete"
    gone = kms.schedule_key_deletion(key.key_id, 7)
    assert gone.state == "PendingDelete" and gone.deletion_date is not None
    assert kms.cancel_key_deletion(key.key_id).state == "Disable"
    clock = kms.advance_clock(86400)
    assert clock.offset_seconds >= 86400
    with pytest.raises(NotFound):
        kms.describe_key("0d0466b0-e727-4d9c-b35d-f84bb474a37f")

    used = {op.name for op in seen}
    assert {"create_key", "list_key_detail", "list_keys", "update_key_alias", "update_key_description",
            "disable_key", "enable_key", "enable_key_rotation", "update_key_rotation_interval",
            "disable_key_rotation", "batch_create_kms_tags", "encrypt_data", "encrypt_datakey", "decrypt_data",
            "create_datakey", "create_datakey_without_plaintext", "re_encrypt", "replicate_key", "create_alias",
            "associate_alias", "list_aliases", "delete_alias", "generate_mac", "verify_mac", "sign",
            "validate_signature", "show_public_key", "create_parameters_for_import", "import_key_material",
            "delete_key", "cancel_key_deletion"} <= used


def test_inputs_huawei_lacks_are_refused_not_dropped(sent: tuple[KmsClient, list[SdkOperation]]) -> None:
    kms, seen = sent
    with pytest.raises(InvalidParameter, match="no keyrings"):
        kms.create_key("ringed", keyring_name="team-a")
    with pytest.raises(InvalidParameter, match="no keyrings"):
        kms.create_keyring("team-a")
    key = kms.create_key("plain", enterprise_project="proj-1")
    with pytest.raises(InvalidParameter, match="enterprise_project"):
        kms.update_key(key.key_id, enterprise_project="proj-2")
    assert kms.describe_key(key.key_id).enterprise_project == "proj-1"


def test_a_region_without_a_project_id_names_the_setting(tmp_path: Path) -> None:
    backend = HttpBackend("http://127.0.0.1:9", access_key=ACCESS_KEY, secret_key=SECRET_KEY,
                          dialect=HuaweiCloud(project_ids=PROJECTS))
    with pytest.raises(InvalidParameter, match="kms:projectIds .* region me-east-1"):
        KmsClient(backend, "me-east-1").describe_key("k")


def test_a_tokened_create_repeats_safely(sent: tuple[KmsClient, list[SdkOperation]]) -> None:
    # Huawei has no client token; the provider's tokened creates (its retries) find their key by name.
    kms, _ = sent
    first = kms.create_key("once", client_token="tok-1")
    assert kms.create_key("once", client_token="tok-1").key_id == first.key_id
    with pytest.raises(Conflict):
        kms.create_key("once")  # untokened: the name is taken
    replica = kms.replicate_key(first.key_id, "cn-east-3", client_token="tok-2")
    assert kms.replicate_key(first.key_id, "cn-east-3", client_token="tok-2").key_id == replica.key_id
    with pytest.raises(Conflict):
        kms.replicate_key(first.key_id, "cn-east-3")  # one replica a region (docs/emulator.md)


def test_page_bounds_follow_the_domains_rule(sent: tuple[KmsClient, list[SdkOperation]]) -> None:
    kms, _ = sent
    with pytest.raises(InvalidParameter, match="page size must be 1..1000"):
        kms.describe_keys(limit=0)
    with pytest.raises(InvalidParameter, match="Region 'mars-1'"):
        kms.in_region("mars-1").create_key("x")
