"""Day two under the real engine: a replacement that changes key usage, outputs right after one up, lookups.

The emulator keeps the service's rule that an alias never moves to a key of another usage, so the first
test can only pass if the aliases are replaced (deleted, then made on the new keys) within the one `up`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pulumi
import pytest
from engine_harness import EngineStack, StackFactory

from provider import CustomKey, KeyAlias, KeyTags, ReplicaKey, get_alias, get_alias_output, get_key, get_key_output
from provider.backend.embedded import EmbeddedBackend
from provider.client import KmsClient, tags_of

REPLICA_REGIONS = ("cn-east-3", "cn-south-1")


def changes(summary: dict[str, int] | None) -> dict[str, int]:
    return {op: n for op, n in (summary or {}).items() if n}


def lines(stack: EngineStack, *words: str) -> list[str]:
    return [line for line in stack.output if all(w in line for w in words)]


def client(path: Path, region: str = "cn-north-4") -> KmsClient:
    return KmsClient(EmbeddedBackend(path), region)


def orders_program(key_spec: str, replica_timeout: str | None = None) -> Callable[[], None]:
    """The root stack's `orders` set: a key, its replicas, one alias a region, tags managed apart."""
    timeouts = pulumi.CustomTimeouts(create=replica_timeout) if replica_timeout else None

    def program() -> None:
        orders = CustomKey("orders", key_spec=key_spec, description="orders", tags={"app": "orders"})
        KeyAlias("orders-alias", alias_name="alias/orders", target_key_id=orders.key_id)
        replicas = {}
        for region in REPLICA_REGIONS:
            replica = ReplicaKey(
                f"orders-{region}",
                primary_key_id=orders.key_id,
                replica_region=region,
                opts=pulumi.ResourceOptions(custom_timeouts=timeouts),
            )
            KeyAlias(f"orders-alias-{region}", alias_name="alias/orders", target_key_id=replica.key_id, region=region)
            replicas[region] = replica.key_id
        KeyTags("orders-cost", key_id=orders.key_id, tags={"cost-center": "42"})
        pulumi.export("orders", orders.key_id)
        pulumi.export("usage", orders.key_usage)
        pulumi.export("replica_regions", orders.replica_regions)
        pulumi.export("multi_region_type", orders.multi_region_type)
        pulumi.export("replicas", replicas)

    return program


@pytest.fixture
def emulator(tmp_path: Path) -> Path:
    return tmp_path / "emulator"


def test_a_replacement_that_changes_key_usage_moves_the_aliases_in_one_up(
    inline_stack: StackFactory, emulator: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KMS_REPLICATION_DELAY", "0.2")
    stack = inline_stack(
        orders_program("AES_256"), config={"kms:region": "cn-north-4", "kms:emulatorPath": str(emulator)}
    )
    kms = client(emulator)
    stack.up()
    before = stack.outputs()
    assert before["usage"] == "ENCRYPT_DECRYPT"

    # HMAC_256 keys are GENERATE_VERIFY_MAC keys: no alias of the AES key may move to them.
    stack.output.clear()
    preview = stack.preview(orders_program("HMAC_256"))
    # key, 2 replicas, tags follow by replacement; the 3 aliases are replaced too, and the preview says so.
    assert changes(preview.change_summary) == {"replace": 7, "same": 1}
    assert lines(stack, "KeyAlias orders-alias replace", "[diff: ~target_key_id]")
    # Deleted before it is made again: an alias is unique in its region.
    assert lines(stack, "KeyAlias orders-alias delete original")
    for region in REPLICA_REGIONS:
        assert lines(stack, f"KeyAlias orders-alias-{region} replace", "[diff: ~target_key_id]")
        # The replica shows the primary's spec and usage it will take on.
        assert lines(stack, f"ReplicaKey orders-{region} replace", "key_usage,primary_key_id]")
    assert lines(stack, "KeyTags orders-cost replace", "[diff: ~key_id]")

    stack.up(orders_program("HMAC_256"))  # one up, and it finishes
    after = stack.outputs()
    assert after["orders"] != before["orders"] and after["usage"] == "GENERATE_VERIFY_MAC"
    new_key = kms.describe_key("alias/orders")
    assert new_key.key_id == after["orders"] and new_key.usage == "GENERATE_VERIFY_MAC"
    for region in REPLICA_REGIONS:
        assert kms.in_region(region).describe_key("alias/orders").key_id == after["replicas"][region]
        assert kms.in_region(region).describe_key(before["replicas"][region]).state == "PendingDelete"
    assert tags_of(new_key) == {"app": "orders", "cost-center": "42"}
    assert kms.describe_key(before["orders"]).state == "PendingDelete"
    # Converged: the same program again changes nothing (the key is not replaced a second time).
    assert changes(stack.preview(orders_program("HMAC_256")).change_summary) == {"same": 8}

    # And back, to a usage the old aliases knew: the aliases follow again.
    stack.up(orders_program("AES_256"))
    back = stack.outputs()
    assert kms.describe_key("alias/orders").key_id == back["orders"] and back["usage"] == "ENCRYPT_DECRYPT"


def test_a_failed_replacement_converges_on_the_same_up_without_replacing_twice(
    inline_stack: StackFactory, emulator: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KMS_REPLICATION_DELAY", "0")
    stack = inline_stack(
        orders_program("AES_256"), config={"kms:region": "cn-north-4", "kms:emulatorPath": str(emulator)}
    )
    kms = client(emulator)
    stack.up()
    old = stack.outputs()["orders"]

    # Replication now takes longer than the replicas' create timeout: the up fails half-way, the new key made.
    monkeypatch.setenv("KMS_REPLICATION_DELAY", "3")
    with pytest.raises(Exception, match="still Creating"):
        stack.up(orders_program("HMAC_256", replica_timeout="1s"))
    made = [k.key_id for k in kms.list_keys() if k.key_id != old and k.state != "PendingDelete"]
    assert len(made) == 1

    # The same up again (a timeout that lets replication finish): it picks up the replicas still being made,
    # moves the aliases, and replaces nothing a second time.
    stack.up(orders_program("HMAC_256", replica_timeout="1m"))
    out = stack.outputs()
    assert out["orders"] == made[0] and kms.describe_key("alias/orders").key_id == made[0]
    assert len(kms.list_keys()) == 2  # the old key (pending deletion) and the one new key
    for region in REPLICA_REGIONS:
        east = kms.in_region(region)
        assert east.describe_key("alias/orders").key_id == out["replicas"][region]
        assert east.describe_key(out["replicas"][region]).usage == "GENERATE_VERIFY_MAC"
    assert changes(stack.preview(orders_program("HMAC_256", replica_timeout="1m")).change_summary) == {"same": 8}


def test_replica_regions_is_right_after_the_up_that_creates_the_replicas(
    inline_stack: StackFactory, emulator: Path
) -> None:
    stack = inline_stack(
        orders_program("AES_256"), config={"kms:region": "cn-north-4", "kms:emulatorPath": str(emulator)}
    )
    preview = stack.preview()
    assert changes(preview.change_summary) == {"create": 8}
    stack.up()
    out = stack.outputs()
    # No refresh in between: the key's own create could not know of replicas made after it.
    assert out["replica_regions"] == sorted(REPLICA_REGIONS) and out["multi_region_type"] == "PRIMARY"
    live = client(emulator).describe_key(out["orders"])
    assert sorted(live.replica_regions) == out["replica_regions"]
    assert live.multi_region_type == out["multi_region_type"]
    # A refresh records the same in the key's state; the outputs do not move.
    stack.refresh()
    assert stack.state_resource("orders")["outputs"]["replica_regions"] == sorted(REPLICA_REGIONS)
    stack.up()
    assert stack.outputs() == out


def test_lookups_answer_keys_the_stack_does_not_manage(
    inline_stack: StackFactory, emulator: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KMS_REPLICATION_DELAY", "0")
    kms = client(emulator, "ap-southeast-3")
    shared = kms.create_key("shared-payments", description="owned by another team")
    replica = kms.replicate_key(shared.key_id, "me-east-1")
    kms.in_region("me-east-1").create_alias("alias/shared", replica.key_id)

    def program() -> None:
        by_id = get_key(key=shared.key_id, region="ap-southeast-3")
        by_alias = get_alias(alias_name="alias/shared", region="me-east-1")
        # The *_output forms take Inputs, e.g. the outputs of resources of this stack.
        mine = CustomKey("mine", region="ap-southeast-3")
        mine_alias = KeyAlias("mine-alias", alias_name="alias/mine", target_key_id=mine.key_id, region="ap-southeast-3")
        looked_up = get_key_output(key=mine_alias.alias_name, region="ap-southeast-3")
        pulumi.export("by_id", vars(by_id))
        pulumi.export("by_alias", {**vars(by_alias), "key": vars(by_alias.key)})
        pulumi.export("mine", mine.key_id)
        pulumi.export("looked_up", looked_up.apply(lambda k: [k.key_id, k.key_state]))
        pulumi.export(
            "alias_output", get_alias_output(mine_alias.alias_name, mine.region).apply(lambda a: a.target_key_id)
        )

    stack = inline_stack(program, config={"kms:emulatorPath": str(emulator)})
    stack.up()
    out = stack.outputs()
    assert out["by_id"] == {
        "key_id": shared.key_id,
        "trn": shared.trn,
        "region": "ap-southeast-3",
        "key_name": "shared-payments",
        "key_state": "Enable",
        "key_spec": "AES_256",
        "key_usage": "ENCRYPT_DECRYPT",
        "multi_region_type": "PRIMARY",
        "primary_key_id": shared.key_id,
        "primary_region": "ap-southeast-3",
        "replica_regions": ["me-east-1"],
        "description": "owned by another team",
        "creation_date": out["by_id"]["creation_date"],
    }
    assert out["by_alias"]["target_key_id"] == replica.key_id and out["by_alias"]["region"] == "me-east-1"
    assert out["by_alias"]["key"]["multi_region_type"] == "REPLICA"
    assert out["by_alias"]["key"]["primary_region"] == "ap-southeast-3"
    assert out["by_alias"]["key"]["replica_regions"] == ["me-east-1"]
    assert out["looked_up"] == [out["mine"], "Enable"] and out["alias_output"] == out["mine"]
    # Lookups manage nothing: the stack holds only its own two resources.
    assert [r["type"].rsplit(":", 1)[-1] for r in stack.state_resources()] == ["CustomKey", "KeyAlias"]


def test_a_lookup_of_a_missing_key_names_the_key_and_region(inline_stack: StackFactory, emulator: Path) -> None:
    def program() -> None:
        get_key(key="alias/nowhere", region="cn-east-3")

    stack = inline_stack(program, config={"kms:emulatorPath": str(emulator)})
    with pytest.raises(Exception) as info:
        stack.up()
    assert "get_key('alias/nowhere'): no key alias/nowhere in region cn-east-3" in str(info.value)

    def alias_program() -> None:
        get_alias_output(alias_name=pulumi.Output.from_input("alias/gone"), region="cn-south-1")

    with pytest.raises(Exception) as info:
        stack.up(alias_program)
    assert "get_alias('alias/gone'): no alias alias/gone in region cn-south-1" in str(info.value)
    assert stack.state_resources() == []
