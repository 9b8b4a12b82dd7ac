"""Every change to a message is detected: bit flips anywhere in the header or the body, truncation,
extension, reordering, splicing. And no plaintext of a frame that does not authenticate ever
reaches the caller."""

from __future__ import annotations

import io
import os
import random

import pytest

from provider.client import KmsClient
from provider.envelope import DataKeyUnavailable, EnvelopeError, RegionalKey, decrypt, encrypt
from provider.envelope import format as fmt

FRAME = 64
DATA_KEY = bytes(range(32))
ENTRIES = [
    fmt.EncryptedDataKey("cn-north-4", "trn:kms:cn-north-4:1:keyrings/default/keys/a", "id-a", os.urandom(40)),
    fmt.EncryptedDataKey("cn-east-3", "trn:kms:cn-east-3:1:keyrings/default/keys/b", "id-b", os.urandom(40)),
]
PLAINTEXT = bytes(random.Random(4).randbytes(4 * FRAME + 44))  # four regular frames and a final one


def _message(plaintext: bytes = PLAINTEXT, message_id: bytes | None = None) -> bytes:
    return fmt.seal(DATA_KEY, message_id or bytes(32), ENTRIES, {"purpose": "tamper"}, FRAME, plaintext)


def _frames(message: bytes) -> tuple[bytes, list[bytes]]:
    """Split a message into its header and its frames (as on the wire)."""
    header = fmt.parse_header(message)
    pos, frames = header.length, []
    while pos < len(message):
        if message[pos] == fmt.REGULAR:
            end = pos + 1 + FRAME + fmt.TAG_LEN
        else:
            end = pos + 5 + int.from_bytes(message[pos + 1 : pos + 5], "big") + fmt.TAG_LEN
        frames.append(message[pos:end])
        pos = end
    return message[: header.length], frames


def _stream_open(message: bytes) -> tuple[bytes, EnvelopeError | None]:
    """Decrypt as a stream: what reached the output, and the error if any."""
    out = io.BytesIO()
    try:
        src = io.BytesIO(message)
        header = fmt.read_header(src)
        fmt.open_stream(fmt.verify_header(header, DATA_KEY), header, src, out)
    except EnvelopeError as err:
        return out.getvalue(), err
    return out.getvalue(), None


def test_the_untouched_message_opens() -> None:
    message = _message()
    assert fmt.unseal(DATA_KEY, message)[1] == PLAINTEXT
    assert _stream_open(message) == (PLAINTEXT, None)
    header, frames = _frames(message)
    assert len(frames) == 5 and frames[-1][0] == fmt.FINAL


def test_every_single_bit_flip_fails_and_releases_no_unauthenticated_plaintext() -> None:
    message = _message()
    header_len = fmt.parse_header(message).length
    for pos in range(len(message)):
        for bit in range(8):
            tampered = bytearray(message)
            tampered[pos] ^= 1 << bit
            with pytest.raises(EnvelopeError):
                fmt.unseal(DATA_KEY, tampered)
            released, err = _stream_open(bytes(tampered))
            assert err is not None, (pos, bit)
            # Only whole frames before the altered one may have been written, never any part of it.
            whole_frames_before = max(0, (pos - header_len) // (1 + FRAME + fmt.TAG_LEN))
            assert released == PLAINTEXT[: whole_frames_before * FRAME], (pos, bit)


def test_bit_flips_fail_through_kms(kms: KmsClient, regional_keys: tuple[RegionalKey, RegionalKey]) -> None:
    north, east = regional_keys
    message = encrypt(kms, [north, east], PLAINTEXT, {"purpose": "tamper"}, frame_size=FRAME)
    header_len = fmt.parse_header(message).length
    rng = random.Random(6)
    positions = sorted({*rng.sample(range(header_len), 40), *rng.sample(range(header_len, len(message)), 20)})
    for pos in positions:
        tampered = bytearray(message)
        tampered[pos] ^= 1 << rng.randrange(8)
        with pytest.raises(EnvelopeError):
            decrypt(kms, east, tampered)
    # A flip inside a wrapped data key: KMS itself refuses it (the other wrapping is not tried by east).
    blob = fmt.parse_header(message).entries[1].blob
    at = bytes(message).index(blob) + len(blob) - 1
    tampered = bytearray(message)
    tampered[at] ^= 1
    with pytest.raises(DataKeyUnavailable):
        decrypt(kms, east, tampered)


def test_every_truncation_fails() -> None:
    message = _message()
    _, frames = _frames(message)
    boundaries = set()
    pos = fmt.parse_header(message).length
    for frame in frames:
        pos += len(frame)
        boundaries.add(pos)
    for cut in range(len(message)):
        with pytest.raises(EnvelopeError):
            fmt.unseal(DATA_KEY, message[:cut])
        released, err = _stream_open(message[:cut])
        assert err is not None
        assert len(released) % FRAME == 0 and PLAINTEXT.startswith(released)
    # Cut exactly after the last regular frame: all the message but its final frame.
    cut = sorted(boundaries)[-2]
    with pytest.raises(EnvelopeError, match="truncated: it ends before its final frame"):
        fmt.unseal(DATA_KEY, message[:cut])


@pytest.mark.parametrize("extra", [b"\x00", b"\x01" + bytes(20), None])
def test_extension_fails_and_the_final_frame_is_withheld(extra: bytes | None) -> None:
    message = _message()
    _, frames = _frames(message)
    tail = extra if extra is not None else frames[-1]  # a second copy of the final frame
    with pytest.raises(EnvelopeError, match="extended"):
        fmt.unseal(DATA_KEY, message + tail)
    released, err = _stream_open(message + tail)
    assert err is not None and "extended" in str(err)
    assert released == PLAINTEXT[: 4 * FRAME]  # the final frame's plaintext never left


def test_reordered_dropped_duplicated_and_spliced_frames_fail() -> None:
    message = _message()
    head, frames = _frames(message)
    variants = {
        "swap 1 and 2": [frames[1], frames[0], *frames[2:]],
        "swap 3 and 4": [*frames[:2], frames[3], frames[2], frames[4]],
        "drop 2": [frames[0], *frames[2:]],
        "repeat 1": [frames[0], *frames],
        "final first": [frames[4]],
    }
    for name, body in variants.items():
        with pytest.raises(EnvelopeError):
            fmt.unseal(DATA_KEY, head + b"".join(body))
        released, err = _stream_open(head + b"".join(body))
        assert err is not None, name
        assert PLAINTEXT.startswith(released), name
    # Same data key, another message id: its frames do not fit this header.
    _, foreign = _frames(_message(message_id=b"\x01" * 32))
    with pytest.raises(EnvelopeError, match="frame 2 at byte"):
        fmt.unseal(DATA_KEY, head + frames[0] + foreign[1] + b"".join(frames[2:]))


def test_a_final_frame_relabelled_regular_or_lengthened_fails() -> None:
    head, frames = _frames(_message(bytes(2 * FRAME)))
    assert [f[0] for f in frames] == [fmt.REGULAR, fmt.FINAL]  # an exact multiple: a full final frame
    final = frames[1]
    relabelled = bytes([fmt.REGULAR]) + final[5:]  # same ciphertext and tag, as a regular frame
    with pytest.raises(EnvelopeError):
        fmt.unseal(DATA_KEY, head + frames[0] + relabelled)
    oversize = bytes([fmt.FINAL]) + (FRAME + 1).to_bytes(4, "big") + final[5:] + b"\x00"
    with pytest.raises(EnvelopeError, match="more than the frame size"):
        fmt.unseal(DATA_KEY, head + frames[0] + oversize)


class _Endless:
    """An input that never ends: b"AAAA..." (every length field reads 0x4141)."""

    def __init__(self) -> None:
        self.served = 0

    def read(self, n: int = -1, /) -> bytes:
        self.served += n
        return b"A" * n


def test_a_hostile_header_cannot_make_a_reader_allocate_much() -> None:
    big = bytearray(_message())
    big[39:43] = (fmt.MAX_FRAME_SIZE + 1).to_bytes(4, "big")
    with pytest.raises(EnvelopeError, match="frame size 16777217 is outside"):
        fmt.parse_header(big)
    # A header claiming 255 wrappings of 16 KiB fields, over an endless input: refused at 1 MiB.
    src = _Endless()
    prefix = io.BytesIO(fmt.MAGIC + bytes([1, 0, 1]) + bytes(32) + (16).to_bytes(4, "big") + b"\x00\x00\x00\xff")

    class Chain:
        def read(self, n: int = -1, /) -> bytes:
            return prefix.read(n) or src.read(n)

    with pytest.raises(EnvelopeError, match="header is longer than 1048576 bytes"):
        fmt.read_header(Chain())
    assert src.served <= fmt.MAX_HEADER_LEN
