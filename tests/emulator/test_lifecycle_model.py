"""A hypothesis state machine drives the key lifecycle on the emulator and checks every answer
against a plain model of the documented rules: create, replicate, disable, enable, rotate, schedule,
cancel, advance the clock, encrypt and decrypt in any region."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from provider.client import KmsClient
from provider.domain import model
from provider.domain.errors import (
    Conflict,
    InvalidKeyStatus,
    InvalidOperation,
    InvalidReplicaRegion,
    KmsError,
    NotFound,
)
from provider.domain.rules import catalog
from provider.emulator import Emulator

REGIONS = ["cn-north-4", "cn-east-3", "cn-south-1", "ap-southeast-3", "me-east-1"]
DAY = 86400


@dataclass
class ModelKey:
    id: str
    region: str
    material: str  # the primary's id: replicas share the primary's material (Huawei Cloud DEW, Creating a Replica Key)
    primary: str | None
    state: str = "Enable"
    deletion_at: int | None = None
    replicas: dict[str, str] = field(default_factory=dict)  # region -> replica id


class Lifecycle(RuleBasedStateMachine):
    keys = Bundle("keys")
    blobs = Bundle("blobs")

    def __init__(self) -> None:
        super().__init__()
        self.emu = Emulator(tempfile.mkdtemp(prefix="kms-model-"), replication_delay=0, quota=10_000)
        self.model: dict[str, ModelKey] = {}
        self.now = 0  # seconds the clock was advanced
        self.names = 0

    def teardown(self) -> None:
        self.emu.close()

    def client(self, region: str) -> KmsClient:
        return KmsClient(self.emu, region)

    def expect(self, error: type[KmsError] | None, fn: object) -> object:
        assert callable(fn)
        try:
            result = fn()
        except KmsError as exc:
            assert error is not None and isinstance(exc, error), f"unexpected {exc!r}, model expected {error}"
            return None
        assert error is None, f"model expected {error.__name__} but the call succeeded"
        return result

    def live(self, key_id: str) -> ModelKey | None:
        return self.model.get(key_id)

    # --- rules -------------------------------------------------------------------------------------------
    @rule(target=keys, region=st.sampled_from(REGIONS))
    def create(self, region: str) -> str:
        self.names += 1
        key = self.client(region).create_key(f"k{self.names}")
        self.model[key.key_id] = ModelKey(key.key_id, region, key.key_id, None)
        return key.key_id

    @rule(target=keys, key_id=keys, region=st.sampled_from(REGIONS))
    def replicate(self, key_id: str, region: str) -> str:
        k = self.live(key_id)
        if k is None:
            self.expect(NotFound, lambda: self.client("cn-north-4").replicate_key(key_id, region))
            return key_id
        error: type[KmsError] | None = None
        if k.primary is not None:
            error = InvalidOperation
        elif k.state != "Enable":
            error = InvalidKeyStatus
        elif region not in catalog().replica_regions[k.region]:
            error = InvalidReplicaRegion
        elif region in k.replicas:
            error = Conflict
        out = self.expect(error, lambda: self.client(k.region).replicate_key(key_id, region))
        if out is None:
            return key_id
        assert isinstance(out, model.Key)
        self.model[out.key_id] = ModelKey(out.key_id, region, k.material, k.id)
        k.replicas[region] = out.key_id
        return str(out.key_id)

    @rule(key_id=keys, enable=st.booleans())
    def toggle(self, key_id: str, enable: bool) -> None:
        k = self.live(key_id)
        if k is None:
            return
        ok = k.state in ("Enable", "Disable")
        c = self.client(k.region)
        self.expect(None if ok else InvalidKeyStatus, lambda: c.enable_key(key_id) if enable else c.disable_key(key_id))
        if ok:
            k.state = "Enable" if enable else "Disable"

    @rule(key_id=keys)
    def rotate(self, key_id: str) -> None:
        k = self.live(key_id)
        if k is None:
            return
        error = InvalidKeyStatus if k.state != "Enable" else InvalidOperation if k.primary else None
        self.expect(error, lambda: self.client(k.region).enable_key_rotation(key_id, 30))

    @rule(key_id=keys, days=st.integers(7, 12))
    def schedule(self, key_id: str, days: int) -> None:
        k = self.live(key_id)
        if k is None:
            return
        waiting = [r for r in k.replicas.values() if r in self.model and self.model[r].state != "PendingDelete"]
        error = InvalidKeyStatus if k.state not in ("Enable", "Disable") else InvalidOperation if waiting else None
        if self.expect(error, lambda: self.client(k.region).schedule_key_deletion(key_id, days)) is not None:
            k.state, k.deletion_at = "PendingDelete", self.now + days * DAY

    @rule(key_id=keys)
    def cancel(self, key_id: str) -> None:
        k = self.live(key_id)
        if k is None:
            return
        ok = k.state == "PendingDelete"
        if self.expect(None if ok else InvalidKeyStatus, lambda: self.client(k.region).cancel_key_deletion(key_id)):
            # Huawei Cloud DEW, Creating a Custom Key: "After the cancellation, the key is in Disabled status."
            k.state, k.deletion_at = "Disable", None

    @rule(days=st.integers(0, 15))
    def advance(self, days: int) -> None:
        self.client("cn-north-4").advance_clock(days * DAY)
        self.now += days * DAY
        for kid in [kid for kid, k in self.model.items() if k.deletion_at is not None and k.deletion_at <= self.now]:
            gone = self.model.pop(kid)
            if gone.primary and gone.primary in self.model:
                self.model[gone.primary].replicas.pop(gone.region, None)

    @rule(target=blobs, key_id=keys, data=st.binary(max_size=64))
    def encrypt(self, key_id: str, data: bytes) -> tuple[bytes, str, bytes]:
        k = self.live(key_id)
        if k is None:
            return (b"", "", data)
        out = self.expect(
            None if k.state == "Enable" else InvalidKeyStatus, lambda: self.client(k.region).encrypt(key_id, data)
        )
        return (out if isinstance(out, bytes) else b"", k.material, data)

    @rule(blob=blobs, region=st.sampled_from(REGIONS))
    def decrypt(self, blob: tuple[bytes, str, bytes], region: str) -> None:
        ciphertext, material, plaintext = blob
        if not ciphertext:
            return
        holders = [k for k in self.model.values() if k.material == material and k.region == region]
        error = NotFound if not holders else None if holders[0].state == "Enable" else InvalidKeyStatus
        out = self.expect(error, lambda: self.client(region).decrypt(ciphertext))
        if out is not None:
            assert out == (holders[0].id, plaintext)

    @invariant()
    def states_match(self) -> None:
        for region in REGIONS:
            live = {k.key_id: k.state for k in self.client(region).list_keys()}
            want = {kid: k.state for kid, k in self.model.items() if k.region == region}
            assert live == want


Lifecycle.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None, suppress_health_check=list(HealthCheck)
)
TestLifecycle = Lifecycle.TestCase
