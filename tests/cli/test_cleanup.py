"""Cleaning up keys no stack owns: `kmsctl keys list` filters, `kmsctl keys schedule-deletion`, and commands
that read keys never creating an emulator where there is none."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from provider.client import KmsClient
from provider.domain.errors import InvalidKeyStatus
from provider.emulator import Emulator
from tests.support.cli import invoke

REGION = "cn-east-3"


@pytest.fixture
def kms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KmsClient:
    monkeypatch.setenv("KMS_EMULATOR_PATH", str(tmp_path / "state"))
    monkeypatch.delenv("KMS_ENDPOINT", raising=False)
    monkeypatch.delenv("KMS_REGION", raising=False)
    return KmsClient(Emulator(tmp_path / "state"), REGION)


def flat(text: str) -> str:
    return " ".join(text.split())  # one line, however argparse wrapped a message


def listed(*args: str) -> list[str]:
    out = invoke(["keys", "list", "--region", REGION, "--json", *args])
    assert out.exit_code == 0, out.output
    return sorted(k["name"] for k in json.loads(out.output))


def test_filters_find_the_keys_left_behind(kms: KmsClient) -> None:
    kms.create_key("orders-4f2a9c1", tags={"team": "billing", "env": "prod"})
    kms.create_key("orders-77b01de", tags={"team": "billing"})
    kms.create_key("audit-0c1d2e3", tags={"team": "security", "env": "prod"})
    gone = kms.create_key("orders-pending")
    kms.schedule_key_deletion(gone.key_id, 7)
    assert listed("--name-prefix", "orders-") == ["orders-4f2a9c1", "orders-77b01de", "orders-pending"]
    assert listed("--tag", "team=billing") == ["orders-4f2a9c1", "orders-77b01de"]
    assert listed("--tag", "env") == ["audit-0c1d2e3", "orders-4f2a9c1"]
    assert listed("--tag", "team=billing", "--tag", "env=prod") == ["orders-4f2a9c1"]
    assert listed("--without-tag", "env", "--name-prefix", "orders-") == ["orders-77b01de", "orders-pending"]
    assert listed("--state", "PendingDelete") == ["orders-pending"]
    assert listed("--state", "Enable", "--name-prefix", "audit") == ["audit-0c1d2e3"]
    table = invoke(["keys", "list", "--region", REGION, "--tag", "team=security"])
    assert "audit-0c1d2e3" in table.output and "orders-4f2a9c1" not in table.output


@pytest.mark.parametrize(("args", "message"), [
    (["--tag", "=v"], "'=v' is not KEY or KEY=VALUE"),
    (["--without-tag", "env=prod"], "'env=prod' is not a tag KEY (no =VALUE)"),
    (["--state", "Enabled"], "'Enabled' is not a key state; one of"),
])
def test_a_bad_filter_is_a_usage_error(kms: KmsClient, args: list[str], message: str) -> None:
    out = invoke(["keys", "list", *args])
    assert out.exit_code == 2
    assert message in flat(out.output)


def test_schedule_deletion_then_undo_it(kms: KmsClient) -> None:
    key_id = kms.create_key("orphan-1a2b3c4").key_id
    blob = kms.encrypt(key_id, b"record")
    out = invoke(["keys", "schedule-deletion", f"{REGION}:{key_id}", "--days", "9"])
    assert out.exit_code == 0, out.output
    described = kms.describe_key(key_id)
    assert described.state == "PendingDelete" and described.pending_days == 9
    assert described.deletion_date is not None
    date = dt.datetime.fromtimestamp(described.deletion_date, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    assert out.output == (f"{REGION}:{key_id}: deletion scheduled; the key is PendingDelete and gone for good after "
                          f"{date}; undo before then: kmsctl keys cancel-deletion {REGION}:{key_id}\n")
    with pytest.raises(InvalidKeyStatus):
        kms.decrypt(blob)
    undo = invoke(["keys", "cancel-deletion", f"{REGION}:{key_id}"])
    assert undo.exit_code == 0, undo.output
    assert kms.decrypt(blob) == (key_id, b"record")


def test_schedule_deletion_defaults_to_thirty_days_and_takes_an_alias(kms: KmsClient) -> None:
    key_id = kms.create_key("named").key_id
    kms.create_alias("alias/named", key_id)
    out = invoke(["keys", "schedule-deletion", f"{REGION}:alias/named"])
    assert out.exit_code == 0, out.output
    assert kms.describe_key(key_id).pending_days == 30
    assert f"{REGION}:{key_id}: deletion scheduled" in out.output


@pytest.mark.parametrize("days", ["6", "1097"])
def test_schedule_deletion_window_outside_the_services_range(kms: KmsClient, days: str) -> None:
    key_id = kms.create_key("kept").key_id
    out = invoke(["keys", "schedule-deletion", f"{REGION}:{key_id}", "--days", days])
    assert out.exit_code == 2 and "--days" in out.output
    assert f"{days} days is outside the service's deletion window, 7..1096 days" in flat(out.output)
    assert kms.describe_key(key_id).state == "Enable"


def test_schedule_deletion_errors_are_one_line(kms: KmsClient) -> None:
    unknown = invoke(["keys", "schedule-deletion", f"{REGION}:alias/nope"])
    assert unknown.exit_code == 1 and unknown.output.startswith("error: ") and "NotFound" in unknown.output
    assert unknown.output.count("\n") == 1
    key_id = kms.create_key("twice").key_id
    kms.schedule_key_deletion(key_id, 7)
    again = invoke(["keys", "schedule-deletion", f"{REGION}:{key_id}"])
    assert again.exit_code == 1 and again.output.count("\n") == 1 and "Traceback" not in again.output
    bare = invoke(["keys", "schedule-deletion", key_id])
    assert bare.exit_code == 2 and "REGION:KEY" in bare.output


@pytest.mark.parametrize("args", [
    ["keys", "list"], ["keys", "describe", "alias/x"], ["keys", "schedule-deletion", "cn-north-4:alias/x"],
    ["keys", "cancel-deletion", "cn-north-4:alias/x"], ["clock", "advance", "1d"],
])
def test_no_emulator_is_created_to_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    monkeypatch.delenv("KMS_ENDPOINT", raising=False)
    absent = tmp_path / "nowhere"
    monkeypatch.setenv("KMS_EMULATOR_PATH", str(absent))
    out = invoke(args)
    assert out.exit_code == 1 and out.output.count("\n") == 1
    assert out.output.startswith(f"error: no emulator state at {absent} (KMS_EMULATOR_PATH)")
    assert "KMS_ENDPOINT" in out.output and "--stack NAME" in out.output
    assert not absent.exists()
    # Outside any project, the default place: the current directory's .kms-emulator, left uncreated too.
    monkeypatch.delenv("KMS_EMULATOR_PATH")
    monkeypatch.chdir(tmp_path)
    out = invoke(args)
    assert out.exit_code == 1 and f"no emulator state at {tmp_path / '.kms-emulator'}" in out.output
    assert "beside the nearest Pulumi.yaml" in out.output
    assert not (tmp_path / ".kms-emulator").exists()
