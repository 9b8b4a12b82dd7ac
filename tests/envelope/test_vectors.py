"""The committed test vectors of docs/message-format.md: the implementation writes exactly those
bytes from the fixed inputs and reads them back, and a decoder written from the document alone
(not from the implementation) reads them too."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from provider.envelope import format as fmt

DOC = Path(__file__).resolve().parents[2] / "docs" / "message-format.md"


def _vectors() -> list[dict[str, Any]]:
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(), flags=re.S)
    found = [json.loads(b) for b in blocks]
    return [v for v in found if "vector" in v]


VECTORS = _vectors()


def test_the_document_carries_the_vectors() -> None:
    assert {v["vector"] for v in VECTORS} == {"two-regions-three-frames", "empty-plaintext",
                                              "exact-multiple-of-frame-size"}


def _inputs(v: dict[str, Any]) -> tuple[bytes, bytes, list[fmt.EncryptedDataKey], bytes, bytes]:
    entries = [fmt.EncryptedDataKey(e["region"], e["trn"], e["key_id"], bytes.fromhex(e["blob"]))
               for e in v["encrypted_data_keys"]]
    return (bytes.fromhex(v["data_key"]), bytes.fromhex(v["message_id"]), entries, bytes.fromhex(v["plaintext"]),
            bytes.fromhex("".join(v["message"])))


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: v["vector"])
def test_fixed_inputs_give_the_committed_bytes(v: dict[str, Any]) -> None:
    data_key, message_id, entries, plaintext, message = _inputs(v)
    assert fmt.seal(data_key, message_id, entries, v["context"], v["frame_size"], plaintext) == message
    header, opened = fmt.unseal(data_key, message)
    assert opened == plaintext
    assert header.length == v["header_length"]
    assert header.context == v["context"] and list(header.entries) == entries


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: v["vector"])
def test_the_document_alone_decodes_the_vectors(v: dict[str, Any]) -> None:
    data_key, _, entries, plaintext, m = _inputs(v)
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        pos += n
        return m[pos - n : pos]

    def u16_string() -> bytes:
        return take(int.from_bytes(take(2), "big"))

    # Header, as the document's table lays it out.
    assert take(4) == b"KMSE" and take(1) == b"\x01" and take(2) == b"\x00\x01"
    message_id = take(32)
    frame = int.from_bytes(take(4), "big")
    assert frame == v["frame_size"]
    context = {}
    for _ in range(int.from_bytes(take(2), "big")):
        name = u16_string().decode()
        context[name] = u16_string().decode()
    assert context == v["context"]
    wrapped = [tuple(u16_string() for _ in range(4)) for _ in range(int.from_bytes(take(2), "big"))]
    assert wrapped == [(e.region.encode(), e.trn.encode(), e.key_id.encode(), e.blob) for e in entries]
    commitment = take(32)
    covered = m[:pos]
    tag = take(16)
    assert pos == v["header_length"]

    # Key schedule: HKDF-SHA256, salt = message id, info = suite id || label.
    content_key = HKDF(hashes.SHA256(), 32, salt=message_id, info=b"\x00\x01KMSE content key").derive(data_key)
    expected_commitment = HKDF(hashes.SHA256(), 32, salt=message_id, info=b"\x00\x01KMSE key commitment").derive(
        data_key)
    assert content_key.hex() == v["content_key"]
    assert commitment == expected_commitment and commitment.hex() == v["commitment"]
    gcm = AESGCM(content_key)
    assert gcm.decrypt(bytes(12), tag, covered) == b""  # the header tag: nonce 0, empty plaintext

    # Frames from 1: nonce = 4 zero bytes || u64 seq; AAD = id || u64 seq || final || u64 length.
    out, seq = b"", 1
    while True:
        marker = take(1)[0]
        length = frame if marker == 0 else int.from_bytes(take(4), "big")
        nonce = bytes(4) + seq.to_bytes(8, "big")
        aad = message_id + seq.to_bytes(8, "big") + bytes([marker]) + length.to_bytes(8, "big")
        out += gcm.decrypt(nonce, take(length + 16), aad)
        if marker == 1:
            break
        seq += 1
    assert pos == len(m) and out == plaintext
