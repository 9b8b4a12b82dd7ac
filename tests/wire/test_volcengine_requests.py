"""The HTTP backend speaks only what Volcengine's API defines (https://www.volcengine.com/docs/6476/1337064).

Every request the backend sends in a session that takes every domain action is rebuilt as the SDK's own
request model (`volcenginesdkkms.models.<Action>Request`, client-side validation on): a parameter the
model does not know, a wrong type or a value the SDK would refuse fails the test; every answer is held to
the SDK's response model with no field left over. The emulator's clock is outside Volcengine's API, on
its own path (/_emulator/clock/advance).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import volcenginesdkcore
import volcenginesdkkms.models as sdk_models
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from provider.dialects import HttpCall, emulator_clock
from provider.dialects.volcengine import client as volc_client
from provider.dialects.volcengine import wire
from provider.domain import model as m
from provider.emulator import Emulator
from provider.server.app import KmsApp
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, ThreadServer
from tests.wire.conftest import KR
from tests.wire.sdk_answers import check_volcengine_answer

_SDK_CONFIG = volcenginesdkcore.Configuration()
_SDK_CONFIG.client_side_validation = True


def sdk_model(cls: type, data: Any, where: str) -> Any:
    """`data` (the wire's PascalCase JSON) as an instance of the SDK model `cls`; AssertionError on a field
    the model does not define; the SDK's own ValueError on a value it refuses."""
    assert isinstance(data, dict), f"{where}: expected an object"
    by_wire = {wire_name: attr for attr, wire_name in cls.attribute_map.items()}
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        assert name in by_wire, f"{where}.{name} is not a parameter of {cls.__name__}"
        attr = by_wire[name]
        kwargs[attr] = typed(cls.swagger_types[attr], value, f"{where}.{name}")
    return cls(_configuration=_SDK_CONFIG, **kwargs)


def typed(kind: str, value: Any, where: str) -> Any:
    if kind.startswith("list["):
        assert isinstance(value, list), f"{where}: expected a list"
        return [typed(kind[5:-1], item, f"{where}[{i}]") for i, item in enumerate(value)]
    if kind.startswith("dict("):
        assert isinstance(value, dict) and all(isinstance(x, str) for x in value.values()), f"{where}: {kind}"
        return value
    native = {"str": str, "int": int, "bool": bool, "float": float}.get(kind)
    if native is not None:
        assert isinstance(value, native) and not (native is int and isinstance(value, bool)), \
            f"{where}: expected {kind}, got {type(value).__name__}"
        return value
    return sdk_model(getattr(sdk_models, kind), value, where)


def from_query(query: list[tuple[str, str]], cls: type) -> dict[str, Any]:
    """A GET's query parameters back into JSON, typed as the SDK model declares them."""
    raw = wire.unflatten([(k, v) for k, v in query if k not in ("Action", "Version")])
    out: dict[str, Any] = {}
    by_wire = {wire_name: attr for attr, wire_name in cls.attribute_map.items()}
    for name, value in raw.items():
        kind = cls.swagger_types.get(by_wire.get(name, ""), "str")
        out[name] = {"int": int, "bool": lambda x: x == "true"}.get(kind, str)(value)
    return out


class Recorder:
    def __init__(self, send: Any) -> None:
        self.send = send
        self.actions: list[str] = []

    def __call__(self, region: str, call: HttpCall) -> tuple[int, bytes]:
        if call.path == emulator_clock.CLOCK_PATH:
            self.actions.append("/_emulator/clock/advance")
            return self.send(region, call)
        action = dict(call.query)["Action"]
        self.actions.append(action)
        assert call.method == wire.METHODS[action], f"{action} goes as {call.method}; the SDK sends it as " \
                                                    f"{wire.METHODS[action]}"
        cls = getattr(sdk_models, f"{action}Request")
        data = json.loads(call.body) if call.method == "POST" else from_query(call.query, cls)
        sdk_model(cls, data, action)
        status, body = self.send(region, call)
        check_volcengine_answer(action, body)
        return status, body


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ThreadServer]:
    with ThreadServer(KmsApp(Emulator(tmp_path / "state"), {ACCESS_KEY: SECRET_KEY})) as running:
        yield running


def test_every_request_the_backend_sends_is_an_sdk_request(server: ThreadServer) -> None:
    backend = server.backend()
    rec = Recorder(backend.send)
    region = "cn-north-4"

    ran: set[type[m.Action]] = set()

    def run(action: m.Action, where: str = region) -> Any:
        ran.add(type(action))
        return backend.dialect.execute(where, action, rec)

    ring = run(m.CreateKeyring(name="ring-a", description="a ring"))
    assert isinstance(ring, m.Keyring)
    run(m.DescribeKeyrings(offset=0, limit=10))
    run(m.UpdateKeyring(name="ring-a", description="the ring"))
    key = run(m.CreateKey(name="k-main", keyring="ring-a", description="main", tags={"team": "pay"},
                          multi_region=True, rotation_days=90))
    assert isinstance(key, m.Key) and key.spec.value == "AES_256" and key.rotation_enabled
    ref = m.KeyRef(key_id=key.key_id)
    named = m.KeyRef(keyring="ring-a", name="k-main")
    run(m.DescribeKey(key=named))
    run(m.DescribeKeys(keyring="ring-a", offset=0, limit=5, tag_filters={"team": ("pay",)}))
    run(m.UpdateKey(key=ref, new_name="k-main2", description="renamed"))
    run(m.UpdateKey(key=m.KeyRef(keyring="ring-a", name="k-main2"), new_name="k-main"))
    run(m.DisableKey(key=ref))
    run(m.EnableKey(key=ref))
    run(m.EnableKeyRotation(key=ref, rotation_days=180))
    run(m.DisableKeyRotation(key=ref))
    run(m.TagKey(key=ref, tags={"env": "prod"}))
    run(m.UntagKey(key=ref, tag_keys=("env",)))
    ct = run(m.Encrypt(key=named, plaintext=b"hello", context={"a": "b"}))
    assert isinstance(ct, m.Ciphertext) and ct.key_id == key.key_id
    assert run(m.Decrypt(ciphertext=ct.ciphertext, context={"a": "b"})).plaintext == b"hello"
    dk = run(m.GenerateDataKey(key=ref, number_of_bytes=32, with_plaintext=False))
    assert isinstance(dk, m.DataKey) and dk.plaintext is None
    other = run(m.CreateKey(name="k-other"))
    run(m.ReEncrypt(ciphertext=ct.ciphertext, new_key=m.KeyRef(key_id=other.key_id), old_context={"a": "b"}))
    replica = run(m.ReplicateKey(key=ref, replica_region="cn-east-3", description="east"))
    assert isinstance(replica, m.Key) and replica.region == "cn-east-3"

    hmac_key = run(m.CreateKey(name="k-mac", spec="HMAC_256", usage="GENERATE_VERIFY_MAC"))
    mac = run(m.GenerateMac(key=m.KeyRef(key_id=hmac_key.key_id), message=b"msg", algorithm="HMAC_SHA_256"))
    assert run(m.VerifyMac(key=m.KeyRef(key_id=hmac_key.key_id), message=b"msg", mac=mac.mac,
                           algorithm="HMAC_SHA_256")).valid
    rsa = run(m.CreateKey(name="k-rsa", spec="RSA_2048", usage="ENCRYPT_DECRYPT"))
    rsa_ref = m.KeyRef(key_id=rsa.key_id)
    sealed = run(m.Encrypt(key=rsa_ref, plaintext=b"rsa", algorithm="RSAES_OAEP_SHA_256"))
    assert run(m.Decrypt(key=rsa_ref, ciphertext=sealed.ciphertext, algorithm="RSAES_OAEP_SHA_256")).plaintext == b"rsa"
    ec = run(m.CreateKey(name="k-ec", spec="EC_P256", usage="SIGN_VERIFY"))
    ec_ref = m.KeyRef(key_id=ec.key_id)
    sig = run(m.Sign(key=ec_ref, message=b"doc", algorithm="ECDSA_SHA_256"))
    assert run(m.Verify(key=ec_ref, message=b"doc", signature=sig.signature, algorithm="ECDSA_SHA_256")).valid
    assert run(m.GetPublicKey(key=ec_ref)).pem.startswith("-----BEGIN PUBLIC KEY-----")

    ext = run(m.CreateKey(name="k-ext", origin="External"))
    ext_ref = m.KeyRef(key_id=ext.key_id)
    params = run(m.GetParametersForImport(key=ext_ref))
    wrapping = serialization.load_der_public_key(params.public_key_der)
    material = bytes(range(32))
    wrapped = wrapping.encrypt(material, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(),
                                                      label=None))  # type: ignore[union-attr]
    imported = run(m.ImportKeyMaterial(key=ext_ref, import_token=params.import_token, encrypted_material=wrapped))
    assert imported.state.value == "Enable"

    run(m.ScheduleKeyDeletion(key=m.KeyRef(key_id=replica.key_id), pending_days=7), "cn-east-3")
    run(m.ScheduleKeyDeletion(key=ref, pending_days=7))
    run(m.CancelKeyDeletion(key=ref))
    run(m.CreateKeyring(name="ring-b"))
    run(m.DeleteKeyring(name="ring-b"))
    # The emulator's own path, signed like the rest.
    assert run(m.AdvanceClock(seconds=1)).offset_seconds == 1
    assert "/_emulator/clock/advance" in rec.actions

    # Volcengine has no aliases: every other action the backend has went out.
    aliases = {m.CreateAlias, m.UpdateAlias, m.DeleteAlias, m.ListAliases}
    assert ran == set(volc_client._HANDLERS) - aliases, f"no request sent for {set(volc_client._HANDLERS) - ran}"
    # Every action of the dialect went out, but ListTagsForResources: no domain action lists tags across
    # keys (the SDK session sends it).
    assert set(wire.METHODS) - set(rec.actions) == {"ListTagsForResources"}


def test_a_field_the_sdk_does_not_know_fails_the_check() -> None:
    with pytest.raises(AssertionError, match="ClientToken is not a parameter of CreateKeyRequest"):
        sdk_model(sdk_models.CreateKeyRequest, {**KR, "KeyName": "ab", "ClientToken": "t"},
                  "CreateKey")
    with pytest.raises(ValueError, match="key_name"):
        sdk_model(sdk_models.CreateKeyRequest, {**KR, "KeyName": "x" * 40}, "CreateKey")
