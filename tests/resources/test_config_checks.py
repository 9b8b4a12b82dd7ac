"""The stack's kms: settings as every Check sees them: a bad one is a check failure naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from provider import config
from provider.domain.errors import InvalidParameter
from provider.resources import _common as common
from provider.resources.custom_key import CustomKeyProvider


@pytest.mark.parametrize("endpoint", ["not a url", "kms.cn-north-4.myhuaweicloud.com", "ftp://host", "http://h:port"])
def test_an_endpoint_that_is_not_an_http_url_is_refused(endpoint: str) -> None:
    with pytest.raises(InvalidParameter, match=r"kms:endpoint: .* is not a URL: the endpoint is http:// or https://"):
        config.settings({"endpoint": endpoint}, environ={})


def test_each_clouds_endpoint_forms_pass() -> None:
    for endpoint in ("https://kms.{region}.myhuaweicloud.com", "http://127.0.0.1:8400", "https://[::1]:8400/"):
        assert config.settings({"endpoint": endpoint}, environ={}).endpoint == endpoint


def test_stack_placeholder_needs_the_stack(tmp_path: Path) -> None:
    pattern = str(tmp_path / "{stack}")
    assert config.settings({"emulatorPath": pattern}, environ={"KMS_STACK": "dev"}).emulator_path == tmp_path / "dev"
    with pytest.raises(InvalidParameter, match=r"kms:emulatorPath: .* names \{stack\} but the stack is not known here"):
        config.settings({"emulatorPath": pattern}, environ={})
    with pytest.raises(InvalidParameter, match="the stack is not known here"):
        config.settings({"emulatorPath": pattern}, environ={"KMS_STACK": "../x"})


def test_check_with_an_explicit_region_still_names_a_bad_dialect() -> None:
    common.reset_config({"endpoint": "http://127.0.0.1:9", "dialect": "huawei"})
    try:
        result = CustomKeyProvider().check({}, {"region": "cn-north-4", "key_name": "orders"})
    finally:
        common.reset_config()
    assert [(f.property, f.reason) for f in result.failures] == [
        ("kms", "kms:dialect / KMS_DIALECT must be one of huaweicloud, volcengine, not 'huawei'")
    ]
