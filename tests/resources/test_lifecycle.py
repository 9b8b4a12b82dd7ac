"""create / update / read / delete of the four providers on the embedded emulator, called as the engine calls
them: checked inputs in, outputs out."""

from __future__ import annotations

import base64
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from provider.client import KmsClient, tags_of
from provider.domain import model
from provider.domain.errors import NotFound
from provider.resources import CustomKeyProvider, KeyAliasProvider, KeyTagsProvider, ReplicaKeyProvider, _retire
from provider.resources import _common as common
from provider.resources._common import AUTONAME, TIMEOUT, ProviderError

ck, rk, ka, kt = CustomKeyProvider(), ReplicaKeyProvider(), KeyAliasProvider(), KeyTagsProvider()
DAY = 86400


def make(provider: Any, **news: Any) -> tuple[str, dict[str, Any]]:
    checked = provider.check({}, news)
    assert checked.failures == [], [f.reason for f in checked.failures]
    created = provider.create(checked.inputs)
    return created.id, created.outs


def update(provider: Any, id_: str, olds: dict[str, Any], **changes: Any) -> dict[str, Any]:
    news = provider.check(olds, {**olds, **changes}).inputs
    assert provider.diff(id_, olds, news).replaces == []
    out: dict[str, Any] = provider.update(id_, olds, news).outs
    return out


def test_create_outputs_match_the_live_key(svc: KmsClient) -> None:
    key_id, outs = make(
        ck,
        **{AUTONAME: "app"},
        description="payments",
        tags={"team": "pay"},
        rotation_enabled=True,
        rotation_interval_days=90,
    )
    live = svc.describe_key(key_id)
    assert outs["key_id"] == key_id and outs["trn"] == live.trn and outs["key_state"] == "Enable"
    assert outs["key_name"] == live.name and outs["key_name"].startswith("app-")
    assert (
        outs["multi_region_type"] == "NONE" and outs["replica_regions"] == [] and outs["public_key"] is None
    )
    assert live.description == "payments" and live.tags == {"team": "pay"}
    assert live.rotation_enabled is True and live.rotation_days == 90
    assert outs["creation_date"].endswith("Z")


def test_asymmetric_key_exports_its_public_key_and_a_disabled_key_is_disabled_last(svc: KmsClient) -> None:
    key_id, outs = make(ck, key_name="signer", key_spec="EC_P256", enabled=False, tags={"a": "1"})
    assert outs["public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert svc.describe_key(key_id).state == "Disable" and outs["key_state"] == "Disable"


def test_failed_create_schedules_the_new_key_for_deletion(svc: KmsClient) -> None:
    # The service rotates only AES_256 keys. `check` says so first; here the inputs skip it, as if the
    # service refused a step `check` could not foresee: the key is made, rotation fails, it must not linger.
    refused = ck.check({}, {"key_name": "mac", "key_spec": "HMAC_256", "rotation_enabled": True})
    assert [f.property for f in refused.failures] == ["rotation_enabled"]
    inputs = ck.check({}, {"key_name": "mac", "key_spec": "HMAC_256"}).inputs
    with pytest.raises(ProviderError, match="scheduled for deletion") as info:
        ck.create({**inputs, "rotation_enabled": True, "rotation_interval_days": 365})
    assert "InvalidOperation" in str(info.value)
    with pytest.raises(NotFound):
        svc.describe_key(model.KeyRef(keyring="default", name="mac"))  # the name is free for the next attempt
    (left,) = svc.list_keys()
    assert left.state == "PendingDelete"
    assert left.deletion_date - time.time() == pytest.approx(7 * DAY, abs=120)


def test_external_key_imports_its_material_and_never_outputs_it(svc: KmsClient) -> None:
    material = os.urandom(32)
    encoded = base64.b64encode(material).decode()
    key_id, outs = make(ck, key_name="byok", origin="external", key_material=encoded)
    assert outs["key_state"] == "Enable" and outs["origin"] == "external"
    assert encoded not in repr(outs) and "key_material" not in outs
    blob = svc.encrypt(key_id, b"hello")
    assert svc.decrypt(blob)[1] == b"hello"
    # Without material the key waits for it; adding material later imports it in place.
    key_id, outs = make(ck, key_name="byok-later", origin="external")
    assert outs["key_state"] == "PendingImport"
    outs = update(ck, key_id, {**outs, "key_material": None}, key_material=encoded)
    assert outs["key_state"] == "Enable"


def test_update_in_place_enables_first_and_disables_last(svc: KmsClient) -> None:
    key_id, outs = make(ck, key_name="k1", tags={"a": "1", "b": "2"}, enabled=False)
    outs = update(
        ck,
        key_id,
        outs,
        key_name="k1-renamed",
        description="now described",
        tags={"a": "9", "c": "3"},
        rotation_enabled=True,
        pending_days=9,
    )
    live = svc.describe_key(key_id)
    # Tags and rotation need an enabled key: done, and the key is left disabled as declared.
    assert (
        live.state == "Disable"
        and live.name == "k1-renamed"
        and live.description == "now described"
    )
    assert dict(live.tags) == {"a": "9", "c": "3"}
    assert live.rotation_enabled is True
    assert outs["pending_days"] == 9 and outs["key_name"] == "k1-renamed"
    outs = update(ck, key_id, outs, enabled=True, rotation_enabled=False)
    live = svc.describe_key(key_id)
    assert live.state == "Enable" and live.rotation_enabled is False


def test_update_leaves_tags_it_does_not_manage(svc: KmsClient) -> None:
    key_id, outs = make(ck, key_name="shared", tags={"mine": "1"})
    svc.tag_resources(key_id, {"theirs": "x"})
    update(ck, key_id, outs, tags={"mine": "2"})
    assert dict(svc.describe_key(key_id).tags) == {"mine": "2", "theirs": "x"}


def test_read_reports_drift_made_outside(svc: KmsClient) -> None:
    key_id, outs = make(ck, key_name="drift", description="original", tags={"a": "1"})
    svc.disable_key(key_id)
    svc.update_key(key_id, description="changed by hand")
    svc.enable_key(key_id)
    svc.tag_resources(key_id, {"added": "by hand"})
    svc.disable_key(key_id)
    read = ck.read(key_id, outs)
    assert read.id == key_id and read.inputs is None
    assert read.outs["enabled"] is False and read.outs["key_state"] == "Disable"
    assert read.outs["description"] == "changed by hand"
    assert read.outs["tags"] == {"a": "1", "added": "by hand"}
    # The next diff against the program shows exactly the drift, and update repairs it.
    news = ck.check(outs, {**outs}).inputs
    d = ck.diff(key_id, read.outs, news)
    assert d.changes is True and d.replaces == []
    ck.update(key_id, read.outs, news)
    live = svc.describe_key(key_id)
    assert live.state == "Enable" and live.description == "original" and len(live.tags) == 1


def test_read_of_a_key_that_is_gone_or_going(svc: KmsClient) -> None:
    key_id, outs = make(ck, key_name="going")
    svc.schedule_key_deletion(key_id, 7)
    assert ck.read(key_id, outs).id == ""
    assert ck.read("00000000-0000-4000-8000-000000000000", outs).id == ""


def test_read_without_inputs_rebuilds_them_from_the_live_key(svc: KmsClient) -> None:
    key = svc.create_key("made-outside", key_spec="RSA_3072", key_usage="ENCRYPT_DECRYPT", tags={"o": "1"})
    read = ck.read(key.key_id, {"region": "cn-north-4"})
    assert read.inputs is not None
    assert {
        k: read.inputs[k] for k in ("key_spec", "key_usage", "key_name", "origin", "enabled", "tags")
    } == {
        "key_spec": "RSA_3072",
        "key_usage": "ENCRYPT_DECRYPT",
        "key_name": "made-outside",
        "origin": "kms",
        "enabled": True,
        "tags": {"o": "1"},
    }
    assert read.outs["public_key"].startswith("-----BEGIN PUBLIC KEY-----")


def test_import_adopts_a_key_and_refuses_one_that_does_not_match(svc: KmsClient) -> None:
    key = svc.create_key("legacy", description="old", tags={"keep": "1"})
    key_id, outs = make(ck, key_name="legacy", description="managed now", __import_id=key.key_id)
    assert key_id == key.key_id and len(svc.list_keys()) == 1
    assert svc.describe_key(key_id).description == "managed now"
    other = svc.create_key("legacy-rsa", key_spec="RSA_2048")
    with pytest.raises(ProviderError, match="key_spec is 'RSA_2048', the program says 'AES_256'"):
        make(ck, key_name="legacy-rsa", __import_id=other.key_id)


def test_delete_removes_aliases_renames_and_schedules_with_pending_days(svc: KmsClient) -> None:
    key_id, outs = make(ck, key_name="payments", pending_days=45)
    alias_id, alias_outs = make(ka, alias_name="alias/payments", target_key_id=key_id)
    ck.delete(key_id, outs)
    live = svc.describe_key(key_id)
    assert live.state == "PendingDelete" and live.name.startswith("payments-deleted-")
    assert live.deletion_date - time.time() == pytest.approx(45 * DAY, abs=120)
    assert svc.list_aliases() == []
    ka.delete(alias_id, alias_outs)  # already gone with its key: fine
    # The name is free at once: the same declaration can be created again.
    again, _ = make(ck, key_name="payments")
    assert again != key_id
    ck.delete(key_id, outs)  # deleting twice is harmless


def test_replica_create_waits_until_usable_and_is_tagged(
    svc: KmsClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KMS_EMULATOR_PATH", str(tmp_path / "slow"))
    monkeypatch.setenv("KMS_REPLICATION_DELAY", "0.4")
    slow = common.connect("cn-north-4")
    primary, _ = make(ck, key_name="p", description="primary words")
    started = time.monotonic()
    rid, routs = make(rk, primary_key_id=primary, replica_region="cn-south-1", tags={"r": "1"})
    assert time.monotonic() - started >= 0.35
    assert routs["key_state"] == "Enable" and routs["region"] == "cn-south-1"
    assert routs["key_name"] == "p" and routs["description"] == "primary words"  # the service's defaults
    assert routs["primary_key_id"] == primary and routs["primary_trn"] == slow.describe_key(primary).trn
    blob = slow.encrypt(primary, b"cross-region")
    assert slow.in_region("cn-south-1").decrypt(blob)[1] == b"cross-region"


def test_replica_wait_is_bounded_by_the_create_timeout_and_the_next_apply_adopts(
    svc: KmsClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KMS_EMULATOR_PATH", str(tmp_path / "slower"))
    monkeypatch.setenv("KMS_REPLICATION_DELAY", "1.5")
    primary, _ = make(ck, key_name="p")
    with pytest.raises(ProviderError, match="still Creating"):
        make(rk, primary_key_id=primary, replica_region="cn-east-3", **{TIMEOUT: 0.2})
    # ReplicateKey now answers Conflict (one replica per region:
    # https://support.huaweicloud.com/intl/en-us/api-dew/ReplicateKey.html): the standing replica is adopted.
    rid, routs = make(rk, primary_key_id=primary, replica_region="cn-east-3")
    replicas = common.connect("cn-north-4").describe_key(primary).replicas
    assert [r.key_id for r in replicas] == [rid] and routs["key_state"] == "Enable"


def test_replica_waiting_out_its_deletion_is_adopted_back(svc: KmsClient) -> None:
    primary, _ = make(ck, key_name="p")
    rid, routs = make(rk, primary_key_id=primary, replica_region="cn-east-3", key_name="east")
    rk.delete(rid, routs)
    east = svc.in_region("cn-east-3")
    assert east.describe_key(rid).state == "PendingDelete"
    again, outs = make(rk, primary_key_id=primary, replica_region="cn-east-3", key_name="east")
    assert again == rid and outs["key_state"] == "Enable" and east.describe_key(rid).name == "east"


def test_primary_is_scheduled_only_after_its_replicas(svc: KmsClient) -> None:
    primary, pouts = make(ck, key_name="p")
    rid, routs = make(rk, primary_key_id=primary, replica_region="cn-east-3")
    errors: list[BaseException] = []

    def delete_primary() -> None:
        try:
            ck.delete(primary, pouts)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    worker = threading.Thread(target=delete_primary)
    worker.start()
    time.sleep(0.3)
    # DEW, Creating a Custom Key: "To delete a master key with replica key created, delete the replica key first."
    assert svc.describe_key(primary).state == "Enable"
    rk.delete(rid, routs)
    worker.join(30)
    assert errors == [] and svc.describe_key(primary).state == "PendingDelete"


def test_alias_create_retarget_read_delete(svc: KmsClient) -> None:
    k1, _ = make(ck, key_name="k1")
    k2, _ = make(ck, key_name="k2")
    aid, outs = make(ka, alias_name="alias/app", target_key_id=k1)
    assert outs["trn"].endswith(":alias/app") and outs["target_key_id"] == k1
    outs = update(ka, aid, outs, target_key_id=k2)
    assert svc.describe_key("alias/app").key_id == k2 and outs["target_key_id"] == k2
    assert ka.read(aid, outs).outs["target_key_id"] == k2
    ka.delete(aid, outs)
    assert ka.read(aid, outs).id == ""
    # Retargeting an alias its old key took along (a replaced key) makes it again.
    assert update(ka, aid, outs, target_key_id=k1)["target_key_id"] == k1


def test_key_tags_manage_only_their_own_tags(svc: KmsClient) -> None:
    key_id, key_outs = make(ck, key_name="k", tags={"owner": "ck"})
    tid, outs = make(kt, key_id=key_id, tags={"cost": "1", "env": "prod"})
    assert tid == f"cn-north-4:{key_id}"
    outs = update(kt, tid, outs, tags={"cost": "2"})
    tags = dict(svc.describe_key(key_id).tags)
    assert tags == {"owner": "ck", "cost": "2"}
    svc.tag_resources(key_id, {"other": "x"})
    assert kt.read(tid, outs).outs["tags"] == {"cost": "2"}
    svc.disable_key(key_id)  # a disabled key is tagged too, and stays disabled
    kt.delete(tid, outs)
    live = svc.describe_key(key_id)
    assert set(live.tags) == {"owner", "other"} and live.state == "Disable"


def test_errors_carry_code_and_message(svc: KmsClient) -> None:
    make(ck, key_name="taken")
    with pytest.raises(ProviderError) as info:
        make(ck, key_name="taken")
    assert "CustomKey taken in cn-north-4: create: Conflict:" in str(info.value)


def test_enterprise_project_moves_in_place(svc: KmsClient) -> None:
    key_id, outs = make(ck, key_name="ep")
    assert svc.describe_key(key_id).enterprise_project == "default"
    outs = update(ck, key_id, outs, enterprise_project="finance")
    assert (
        svc.describe_key(key_id).enterprise_project == "finance" and outs["enterprise_project"] == "finance"
    )


def test_primary_with_replicas_outside_pulumi_fails_naming_them(
    svc: KmsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_retire, "DELETE_WAIT", 0.3)
    primary, pouts = make(ck, key_name="p")
    replica = svc.replicate_key(primary, "cn-south-1")
    with pytest.raises(
        ProviderError, match=f"{replica.key_id} \\(cn-south-1\\).*delete the replica keys first"
    ):
        ck.delete(primary, pouts)
    live = svc.describe_key(primary)
    assert (
        live.state == "Enable" and live.name == "p"
    )  # left as it was: not renamed, not scheduled


def test_import_keeps_the_name_when_the_program_gives_none(svc: KmsClient) -> None:
    key = svc.create_key("keeps-its-name")
    checked = ck.check({}, {AUTONAME: "adopted", "__import_id": key.key_id})
    assert "key_name" not in checked.inputs
    created = ck.create(checked.inputs)
    assert created.id == key.key_id and svc.describe_key(key.key_id).name == "keeps-its-name"
    # The next run (import_ still there) keeps it too: no autoname, no diff.
    again = ck.check(checked.inputs, {AUTONAME: "adopted", "__import_id": key.key_id}).inputs
    assert "key_name" not in again and ck.diff(created.id, created.outs, again).changes is False


def test_replica_and_alias_adoption(svc: KmsClient) -> None:
    primary, _ = make(ck, key_name="p")
    standing = svc.replicate_key(primary, "cn-east-3")
    rid, routs = make(rk, primary_key_id=primary, replica_region="cn-east-3", __import_id=standing.key_id)
    assert rid == standing.key_id and routs["key_state"] == "Enable"
    other, _ = make(ck, key_name="other")
    with pytest.raises(ProviderError, match="not a replica of"):
        make(rk, primary_key_id=other, replica_region="cn-east-3", __import_id=standing.key_id)
    svc.create_alias("alias/legacy", other)
    aid, aouts = make(ka, alias_name="alias/legacy", target_key_id=primary, __import_id="alias/legacy")
    assert svc.describe_key("alias/legacy").key_id == primary and aouts["target_key_id"] == primary
    with pytest.raises(ProviderError, match="no such alias"):
        make(ka, alias_name="alias/missing", target_key_id=primary, __import_id="alias/missing")


def test_declared_tags_are_the_whole_set_and_added_tags_are_drift(svc: KmsClient) -> None:
    key_id, outs = make(ck, key_name="authoritative", tags={"a": "1"})
    svc.tag_resources(key_id, {"sneaked": "in"})
    read = ck.read(key_id, outs)
    assert read.outs["tags"] == {"a": "1", "sneaked": "in"}
    news = ck.check(outs, dict(outs)).inputs
    assert ck.diff(key_id, read.outs, news).changes is True
    ck.update(key_id, read.outs, news)
    assert tags_of(svc.describe_key(key_id)) == {"a": "1"}


def test_undeclared_tags_leave_room_for_key_tags(svc: KmsClient) -> None:
    key_id, outs = make(ck, key_name="tagged-elsewhere")
    tid, touts = make(kt, key_id=key_id, tags={"cost": "42"})
    read = ck.read(key_id, outs)  # a refresh sees the KeyTags' tag ...
    assert read.outs["tags"] == {"cost": "42"}
    news = ck.check(outs, {k: v for k, v in outs.items() if k != "tags"}).inputs
    assert ck.diff(key_id, read.outs, news).changes is False  # ... and it is not the CustomKey's to remove
    ck.update(key_id, read.outs, {**news, "description": "changed"})
    assert tags_of(svc.describe_key(key_id)) == {"cost": "42"}
