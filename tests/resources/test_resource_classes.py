"""The resource classes as a Pulumi program registers them (the SDK's mock monitor): type tokens, inputs,
output attributes, and the options they turn into inputs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pulumi
import pytest

from provider import CustomKey, KeyAlias, KeyTags, ReplicaKey
from provider.resources import _program
from provider.resources._checks import duration_seconds
from provider.resources._common import AUTONAME, IMPORT_ID, TIMEOUT


class Recorder(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: dict[str, pulumi.runtime.MockResourceArgs] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered[args.name] = args
        return f"{args.name}-id", {**args.inputs, "trn": f"trn:{args.name}"}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    mocks = Recorder()
    pulumi.runtime.set_mocks(mocks, preview=False)
    yield mocks


@pulumi.runtime.test
def test_type_tokens_inputs_and_outputs(recorder: Recorder) -> pulumi.Output[Any]:
    key = CustomKey("orders", description="d", key_material="c2VjcmV0", origin="external")
    replica = ReplicaKey(
        "orders-east",
        primary_key_id=key.key_id,
        replica_region="cn-east-3",
        opts=pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create="1h30m")),
    )
    alias = KeyAlias("orders-alias", alias_name="alias/orders", target_key_id=key.key_id)
    tags = KeyTags("orders-tags", key_id=key.key_id, tags={"a": "1"})

    def check(values: list[Any]) -> None:
        key_id, replica_key_id, trn, *_ = values
        types = {name: args.typ for name, args in recorder.registered.items()}
        assert types == {
            "orders": "pulumi-python:dynamic/kms:CustomKey",
            "orders-east": "pulumi-python:dynamic/kms:ReplicaKey",
            "orders-alias": "pulumi-python:dynamic/kms:KeyAlias",
            "orders-tags": "pulumi-python:dynamic/kms:KeyTags",
        }
        assert key_id == "orders-id" and replica_key_id == "orders-east-id" and trn == "trn:orders"
        key_inputs = recorder.registered["orders"].inputs
        assert key_inputs[AUTONAME] == "orders" and key_inputs["description"] == "d"
        assert "key_spec" not in key_inputs  # unset inputs are not registered: check fills the defaults
        assert recorder.registered["orders-east"].inputs[TIMEOUT] == 5400.0
        assert recorder.registered["orders-alias"].inputs["target_key_id"] == "orders-id"
        assert recorder.registered["orders-tags"].inputs["tags"] == {"a": "1"}

    # Waits for every registration (they complete asynchronously) before looking at what was registered.
    return pulumi.Output.all(key.key_id, replica.key_id, key.trn, alias.trn, tags.tags).apply(check)


@pulumi.runtime.test
def test_key_material_is_always_a_secret(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> pulumi.Output[Any]:
    seen: list[dict[str, Any]] = []
    real = _program.resource_props
    monkeypatch.setattr(
        _program, "resource_props", lambda inputs, outputs: seen.append(dict(inputs)) or real(inputs, outputs)
    )
    key = CustomKey("byok", origin="external", key_material="c2VjcmV0")  # a plain string from the caller
    material = seen[0]["key_material"]
    assert isinstance(material, pulumi.Output) and key.key_id is not None
    return pulumi.Output.from_input(material.is_secret()).apply(
        lambda secret: None if secret else pytest.fail("key_material was not made a secret")
    )


@pulumi.runtime.test
def test_import_option_becomes_an_adoption_input(recorder: Recorder) -> pulumi.Output[Any]:
    key = CustomKey("legacy", key_name="legacy", opts=pulumi.ResourceOptions(import_="key-123"))

    def check(_: Any) -> None:
        args = recorder.registered["legacy"]
        assert args.inputs[IMPORT_ID] == "key-123"
        assert not args.resource_id  # not the engine's import step (it cannot read a dynamic resource)

    return key.key_id.apply(check)


def test_custom_timeout_durations() -> None:
    assert (
        duration_seconds("10m") == 600 and duration_seconds("1h30m") == 5400 and duration_seconds("45s") == 45
    )
    assert duration_seconds("1.5h") == 5400 and duration_seconds(None) is None
    with pytest.raises(ValueError, match="not a duration"):
        duration_seconds("ten minutes")


@pulumi.runtime.test
def test_import_option_stays_the_engines_where_our_host_answers_import(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> pulumi.Output[Any]:
    # Set by tools/engine/kms_language_host.py when the engine runs tools/engine/kms_provider_host.py.
    monkeypatch.setenv(_program.ENGINE_IMPORTS, "1")
    key = CustomKey("legacy", region="cn-south-1", opts=pulumi.ResourceOptions(import_="key-123"))
    trn = "trn:kms:cn-east-3:2100000000:keyrings/default/keys/x"
    other = CustomKey("by-trn", region="cn-south-1", opts=pulumi.ResourceOptions(import_=trn))

    def check(_: Any) -> None:
        args = recorder.registered["legacy"]
        assert IMPORT_ID not in args.inputs
        # The host is sent nothing but the id: it names the key's region.
        assert args.resource_id == "cn-south-1:key-123"
        assert recorder.registered["by-trn"].resource_id == trn  # a TRN names its own region
        assert _program.located("cn-south-1:key-123") == ("cn-south-1", "key-123")
        assert _program.located(trn) == ("cn-east-3", trn)

    return pulumi.Output.all(key.key_id, other.key_id).apply(check)
