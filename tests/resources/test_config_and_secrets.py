"""`configure` and secrets: the pickled provider carries nothing; credentials come from stack config, per
call."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import dill
import pytest
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.dynamic.dynamic import serialize_provider

from provider.client import KmsClient
from provider.emulator import Emulator
from provider.resources import CustomKeyProvider, KeyAliasProvider, KeyTagsProvider, ReplicaKeyProvider
from provider.resources import _common as common
from provider.resources._common import ProviderError
from provider.server.app import KmsApp
from tests.resources.conftest import HUAWEI_REGIONS
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, ThreadServer

PROVIDERS = [CustomKeyProvider, ReplicaKeyProvider, KeyAliasProvider, KeyTagsProvider]


def configure(provider: object, **values: str) -> None:
    raw = {f"kms:{k}": v for k, v in values.items()}
    provider.configure(ConfigureRequest(Config(raw, "proj")))  # type: ignore[attr-defined]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ThreadServer]:
    emu = Emulator(tmp_path / "server-state")
    with ThreadServer(KmsApp(emu, {ACCESS_KEY: SECRET_KEY})) as srv:
        yield srv


@pytest.mark.parametrize("cls", PROVIDERS)
def test_configured_provider_pickles_to_a_bare_class_reference(cls: type, emulator_dir: Path) -> None:
    provider = cls()
    configure(provider, region="cn-east-3", accessKey=ACCESS_KEY, secretKey=SECRET_KEY, endpoint="http://x")
    assert vars(provider) == {}
    raw = base64.b64decode(serialize_provider(provider))
    assert SECRET_KEY.encode() not in raw and ACCESS_KEY.encode() not in raw
    assert isinstance(dill.loads(raw), cls)
    assert len(raw) < 200  # by reference: module and class name only


def test_stack_config_wins_over_the_environment(
    emulator_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KMS_REGION", "cn-south-1")
    provider = CustomKeyProvider()
    assert provider.check({}, {}).inputs["region"] == "cn-south-1"
    configure(provider, region="me-east-1", emulatorPath=str(tmp_path / "from-config"))
    assert provider.check({}, {}).inputs["region"] == "me-east-1"
    key_id = provider.create(provider.check({}, {"key_name": "cfg"}).inputs).id
    assert (tmp_path / "from-config").is_dir()
    assert (
        KmsClient(Emulator(tmp_path / "from-config"), "me-east-1").describe_key(key_id).key_id == key_id
    )


def test_http_endpoint_with_credentials_from_stack_config(emulator_dir: Path, server: ThreadServer) -> None:
    provider = CustomKeyProvider()
    # Volcengine's API (the dialect of an endpoint without kms:dialect) over Huawei Cloud's region names: the
    # stack replaces the dialect's catalog.
    configure(
        provider, endpoint=server.endpoint, accessKey=ACCESS_KEY, secretKey=SECRET_KEY, region="cn-north-4",
        regionCatalog=HUAWEI_REGIONS,
    )
    created = provider.create(provider.check({}, {"key_name": "over-http", "tags": {"a": "1"}}).inputs)
    assert created.outs is not None and created.outs["key_state"] == "Enable"
    assert (
        KmsClient(server.backend(), "cn-north-4").describe_key(created.id).name == "over-http"
    )
    assert not emulator_dir.exists()  # nothing went to the embedded emulator
    assert SECRET_KEY not in repr(created.outs)


def test_wrong_secret_fails_clearly_without_echoing_it(emulator_dir: Path, server: ThreadServer) -> None:
    provider = CustomKeyProvider()
    wrong = "not-the-secret-Qw8eR7tY6uI5oP4"
    configure(provider, endpoint=server.endpoint, accessKey=ACCESS_KEY, secretKey=wrong)
    with pytest.raises(ProviderError) as info:
        provider.create(provider.check({}, {"key_name": "denied"}).inputs)
    assert "AccessDenied" in str(info.value) and wrong not in str(info.value)


def test_configure_forgets_keys_the_stack_no_longer_sets(emulator_dir: Path) -> None:
    provider = CustomKeyProvider()
    configure(provider, region="me-east-1")
    configure(provider)
    assert common.default_region() == "cn-north-4"
