"""`kmsctl keys cancel-deletion REGION:KEY`: the undo command the review prints (README, kmsctl).

Huawei Cloud DEW, Creating a Custom Key: cancelling a deletion leaves the key `Disable`; a disabled or pending key
refuses crypto. The command brings the key back into service (enabled) unless asked to keep it disabled."""

from __future__ import annotations

from pathlib import Path

import pytest

from provider.client import KmsClient
from provider.domain.errors import InvalidKeyStatus
from provider.emulator import Emulator
from tests.support.cli import invoke


@pytest.fixture
def kms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KmsClient:
    monkeypatch.setenv("KMS_EMULATOR_PATH", str(tmp_path))
    monkeypatch.delenv("KMS_ENDPOINT", raising=False)
    return KmsClient(Emulator(tmp_path), "cn-east-3")


def test_cancel_brings_the_key_back_and_its_ciphertext_opens(kms: KmsClient) -> None:
    key_id = kms.create_key("doomed").key_id
    blob = kms.encrypt(key_id, b"record")
    kms.schedule_key_deletion(key_id, 7)
    with pytest.raises(InvalidKeyStatus):
        kms.decrypt(blob)
    out = invoke(["keys", "cancel-deletion", f"cn-east-3:{key_id}"])
    assert out.exit_code == 0, out.output
    assert out.output.strip() == f"cn-east-3:{key_id}: deletion cancelled; the key is Enable and decrypts again"
    assert kms.decrypt(blob) == (key_id, b"record")


def test_keep_disabled_leaves_it_as_the_service_does(kms: KmsClient) -> None:
    key_id = kms.create_key("kept").key_id
    kms.schedule_key_deletion(key_id, 7)
    out = invoke(["keys", "cancel-deletion", "--keep-disabled", f"cn-east-3:{key_id}"])
    assert out.exit_code == 0, out.output
    assert kms.describe_key(key_id).state == "Disable"


def test_a_key_not_pending_deletion_is_one_clear_line(kms: KmsClient) -> None:
    key_id = kms.create_key("alive").key_id
    out = invoke(["keys", "cancel-deletion", f"cn-east-3:{key_id}"])
    assert out.exit_code == 1
    assert out.output == f"error: cn-east-3:{key_id}: the key is Enable, not pending deletion: nothing to cancel\n"
    assert kms.describe_key(key_id).state == "Enable"


def test_a_window_that_closed_cannot_be_undone(kms: KmsClient) -> None:
    key_id = kms.create_key("gone").key_id
    kms.schedule_key_deletion(key_id, 7)
    kms.advance_clock(8 * 86400)
    out = invoke(["keys", "cancel-deletion", f"cn-east-3:{key_id}"])
    assert out.exit_code == 1 and "a deletion whose window closed cannot be undone" in out.output


def test_a_reference_without_region_is_refused(kms: KmsClient) -> None:
    out = invoke(["keys", "cancel-deletion", "some-key"])
    assert out.exit_code == 2 and "REGION:KEY" in out.output
