"""The four resources under the real engine (CLI + dynamic-provider host): the lifecycle on the embedded
emulator and through `kmsctl serve` in each cloud's dialect (Volcengine, Huawei Cloud).

One stack lives through a whole key lifecycle: up, a no-change preview, an in-place update, a key_spec change
that replaces two primaries together with their replicas (one autonamed: created before the old one goes; one
with an explicit name: deleted first), drift repaired after a refresh, and destroy. The emulator enforces the
service's ordering rules (a primary is scheduled for deletion only after its replicas), so every step that
succeeds has kept them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
from engine_harness import EngineStack, StackFactory

from provider import CustomKey, KeyAlias, KeyTags, ReplicaKey
from provider.backend.embedded import EmbeddedBackend
from provider.client import KmsClient, tags_of
from provider.domain import rules
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, KmsctlServer

CK = "pulumi-python:dynamic/kms:CustomKey"
RK = "pulumi-python:dynamic/kms:ReplicaKey"
DAY = 86400


def changes(summary: dict[str, int] | None) -> dict[str, int]:
    return {op: n for op, n in (summary or {}).items() if n}


def lines(stack: EngineStack, *words: str) -> list[str]:
    """Lines of the engine's display output that contain all `words`."""
    return [line for line in stack.output if all(w in line for w in words)]


def key_set(spec: dict[str, Any], aliases: bool = True) -> Callable[[], None]:
    """Two primaries with replicas (made multi-region: Volcengine replicates only such keys), tags by KeyTags,
    and an alias where the cloud has aliases (Volcengine has none)."""

    def program() -> None:
        orders = CustomKey(
            "orders",
            description=spec["description"],
            key_spec=spec["key_spec"],
            key_usage="ENCRYPT_DECRYPT",
            tags={"team": "payments"},
            pending_days=30,
            multi_region=True,
        )
        ledger = CustomKey(
            "ledger", key_name="ledger", key_spec=spec["key_spec"], key_usage="ENCRYPT_DECRYPT", multi_region=True
        )
        replicas = {
            r: ReplicaKey(f"orders-{r}", primary_key_id=orders.key_id, replica_region=r, pending_days=7)
            for r in ("cn-east-3", "cn-south-1")
        }
        ledger_east = ReplicaKey("ledger-east", primary_key_id=ledger.key_id, replica_region="cn-east-3")
        alias = KeyAlias("orders-alias", alias_name="alias/orders", target_key_id=orders.key_id) if aliases else None
        KeyTags("ledger-cost", key_id=ledger.key_id, tags={"cost-center": "42"})  # ledger declares no tags
        pulumi.export("orders", orders.key_id)
        pulumi.export("orders_name", orders.key_name)
        pulumi.export("orders_spec", orders.key_spec)
        pulumi.export("orders_trn", orders.trn)
        pulumi.export("orders_links", [orders.multi_region_type, orders.replica_regions])
        pulumi.export("ledger", ledger.key_id)
        pulumi.export("replicas", {r: k.key_id for r, k in replicas.items()})
        pulumi.export("replica_primary_trn", replicas["cn-east-3"].primary_trn)
        pulumi.export("ledger_east", ledger_east.key_id)
        if alias is not None:
            pulumi.export("alias_trn", alias.trn)

    return program


@pytest.fixture
def emulator(tmp_path: Path) -> Path:
    return tmp_path / "emulator"


def client(path: Path, region: str = "cn-north-4") -> KmsClient:
    return KmsClient(EmbeddedBackend(path), region)


# Huawei Cloud names a region by a project id: opaque ones here, mapped alike by the server and the stack.
HUAWEI_PROJECTS = ",".join(
    f"{region}={index:02d}{'0' * 30}"
    for index, region in enumerate(["cn-north-4", "cn-east-3", "cn-south-1", "ap-southeast-3", "me-east-1"], 1)
)
# Huawei Cloud's region names on a Volcengine stack: the stack replaces its cloud's catalog.
HUAWEI_REGIONS = str(Path(rules.__file__).with_name(rules.CATALOG_FILES["huaweicloud"]))
BACKENDS: dict[str, dict[str, str]] = {
    "embedded": {},
    "volcengine": {"kms:dialect": "volcengine", "kms:regionCatalog": HUAWEI_REGIONS},
    "huaweicloud": {"kms:dialect": "huaweicloud", "kms:projectIds": HUAWEI_PROJECTS},
}


@pytest.fixture(params=sorted(BACKENDS))
def backend_config(request: pytest.FixtureRequest, emulator: Path) -> Iterator[dict[str, Any]]:
    """The stack config of one backend: the embedded emulator on `emulator`, or `kmsctl serve` keeping its
    state there and spoken to in a cloud's dialect (the test inspects the same state either way)."""
    if request.param == "embedded":
        yield {"kms:emulatorPath": str(emulator)}
        return
    env = {"KMS_PROJECT_IDS": HUAWEI_PROJECTS, "KMS_REPLICATION_DELAY": "0.3"}
    with KmsctlServer(emulator, env=env) as server:
        yield {
            "kms:endpoint": server.endpoint,
            "kms:accessKey": ACCESS_KEY,
            "kms:secretKey": (SECRET_KEY, True),
            **BACKENDS[request.param],
        }
        assert SECRET_KEY not in server.log()


def test_key_set_lifecycle(
    inline_stack: StackFactory, emulator: Path, backend_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KMS_REPLICATION_DELAY", "0.3")  # replicas really are Creating for a while
    spec = {"description": "v1", "key_spec": "AES_256"}
    aliases = backend_config.get("kms:dialect") != "volcengine"  # Volcengine's API has no aliases
    n = 8 if aliases else 7  # the stack and its resources
    stack = inline_stack(key_set(spec, aliases), config={"kms:region": "cn-north-4", **backend_config})
    kms = client(emulator)

    # --- up -------------------------------------------------------------------------------------------------
    up = stack.up()
    assert changes(up.summary.resource_changes) == {"create": n}
    out = stack.outputs()
    orders = kms.describe_key(out["orders"])
    assert orders.state == "Enable" and orders.description == "v1"
    assert orders.name == out["orders_name"] and out["orders_name"].startswith("orders-")
    assert tags_of(orders) == {"team": "payments"}
    assert tags_of(kms.describe_key(out["ledger"])) == {"cost-center": "42"}
    assert orders.multi_region_type == "PRIMARY"
    assert {r.region: r.key_id for r in orders.replicas} == out["replicas"]
    assert all(r.state == "Enable" for r in orders.replicas)
    assert out["replica_primary_trn"] == out["orders_trn"]  # the primary's TRN as its cloud names it
    # Known from the program where the cloud's answers are silent on replicas (Huawei Cloud).
    assert out["orders_links"] == ["PRIMARY", ["cn-east-3", "cn-south-1"]]
    if aliases:
        assert kms.describe_key("alias/orders").key_id == out["orders"]
    assert stack.state_resource("orders")["type"] == CK and stack.state_resource("ledger-east")["type"] == RK

    # --- a second preview: nothing to do; a refresh right after finds no drift (a cloud silent on replica
    # links, Huawei Cloud's, is not drift either) ------------------------------------------------------------
    assert changes(stack.preview().change_summary) == {"same": n}
    stack.refresh()
    assert changes(stack.preview().change_summary) == {"same": n}
    assert stack.outputs()["replicas"] == out["replicas"]
    assert stack.outputs()["orders_links"] == out["orders_links"]

    # --- description: an update in place --------------------------------------------------------------------
    spec["description"] = "v2"
    preview = stack.preview(key_set(spec, aliases))
    assert changes(preview.change_summary) == {"same": n - 1, "update": 1}
    assert lines(stack, "CustomKey orders update", "[diff: ~description]")
    stack.up(key_set(spec, aliases))
    assert stack.outputs()["orders"] == out["orders"]
    assert kms.describe_key(out["orders"]).description == "v2"

    # --- key_spec: a replacement naming key_spec; replicas are replaced with their primaries ----------------
    spec["key_spec"] = "RSA_2048"
    stack.output.clear()
    preview = stack.preview(key_set(spec, aliases))
    # 2 primaries, their 3 replicas, and the KeyTags on the replaced key; the alias is retargeted.
    assert changes(preview.change_summary) == ({"replace": 6, "update": 1, "same": 1} if aliases else
                                               {"replace": 6, "same": 1})
    # The autonamed key's replacement is re-checked without olds, so it also shows its fresh key_name.
    assert lines(stack, "CustomKey orders replace", "[diff: ~key_name,key_spec]")
    assert lines(stack, "CustomKey ledger replace", "[diff: ~key_spec]")
    # The replica shows the primary's new spec, which it takes on.
    assert lines(stack, "ReplicaKey orders-cn-east-3 replace", "[diff: ~key_spec,primary_key_id]")
    assert not aliases or lines(stack, "KeyAlias orders-alias update", "[diff: ~target_key_id]")
    up = stack.up(key_set(spec, aliases))
    new = stack.outputs()
    assert (
        new["orders"] != out["orders"] and new["ledger"] != out["ledger"] and new["orders_spec"] == "RSA_2048"
    )
    assert new["orders_name"] != out["orders_name"]  # autonamed: the replacement has its own name
    east, south = kms.in_region("cn-east-3"), kms.in_region("cn-south-1")
    # The old keys wait out their windows (the replicas' own 7 days), renamed so that nothing blocks the
    # new ones.
    old_orders = kms.describe_key(out["orders"])
    assert old_orders.state == "PendingDelete" and "-deleted-" in old_orders.name
    assert old_orders.deletion_date - time.time() == pytest.approx(30 * DAY, abs=300)
    old_replica = east.describe_key(out["replicas"]["cn-east-3"])
    assert old_replica.state == "PendingDelete"
    assert old_replica.deletion_date - time.time() == pytest.approx(7 * DAY, abs=300)
    assert south.describe_key(out["replicas"]["cn-south-1"]).state == "PendingDelete"
    assert kms.describe_key(out["ledger"]).state == "PendingDelete"
    assert east.describe_key(out["ledger_east"]).state == "PendingDelete"
    ledger = kms.describe_key(new["ledger"])
    assert (
        ledger.name == "ledger" and ledger.spec == "RSA_2048" and ledger.state == "Enable"
    )
    new_orders = kms.describe_key(new["orders"])
    assert {r.region: r.key_id for r in new_orders.replicas} == new["replicas"]
    if aliases:
        assert kms.describe_key("alias/orders").key_id == new["orders"]
    assert tags_of(new_orders) == {"team": "payments"}
    assert tags_of(ledger) == {"cost-center": "42"}
    assert changes(stack.preview(key_set(spec, aliases)).change_summary) == {"same": n}

    # --- drift made outside Pulumi: disabled, re-described, a tag added; refresh shows it, up repairs it ---
    kms.tag_resources(new["orders"], {"added-by-hand": "x"})
    kms.disable_key(new["orders"])
    kms.update_key(new["orders"], description="edited by hand")
    stack.output.clear()
    refresh = stack.refresh()
    # Only the orders key drifted: the ledger's KeyTags tag is not drift for the ledger (it declares no tags).
    assert changes(refresh.summary.resource_changes) == {"same": n - 1, "update": 1}
    assert lines(stack, "CustomKey orders updated")
    stack.output.clear()
    preview = stack.preview(key_set(spec, aliases))
    assert changes(preview.change_summary) == {"same": n - 1, "update": 1}
    # The program did not change, so the engine lists no input keys here; `pulumi refresh --diff` shows the
    # drifted properties (docs/resources.md).
    assert lines(stack, "CustomKey orders update")
    stack.up(key_set(spec, aliases))
    repaired = kms.describe_key(new["orders"])
    assert repaired.state == "Enable" and repaired.description == "v2"
    assert tags_of(repaired) == {"team": "payments"}
    assert tags_of(kms.describe_key(new["ledger"])) == {"cost-center": "42"}

    # --- destroy: replicas before primaries, aliases and managed tags gone ----------------------------------
    stack.destroy()
    for region, key_id in [
        ("cn-north-4", new["orders"]),
        ("cn-north-4", new["ledger"]),
        ("cn-east-3", new["ledger_east"]),
        *new["replicas"].items(),
    ]:
        assert kms.in_region(region).describe_key(key_id).state == "PendingDelete", (region, key_id)
    assert kms.list_aliases() == []
    assert stack.state_resources() == []


def test_bad_name_fails_in_check_and_nothing_is_created(inline_stack: StackFactory, emulator: Path) -> None:
    def program() -> None:
        key = CustomKey("bad", key_name="orders key!")
        ReplicaKey("bad-east", primary_key_id=key.key_id, replica_region="cn-east-3")
        KeyAlias("bad-alias", alias_name="orders", target_key_id=key.key_id)

    stack = inline_stack(program, config={"kms:emulatorPath": str(emulator)})
    with pytest.raises(Exception) as info:
        stack.up()
    text = str(info.value)
    assert "property key_name" in text and "key names take only letters, digits, _ - : /" in text
    kms = client(emulator)
    assert all(kms.in_region(r).list_keys() == [] for r in ("cn-north-4", "cn-east-3"))
    assert stack.state_resources() == []


def test_import_adopts_a_key_made_outside(
    inline_stack: StackFactory, emulator: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Adoption by create (and changing the key in the same step), as with a stock dynamic-provider host;
    # with this repository's engine an inline import is otherwise the engine's own (test_inline_import.py).
    monkeypatch.setenv("KMS_ENGINE_IMPORTS", "0")
    kms = client(emulator, "cn-south-1")
    legacy = kms.create_key("legacy-billing", description="made by hand", tags={"cost": "7"})

    def program() -> None:
        key = CustomKey(
            "billing",
            region="cn-south-1",
            key_name="legacy-billing",
            description="now managed",
            tags={"cost": "7", "owner": "billing"},
            opts=pulumi.ResourceOptions(import_=legacy.key_id),
        )
        pulumi.export("key_id", key.key_id)

    stack = inline_stack(program, config={"kms:emulatorPath": str(emulator)})
    stack.up()
    assert stack.outputs()["key_id"] == legacy.key_id
    assert stack.state_resource("billing")["id"] == legacy.key_id
    assert [k.key_id for k in kms.list_keys()] == [legacy.key_id]  # adopted, not created
    live = kms.describe_key(legacy.key_id)
    assert live.description == "now managed" and tags_of(live) == {"cost": "7", "owner": "billing"}
    assert changes(stack.preview().change_summary) == {"same": 2}
    stack.destroy()
    assert kms.describe_key(legacy.key_id).state == "PendingDelete"
