"""What a user of each cloud sees when `kmsctl serve` answers exactly as that cloud does (the SDK response
models' fields, nothing more): the providers, the lookups, the client and the envelope rely on nothing else.
Each test is named after the behaviour a user meets; the server is real (loopback), its state inspected
behind its back through the emulator itself."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provider import envelope
from provider.backend.http import HttpBackend
from provider.client import KmsClient
from provider.dialects import HttpCall
from provider.domain import rules
from provider.emulator import Emulator
from provider.envelope.errors import DataKeyUnavailable
from provider.lookups import get_alias
from provider.resources import CustomKeyProvider, KeyAliasProvider, ReplicaKeyProvider, _retire
from provider.resources import _common as common
from provider.resources._common import AUTONAME, ProviderError
from provider.resources.replica_key import PRIMARY_MULTI_REGION
from provider.server.app import KmsApp
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, ThreadServer

Sent = list[tuple[str, HttpCall]]


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ThreadServer, Emulator, Sent]]:
    """`kmsctl serve`'s application on loopback (both clouds' regions), and every call the backend sent."""
    for var in ("KMS_ENDPOINT", "KMS_DIALECT", "KMS_REGION", "KMS_ACCESS_KEY", "KMS_SECRET_KEY",
                "KMS_REGION_CATALOG", "KMS_PROJECT_IDS", "KMS_EMULATOR_PATH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KMS_REPLICATION_DELAY", "0")
    sent: Sent = []
    original = HttpBackend.send

    def recording(self: HttpBackend, region: str, call: HttpCall) -> tuple[int, bytes]:
        sent.append((region, call))
        return original(self, region, call)

    monkeypatch.setattr(HttpBackend, "send", recording)
    emulator = Emulator(tmp_path / "state", catalog=rules.serving_catalog())
    with ThreadServer(KmsApp(emulator, {ACCESS_KEY: SECRET_KEY})) as server:
        yield server, emulator, sent
    common.reset_config()
    emulator.close()


def stack(server: ThreadServer, dialect: str, region: str) -> None:
    common.reset_config({"endpoint": server.endpoint, "dialect": dialect, "accessKey": ACCESS_KEY,
                         "secretKey": SECRET_KEY, "region": region})


def checked(provider: Any, news: dict[str, Any], olds: dict[str, Any] | None = None) -> dict[str, Any]:
    result = provider.check(olds or {}, news)
    assert not result.failures, [f.reason for f in result.failures]
    inputs: dict[str, Any] = result.inputs
    return inputs


def failures(provider: Any, news: dict[str, Any]) -> dict[str, str]:
    return {f.property: f.reason for f in provider.check({}, news).failures or []}


def actions(sent: Sent) -> list[str]:
    """Volcengine's actions, or Huawei's operations (the path after /kms/), in the order sent."""
    out = []
    for _, call in sent:
        action = dict(call.query).get("Action")
        out.append(action or call.path.split("/kms/", 1)[-1])
    return out


def body(sent: Sent, op: str) -> dict[str, Any]:
    found = [json.loads(call.body) for _, call in sent if call.path.endswith(f"/kms/{op}") and call.body]
    assert found, f"no {op} was sent: {actions(sent)}"
    last: dict[str, Any] = found[-1]
    return last


# --- Volcengine -----------------------------------------------------------------------------------------
def test_volcengines_example_replicates_cn_beijing_to_cn_shanghai_and_destroy_never_asks_for_aliases(
    served: tuple[ThreadServer, Emulator, Sent],
) -> None:
    server, emulator, sent = served
    stack(server, "volcengine", "cn-beijing")
    keys, replicas = CustomKeyProvider(), ReplicaKeyProvider()
    primary_in = checked(keys, {AUTONAME: "mrk", "multi_region": True})
    assert primary_in["region"] == "cn-beijing"  # Volcengine's own region names are the stack's catalog
    primary = keys.create(primary_in)
    create_key = next(json.loads(c.body) for _, c in sent if dict(c.query).get("Action") == "CreateKey")
    assert create_key["MultiRegion"] is True
    replica_in = checked(replicas, {"primary_key_id": primary.id, "primary_region": "cn-beijing",
                                    "replica_region": "cn-shanghai"})
    replica = replicas.create(replica_in)
    assert replica.outs["primary_key_id"] == primary.id and replica.outs["region"] == "cn-shanghai"
    sent.clear()
    replicas.delete(replica.id, replica.outs)
    keys.delete(primary.id, primary.outs)
    assert not [a for a in actions(sent) if "Alias" in a], actions(sent)
    assert KmsClient(emulator, "cn-beijing").describe_key(primary.id).state == "PendingDelete"
    assert KmsClient(emulator, "cn-shanghai").describe_key(replica.id).state == "PendingDelete"


def test_replicating_a_volcengine_key_made_without_multi_region_fails_naming_that_input(
    served: tuple[ThreadServer, Emulator, Sent],
) -> None:
    server, emulator, _ = served
    stack(server, "volcengine", "cn-beijing")
    replicas = ReplicaKeyProvider()
    # At preview, where the program shows the primary (the ReplicaKey passes its primary's multi_region).
    news = {"primary_key_id": "k", "replica_region": "cn-shanghai", PRIMARY_MULTI_REGION: False}
    reason = failures(replicas, news)["primary_key_id"]
    assert "multi_region=True" in reason and "Volcengine KMS" in reason
    # At create, for a primary the program does not show: nothing is made.
    plain = CustomKeyProvider().create(checked(CustomKeyProvider(), {AUTONAME: "single"}))
    with pytest.raises(ProviderError, match="multi_region=True"):
        replicas.create(checked(replicas, {"primary_key_id": plain.id, "replica_region": "cn-shanghai"}))
    assert KmsClient(emulator, "cn-shanghai").list_keys() == []


def test_key_alias_and_get_alias_fail_at_preview_naming_volcengine_whatever_the_host(
    served: tuple[ThreadServer, Emulator, Sent], monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, _, sent = served
    stack(server, "volcengine", "cn-beijing")  # a loopback host, as a company gateway might have
    reason = failures(KeyAliasProvider(), {"alias_name": "alias/app", "target_key_id": "k"})["alias_name"]
    assert "Volcengine KMS has no key aliases" in reason
    for var, value in (("KMS_ENDPOINT", server.endpoint), ("KMS_DIALECT", "volcengine"),
                       ("KMS_ACCESS_KEY", ACCESS_KEY), ("KMS_SECRET_KEY", SECRET_KEY)):
        monkeypatch.setenv(var, value)
    with pytest.raises(ProviderError, match="get_alias: Volcengine KMS has no key aliases"):
        get_alias("alias/app", region="cn-beijing")
    assert not [a for a in actions(sent) if "Alias" in a]


def test_decrypt_naming_another_volcengine_key_does_not_report_that_key(
    served: tuple[ThreadServer, Emulator, Sent],
) -> None:
    server, _, _ = served
    kms = KmsClient(server.backend(), "cn-beijing")
    a, b = kms.create_key("key-a"), kms.create_key("key-b")
    blob = kms.encrypt(a.key_id, b"for a")
    opener, plain = kms.decrypt(blob, key_id=b.key_id)
    assert plain == b"for a" and opener != b.key_id  # Volcengine's DecryptResponse names no key
    # The envelope does not take key B's word for it either.
    message = envelope.encrypt(kms, [f"cn-beijing:{a.key_id}"], b"sealed under a")
    with pytest.raises(DataKeyUnavailable, match="not made under key"):
        envelope.decrypt(kms, f"cn-beijing:{b.key_id}", message)
    assert envelope.decrypt(kms, f"cn-beijing:{a.key_id}", message) == b"sealed under a"


# --- Huawei Cloud -----------------------------------------------------------------------------------------
def huawei_pair(server: ThreadServer) -> tuple[Any, Any, Any, Any]:
    stack(server, "huaweicloud", "cn-north-4")
    keys, replicas = CustomKeyProvider(), ReplicaKeyProvider()
    primary = keys.create(checked(keys, {AUTONAME: "orders", "rotation_enabled": True,
                                         "rotation_interval_days": 90}))
    replica = replicas.create(checked(replicas, {"primary_key_id": primary.id, "replica_region": "cn-east-3"}))
    return keys, replicas, primary, replica


def test_a_huawei_replica_keeps_its_primary_after_refresh_and_plans_no_change(
    served: tuple[ThreadServer, Emulator, Sent],
) -> None:
    server, _, _ = served
    keys, replicas, primary, replica = huawei_pair(server)
    assert replica.outs["primary_key_id"] == primary.id and replica.outs["primary_trn"] == primary.outs["trn"]
    read = replicas.read(replica.id, replica.outs)
    assert read.outs["primary_key_id"] == primary.id and read.outs["primary_trn"] == primary.outs["trn"]
    assert read.outs["primary_region"] == "cn-north-4"
    news = checked(replicas, {"primary_key_id": primary.id, "replica_region": "cn-east-3"}, read.outs)
    assert replicas.diff(replica.id, read.outs, news).changes is False
    # The primary: its state's replica links stand where Huawei's KeyDetails is silent.
    state = {**primary.outs, "replica_regions": ["cn-east-3"], "multi_region_type": "PRIMARY"}
    again = keys.read(primary.id, state)
    assert again.outs["replica_regions"] == ["cn-east-3"] and again.outs["multi_region_type"] == "PRIMARY"


def test_a_rotating_huawei_key_shows_no_diff_after_refresh(served: tuple[ThreadServer, Emulator, Sent]) -> None:
    server, _, sent = served
    keys, _, primary, _ = huawei_pair(server)
    again = keys.read(primary.id, primary.outs)
    # KeyDetails has no rotation interval; get-key-rotation-status answers it, so refresh sees no drift.
    assert again.outs["rotation_enabled"] is True and again.outs["rotation_interval_days"] == 90
    assert "get-key-rotation-status" in actions(sent)
    news = checked(keys, {AUTONAME: "orders", "key_name": primary.outs["key_name"], "rotation_enabled": True,
                          "rotation_interval_days": 90}, again.outs)
    assert keys.diff(primary.id, again.outs, news).changes is False


def test_importing_a_huawei_replica_takes_its_primary_from_the_import_id(
    served: tuple[ThreadServer, Emulator, Sent],
) -> None:
    server, emulator, _ = served
    _, replicas, primary, replica = huawei_pair(server)
    adopted = replicas.read(f"cn-east-3:{replica.id}@cn-north-4:{primary.id}", {})
    assert adopted.id == replica.id and adopted.inputs is not None
    assert adopted.inputs["primary_key_id"] == primary.id and adopted.inputs["primary_region"] == "cn-north-4"
    with pytest.raises(ProviderError, match=f"cn-east-3:{replica.id}@PRIMARY_REGION:PRIMARY_KEY_ID"):
        replicas.read(f"cn-east-3:{replica.id}", {})
    stranger = KmsClient(emulator, "cn-north-4").create_key("stranger").key_id
    with pytest.raises(ProviderError, match="is not a replica of"):
        replicas.read(f"cn-east-3:{replica.id}@cn-north-4:{stranger}", {})


def test_deleting_a_huawei_primary_waits_for_its_replicas(
    served: tuple[ThreadServer, Emulator, Sent], monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, emulator, _ = served
    keys, _, primary, replica = huawei_pair(server)
    east = KmsClient(emulator, "cn-east-3")
    later = threading.Timer(1.0, lambda: east.schedule_key_deletion(replica.id, 7))
    later.start()
    started = time.monotonic()
    keys.delete(primary.id, primary.outs)  # the replica is not Pulumi's here: the primary waits for it
    later.join()
    assert time.monotonic() - started >= 0.9
    assert KmsClient(emulator, "cn-north-4").describe_key(primary.id).state == "PendingDelete"

    # A replica that never goes: the delete fails after the wait, naming the rule, and the key is left as found.
    keys2, _, primary2, _ = huawei_pair(server)
    monkeypatch.setattr(_retire, "DELETE_WAIT", 0.5)
    with pytest.raises(ProviderError, match="delete its replica keys first"):
        keys2.delete(primary2.id, primary2.outs)
    left = KmsClient(emulator, "cn-north-4").describe_key(primary2.id)
    assert left.state == "Enable" and left.name == primary2.outs["key_name"]


def test_huawei_requests_carry_what_its_api_reference_requires(
    served: tuple[ThreadServer, Emulator, Sent],
) -> None:
    server, _, sent = served
    _, _, primary, _ = huawei_pair(server)
    # replicate: key_alias always sent (the program gave no key_name: the primary's name).
    assert body(sent, f"keys/{primary.id}/replicate")["key_alias"] == primary.outs["key_name"]
    kms = KmsClient(HttpBackend(server.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY,
                                dialect="huaweicloud"), "cn-north-4")
    kms.create_alias("alias/orders", primary.id)
    sent.clear()
    # An alias or a URN where the API takes a key id: resolved to the id (a UUID) before it is sent.
    blob = kms.encrypt("alias/orders", b"card")
    assert body(sent, "encrypt-data")["key_id"] == primary.id
    assert kms.describe_key(primary.outs["trn"]).key_id == primary.id
    assert body(sent, "describe-key")["key_id"] == primary.id
    assert kms.decrypt(blob)[1] == b"card"
    # delete-alias: key_id and aliases, both required.
    kms.delete_alias("alias/orders")
    assert body(sent, "aliases") == {"key_id": primary.id, "aliases": ["alias/orders"]}


def test_huawei_data_keys_open_with_decrypt_datakey_in_the_envelope(
    served: tuple[ThreadServer, Emulator, Sent],
) -> None:
    server, _, sent = served
    kms = KmsClient(HttpBackend(server.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY,
                                dialect="huaweicloud"), "cn-north-4")
    north = kms.create_key("north").key_id
    east = kms.in_region("cn-east-3").create_key("east").key_id
    message = envelope.encrypt(kms, [f"cn-north-4:{north}", f"cn-east-3:{east}"], b"x" * 5000)
    ops = actions(sent)
    assert "create-datakey" in ops and "encrypt-datakey" in ops and "encrypt-data" not in ops
    sent.clear()
    assert envelope.decrypt(kms, f"cn-east-3:{east}", message) == b"x" * 5000
    assert "decrypt-datakey" in actions(sent) and "decrypt-data" not in actions(sent)

