"""The crypto actions: Encrypt, Decrypt, GenerateDataKey, ReEncrypt, Sign, Verify, GetPublicKey,
GenerateMac, VerifyMac. The mechanisms are in primitives.py; which key may do what is in
provider/domain/rules.py (state machine, usage, sizes)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..domain import model, rules
from ..domain.errors import InvalidParameter, NotFound
from ..domain.rules import KeyUsage, Op
from . import clock, primitives
from .context import ServiceContext
from .store import KeyRow, Tx


def _crypto_key(
    svc: ServiceContext, tx: Tx, region: str, ref: model.KeyRef, now: float, usage: KeyUsage, action: str
) -> KeyRow:
    return _usable_for(svc.resolve(tx, region, ref, now), now, usage, action)


def _usable_for(key: KeyRow, now: float, usage: KeyUsage, action: str) -> KeyRow:
    # Huawei Cloud DEW, Creating a Custom Key: "Only enabled custom keys can be used to encrypt or decrypt data."
    rules.require_state(key.state(now), Op.CRYPTO, key.id)
    rules.require_usage(key.usage, usage, key.id, action)
    return key


def _encrypt_with(
    svc: ServiceContext, tx: Tx, key: KeyRow, plaintext: bytes, context: Mapping[str, str] | None, algorithm: str | None
) -> bytes:
    if key.spec in rules.RSA_SPECS:
        return primitives.rsa_encrypt(svc.material(tx, key)[1], plaintext, algorithm)
    rules.symmetric_plaintext(len(plaintext))
    version, material = svc.material(tx, key)
    return primitives.seal(material, key.material_id, version, plaintext, primitives.encode_context(context))


def _open(
    svc: ServiceContext,
    tx: Tx,
    region: str,
    blob: bytes,
    context: Mapping[str, str] | None,
    algorithm: str | None,
    ref: model.KeyRef | None,
    now: float,
) -> tuple[KeyRow, bytes]:
    named = svc.resolve(tx, region, ref, now) if ref is not None and (ref.key_id or ref.name) else None
    if named is not None and named.spec in rules.RSA_SPECS:
        _usable_for(named, now, KeyUsage.ENCRYPT_DECRYPT, "Decrypt")
        return named, primitives.rsa_decrypt(svc.material(tx, named)[1], blob, algorithm)
    material_id, version = primitives.blob_material(blob)
    # The ciphertext names its material: whichever key of this region holds it (the primary or a
    # replica) opens it.
    key = tx.key_holding(material_id, region, now)
    if key is None:
        raise NotFound(
            f"Not found a key in region {region} that can decrypt this ciphertext (its key was deleted, "
            "or it lives in another region without a replica here)"
        )
    if named is not None and named.id != key.id:
        raise InvalidParameter(
            f"The request parameter CiphertextBlob is invalid: it was not encrypted under key {named.id}"
        )
    rules.require_state(key.state(now), Op.CRYPTO, key.id)
    _, material = svc.material(tx, key, version)
    return key, primitives.open_blob(material, blob, primitives.encode_context(context))


def encrypt(svc: ServiceContext, region: str, action: model.Encrypt) -> model.Ciphertext:
    tx = svc.store.read()
    now = clock.now(tx)
    key = _crypto_key(svc, tx, region, action.key, now, KeyUsage.ENCRYPT_DECRYPT, "Encrypt")
    blob = _encrypt_with(svc, tx, key, action.plaintext, action.context, action.algorithm)
    return model.Ciphertext(key_id=key.id, ciphertext=blob)


def decrypt(svc: ServiceContext, region: str, action: model.Decrypt) -> model.Plaintext:
    tx = svc.store.read()
    now = clock.now(tx)
    key, plaintext = _open(svc, tx, region, action.ciphertext, action.context, action.algorithm, action.key, now)
    return model.Plaintext(key_id=key.id, plaintext=plaintext)


def generate_data_key(svc: ServiceContext, region: str, action: model.GenerateDataKey) -> model.DataKey:
    n = rules.data_key_bytes(action.number_of_bytes)
    tx = svc.store.read()
    now = clock.now(tx)
    key = _crypto_key(svc, tx, region, action.key, now, KeyUsage.ENCRYPT_DECRYPT, "GenerateDataKey")
    rules.data_key_spec(key.spec, key.id)
    plaintext = os.urandom(n)
    blob = _encrypt_with(svc, tx, key, plaintext, action.context, None)
    return model.DataKey(key_id=key.id, ciphertext=blob, plaintext=plaintext if action.with_plaintext else None)


def re_encrypt(svc: ServiceContext, region: str, action: model.ReEncrypt) -> model.Ciphertext:
    tx = svc.store.read()
    now = clock.now(tx)
    source, plaintext = _open(svc, tx, region, action.ciphertext, action.old_context, None, None, now)
    target = _crypto_key(svc, tx, region, action.new_key, now, KeyUsage.ENCRYPT_DECRYPT, "ReEncrypt")
    blob = _encrypt_with(svc, tx, target, plaintext, action.new_context, None)
    return model.Ciphertext(key_id=target.id, ciphertext=blob, source_key_id=source.id)


def _usable(svc: ServiceContext, region: str, ref: model.KeyRef, usage: KeyUsage, action: str) -> tuple[KeyRow, bytes]:
    """The key for a crypto action and its current material."""
    tx = svc.store.read()
    now = clock.now(tx)
    key = _crypto_key(svc, tx, region, ref, now, usage, action)
    return key, svc.material(tx, key)[1]


def sign(svc: ServiceContext, region: str, action: model.Sign) -> model.Signature:
    key, material = _usable(svc, region, action.key, KeyUsage.SIGN_VERIFY, "Sign")
    signature = primitives.sign(key.spec, material, action.algorithm, action.message, action.digest)
    return model.Signature(key_id=key.id, signature=signature, algorithm=action.algorithm)


def verify(svc: ServiceContext, region: str, action: model.Verify) -> model.Verdict:
    key, material = _usable(svc, region, action.key, KeyUsage.SIGN_VERIFY, "Verify")
    ok = primitives.verify(key.spec, material, action.algorithm, action.message, action.digest, action.signature)
    return model.Verdict(key_id=key.id, valid=ok)


def get_public_key(svc: ServiceContext, region: str, action: model.GetPublicKey) -> model.PublicKey:
    tx = svc.store.read()
    now = clock.now(tx)
    key = svc.resolve(tx, region, action.key, now)
    rules.require_state(key.state(now), Op.CRYPTO, key.id)
    rules.has_public_key(key.spec, key.id)
    return model.PublicKey(
        key_id=key.id, pem=primitives.public_pem(svc.material(tx, key)[1]), spec=key.spec, usage=key.usage
    )


def generate_mac(svc: ServiceContext, region: str, action: model.GenerateMac) -> model.Mac:
    key, material = _usable(svc, region, action.key, KeyUsage.GENERATE_VERIFY_MAC, "GenerateMac")
    return model.Mac(key_id=key.id, mac=primitives.mac(key.spec, material, action.algorithm, action.message))


def verify_mac(svc: ServiceContext, region: str, action: model.VerifyMac) -> model.Verdict:
    key, material = _usable(svc, region, action.key, KeyUsage.GENERATE_VERIFY_MAC, "VerifyMac")
    ok = primitives.mac_equal(primitives.mac(key.spec, material, action.algorithm, action.message), action.mac)
    return model.Verdict(key_id=key.id, valid=ok)
