"""What a program (and its type checker) sees of the resource classes: every input is an output attribute
whether or not it was passed, the constructors document their own arguments, and key specs and usages are
`Literal` types that catch a typo before any preview."""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args, get_origin

import pulumi
import pytest

from provider import CustomKey, KeyAlias, KeyTags, ReplicaKey
from provider import typing as kinds
from provider.domain import rules
from provider.resources import custom_key, key_alias, key_tags, replica_key

# What the provider reports for a key made with nothing but a region (its check fills the defaults).
KEY_DEFAULTS = {
    "key_spec": "AES_256", "key_usage": "ENCRYPT_DECRYPT", "origin": "kms", "keyring_name": "default",
    "key_name": "k-1a2b", "description": None, "enterprise_project": "default", "enabled": True,
    "pending_days": 30, "rotation_enabled": False, "rotation_interval_days": None, "tags": {},
}


class ProviderLike(pulumi.runtime.Mocks):
    """Answers like the providers do: the inputs with their defaults filled, plus the outputs."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outs = dict(args.inputs)
        if args.typ.endswith(":CustomKey"):
            outs = {**KEY_DEFAULTS, **outs, "trn": "trn:kms:cn-north-4:1:keyrings/default/keys/k"}
        elif args.typ.endswith(":ReplicaKey"):
            outs = {"key_name": "k-1a2b", "description": None, "enabled": True, "pending_days": 30,
                    "primary_region": "cn-north-4", **outs}
        elif args.typ.endswith(":KeyAlias"):
            outs = {"region": "cn-north-4", **outs}
        return f"{args.name}-id", outs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


@pytest.fixture
def provider_like() -> Iterator[ProviderLike]:
    mocks = ProviderLike()
    pulumi.runtime.set_mocks(mocks, preview=False)
    yield mocks


def test_every_input_is_an_output_attribute_of_its_class() -> None:
    for cls, module in ((CustomKey, custom_key), (ReplicaKey, replica_key), (KeyAlias, key_alias),
                        (KeyTags, key_tags)):
        declared = cls.__annotations__  # the class's own: `name: pulumi.Output[...]`
        assert all(get_origin(a) is pulumi.Output for a in declared.values()), cls.__name__
        missing = [name for name in module.INPUTS if name not in declared]
        assert not missing, f"{cls.__name__} declares no output attribute for {missing}"
        arguments = set(inspect.signature(cls.__init__).parameters) - {"self", "resource_name", "opts"}
        assert arguments <= set(declared), f"{cls.__name__}: {sorted(arguments - set(declared))}"


@pulumi.runtime.test
def test_unset_inputs_are_attributes_with_the_providers_values(provider_like: ProviderLike) -> pulumi.Output[Any]:
    key = CustomKey("k", region="cn-north-4")
    replica = ReplicaKey("k-east", primary_key_id=key.key_id, replica_region="cn-east-3")
    alias = KeyAlias("k-alias", alias_name="alias/k", target_key_id=key.key_id)
    names = ("description", "tags", "enabled", "pending_days", "rotation_enabled", "rotation_interval_days",
             "enterprise_project", "key_spec", "key_usage", "origin", "keyring_name", "key_material")
    for name in names:
        assert isinstance(getattr(key, name), pulumi.Output), name

    def check(values: list[Any]) -> None:
        got = dict(zip(names, values[: len(names)], strict=True))
        assert got == {**{n: KEY_DEFAULTS.get(n) for n in names}, "key_material": None}
        assert values[len(names):] == [None, 30, "k-1a2b", "cn-north-4", "cn-north-4"]

    return pulumi.Output.all(
        *(getattr(key, n) for n in names),
        replica.description, replica.pending_days, replica.key_name, replica.primary_region, alias.region,
    ).apply(check)


def test_constructors_document_their_own_arguments() -> None:
    for cls in (CustomKey, ReplicaKey, KeyAlias, KeyTags):
        doc = inspect.getdoc(cls.__init__) or ""
        arguments = set(inspect.signature(cls.__init__).parameters) - {"self"}
        for name in arguments:
            assert f":param {name}:" in doc, f"{cls.__name__}.__init__ does not document {name}"
        assert ":param props:" not in doc and ":param provider:" not in doc  # Pulumi's inherited text
        assert "seed 0" not in (doc + (cls.__doc__ or "")).lower()
    show = "import pydoc, provider; print(pydoc.render_doc(provider.CustomKey, renderer=pydoc.plaintext))"
    rendered = subprocess.run(
        [sys.executable, "-c", show],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    assert ":param key_spec: ``AES_256`` (default)" in rendered and ":param props:" not in rendered


def test_literal_types_spell_the_services_values() -> None:
    assert set(get_args(kinds.KeySpec)) == {s.value for s in rules.KeySpec}
    assert set(get_args(kinds.KeyUsage)) == {u.value for u in rules.KeyUsage}
    assert set(get_args(kinds.Origin)) == set(custom_key.ORIGINS.values())
    assert set(get_args(kinds.MultiRegionType)) == {t.value for t in rules.MultiRegionType}
    assert CustomKey.__init__.__annotations__["key_spec"] == pulumi.Input[kinds.KeySpec] | None
    assert CustomKey.__annotations__["key_usage"] == pulumi.Output[kinds.KeyUsage]


def test_a_misspelt_key_spec_fails_the_type_checker(tmp_path: Path) -> None:
    program = tmp_path / "program.py"
    program.write_text(
        "from provider import CustomKey\n"
        "CustomKey('ok', key_spec='RSA_2048', key_usage='SIGN_VERIFY', origin='kms')\n"
        "CustomKey('typo', key_spec='AES265')\n"
        "CustomKey('usage', key_usage='ENCRYPT')\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--follow-imports=silent",
         "--cache-dir", str(tmp_path / "cache"), str(program)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    errors = [line for line in run.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 2, run.stdout + run.stderr
    assert "program.py:3:" in errors[0] and '"key_spec"' in errors[0] and "AES265" in errors[0], errors[0]
    assert "program.py:4:" in errors[1] and "key_usage" in errors[1]
