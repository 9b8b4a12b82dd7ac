"""Errors that used to come late (at `up`) or mislead now fail `pulumi preview` under the real engine, naming
the setting or property at fault; and what the program shows is used instead of a wrong assumption."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from engine_harness import StackFactory

from provider import CustomKey, KeyAlias, ReplicaKey
from provider.backend.embedded import EmbeddedBackend
from provider.client import KmsClient


@pytest.fixture
def emulator(tmp_path: Path) -> Path:
    return tmp_path / "emulator"


def explicit_regions() -> None:
    # Every resource gives its region: kms:region is never asked for, the config must be checked anyway.
    key = CustomKey("orders", region="cn-north-4", key_name="orders")
    KeyAlias("orders-alias", alias_name="alias/orders", target_key_id=key.key_id, region="cn-north-4")


def preview_error(stack_factory: StackFactory, program: object, config: dict[str, str]) -> str:
    stack = stack_factory(program, config=config)
    with pytest.raises(Exception) as info:
        stack.preview()
    text = str(info.value) + "\n".join(stack.output)
    # A failing preview ends with the engine's error, not an abort of a host or of the program.
    assert "FATAL: exception not rethrown" not in text and "Exception calling application" not in text
    return text


def test_unknown_dialect_fails_preview_with_explicit_regions(inline_stack: StackFactory, emulator: Path) -> None:
    text = preview_error(
        inline_stack, explicit_regions,
        {"kms:emulatorPath": str(emulator), "kms:endpoint": "http://127.0.0.1:9", "kms:dialect": "huawei"},
    )
    assert "kms:dialect / KMS_DIALECT must be one of huaweicloud, volcengine, not 'huawei'" in text


def test_endpoint_not_a_url_fails_preview_with_explicit_regions(inline_stack: StackFactory, emulator: Path) -> None:
    text = preview_error(
        inline_stack, explicit_regions, {"kms:emulatorPath": str(emulator), "kms:endpoint": "not a url"}
    )
    assert "kms:endpoint: 'not a url' is not a URL: the endpoint is http:// or https:// followed by a host" in text


def test_replica_takes_its_primary_region_from_the_primary(inline_stack: StackFactory, emulator: Path) -> None:
    def program() -> None:
        key = CustomKey("jakarta", region="ap-southeast-3", key_name="jakarta", multi_region=True)
        ReplicaKey("jakarta-riyadh", primary_key_id=key.key_id, replica_region="me-east-1")

    stack = inline_stack(program, config={"kms:emulatorPath": str(emulator), "kms:region": "cn-north-4"})
    stack.preview()
    assert not [line for line in stack.output if "not valid for a primary key" in line]
    stack.up()
    replica = stack.state_resource("jakarta-riyadh")["outputs"]
    assert replica["primary_region"] == "ap-southeast-3"
    assert replica["replica_region"] == "me-east-1"
    stack.destroy()


def test_replica_of_a_literal_id_says_primary_region_is_needed(inline_stack: StackFactory, emulator: Path) -> None:
    kms = KmsClient(EmbeddedBackend(emulator), "ap-southeast-3")
    made = kms.create_key("made-by-hand", multi_region=True)

    def program() -> None:
        ReplicaKey("by-hand-riyadh", primary_key_id=made.key_id, replica_region="me-east-1")

    text = preview_error(inline_stack, program, {"kms:emulatorPath": str(emulator), "kms:region": "cn-north-4"})
    assert "The replica region [me-east-1] is not valid for a primary key in cn-north-4" in text
    assert "primary_region is not set, so the primary was taken to be in kms:region cn-north-4" in text
    assert "set primary_region to the region of the key being replicated" in text


def test_alias_naming_a_key_of_another_region_fails_preview(inline_stack: StackFactory, emulator: Path) -> None:
    def program() -> None:
        key = CustomKey("shanghai", region="cn-east-3", key_name="shanghai")
        KeyAlias("shanghai-alias", alias_name="alias/shanghai", target_key_id=key.key_id, region="cn-north-4")

    text = preview_error(inline_stack, program, {"kms:emulatorPath": str(emulator)})
    assert "the key is in cn-east-3 and the alias in cn-north-4: an alias names a key of its own region" in text
    assert KmsClient(EmbeddedBackend(emulator), "cn-east-3").list_keys() == []


def test_a_failed_create_shows_the_providers_message_alone(inline_stack: StackFactory, emulator: Path) -> None:
    kms = KmsClient(EmbeddedBackend(emulator), "cn-north-4")
    kms.create_key("taken")

    def program() -> None:
        CustomKey("taken", key_name="taken")  # a name of the region already in use: create fails at up

    stack = inline_stack(program, config={"kms:emulatorPath": str(emulator)})
    with pytest.raises(Exception) as info:
        stack.up()
    text = str(info.value) + "\n".join(stack.output)
    assert "error: CustomKey taken in cn-north-4: create: Conflict:" in text
    assert "Exception calling application" not in text
    assert not [line for line in stack.output if "FATAL: exception not rethrown" in line]


def test_emulator_state_per_stack_with_the_stack_placeholder(inline_stack: StackFactory, tmp_path: Path) -> None:
    # Two stacks, one kms:emulatorPath with {stack}: each has an emulator of its own, so the same key name
    # does not collide (with one emulator for both, the second `up` fails: the name is taken).
    def program() -> None:
        CustomKey("orders", key_name="orders")

    pattern = str(tmp_path / "emulators" / "{stack}")
    first = inline_stack(program, config={"kms:emulatorPath": pattern}, stack="dev")
    second = inline_stack(program, config={"kms:emulatorPath": pattern}, stack="prod")
    first.up()
    second.up()
    for stack in ("dev", "prod"):
        keys = KmsClient(EmbeddedBackend(tmp_path / "emulators" / stack), "cn-north-4").list_keys()
        assert [k.name for k in keys] == ["orders"], stack
    first.destroy()
    second.destroy()


def test_preview_warns_when_the_emulator_state_is_gone(inline_stack: StackFactory, tmp_path: Path) -> None:
    def program() -> None:
        CustomKey("orders", key_name="orders")

    emulator = tmp_path / "emulator"
    stack = inline_stack(program, config={"kms:emulatorPath": str(emulator)})
    stack.up()
    shutil.rmtree(emulator)
    stack.output.clear()
    stack.preview()
    text = "\n".join(stack.output)
    assert f"the emulator state {emulator} does not exist, so the keys this stack recorded are gone" in text
    stack.refresh()
    assert stack.state_resources("pulumi-python:dynamic/kms:CustomKey") == []
