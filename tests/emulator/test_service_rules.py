"""One test per service rule of the clouds' documentation (Huawei Cloud DEW guide, Volcengine KMS API reference), each
quoting the line it checks. They run against every backend of `tests/conftest.py`: the embedded emulator and a live
server over the wire."""

from __future__ import annotations

import pytest

from provider.client import KmsClient, tags_of
from provider.domain import rules
from provider.domain.errors import (
    Conflict,
    InvalidKeyStatus,
    InvalidOperation,
    InvalidParameter,
    InvalidReplicaRegion,
    NotFound,
    QuotaExceeded,
)

DAY = 86400


def test_custom_key_defaults_to_enabled_aes(kms: KmsClient) -> None:
    # Huawei Cloud DEW, Creating a Custom Key: "By default, a key with KMS-generated key materials is in the Enabled
    # state"
    key = kms.create_key("orders")
    assert (key.spec, key.usage, key.state, key.origin) == (
        "AES_256",
        "ENCRYPT_DECRYPT",
        "Enable",
        "CloudKMS",
    )
    assert key.trn == f"trn:kms:cn-north-4:{key.trn.split(':')[3]}:keyrings/default/keys/orders"


@pytest.mark.parametrize(
    ("spec", "default_usage"),
    [
        # Huawei Cloud DEW, Creating a Custom Key: "For an AES_256 symmetric key, the default value is ENCRYPT_DECRYPT."
        ("AES_256", "ENCRYPT_DECRYPT"),
        # "For an HMAC symmetric key, the default value is GENERATE_VERIFY_MAC."
        ("HMAC_256", "GENERATE_VERIFY_MAC"),
        ("HMAC_SM3", "GENERATE_VERIFY_MAC"),
        # "For RSA asymmetric keys, select ENCRYPT_DECRYPT or SIGN_VERIFY. The default value is SIGN_VERIFY."
        ("RSA_2048", "SIGN_VERIFY"),
        # "For an ECC asymmetric key, the default value is SIGN_VERIFY."
        ("EC_P256", "SIGN_VERIFY"),
    ],
)
def test_key_usage_defaults_per_spec(kms: KmsClient, spec: str, default_usage: str) -> None:
    assert kms.create_key(f"k-{spec}", key_spec=spec).usage == default_usage


@pytest.mark.parametrize(
    ("spec", "usage"),
    [("AES_256", "SIGN_VERIFY"), ("HMAC_384", "ENCRYPT_DECRYPT"), ("EC_P384", "ENCRYPT_DECRYPT")],
)
def test_key_usage_not_allowed_for_spec(kms: KmsClient, spec: str, usage: str) -> None:
    # Huawei Cloud DEW, Creating a Custom Key: "ECC keys can be used only for digital signature and signature
    # verification."
    with pytest.raises(InvalidParameter, match=f"KeyUsage '{usage}' is not allowed for key spec {spec}"):
        kms.create_key("bad", key_spec=spec, key_usage=usage)


def test_rsa_may_encrypt(kms: KmsClient) -> None:
    # Huawei Cloud DEW, Creating a Custom Key: "RSA keys can be used for encryption, decryption, digital signature, and
    # signature verification."
    key = kms.create_key("rsa-enc", key_spec="RSA_3072", key_usage="ENCRYPT_DECRYPT")
    blob = kms.encrypt(key.key_id, b"secret")
    assert kms.decrypt(blob, key_id=key.key_id)[1] == b"secret"


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("has space", "only letters, digits"),
        ("x" * 256, "at most 255"),
        ("team/default", "ends with /default"),
    ],
)
def test_key_name_rules(kms: KmsClient, name: str, rule: str) -> None:
    # Huawei Cloud DEW, Creating a Custom Key: "You can enter digits, letters, underscores (_), hyphens (-), colons (:),
    # and slashes (/)." "You can enter up to 255 characters." "do not use aliases ending with /default."
    with pytest.raises(InvalidParameter, match=rule):
        kms.create_key(name)


def test_key_name_accepts_the_whole_charset(kms: KmsClient) -> None:
    name = "Ab_0-9:team/" + "x" * 243
    assert len(name) == 255
    assert kms.create_key(name).name == name


@pytest.mark.needs("aliases")
def test_alias_rules(kms: KmsClient) -> None:
    key = kms.create_key("aliased")
    with pytest.raises(InvalidParameter, match="must start with alias/"):
        kms.create_alias("orders", key.key_id)
    with pytest.raises(InvalidParameter, match="ends with /default"):
        kms.create_alias("alias/app/default", key.key_id)
    kms.create_alias("alias/orders", key.key_id)
    with pytest.raises(Conflict):
        kms.create_alias("alias/orders", key.key_id)
    # Any key argument also accepts an alias name.
    assert kms.describe_key("alias/orders").key_id == key.key_id


def test_at_most_20_tags(kms: KmsClient) -> None:
    # Huawei Cloud DEW, Creating a Custom Key: "A maximum of 20 tags can be added for one custom key."
    tags = {f"t{i}": "v" for i in range(20)}
    key = kms.create_key("tagged", tags=tags)
    assert tags_of(key) == tags
    with pytest.raises(InvalidParameter, match="at most 20 tags"):
        kms.tag_resources(key.key_id, {"one-more": "v"})
    with pytest.raises(InvalidParameter, match="at most 20 tags"):
        kms.create_key("too-many", tags={f"t{i}": "v" for i in range(21)})


def test_one_value_per_tag_key(kms: KmsClient) -> None:
    # Huawei Cloud DEW, Creating a Key: "under the same custom key, one tag key can have only one tag value."
    key = kms.create_key("retag", tags={"env": "dev"})
    assert tags_of(kms.tag_resources(key.key_id, {"env": "prod"})) == {"env": "prod"}
    # The domain takes tags as a mapping; a wire list naming a tag key twice fails the rule as it is parsed.
    with pytest.raises(InvalidParameter, match="appears twice"):
        rules.tags([("a", "1"), ("a", "2")])


@pytest.mark.parametrize("days", [6, 1097])
def test_deletion_window_bounds(kms: KmsClient, days: int) -> None:
    # Huawei Cloud DEW, Creating a Custom Key: "you can set a scheduled deletion date for the key, which ranges from 7
    # to 1,096 days."
    key = kms.create_key("window")
    with pytest.raises(InvalidParameter, match="ranges from 7 to 1096"):
        kms.schedule_key_deletion(key.key_id, days)


def test_cancel_deletion_leaves_key_disabled(kms: KmsClient) -> None:
    # Huawei Cloud DEW, Creating a Custom Key: "After the cancellation, the key is in Disabled status."
    key = kms.create_key("cancel")
    assert kms.schedule_key_deletion(key.key_id, 7).state == "PendingDelete"
    assert kms.cancel_key_deletion(key.key_id).state == "Disable"


def test_disabled_or_pending_key_refuses_crypto(kms: KmsClient) -> None:
    # Huawei Cloud DEW, Creating a Custom Key: "After a custom key is disabled, you cannot use it to encrypt or decrypt
    # any data."
    key = kms.create_key("off")
    blob = kms.encrypt(key.key_id, b"x")
    kms.disable_key(key.key_id)
    with pytest.raises(InvalidKeyStatus, match="Disable"):
        kms.encrypt(key.key_id, b"x")
    with pytest.raises(InvalidKeyStatus):
        kms.decrypt(blob)
    kms.schedule_key_deletion(key.key_id, 7)
    with pytest.raises(InvalidKeyStatus, match="PendingDelete"):
        kms.decrypt(blob)


def test_deletion_comes_due(kms: KmsClient) -> None:
    # Huawei Cloud DEW, Creating a Custom Key: "The system will delete the key once the deletion period expires. The
    # content encrypted using the key and the generated data key cannot be decrypted."
    key = kms.create_key("doomed")
    blob = kms.encrypt(key.key_id, b"payload")
    kms.schedule_key_deletion(key.key_id, 7)
    kms.cancel_key_deletion(key.key_id)
    kms.enable_key(key.key_id)
    kms.schedule_key_deletion(key.key_id, 7)
    kms.advance_clock(7 * DAY - 60)
    assert kms.describe_key(key.key_id).state == "PendingDelete"
    kms.advance_clock(120)
    with pytest.raises(NotFound):
        kms.describe_key(key.key_id)
    with pytest.raises(NotFound):
        kms.decrypt(blob)
    # The name is free again once the key is gone.
    assert kms.create_key("doomed").key_id != key.key_id


def test_external_key_starts_pending_import(kms: KmsClient) -> None:
    # Huawei Cloud DEW, Creating a Custom Key: "a key with imported key materials is in the Pending import state."
    key = kms.create_key("byok", origin="External")
    assert key.state == "PendingImport"
    with pytest.raises(InvalidKeyStatus):
        kms.encrypt(key.key_id, b"x")
    with pytest.raises(InvalidKeyStatus):
        kms.enable_key(key.key_id)
    material = bytes(range(32))
    assert kms.import_material(key.key_id, material).state == "Enable"
    blob = kms.encrypt(key.key_id, b"imported")
    assert kms.decrypt(blob)[1] == b"imported"
    # Huawei Cloud DEW, Creating a Custom Key: "Only custom keys in the Enabled, Disabled, or Pending import state can
    # be deleted."
    other = kms.create_key("byok-2", origin="External")
    assert kms.schedule_key_deletion(other.key_id, 7).state == "PendingDelete"
    assert kms.cancel_key_deletion(other.key_id).state == "PendingImport"


def test_import_rejects_wrong_length_and_bad_token(kms: KmsClient) -> None:
    key = kms.create_key("byok-len", origin="External")
    with pytest.raises(InvalidParameter, match="32 bytes, got 16"):
        kms.import_material(key.key_id, bytes(16))
    with pytest.raises(InvalidParameter, match="ImportToken"):
        kms.import_key_material(key.key_id, "bm90LWEtdG9rZW4=", b"\x00" * 256)


# --- Replicas (Huawei Cloud DEW, Creating a Replica Key) --------------------------------------------------
@pytest.mark.needs("decrypt_names_key")
def test_replica_shares_material_both_ways(kms: KmsClient) -> None:
    # Huawei Cloud DEW, Creating a Replica Key: "The replica key and the master key share the same key materials. It can
    # be used for cross-region data encryption and decryption."
    primary = kms.create_key("mrk")
    replica = kms.replicate_key(primary.key_id, "cn-east-3")
    east = kms.in_region("cn-east-3")
    blob = kms.encrypt(primary.key_id, b"from beijing", {"app": "orders"})
    assert east.decrypt(blob, {"app": "orders"}) == (replica.key_id, b"from beijing")
    back = east.encrypt(replica.key_id, b"from shanghai")
    assert kms.decrypt(back) == (primary.key_id, b"from shanghai")
    with pytest.raises(InvalidParameter):
        east.decrypt(blob, {"app": "other"})


def test_replica_describes_its_primary(kms: KmsClient) -> None:
    # The example of Volcengine KMS API reference, ReplicateKey: MultiRegionKeyType REPLICA, PrimaryKey Trn and Region.
    primary = kms.create_key("mrk-test")
    replica = kms.replicate_key(primary.key_id, "cn-south-1", description="replica key")
    assert replica.region == "cn-south-1" and replica.multi_region_type == "REPLICA"
    assert replica.primary is not None
    assert replica.primary.trn == primary.trn and replica.primary.region == "cn-north-4"
    assert [r.region for r in replica.replicas] == ["cn-south-1"]
    assert replica.trn == primary.trn.replace("cn-north-4", "cn-south-1")
    assert kms.describe_key(primary.key_id).multi_region_type == "PRIMARY"


def test_replica_regions_follow_the_table(kms: KmsClient) -> None:
    # Huawei Cloud DEW, Creating a Replica Key, Table 1: CN North-Beijing4 replicates to CN East-Shanghai1, CN
    # South-Guangzhou and CN Southwest-Guiyang1; AP-Singapore only to ME-Riyadh.
    primary = kms.create_key("matrix")
    with pytest.raises(InvalidReplicaRegion, match=r"\[ap-southeast-3\]"):
        kms.replicate_key(primary.key_id, "ap-southeast-3")
    with pytest.raises(InvalidReplicaRegion):
        kms.replicate_key(primary.key_id, "cn-north-4")
    sg = kms.in_region("ap-southeast-3")
    key = sg.create_key("sg")
    assert sg.replicate_key(key.key_id, "me-east-1").region == "me-east-1"
    with pytest.raises(InvalidReplicaRegion):
        sg.replicate_key(key.key_id, "cn-east-3")


def test_one_replica_per_region(kms: KmsClient) -> None:
    # Huawei Cloud DEW, Creating a Replica Key: "only one replica key can be created for a master key in each region."
    primary = kms.create_key("once")
    kms.replicate_key(primary.key_id, "cn-east-3")
    with pytest.raises(Conflict):
        kms.replicate_key(primary.key_id, "cn-east-3", replica_key_name="once-again")
    assert kms.replicate_key(primary.key_id, "cn-southwest-2").region == "cn-southwest-2"


def test_no_replica_of_a_replica(kms: KmsClient) -> None:
    # Huawei Cloud DEW, Creating a Replica Key: "A replica key can be created only for a custom key."
    primary = kms.create_key("chain")
    replica = kms.replicate_key(primary.key_id, "cn-east-3")
    with pytest.raises(InvalidOperation, match="replica"):
        kms.in_region("cn-east-3").replicate_key(replica.key_id, "cn-south-1")


def test_no_rotation_on_a_replica_and_rotation_reaches_replicas(kms: KmsClient) -> None:
    # Huawei Cloud DEW, Creating a Replica Key: "Replica keys do not support key rotation. The rotation of replica keys
    # needs to be initiated by CMKs."
    primary = kms.create_key("rotating")
    replica = kms.replicate_key(primary.key_id, "cn-east-3")
    east = kms.in_region("cn-east-3")
    with pytest.raises(InvalidOperation, match="do not support key rotation"):
        east.enable_key_rotation(replica.key_id)
    old = kms.encrypt(primary.key_id, b"before rotation")
    kms.enable_key_rotation(primary.key_id, 30)
    kms.advance_clock(31 * DAY)
    new = kms.encrypt(primary.key_id, b"after rotation")
    assert new[17:21] != old[17:21], "a new material version encrypts after rotation"
    assert east.decrypt(old)[1] == b"before rotation"
    assert east.decrypt(new)[1] == b"after rotation"


def test_rotation_from_creation(kms: KmsClient) -> None:
    # A key may be created rotating; the same rule as EnableKeyRotation decides which keys can.
    key = kms.create_key("born-rotating", rotation_days=90)
    assert (key.rotation_enabled, key.rotation_days) == (True, 90)
    old = kms.encrypt(key.key_id, b"v1")
    kms.advance_clock(91 * DAY)
    assert kms.encrypt(key.key_id, b"v2")[17:21] != old[17:21]
    with pytest.raises(InvalidOperation, match="does not support rotation"):
        kms.create_key("mac-rotating", key_spec="HMAC_256", rotation_days=90)
    with pytest.raises(InvalidParameter, match="ranges from 30 to 365"):
        kms.create_key("too-often", rotation_days=7)
    assert [k.name for k in kms.list_keys()] == ["born-rotating"]


def test_primary_deleted_only_after_its_replicas(kms: KmsClient) -> None:
    # Huawei Cloud DEW, Creating a Custom Key: "To delete a master key with replica key created, delete the replica key
    # first."
    primary = kms.create_key("ordered")
    replica = kms.replicate_key(primary.key_id, "cn-east-3")
    with pytest.raises(InvalidOperation, match="replica"):
        kms.schedule_key_deletion(primary.key_id, 7)
    kms.in_region("cn-east-3").schedule_key_deletion(replica.key_id, 7)
    assert kms.schedule_key_deletion(primary.key_id, 7).state == "PendingDelete"


def test_quota_of_100_keys_counts_replicas(kms: KmsClient) -> None:
    # Huawei Cloud DEW, Creating a Custom Key: "You can create up to 100 custom keys ... Replica keys take up the custom
    # key quota in the region."
    east = kms.in_region("cn-east-3")
    for i in range(99):
        east.create_key(f"q{i}")
    primary = kms.create_key("spill")
    kms.replicate_key(primary.key_id, "cn-east-3")
    with pytest.raises(QuotaExceeded, match="100 custom keys in region cn-east-3"):
        east.create_key("q-over")
    with pytest.raises(QuotaExceeded):
        kms.replicate_key(kms.create_key("spill-2").key_id, "cn-east-3")


def test_unknown_region_and_key(kms: KmsClient) -> None:
    with pytest.raises(InvalidParameter, match="Region 'mars-1'"):
        kms.in_region("mars-1").create_key("x")
    with pytest.raises(NotFound):
        kms.describe_key("00000000-0000-0000-0000-000000000000")
    key = kms.create_key("regional")
    # Key ids are regional: the same id is not a key of another region.
    with pytest.raises(NotFound):
        kms.in_region("cn-east-3").describe_key(key.key_id)


def test_rotation_and_tagging_need_an_enabled_key(kms: KmsClient) -> None:
    key = kms.create_key("needs-enabled")
    kms.disable_key(key.key_id)
    with pytest.raises(InvalidKeyStatus):
        kms.enable_key_rotation(key.key_id)
    with pytest.raises(InvalidKeyStatus):
        kms.tag_resources(key.key_id, {"a": "b"})
    kms.enable_key(key.key_id)
    assert tags_of(kms.tag_resources(key.key_id, {"a": "b"})) == {"a": "b"}


def test_encrypt_takes_a_small_amount_of_data(kms: KmsClient) -> None:
    # Huawei Cloud DEW, Creating a Custom Key: "The AES-256 key can be used to encrypt and decrypt a small amount of
    # data or data keys."
    key = kms.create_key("small")
    kms.encrypt(key.key_id, b"x" * 4096)
    with pytest.raises(InvalidParameter, match="at most 4096"):
        kms.encrypt(key.key_id, b"x" * 4097)


def test_encryption_context_is_unambiguous(kms: KmsClient) -> None:
    key = kms.create_key("ctx")
    blob = kms.encrypt(key.key_id, b"bound", {"a": "bc"})
    with pytest.raises(InvalidParameter):
        kms.decrypt(blob, {"ab": "c"})
    with pytest.raises(InvalidParameter):
        kms.decrypt(blob)
    assert kms.decrypt(blob, {"a": "bc"})[1] == b"bound"


def test_client_token_makes_create_idempotent(kms: KmsClient) -> None:
    first = kms.create_key("idem", client_token="tok-1")
    again = kms.create_key("idem", client_token="tok-1")
    assert first.key_id == again.key_id
    assert len(kms.list_keys()) == 1


def test_errors_never_echo_plaintext(kms: KmsClient) -> None:
    key = kms.create_key("quiet")
    secret = b"TOP-SECRET-PLAINTEXT" * 300
    with pytest.raises(InvalidParameter) as info:
        kms.encrypt(key.key_id, secret)
    assert b"TOP-SECRET" not in str(info.value).encode()
