"""`kmsctl` pointed at an endpoint in the huaweicloud dialect (KMS_ENDPOINT, KMS_DIALECT, KMS_PROJECT_IDS):
keys listed and described, the clock advanced, a cross-region envelope sealed and opened, all over
Huawei's API; and a wrong setting refused naming it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from provider.emulator import Emulator
from provider.server.app import KmsApp
from tests.support.cli import invoke
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, ThreadServer

PROJECTS = "cn-north-4=aa11,cn-east-3=bb22"


@pytest.fixture
def endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("KMS_REPLICATION_DELAY", "0")
    monkeypatch.setenv("KMS_PROJECT_IDS", PROJECTS)  # read by the server (ids -> regions) and the client
    with ThreadServer(KmsApp(Emulator(tmp_path / "state"), {ACCESS_KEY: SECRET_KEY})) as server:
        for name, value in {"KMS_ENDPOINT": server.endpoint, "KMS_DIALECT": "huaweicloud",
                            "KMS_ACCESS_KEY": ACCESS_KEY, "KMS_SECRET_KEY": SECRET_KEY}.items():
            monkeypatch.setenv(name, value)
        yield server.endpoint


def test_kmsctl_over_huaweicloud(endpoint: str, tmp_path: Path) -> None:
    from provider.config import connect

    kms = connect()
    key = kms.create_key("cli-made", description="over huawei")
    kms.create_alias("alias/cli", key.key_id)
    replica = kms.replicate_key(key.key_id, "cn-east-3")
    kms.in_region("cn-east-3").create_alias("alias/cli", replica.key_id)
    listed = invoke(["keys", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [k["name"] for k in json.loads(listed.output)] == ["cli-made"]
    described = json.loads(invoke(["keys", "describe", "alias/cli"]).output)
    assert described["description"] == "over huawei"

    source, sealed, opened = tmp_path / "in.txt", tmp_path / "out.kms", tmp_path / "back.txt"
    source.write_bytes(b"orders ledger\n" * 1000)
    out = invoke(["encrypt", "--key", "cn-north-4:alias/cli", "--context", "app=cli", str(source),
                              str(sealed)])
    assert out.exit_code == 0, out.output
    out = invoke(["decrypt", "--key", "cn-east-3:alias/cli", "--context", "app=cli", str(sealed),
                              str(opened)])
    assert out.exit_code == 0, out.output
    assert opened.read_bytes() == source.read_bytes()
    assert invoke(["clock", "advance", "1d"]).exit_code == 0


def test_a_wrong_project_ids_setting_is_one_clear_line(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KMS_PROJECT_IDS", "cn-north-4")
    out = invoke(["keys", "list"])
    assert out.exit_code != 0
    assert "KMS_PROJECT_IDS" in out.output and "Traceback" not in out.output
