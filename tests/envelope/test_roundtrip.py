"""Envelope encryption over KMS (Alibaba Cloud KMS, Use multi-region CMKs to encrypt and decrypt data), on every backend
of the `kms` fixture: data encrypted once is readable in each region that holds one of its keys, a replica included; the
wrong key or context is refused with an error that says why."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path
from typing import Any

import pytest

from provider.backend import Backend
from provider.client import KmsClient
from provider.domain import model
from provider.domain.errors import InvalidParameter
from provider.envelope import (
    DEFAULT_FRAME_SIZE,
    AuthenticationError,
    ContextMismatch,
    DataKeyUnavailable,
    EnvelopeError,
    FormatError,
    InvalidInput,
    RegionalKey,
    decrypt,
    decrypt_stream,
    encrypt,
    encrypt_stream,
    read_header,
)
from provider.envelope import format as fmt

from .conftest import EAST, NORTH, KeyPair

# Both clouds' APIs over the wire as well as the embedded emulator (tests/conftest.py).
pytestmark = pytest.mark.needs()

# The sample of Alibaba Cloud KMS, Use multi-region CMKs to encrypt and decrypt data:
# encryptionContext.put("one", "one") ...
SAMPLE_CONTEXT = {"one": "one", "two": "two"}


class Recorder:
    """A backend that notes every call (region, action, parameters) before passing it on."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str, model.Action]] = []
        self.answers: list[model.Result] = []

    def execute(self, region: str, action: model.Action) -> model.Result:
        self.calls.append((region, action.action_name(), action))
        answer = self.inner.execute(region, action)
        self.answers.append(answer)
        return answer

    def close(self) -> None:
        pass


def spy(kms: KmsClient) -> tuple[KmsClient, Recorder]:
    rec = Recorder(kms.backend)
    return KmsClient(rec, kms.region), rec


# --- Alibaba Cloud KMS, Use multi-region CMKs to encrypt and decrypt data: the scenario -------------------
def test_encrypt_once_decrypt_with_either_regional_key(kms: KmsClient,
                                                               regional_keys: KeyPair) -> None:
    north, east = regional_keys
    message = encrypt(kms, [north, east], b"Hello World", SAMPLE_CONTEXT)
    # Alibaba Cloud KMS, Use multi-region CMKs to encrypt and decrypt data, decryption: "If you want to decrypt the data
    # key ciphertext in the China (Hangzhou) region, specify the ARN of the CMK in this region."
    assert decrypt(kms, north, message) == b"Hello World"
    assert decrypt(kms, east, message) == b"Hello World"
    assert decrypt(kms, east, message, SAMPLE_CONTEXT) == b"Hello World"


def test_mechanism_generate_then_encrypt_in_the_other_region(kms: KmsClient,
                                                                     regional_keys: KeyPair) -> None:
    north, east = regional_keys
    client, rec = spy(kms)
    message = encrypt(client, [north, east], b"payload", SAMPLE_CONTEXT)
    crypto = [(region, action) for region, action, _ in rec.calls if action != "DescribeKey"]
    # Alibaba Cloud KMS, Use multi-region CMKs to encrypt and decrypt data: "1. Call the GenerateDataKey operation of
    # KMS in the China (Beijing) region ... 2. Call the Encrypt operation of KMS in the China (Hangzhou) region to
    # encrypt the data key."
    assert crypto == [(NORTH, "GenerateDataKey"), (EAST, "Encrypt")]
    assert all(getattr(params, "context", None) == SAMPLE_CONTEXT for _, action, params in rec.calls
               if action != "DescribeKey")
    # "4. Encapsulate the two ciphertexts of the data key, the encryption context, and the related
    # algorithm information into a message header."
    header = read_header(message)
    assert header.context == SAMPLE_CONTEXT
    assert header.suite == fmt.SUITE_AES256_GCM_HKDF_SHA256_COMMIT
    assert header.frame_size == DEFAULT_FRAME_SIZE
    described = [kms.in_region(r.region).describe_key(r.key) for r in (north, east)]
    assert [(e.region, e.trn, e.key_id) for e in header.entries] == [
        (k.region, k.trn, k.key_id) for k in described
    ]
    # Decryption: "1. Find the data key ciphertext that matches the specified CMK": the key's own
    # region's wrapping is tried first, so one KMS call opens it.
    rec.calls.clear()
    assert decrypt(client, east, message) == b"payload"
    assert [(region, action) for region, action, _ in rec.calls] == [(EAST, "Decrypt")]


def test_the_encryption_context_goes_to_kms_with_every_wrapping(kms: KmsClient,
                                                                regional_keys: KeyPair) -> None:
    north, east = regional_keys
    header = read_header(encrypt(kms, [north, east], b"x", {"tenant": "acme"}))
    for entry in header.entries:
        regional = kms.in_region(entry.region)
        with pytest.raises(InvalidParameter):
            regional.decrypt(entry.blob)  # without the context KMS refuses the wrapping
        _, data_key = regional.decrypt(entry.blob, {"tenant": "acme"})
        assert len(data_key) == 32


# --- multi-region keys ----------------------------------------------------------------------------
def test_encrypted_with_the_primary_only_decrypts_with_its_replica(kms: KmsClient,
                                                                   replica_pair: KeyPair) -> None:
    primary, replica = replica_pair
    data = os.urandom(3 * 1024)
    message = encrypt(kms, [primary], data, {"app": "billing"})
    assert [e.region for e in read_header(message).entries] == [NORTH]
    # Huawei Cloud DEW, Creating a Replica Key: a replica key shares its primary's material, so the primary's wrapping
    # opens in cn-east-3.
    assert decrypt(kms, replica, message) == data
    assert decrypt(kms, primary, message) == data
    # And the other way round: encrypted under the replica, read with the primary.
    assert decrypt(kms, primary, encrypt(kms, [replica], data)) == data


@pytest.mark.needs("aliases")
def test_replica_through_an_alias_in_its_region(kms: KmsClient, replica_pair: KeyPair) -> None:
    primary, replica = replica_pair
    kms.in_region(NORTH).create_alias("alias/orders", primary.key)
    kms.in_region(EAST).create_alias("alias/orders", replica.key)
    message = encrypt(kms, "cn-north-4:alias/orders", b"order 42")
    assert decrypt(kms, "cn-east-3:alias/orders", message) == b"order 42"


def test_three_regions_each_key_opens_it(kms: KmsClient, regional_keys: KeyPair) -> None:
    north, east = regional_keys
    south = RegionalKey("cn-south-1", kms.in_region("cn-south-1").create_key("south").key_id)
    message = encrypt(kms, [east, south, north], b"three ways")
    assert [e.region for e in read_header(message).entries] == [EAST, "cn-south-1", NORTH]
    for key in (north, east, south):
        assert decrypt(kms, key, message) == b"three ways"


# --- round trips ------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [0, 1, 1000, DEFAULT_FRAME_SIZE - 1, DEFAULT_FRAME_SIZE, DEFAULT_FRAME_SIZE + 1,
                                  3 * DEFAULT_FRAME_SIZE + 17])
def test_round_trip_bytes_and_streams(kms: KmsClient, regional_keys: KeyPair, size: int) -> None:
    north, east = regional_keys
    data = os.urandom(size)
    message = encrypt(kms, [north, east], data, {"size": str(size)})
    assert len(message) == fmt.sealed_length(read_header(message).length, size, DEFAULT_FRAME_SIZE)
    assert decrypt(kms, east, message) == data
    out = io.BytesIO()
    header = decrypt_stream(kms, north, io.BytesIO(message), out)
    assert out.getvalue() == data and header.context == {"size": str(size)}
    streamed = io.BytesIO()
    encrypt_stream(kms, [east, north], io.BytesIO(data), streamed)
    assert decrypt(kms, north, streamed.getvalue()) == data


def test_streams_through_files(kms: KmsClient, regional_keys: KeyPair, tmp_path: Path) -> None:
    north, east = regional_keys
    data = os.urandom(200_000)
    (tmp_path / "in").write_bytes(data)
    with open(tmp_path / "in", "rb") as src, open(tmp_path / "msg", "wb") as dst:
        encrypt_stream(kms, [north, east], src, dst, frame_size=4096)
    seen: list[int] = []
    with open(tmp_path / "msg", "rb") as src, open(tmp_path / "out", "wb") as dst:
        decrypt_stream(kms, east, src, dst, progress=seen.append)
    assert (tmp_path / "out").read_bytes() == data
    assert sum(seen) == (tmp_path / "msg").stat().st_size


@pytest.mark.needs("aliases")
def test_keys_as_strings_and_a_backend_instead_of_a_client(kms: KmsClient) -> None:
    key_id = kms.create_key("plain").key_id
    kms.create_alias("alias/plain", key_id)
    message = encrypt(kms.backend, [f"cn-north-4:{key_id}"], b"via backend")
    assert decrypt(kms.backend, "cn-north-4:alias/plain", message) == b"via backend"
    # A bare id or alias is in the client's region.
    assert decrypt(kms, "alias/plain", encrypt(kms, "alias/plain", b"bare")) == b"bare"


# --- refusals -----------------------------------------------------------------------------------
def test_an_unrelated_key_cannot_open_it(kms: KmsClient, regional_keys: KeyPair) -> None:
    north, east = regional_keys
    message = encrypt(kms, [north, east], b"secret")
    stranger = RegionalKey(EAST, kms.in_region(EAST).create_key("stranger").key_id)
    with pytest.raises(DataKeyUnavailable) as err:
        decrypt(kms, stranger, message)
    text = str(err.value)
    assert f"none of the 2 encrypted data keys can be opened with key {stranger.key} in region {EAST}" in text
    assert all(e.trn in text for e in read_header(message).entries)


def test_a_region_without_any_of_its_keys_cannot_open_it(kms: KmsClient,
                                                         regional_keys: KeyPair) -> None:
    north, _ = regional_keys
    message = encrypt(kms, [north], b"secret")
    south = RegionalKey("cn-south-1", kms.in_region("cn-south-1").create_key("south").key_id)
    with pytest.raises(DataKeyUnavailable, match="none of the 1 encrypted data keys can be opened"):
        decrypt(kms, south, message)
    with pytest.raises(DataKeyUnavailable, match=r"Not found key \[alias/missing\]"):
        decrypt(kms, "cn-north-4:alias/missing", message)


def test_a_disabled_key_says_so_and_the_other_region_still_reads(kms: KmsClient,
                                                                 regional_keys: KeyPair) -> None:
    north, east = regional_keys
    message = encrypt(kms, [north, east], b"still readable")
    kms.in_region(EAST).disable_key(east.key)
    # Huawei Cloud DEW, Creating a Custom Key: "Only enabled custom keys can be used to encrypt or decrypt data."
    with pytest.raises(DataKeyUnavailable, match="InvalidKeyStatus"):
        decrypt(kms, east, message)
    assert decrypt(kms, north, message) == b"still readable"


def test_wrong_context_is_refused(kms: KmsClient, regional_keys: KeyPair) -> None:
    north, east = regional_keys
    message = encrypt(kms, [north, east], b"ctx", SAMPLE_CONTEXT)
    with pytest.raises(ContextMismatch, match="entry 'one' has another value"):
        decrypt(kms, east, message, {"one": "uno"})
    with pytest.raises(ContextMismatch, match="has no entry 'three'"):
        decrypt(kms, east, message, {"three": "three"})
    assert decrypt(kms, east, message, {"two": "two"}) == b"ctx"  # a subset of the message's context


def test_failed_encryption_names_the_key_and_region(kms: KmsClient, regional_keys: KeyPair) -> None:
    north, _ = regional_keys
    with pytest.raises(DataKeyUnavailable,
                       match="cannot generate a data key under key alias/nope in region cn-north-4"):
        encrypt(kms, ["cn-north-4:alias/nope", north], b"x")
    with pytest.raises(DataKeyUnavailable, match="cannot wrap the data key under key alias/nope in region cn-east-3"):
        encrypt(kms, [north, "cn-east-3:alias/nope"], b"x")
    signing = kms.create_key("signer", key_spec="EC_P256", key_usage="SIGN_VERIFY").key_id
    with pytest.raises(DataKeyUnavailable, match="InvalidOperation"):
        encrypt(kms, f"{NORTH}:{signing}", b"x")


def test_bad_arguments_fail_before_any_kms_call(kms: KmsClient, regional_keys: KeyPair) -> None:
    north, _ = regional_keys
    client, rec = spy(kms)
    with pytest.raises(InvalidInput, match="given twice"):
        encrypt(client, [north, north], b"x")
    with pytest.raises(InvalidInput, match="frame size 0 is invalid"):
        encrypt(client, north, b"x", frame_size=0)
    with pytest.raises(InvalidInput, match="names must not be empty"):
        encrypt(client, north, b"x", {"": "v"})
    with pytest.raises(InvalidInput, match="at least one key"):
        encrypt(client, [], b"x")
    with pytest.raises(InvalidInput, match="no key"):
        encrypt(client, "cn-north-4:", b"x")
    with pytest.raises(InvalidInput, match=r"the plaintext must be bytes, not str \(encode the text first\)"):
        encrypt(client, north, "text")  # type: ignore[arg-type]
    assert rec.calls == []


def test_what_is_not_a_message_is_refused(kms: KmsClient, regional_keys: KeyPair) -> None:
    north, _ = regional_keys
    with pytest.raises(FormatError, match="not an envelope message"):
        decrypt(kms, north, b"plainly not a message, long enough to hold a prefix......")
    message = bytearray(encrypt(kms, north, b"x"))
    message[4] = 2
    with pytest.raises(FormatError, match="version 2 is not supported"):
        decrypt(kms, north, message)


def test_key_commitment_refuses_a_wrapping_of_another_data_key(kms: KmsClient,
                                                               regional_keys: KeyPair) -> None:
    """Someone holding both keys wraps a different data key for the second region. Without key
    commitment each region could read a different plaintext; with it the second is refused."""
    north, east = regional_keys
    good, other = os.urandom(32), os.urandom(32)
    entries = [
        fmt.EncryptedDataKey(NORTH, "trn-a", north.key, kms.in_region(NORTH).encrypt(north.key, good)),
        fmt.EncryptedDataKey(EAST, "trn-b", east.key, kms.in_region(EAST).encrypt(east.key, other)),
    ]
    message = fmt.seal(good, os.urandom(32), entries, None, 64, b"what north reads")
    assert decrypt(kms, north, message) == b"what north reads"
    with pytest.raises(AuthenticationError, match="key commitment does not match"):
        decrypt(kms, east, message)


def test_the_data_key_is_zeroed_after_use(kms: KmsClient, regional_keys: KeyPair,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    north, east = regional_keys
    seen: list[bytes | bytearray] = []
    real = fmt.derive

    def recording(data_key: bytes | bytearray, message_id: bytes, suite: int) -> Any:
        seen.append(data_key)
        return real(data_key, message_id, suite)

    monkeypatch.setattr(fmt, "derive", recording)
    message = encrypt(kms, [north, east], b"zero me")
    assert decrypt(kms, east, message) == b"zero me"
    assert len(seen) == 2
    for buf in seen:
        assert isinstance(buf, bytearray) and buf == bytearray(32)


def test_no_plaintext_or_data_key_in_any_error(kms: KmsClient, regional_keys: KeyPair) -> None:
    north, east = regional_keys
    client, rec = spy(kms)
    plaintext = b"TOP-SECRET-ENVELOPE-PAYLOAD:" + bytes(range(256)) * 8
    message = encrypt(client, [north, east], plaintext, {"env": "prod"}, frame_size=256)
    data_key = next(answer.plaintext for answer in rec.answers if isinstance(answer, model.DataKey))
    stranger = RegionalKey(EAST, kms.in_region(EAST).create_key("stranger").key_id)
    header_len = read_header(message).length
    attempts: list[tuple[RegionalKey | str, bytes, dict[str, str] | None]] = [
        (stranger, message, None),
        ("cn-north-4:alias/none", message, None),
        (east, message, {"env": "dev"}),
        (east, message[:-1], None),
        (east, message + b"\x00", None),
        (east, _flip(message, header_len - 3), None),  # the header tag
        (east, _flip(message, header_len + 40), None),  # the first frame
        (east, _flip(message, len(message) - 5), None),  # the final frame
    ]
    errors: list[BaseException] = []
    for key, data, ctx in attempts:
        with pytest.raises(EnvelopeError) as err:
            decrypt(client, key, data, ctx)
        errors.append(err.value)
    with pytest.raises(EnvelopeError) as err:  # the data key was generated, then the second wrapping failed
        encrypt(client, [north, "cn-east-3:alias/none"], plaintext)
    errors.append(err.value)
    secrets = [plaintext[:20], data_key]
    forms = [form for s in secrets for form in (s.decode("latin-1"), s.hex(), base64.b64encode(s).decode()[:16],
                                                repr(s)[2:30])]
    for e in errors:
        text = " ".join(str(x) + repr(x) for x in (e, e.__cause__, e.__context__) if x is not None)
        assert not [form for form in forms if form in text], text


def _flip(data: bytes, pos: int) -> bytes:
    out = bytearray(data)
    out[pos] ^= 0x01
    return bytes(out)


class _Counting:
    """An input of `size` bytes made on the fly, and an output that keeps only a count: neither
    holds the data, so whatever memory is used is the envelope's own."""

    def __init__(self, size: int = 0) -> None:
        self.left = size
        self.written = 0

    def read(self, n: int = -1, /) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return b"\xa5" * n

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.written += len(data)
        return len(data)


def test_streams_use_constant_memory(kms: KmsClient, regional_keys: KeyPair, tmp_path: Path) -> None:
    import tracemalloc

    north, east = regional_keys
    size = 48 * 1024 * 1024
    tracemalloc.start()
    try:
        with open(tmp_path / "big.kmse", "wb") as dst:
            encrypt_stream(kms, [north, east], _Counting(size), dst)
        _, enc_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        out = _Counting()
        with open(tmp_path / "big.kmse", "rb") as src:
            decrypt_stream(kms, east, src, out)
        _, dec_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.written == size
    # A few frames of 64 KiB, whatever the size of the data (48 MiB here).
    assert enc_peak < 1024 * 1024 and dec_peak < 1024 * 1024, (enc_peak, dec_peak)
