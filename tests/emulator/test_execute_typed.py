"""`Emulator.execute` speaks the domain only: typed actions in, typed results out, bytes as bytes.
No wire object (a dict of PascalCase names, base64 text) crosses it."""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from provider.domain import model
from provider.domain.errors import InvalidParameter
from provider.emulator import Emulator
from provider.emulator.service import HANDLERS

REGION = "cn-north-4"


def _concrete_actions() -> set[type[model.Action]]:
    found: set[type[model.Action]] = set()
    todo: list[type[model.Action]] = [model.Action]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            # Only the model's own classes (not a test's).
            if sub is not model.OnKey and getattr(model, sub.__name__, None) is sub:
                found.add(sub)
    return found


def test_every_action_of_the_model_has_a_handler() -> None:
    assert set(HANDLERS) == _concrete_actions()


def _values(value: object) -> Iterator[object]:
    """Every value inside a result, depth first."""
    yield value
    if isinstance(value, model.Model):
        for name in model.fields(value):
            yield from _values(getattr(value, name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _values(item)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _values(v)


def _assert_domain_object(result: object) -> None:
    assert isinstance(result, model.Model | tuple), type(result)
    for value in _values(result):
        # A wire object would be a dict keyed by PascalCase names (only a key's tags are a mapping).
        if isinstance(value, dict):
            assert all(not k[:1].isupper() for k in value), value


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    e = Emulator(tmp_path, replication_delay=0)
    yield e
    e.close()


def test_results_are_typed_objects(emu: Emulator) -> None:
    seen: set[type[model.Action]] = set()

    def run(action: model.Action, answer: type, region: str = REGION) -> object:
        result = emu.execute(region, action)
        assert isinstance(result, answer), (action, result)
        _assert_domain_object(result)
        seen.add(type(action))
        return result

    key = run(model.CreateKey(name="typed", tags={"team": "a"}), model.Key)
    assert isinstance(key, model.Key)
    ref = model.KeyRef(key_id=key.key_id)
    assert isinstance(key.state, Enum) and isinstance(key.spec, Enum) and isinstance(key.created, float)
    run(model.DescribeKey(key=ref), model.Key)
    page = run(model.DescribeKeys(), model.KeyPage)
    assert isinstance(page, model.KeyPage) and page.total == 1
    run(model.UpdateKey(key=ref, description="d"), model.Key)
    run(model.DisableKey(key=ref), model.Key)
    run(model.EnableKey(key=ref), model.Key)
    run(model.TagKey(key=ref, tags={"b": "2"}), model.Key)
    run(model.UntagKey(key=ref, tag_keys=("b",)), model.Key)
    run(model.EnableKeyRotation(key=ref, rotation_days=90), model.Key)
    run(model.DisableKeyRotation(key=ref), model.Key)

    # Binary values are bytes both ways: the plaintext goes in as bytes and comes back as bytes.
    sealed = run(model.Encrypt(key=ref, plaintext=b"\x00raw\xff", context={"a": "b"}), model.Ciphertext)
    assert isinstance(sealed, model.Ciphertext) and isinstance(sealed.ciphertext, bytes)
    opened = run(model.Decrypt(ciphertext=sealed.ciphertext, context={"a": "b"}), model.Plaintext)
    assert opened == model.Plaintext(key_id=key.key_id, plaintext=b"\x00raw\xff")
    dk = run(model.GenerateDataKey(key=ref, number_of_bytes=16), model.DataKey)
    assert isinstance(dk, model.DataKey) and isinstance(dk.plaintext, bytes) and len(dk.plaintext) == 16
    bare = run(model.GenerateDataKey(key=ref, with_plaintext=False), model.DataKey)
    assert isinstance(bare, model.DataKey) and bare.plaintext is None
    again = run(model.ReEncrypt(ciphertext=sealed.ciphertext, new_key=ref, old_context={"a": "b"}), model.Ciphertext)
    assert isinstance(again, model.Ciphertext) and again.source_key_id == key.key_id

    signer = run(model.CreateKey(name="signer", spec="EC_P256"), model.Key)
    assert isinstance(signer, model.Key)
    sref = model.KeyRef(key_id=signer.key_id)
    sig = run(model.Sign(key=sref, message=b"m", algorithm="ECDSA_SHA_256"), model.Signature)
    assert isinstance(sig, model.Signature) and isinstance(sig.signature, bytes)
    verdict = run(model.Verify(key=sref, message=b"m", signature=sig.signature, algorithm="ECDSA_SHA_256"),
                  model.Verdict)
    assert verdict == model.Verdict(key_id=signer.key_id, valid=True)
    public = run(model.GetPublicKey(key=sref), model.PublicKey)
    assert isinstance(public, model.PublicKey) and public.pem.startswith("-----BEGIN PUBLIC KEY-----")

    hmac_key = run(model.CreateKey(name="mac", spec="HMAC_256"), model.Key)
    assert isinstance(hmac_key, model.Key)
    mref = model.KeyRef(key_id=hmac_key.key_id)
    mac = run(model.GenerateMac(key=mref, message=b"m"), model.Mac)
    assert isinstance(mac, model.Mac) and len(mac.mac) == 32
    assert run(model.VerifyMac(key=mref, message=b"m", mac=mac.mac), model.Verdict) == model.Verdict(
        key_id=hmac_key.key_id, valid=True
    )

    external = run(model.CreateKey(name="byok", origin="External"), model.Key)
    assert isinstance(external, model.Key) and external.state == "PendingImport"
    eref = model.KeyRef(key_id=external.key_id)
    params = run(model.GetParametersForImport(key=eref), model.ImportParameters)
    assert isinstance(params, model.ImportParameters) and isinstance(params.public_key_der, bytes)
    wrapping = serialization.load_der_public_key(params.public_key_der)
    assert isinstance(wrapping, rsa.RSAPublicKey)
    wrapped = wrapping.encrypt(
        b"\x01" * 32, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    )
    imported = run(model.ImportKeyMaterial(key=eref, import_token=params.import_token, encrypted_material=wrapped),
                   model.Key)
    assert isinstance(imported, model.Key) and imported.state == "Enable"

    replica = run(model.ReplicateKey(key=ref, replica_region="cn-east-3"), model.Key)
    assert isinstance(replica, model.Key) and replica.primary is not None
    assert isinstance(replica.primary, model.LinkedKey)

    alias = run(model.CreateAlias(alias="alias/typed", key=ref), model.Alias)
    assert isinstance(alias, model.Alias) and alias.key_id == key.key_id
    run(model.UpdateAlias(alias="alias/typed", key=ref), model.Alias)
    aliases = run(model.ListAliases(), tuple)
    assert aliases == (alias,)
    assert run(model.DeleteAlias(alias="alias/typed"), model.Done) == model.Done()

    ring = run(model.CreateKeyring(name="typed-ring"), model.Keyring)
    assert isinstance(ring, model.Keyring)
    run(model.UpdateKeyring(name="typed-ring", description="x"), model.Keyring)
    rings = run(model.DescribeKeyrings(), model.KeyringPage)
    assert isinstance(rings, model.KeyringPage) and rings.total == 2
    run(model.DeleteKeyring(name="typed-ring"), model.Done)

    run(model.ScheduleKeyDeletion(key=model.KeyRef(key_id=replica.key_id), pending_days=7), model.Key, "cn-east-3")
    run(model.ScheduleKeyDeletion(key=ref, pending_days=7), model.Key)
    run(model.CancelKeyDeletion(key=ref), model.Key)
    clock = run(model.AdvanceClock(seconds=60), model.Clock)
    assert isinstance(clock, model.Clock) and clock.offset_seconds == 60

    assert seen == _concrete_actions()


def test_an_unknown_region_or_action_is_refused(emu: Emulator) -> None:
    with pytest.raises(InvalidParameter, match="Region 'mars-1'"):
        emu.execute("mars-1", model.DescribeKeys())

    class Teleport(model.Action, kw_only=True):
        pass

    with pytest.raises(InvalidParameter, match="unknown action Teleport"):
        emu.execute(REGION, Teleport())
