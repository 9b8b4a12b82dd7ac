"""Real cryptography for the emulator: key material per spec, the symmetric ciphertext format, and
the operations of each key usage. No rule of the service lives here, only mechanisms."""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..domain.errors import InvalidParameter
from ..domain.rules import EC_SPECS, HMAC_SPECS, RSA_SPECS, KeySpec

# Symmetric ciphertext: version | material id (16) | material version (u32) | nonce (12) | AES-GCM.
# It names the material, never the regional key id, so the primary and every replica open it.
BLOB_VERSION = 1
_HEADER = struct.Struct(">B16sI")
HEADER_LEN = _HEADER.size
NONCE_LEN = 12
TAG_LEN = 16
_NO_CONTEXT = struct.pack(">I", 0)


def encode_context(context: Mapping[str, str] | None) -> bytes:
    """Canonical, length-prefixed encryption context: {"a": "bc"} and {"ab": "c"} never collide."""
    if not context:
        return _NO_CONTEXT
    items = sorted(context.items())
    out = [struct.pack(">I", len(items))]
    for k, v in items:
        kb, vb = k.encode(), v.encode()
        out.append(struct.pack(">I", len(kb)) + kb + struct.pack(">I", len(vb)) + vb)
    return b"".join(out)


def seal(material: bytes, material_id: bytes, version: int, plaintext: bytes, aad: bytes) -> bytes:
    header = _HEADER.pack(BLOB_VERSION, material_id, version)
    nonce = os.urandom(NONCE_LEN)
    return header + nonce + _aes(material).encrypt(nonce, plaintext, header + aad)


def blob_material(blob: bytes) -> tuple[bytes, int]:
    """Which material (id, version) a symmetric ciphertext was made under."""
    if len(blob) < HEADER_LEN + NONCE_LEN + TAG_LEN:
        raise InvalidParameter("The request parameter CiphertextBlob is invalid: too short to be a ciphertext")
    ver, material_id, version = _HEADER.unpack_from(blob)
    if ver != BLOB_VERSION:
        raise InvalidParameter("The request parameter CiphertextBlob is invalid: unknown ciphertext format")
    return material_id, version


def open_blob(material: bytes, blob: bytes, aad: bytes) -> bytes:
    header, nonce, body = blob[:HEADER_LEN], blob[HEADER_LEN : HEADER_LEN + NONCE_LEN], blob[HEADER_LEN + NONCE_LEN :]
    try:
        return _aes(material).decrypt(nonce, body, header + aad)
    except InvalidTag:
        raise InvalidParameter(
            "The request parameter CiphertextBlob is invalid: it does not authenticate under this key "
            "and encryption context"
        ) from None


@lru_cache(maxsize=4096)
def _aes(material: bytes) -> AESGCM:
    return AESGCM(material)


# --- Material -------------------------------------------------------------------------------------
HMAC_BYTES = {KeySpec.HMAC_256: 32, KeySpec.HMAC_384: 48, KeySpec.HMAC_512: 64, KeySpec.HMAC_SM3: 32}
_RSA_BITS = {KeySpec.RSA_2048: 2048, KeySpec.RSA_3072: 3072, KeySpec.RSA_4096: 4096}
_CURVES = {KeySpec.EC_P256: "SECP256R1", KeySpec.EC_P384: "SECP384R1"}


class _OnFirstUse:
    """One of cryptography's asymmetric modules, imported when a name of it is first used: they cost
    `kmsctl encrypt` (symmetric keys only) a tenth of a bare interpreter's start."""

    def __init__(self, name: str) -> None:
        self._name = f"cryptography.hazmat.primitives.asymmetric.{name}"

    def __getattr__(self, attr: str) -> Any:
        import importlib

        value = getattr(importlib.import_module(self._name), attr)
        # Kept: Python calls __getattr__ only for a name not found, so each name costs the import lookup
        # (~1 us) once, not on every Sign, Verify or RSA decrypt.
        setattr(self, attr, value)
        return value


if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
else:
    ec, padding, rsa, utils = (_OnFirstUse(name) for name in ("ec", "padding", "rsa", "utils"))


# `serialization` is imported where asymmetric material is used: it pulls the SSH formats and
# `dataclasses` (~13 ms), which no symmetric key (the start of every `kmsctl encrypt`) needs.
def new_material(spec: KeySpec) -> bytes:
    """Fresh material: raw bytes for symmetric specs, a PKCS#8 DER private key for asymmetric ones."""
    if spec is KeySpec.AES_256:
        return os.urandom(32)
    if spec in HMAC_SPECS:
        return os.urandom(HMAC_BYTES[spec])
    if spec in RSA_SPECS:
        priv: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = rsa.generate_private_key(65537, _RSA_BITS[spec])
    else:
        priv = ec.generate_private_key(getattr(ec, _CURVES[spec])())
    from cryptography.hazmat.primitives import serialization

    return priv.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@lru_cache(maxsize=1024)
def private_key(material: bytes) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_der_private_key(material, password=None)
    assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    return key


def public_pem(material: bytes) -> str:
    from cryptography.hazmat.primitives import serialization

    return (
        private_key(material)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


# --- Asymmetric encryption -----------------------------------------------------------------------
_OAEP = {"RSAES_OAEP_SHA_256": hashes.SHA256, "RSAES_OAEP_SHA_1": hashes.SHA1}


def _oaep(algorithm: str | None) -> padding.OAEP:
    name = algorithm or "RSAES_OAEP_SHA_256"
    h = _OAEP.get(name)
    if h is None:
        raise InvalidParameter(f"The request parameter Algorithm is invalid: use one of {', '.join(_OAEP)}")
    return padding.OAEP(mgf=padding.MGF1(h()), algorithm=h(), label=None)


def rsa_encrypt(material: bytes, plaintext: bytes, algorithm: str | None) -> bytes:
    key = private_key(material)
    assert isinstance(key, rsa.RSAPrivateKey)
    pad = _oaep(algorithm)
    limit = key.key_size // 8 - 2 * pad.algorithm.digest_size - 2
    if len(plaintext) > limit:
        raise InvalidParameter(f"The request parameter Plaintext is invalid: at most {limit} bytes for this key")
    return key.public_key().encrypt(plaintext, pad)


def _rsa_oaep_decrypt(der: bytes, blob: bytes, algorithm: str | None, refusal: str) -> bytes:
    key = private_key(der)
    assert isinstance(key, rsa.RSAPrivateKey)
    try:
        return key.decrypt(blob, _oaep(algorithm))
    except ValueError:
        raise InvalidParameter(refusal) from None


def rsa_decrypt(material: bytes, blob: bytes, algorithm: str | None) -> bytes:
    return _rsa_oaep_decrypt(
        material, blob, algorithm, "The request parameter CiphertextBlob is invalid: it does not decrypt under this key"
    )


def wrapping_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


def unwrap(priv_der: bytes, blob: bytes, algorithm: str) -> bytes:
    return _rsa_oaep_decrypt(
        priv_der, blob, algorithm,
        "The request parameter EncryptedKeyMaterial is invalid: it does not unwrap with the import parameters",
    )


# --- Signatures ----------------------------------------------------------------------------------
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
RSA_SIGN = {f"RSA_PSS_SHA_{n}" for n in _HASHES} | {f"RSA_PKCS1_SHA_{n}" for n in _HASHES}
EC_SIGN = {KeySpec.EC_P256: "ECDSA_SHA_256", KeySpec.EC_P384: "ECDSA_SHA_384"}


def _sign_params(spec: KeySpec, algorithm: str) -> tuple[hashes.HashAlgorithm, str]:
    if spec in RSA_SPECS and algorithm in RSA_SIGN:
        return _HASHES[algorithm[-3:]](), algorithm
    if spec in EC_SPECS and algorithm == EC_SIGN[spec]:
        return _HASHES[algorithm[-3:]](), algorithm
    allowed = sorted(RSA_SIGN) if spec in RSA_SPECS else [EC_SIGN.get(spec, "none")]
    raise InvalidParameter(f"The request parameter Algorithm is invalid for {spec}: use one of {', '.join(allowed)}")


def _prepared(
    h: hashes.HashAlgorithm, message: bytes, digest: bool
) -> tuple[bytes, hashes.HashAlgorithm | utils.Prehashed]:
    if digest:
        if len(message) != h.digest_size:
            raise InvalidParameter(
                f"The request parameter Message is invalid: a {h.name} digest is {h.digest_size} bytes"
            )
        return message, utils.Prehashed(h)
    return message, h


def sign(spec: KeySpec, material: bytes, algorithm: str, message: bytes, digest: bool) -> bytes:
    h, name = _sign_params(spec, algorithm)
    data, alg = _prepared(h, message, digest)
    key = private_key(material)
    if isinstance(key, rsa.RSAPrivateKey):
        pad = _rsa_pad(name, h)
        return key.sign(data, pad, alg)
    return key.sign(data, ec.ECDSA(alg))


def verify(spec: KeySpec, material: bytes, algorithm: str, message: bytes, digest: bool, signature: bytes) -> bool:
    h, name = _sign_params(spec, algorithm)
    data, alg = _prepared(h, message, digest)
    pub = private_key(material).public_key()
    try:
        if isinstance(pub, rsa.RSAPublicKey):
            pub.verify(signature, data, _rsa_pad(name, h), alg)
        else:
            pub.verify(signature, data, ec.ECDSA(alg))
    except InvalidSignature:
        return False
    return True


def _rsa_pad(name: str, h: hashes.HashAlgorithm) -> padding.AsymmetricPadding:
    if name.startswith("RSA_PSS"):
        return padding.PSS(mgf=padding.MGF1(h), salt_length=padding.PSS.DIGEST_LENGTH)
    return padding.PKCS1v15()


# --- MACs ----------------------------------------------------------------------------------------
MAC_ALGORITHMS = {
    KeySpec.HMAC_256: ("HMAC_SHA_256", hashes.SHA256),
    KeySpec.HMAC_384: ("HMAC_SHA_384", hashes.SHA384),
    KeySpec.HMAC_512: ("HMAC_SHA_512", hashes.SHA512),
    KeySpec.HMAC_SM3: ("HMAC_SM3", hashes.SM3),
}


def mac(spec: KeySpec, material: bytes, algorithm: str | None, message: bytes) -> bytes:
    name, h = MAC_ALGORITHMS[spec]
    if algorithm not in (None, "", name):
        raise InvalidParameter(f"The request parameter Algorithm is invalid for {spec}: use {name}")
    m = hmac.HMAC(material, h())
    m.update(message)
    return m.finalize()


def mac_equal(a: bytes, b: bytes) -> bool:
    import hmac as std_hmac  # here: its import loads OpenSSL's hashlib, which no other start needs

    return std_hmac.compare_digest(a, b)
