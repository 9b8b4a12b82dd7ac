"""The real engine against `kmsctl serve` answering exactly as each cloud does, for what one cloud has and the
other lacks: Volcengine's own regions and keyrings (the ReplicateKey reference's cn-beijing -> cn-shanghai),
Huawei Cloud's silence on replica links (import of a replica, refresh with no change), and the lookups in
both dialects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
from engine_harness import StackFactory

from provider import CustomKey, KeyAlias, ReplicaKey, get_alias, get_key
from provider.backend.embedded import EmbeddedBackend
from provider.client import KmsClient
from provider.domain import rules
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, KmsctlServer

IMPORT_PROJECT = Path(__file__).parent / "projects" / "kms_import"


def changes(summary: dict[str, int] | None) -> dict[str, int]:
    return {op: n for op, n in (summary or {}).items() if n}


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[KmsctlServer, KmsClient]]:
    """`kmsctl serve` on loopback, and a client on its state behind its back (the emulator itself)."""
    monkeypatch.setenv("KMS_REPLICATION_DELAY", "0")
    monkeypatch.delenv("KMS_REGION_CATALOG", raising=False)
    state = tmp_path / "server-state"
    with KmsctlServer(state, env={"KMS_REPLICATION_DELAY": "0"}) as server:
        yield server, KmsClient(EmbeddedBackend(state, catalog=rules.serving_catalog()), "cn-north-4")
        assert SECRET_KEY not in server.log()


def config(server: KmsctlServer, dialect: str, region: str) -> dict[str, Any]:
    return {"kms:endpoint": server.endpoint, "kms:dialect": dialect, "kms:accessKey": ACCESS_KEY,
            "kms:secretKey": (SECRET_KEY, True), "kms:region": region}


def test_a_volcengine_stack_in_its_own_regions_with_a_keyring(
    inline_stack: StackFactory, served: tuple[KmsctlServer, KmsClient],
) -> None:
    server, kms = served
    beijing = kms.in_region("cn-beijing")
    beijing.create_keyring("payments")  # a keyring is made once, outside the stack

    def program() -> None:
        key = CustomKey("mrk", keyring_name="payments", multi_region=True, description="multi-region")
        replica = ReplicaKey("mrk-shanghai", primary_key_id=key.key_id, primary_region="cn-beijing",
                             replica_region="cn-shanghai", description="replica key")
        pulumi.export("key", key.key_id)
        pulumi.export("replica", replica.key_id)
        pulumi.export("primary_trn", replica.primary_trn)
        pulumi.export("trn", key.trn)

    stack = inline_stack(program, config=config(server, "volcengine", "cn-beijing"))
    stack.up()
    out = stack.outputs()
    primary = beijing.describe_key(out["key"])
    assert primary.keyring == "payments" and primary.multi_region_type == "PRIMARY"
    assert [(r.region, r.key_id) for r in primary.replicas] == [("cn-shanghai", out["replica"])]
    assert out["primary_trn"] == out["trn"]
    stack.refresh()
    assert changes(stack.preview().change_summary) == {"same": 3}
    stack.destroy()
    assert beijing.describe_key(out["key"]).state == "PendingDelete"
    assert kms.in_region("cn-shanghai").describe_key(out["replica"]).state == "PendingDelete"


def test_a_huawei_replica_is_imported_with_its_primary_named_in_the_import_id(
    project_stack: StackFactory, served: tuple[KmsctlServer, KmsClient],
) -> None:
    server, kms = served
    south = kms.in_region("cn-south-1")
    key = south.create_key("legacy-billing", description="made by hand", tags={"cost": "7"})
    replica = south.replicate_key(key.key_id, "cn-east-3")
    south.create_alias("alias/billing", key.key_id)
    stack = project_stack(IMPORT_PROJECT, config={
        **config(server, "huaweicloud", "cn-south-1"),
        "test:import": "yes",
        "test:keyId": key.key_id,
        # Huawei Cloud's answers never say whose replica a key is: the import id names the primary too.
        "test:replicaId": f"cn-east-3:{replica.key_id}@cn-south-1:{key.key_id}",
        "test:alias": "alias/billing",
    })
    preview = stack.preview()
    assert changes(preview.change_summary) == {"import": 3, "create": 1}
    stack.up()
    out = stack.outputs()
    assert out["key_id"] == key.key_id and out["replica_id"] == replica.key_id
    assert [k.key_id for k in kms.in_region("cn-east-3").list_keys()] == [replica.key_id]  # nothing new
    assert stack.state_resource("billing-east")["outputs"]["primary_key_id"] == key.key_id
    assert changes(stack.preview().change_summary) == {"same": 4}
    stack.refresh()
    assert changes(stack.preview().change_summary) == {"same": 4}
    stack.destroy()
    assert kms.in_region("cn-east-3").describe_key(replica.key_id).state == "PendingDelete"
    assert south.describe_key(key.key_id).state == "PendingDelete"


def test_a_volcengine_key_and_its_replica_are_imported_by_their_ids(
    project_stack: StackFactory, served: tuple[KmsctlServer, KmsClient],
) -> None:
    server, kms = served
    south = kms.in_region("cn-south-1")
    key = south.create_key("legacy-billing", description="made by hand", tags={"cost": "7"}, multi_region=True)
    replica = south.replicate_key(key.key_id, "cn-east-3")
    stack = project_stack(IMPORT_PROJECT, config={
        **config(server, "volcengine", "cn-south-1"),
        "kms:regionCatalog": str(Path(rules.__file__).with_name(rules.CATALOG_FILES["huaweicloud"])),
        "test:import": "yes",
        "test:multiRegion": "true",
        "test:keyId": key.key_id,
        "test:replicaId": f"cn-east-3:{replica.key_id}",  # Volcengine's DescribeKey names the primary itself
    })
    assert changes(stack.preview().change_summary) == {"import": 2, "create": 1}
    stack.up()
    assert stack.outputs()["replica_id"] == replica.key_id
    assert stack.state_resource("billing-east")["outputs"]["primary_key_id"] == key.key_id
    stack.refresh()
    assert changes(stack.preview().change_summary) == {"same": 3}
    stack.destroy()
    assert south.describe_key(key.key_id).state == "PendingDelete"


@pytest.mark.parametrize("dialect", ["volcengine", "huaweicloud"])
def test_lookups_over_the_wire_answer_what_the_cloud_says(
    inline_stack: StackFactory, served: tuple[KmsctlServer, KmsClient], dialect: str,
) -> None:
    server, kms = served
    primary_region, replica_region = ("cn-beijing", "cn-shanghai") if dialect == "volcengine" else \
        ("ap-southeast-3", "me-east-1")
    here = kms.in_region(primary_region)
    shared = here.create_key("shared-payments", description="owned by another team", multi_region=True)
    replica = here.replicate_key(shared.key_id, replica_region)
    if dialect == "huaweicloud":
        kms.in_region(replica_region).create_alias("alias/shared", replica.key_id)

    def program() -> None:
        found = get_key(key=shared.key_id, region=primary_region)
        pulumi.export("found", vars(found))
        if dialect == "huaweicloud":
            by_alias = get_alias(alias_name="alias/shared", region=replica_region)
            pulumi.export("by_alias", by_alias.target_key_id)
            mine = CustomKey("mine", region=replica_region)
            KeyAlias("mine-alias", alias_name="alias/mine", target_key_id=mine.key_id, region=replica_region)

    stack = inline_stack(program, config=config(server, dialect, primary_region))
    stack.up()
    out = stack.outputs()
    found = out["found"]
    assert (found["key_id"], found["key_name"], found["key_state"], found["description"]) == (
        shared.key_id, "shared-payments", "Enable", "owned by another team")
    if dialect == "volcengine":  # Volcengine's DescribeKey names the replicas
        assert (found["multi_region_type"], found["primary_region"], found["replica_regions"]) == (
            "PRIMARY", primary_region, [replica_region])
    else:  # Huawei Cloud's KeyDetails does not: unknown, not "single-region"
        assert (found["multi_region_type"], found["primary_region"], found["replica_regions"]) == (None,) * 3
        assert out["by_alias"] == replica.key_id
    stack.destroy()
