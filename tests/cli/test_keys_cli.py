"""`kmsctl keys` and `kmsctl clock` on the embedded emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provider.cli import keys as keys_cli
from provider.client import KmsClient
from provider.emulator import Emulator
from tests.support.cli import invoke


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KMS_EMULATOR_PATH", str(tmp_path))
    monkeypatch.delenv("KMS_ENDPOINT", raising=False)
    return tmp_path


def test_list_and_describe(state: Path) -> None:
    kms = KmsClient(Emulator(state), "cn-north-4")
    key = kms.create_key("listed", description="shown")
    kms.create_alias("alias/listed", key.key_id)
    out = invoke(["keys", "list", "--json"])
    assert out.exit_code == 0, out.output
    assert [k["name"] for k in json.loads(out.output)] == ["listed"]
    table = invoke(["keys", "list"])
    assert "listed" in table.output and "AES_256" in table.output
    described = invoke(["keys", "describe", "alias/listed"])
    assert json.loads(described.output)["description"] == "shown"


def test_describe_unknown_key_is_one_clear_line(state: Path) -> None:
    KmsClient(Emulator(state), "cn-north-4").create_key("another")  # an emulator whose state exists
    out = invoke(["keys", "describe", "alias/nope"])
    assert out.exit_code == 1
    assert "NotFound" in out.output and "Traceback" not in out.output


def test_clock_advance_makes_deletion_due(state: Path) -> None:
    kms = KmsClient(Emulator(state), "cn-north-4")
    key = kms.create_key("short-lived")
    kms.schedule_key_deletion(key.key_id, 7)
    out = invoke(["clock", "advance", "7d1h"])
    assert out.exit_code == 0, out.output
    assert "advanced 608400s" in out.output
    assert kms.list_keys() == []


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("45s", 45), ("30m", 1800), ("2w", 1209600)])
def test_durations(text: str, seconds: int) -> None:
    assert keys_cli.parse_duration(text) == seconds


def test_bad_duration(state: Path) -> None:
    out = invoke(["clock", "advance", "soon"])
    assert out.exit_code != 0 and "not a duration" in out.output
