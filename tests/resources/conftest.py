"""Provider methods called directly (as the dynamic-provider host calls them) on a fresh embedded emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from provider.client import KmsClient
from provider.domain import rules
from provider.resources import _common as common

REGION = "cn-north-4"
# Huawei Cloud's catalog as a file, for stacks of another dialect that use its region names (kms:regionCatalog).
HUAWEI_REGIONS = str(Path(rules.__file__).with_name(rules.CATALOG_FILES["huaweicloud"]))


@pytest.fixture
def emulator_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Host state cleared; the providers find the emulator through KMS_EMULATOR_PATH (the env fallback)."""
    path = tmp_path / "emulator"
    monkeypatch.setenv("KMS_EMULATOR_PATH", str(path))
    for var in ("KMS_ENDPOINT", "KMS_REGION", "KMS_ACCESS_KEY", "KMS_SECRET_KEY"):
        monkeypatch.delenv(var, raising=False)
    common.HOST.reset()  # a fresh provider host's state: no stack config, no open backend, nothing adopted
    yield path
    common.HOST.reset()


@pytest.fixture
def svc(emulator_dir: Path) -> KmsClient:
    """A client on the same emulator the providers use, to look behind their back."""
    return common.connect(REGION)
