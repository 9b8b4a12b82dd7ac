"""Round trips for every key spec and usage, checked against `cryptography` directly."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from provider.client import KmsClient
from provider.domain.errors import InvalidOperation, InvalidParameter

SIGN_CASES = [
    ("RSA_2048", "RSA_PSS_SHA_256"),
    ("RSA_2048", "RSA_PKCS1_SHA_512"),
    ("RSA_3072", "RSA_PSS_SHA_384"),
    ("RSA_4096", "RSA_PKCS1_SHA_256"),
    ("EC_P256", "ECDSA_SHA_256"),
    ("EC_P384", "ECDSA_SHA_384"),
]
_H = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


@pytest.mark.parametrize(("spec", "algorithm"), SIGN_CASES)
def test_signatures_verify_with_the_public_key(kms: KmsClient, spec: str, algorithm: str) -> None:
    key = kms.create_key(f"sig-{spec}-{algorithm}", key_spec=spec)
    message = b"release v1.2.3"
    signature = kms.sign(key.key_id, message, algorithm)
    public = serialization.load_pem_public_key(kms.get_public_key(key.key_id).encode())
    h = _H[algorithm[-3:]]()
    if isinstance(public, rsa.RSAPublicKey):
        pad: padding.AsymmetricPadding = (
            padding.PSS(mgf=padding.MGF1(h), salt_length=padding.PSS.DIGEST_LENGTH)
            if "PSS" in algorithm
            else padding.PKCS1v15()
        )
        public.verify(signature, message, pad, h)
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(signature, message, ec.ECDSA(h))
    assert kms.verify(key.key_id, message, signature, algorithm)
    assert not kms.verify(key.key_id, message + b"!", signature, algorithm)
    digest = hashlib.new(h.name, message).digest()
    assert kms.verify(key.key_id, digest, signature, algorithm, digest=True)


def test_sign_refuses_a_foreign_algorithm(kms: KmsClient) -> None:
    key = kms.create_key("ec", key_spec="EC_P256")
    with pytest.raises(InvalidParameter, match="ECDSA_SHA_256"):
        kms.sign(key.key_id, b"m", "ECDSA_SHA_384")


@pytest.mark.parametrize(
    ("spec", "algorithm", "digest"),
    [
        ("HMAC_256", "HMAC_SHA_256", "sha256"),
        ("HMAC_384", "HMAC_SHA_384", "sha384"),
        ("HMAC_512", "HMAC_SHA_512", "sha512"),
        ("HMAC_SM3", "HMAC_SM3", None),
    ],
)
def test_macs(kms: KmsClient, spec: str, algorithm: str, digest: str | None) -> None:
    key = kms.create_key(f"mac-{spec}", key_spec=spec)
    mac = kms.generate_mac(key.key_id, b"message", algorithm)
    assert kms.verify_mac(key.key_id, b"message", mac)
    assert not kms.verify_mac(key.key_id, b"messagE", mac)
    if digest is not None:
        # Same length as the standard HMAC; a second key gives a different MAC.
        assert len(mac) == hmac.new(b"k", b"m", digest).digest_size
    other = kms.create_key(f"mac2-{spec}", key_spec=spec)
    assert kms.generate_mac(other.key_id, b"message") != mac


def test_imported_hmac_material_is_the_mac_key(kms: KmsClient) -> None:
    key = kms.create_key("mac-byok", key_spec="HMAC_256", origin="External")
    material = bytes(range(32))
    kms.import_material(key.key_id, material)
    assert kms.generate_mac(key.key_id, b"msg") == hmac.new(material, b"msg", "sha256").digest()


def test_rsa_oaep_encryption_opens_with_cryptography(kms: KmsClient) -> None:
    key = kms.create_key("oaep", key_spec="RSA_2048", key_usage="ENCRYPT_DECRYPT")
    public = serialization.load_pem_public_key(kms.get_public_key(key.key_id).encode())
    assert isinstance(public, rsa.RSAPublicKey)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    blob = public.encrypt(b"wrapped outside", oaep)
    assert kms.decrypt(blob, key_id=key.key_id, algorithm="RSAES_OAEP_SHA_256")[1] == b"wrapped outside"
    with pytest.raises(InvalidParameter, match="at most 190 bytes"):
        kms.encrypt(key.key_id, b"x" * 191)


def test_data_keys(kms: KmsClient) -> None:
    key = kms.create_key("dek")
    key_id, plaintext, blob = kms.generate_data_key(key.key_id, 64, {"purpose": "backup"})
    assert key_id == key.key_id and len(plaintext) == 64
    assert kms.decrypt(blob, {"purpose": "backup"})[1] == plaintext
    bare = kms.generate_data_key_without_plaintext(key.key_id, 16)
    assert len(kms.decrypt(bare)[1]) == 16
    with pytest.raises(InvalidParameter, match="NumberOfBytes"):
        kms.generate_data_key(key.key_id, 0)
    mac_key = kms.create_key("not-for-deks", key_spec="HMAC_256")
    with pytest.raises(InvalidOperation, match="GENERATE_VERIFY_MAC"):
        kms.generate_data_key(mac_key.key_id)


@pytest.mark.needs("decrypt_names_key")
def test_re_encrypt_moves_a_ciphertext_between_keys(kms: KmsClient) -> None:
    a = kms.create_key("re-a")
    b = kms.create_key("re-b")
    blob = kms.encrypt(a.key_id, b"moving", {"v": "1"})
    moved = kms.re_encrypt(blob, b.key_id, {"v": "1"}, {"v": "2"})
    assert kms.decrypt(moved, {"v": "2"}) == (b.key_id, b"moving")


def test_usage_mismatch_is_refused(kms: KmsClient) -> None:
    signer = kms.create_key("signer", key_spec="RSA_2048")
    with pytest.raises(InvalidOperation, match="SIGN_VERIFY"):
        kms.encrypt(signer.key_id, b"x")
    aes = kms.create_key("aes")
    with pytest.raises(InvalidOperation, match="ENCRYPT_DECRYPT"):
        kms.sign(aes.key_id, b"x", "RSA_PSS_SHA_256")
    with pytest.raises(InvalidOperation, match="only asymmetric keys"):
        kms.get_public_key(aes.key_id)
