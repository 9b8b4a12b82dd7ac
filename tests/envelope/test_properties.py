"""Properties over sizes around frame boundaries (small frames keep it fast): every size round-trips,
bytes and streams write the same message, the message has the documented length and frame count,
and a reader handed its input in short, ragged pieces (a pipe) reads the same."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provider.client import KmsClient
from provider.envelope import RegionalKey, decrypt, decrypt_stream, encrypt, encrypt_stream
from provider.envelope import format as fmt

DATA_KEY = bytes(range(100, 132))
ENTRIES = [fmt.EncryptedDataKey("cn-north-4", "trn:kms:cn-north-4:1:keyrings/default/keys/p", "id", b"\x07" * 30)]


@st.composite
def sized(draw: st.DrawFn) -> tuple[int, bytes]:
    """A frame size and a plaintext whose length sits on or next to a multiple of it."""
    frame = draw(st.integers(1, 48))
    frames = draw(st.integers(0, 5))
    delta = draw(st.integers(-2, 2))
    size = max(0, frames * frame + delta)
    return frame, draw(st.binary(min_size=size, max_size=size))


class Ragged:
    """Reads answer at most a few bytes at a time, like a pipe under load; no readinto."""

    def __init__(self, data: bytes, pieces: list[int]) -> None:
        self.src = io.BytesIO(data)
        self.pieces = pieces or [1]
        self.i = 0

    def read(self, n: int = -1, /) -> bytes:
        self.i += 1
        return self.src.read(min(n, self.pieces[self.i % len(self.pieces)]))


@settings(max_examples=300, deadline=None)
@given(sized(), st.binary(min_size=32, max_size=32), st.lists(st.integers(1, 9), max_size=5))
def test_every_size_round_trips_in_bytes_and_streams(case: tuple[int, bytes], message_id: bytes,
                                                     pieces: list[int]) -> None:
    frame, plaintext = case
    message = fmt.seal(DATA_KEY, message_id, ENTRIES, {"p": "q"}, frame, plaintext)
    header, opened = fmt.unseal(DATA_KEY, message)
    assert opened == plaintext
    # The documented layout: max(1, ceil(n / F)) frames, the last one final.
    frames = max(1, -(-len(plaintext) // frame))
    assert len(message) == header.length + (frames - 1) * (1 + frame + 16) + 5 + (
        len(plaintext) - (frames - 1) * frame) + 16
    # The streaming writer, fed in ragged pieces, writes the very same bytes.
    aead, commitment = fmt.derive(DATA_KEY, message_id, fmt.SUITE_AES256_GCM_HKDF_SHA256_COMMIT)
    head = fmt.build_header(aead, commitment, message_id, frame, {"p": "q"}, ENTRIES)
    streamed = io.BytesIO()
    fmt.seal_stream(aead, head, message_id, frame, Ragged(plaintext, pieces), streamed)
    assert streamed.getvalue() == message
    # And the streaming reader, fed in ragged pieces, reads it back.
    src = Ragged(message, pieces)
    out = io.BytesIO()
    parsed = fmt.read_header(src)
    fmt.open_stream(fmt.verify_header(parsed, DATA_KEY), parsed, src, out)
    assert out.getvalue() == plaintext


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sized())
def test_round_trips_through_kms_in_both_regions(kms: KmsClient, regional_keys: tuple[RegionalKey, RegionalKey],
                                                 case: tuple[int, bytes]) -> None:
    frame, plaintext = case
    north, east = regional_keys
    message = encrypt(kms, [north, east], plaintext, frame_size=frame)
    assert decrypt(kms, east, message) == plaintext
    out = io.BytesIO()
    decrypt_stream(kms, north, io.BytesIO(message), out)
    assert out.getvalue() == plaintext
    streamed = io.BytesIO()
    encrypt_stream(kms, [east], Ragged(plaintext, [3, 1, 5]), streamed, frame_size=frame)
    assert decrypt(kms, east, streamed.getvalue()) == plaintext


@pytest.mark.parametrize("frame_size", [0, -1, fmt.MAX_FRAME_SIZE + 1, True, 1.5])
def test_frame_sizes_outside_the_range_are_refused(frame_size: int) -> None:
    with pytest.raises(ValueError, match="frame size .* is invalid: it must be an integer from 1 to 16777216"):
        fmt.seal(DATA_KEY, bytes(32), ENTRIES, None, frame_size, b"x")
