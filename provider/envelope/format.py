"""The message format of docs/message-format.md: header, key schedule and frames.

Everything here is pure cryptography over a data key that the caller supplies, so the committed
test vectors (fixed data key, fixed message id) reproduce byte for byte; KMS lives in `sdk.py`.
Nonces are derived from frame sequence numbers, never drawn at random: the only randomness of a
message is its data key and its message id.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..values import Value, field
from .errors import AuthenticationError, FormatError, InvalidInput

MAGIC = b"KMSE"
VERSION = 1
# Suite 1: AES-256-GCM frames, HKDF-SHA256 key derivation, key commitment. The id is bound into
# both derived keys, so a header edited to name another suite cannot reuse them.
SUITE_AES256_GCM_HKDF_SHA256_COMMIT = 0x0001
SUITES = {SUITE_AES256_GCM_HKDF_SHA256_COMMIT: "AES_256_GCM_HKDF_SHA256_COMMIT_KEY"}

MESSAGE_ID_LEN = 32
DATA_KEY_LEN = 32
COMMITMENT_LEN = 32
TAG_LEN = 16
NONCE_LEN = 12
DEFAULT_FRAME_SIZE = 64 * 1024
MIN_FRAME_SIZE = 1
# Bounds what a reader allocates per frame, whatever a (possibly hostile) header claims.
MAX_FRAME_SIZE = 16 * 1024 * 1024
MAX_HEADER_LEN = 1024 * 1024
MAX_ENTRIES = 255
MAX_FRAMES = 2**32 - 1

REGULAR = 0x00
FINAL = 0x01

_PREFIX = struct.Struct(">4sBH32sI")  # magic, version, suite, message id, frame size
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_NONCE = struct.Struct(">4xQ")  # 4 zero bytes, then the sequence number
_AAD = struct.Struct(">32sQBQ")  # message id, sequence number, final marker, plaintext length
_HEADER_NONCE = bytes(NONCE_LEN)  # sequence number 0: frames count from 1
_LABEL_CONTENT = b"KMSE content key"
_LABEL_COMMIT = b"KMSE key commitment"


class Reader(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class Writer(Protocol):
    def write(self, data: bytes | bytearray | memoryview, /) -> int | None: ...


Progress = Callable[[int], None]


class EncryptedDataKey(Value):
    """One wrapping of the data key: which key (region, TRN, id) and the KMS ciphertext."""

    region: str
    trn: str
    key_id: str
    blob: bytes = field(repr=False)


class Header(Value):
    version: int
    suite: int
    message_id: bytes
    frame_size: int
    context: Mapping[str, str]
    entries: tuple[EncryptedDataKey, ...]
    commitment: bytes = field(repr=False)
    tag: bytes = field(repr=False)
    authenticated: bytes = field(repr=False)  # the header's bytes the tag covers

    @property
    def length(self) -> int:
        return len(self.authenticated) + TAG_LEN


# --- building blocks --------------------------------------------------------------------------------
def check_frame_size(frame_size: int) -> int:
    if isinstance(frame_size, bool) or not isinstance(frame_size, int) or not (
        MIN_FRAME_SIZE <= frame_size <= MAX_FRAME_SIZE
    ):
        raise InvalidInput(f"frame size {frame_size!r} is invalid: it must be an integer from {MIN_FRAME_SIZE} "
                           f"to {MAX_FRAME_SIZE} bytes")
    return frame_size


def _field(data: bytes, what: str) -> bytes:
    if len(data) > 0xFFFF:
        raise InvalidInput(f"{what} is {len(data)} bytes; the format allows at most 65535")
    return _U16.pack(len(data)) + data


def encode_context(context: Mapping[str, str] | None) -> bytes:
    """Canonical: pairs sorted by the UTF-8 bytes of their names, each string length-prefixed, so two
    different contexts never encode alike."""
    pairs: list[tuple[bytes, bytes]] = []
    for name, value in (context or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise InvalidInput("encryption context names and values must be strings")
        if not name:
            raise InvalidInput("encryption context names must not be empty")
        try:
            pairs.append((name.encode(), value.encode()))
        except UnicodeEncodeError:
            raise InvalidInput(f"encryption context entry {name!r} is not encodable as UTF-8") from None
    if len(pairs) > 0xFFFF:
        raise InvalidInput("the encryption context has more than 65535 entries")
    pairs.sort()
    out = [_U16.pack(len(pairs))]
    for name_b, value_b in pairs:
        out.append(_field(name_b, "an encryption context name"))
        out.append(_field(value_b, "an encryption context value"))
    return b"".join(out)


def encode_entry(entry: EncryptedDataKey) -> bytes:
    return b"".join((
        _field(entry.region.encode(), "a region"),
        _field(entry.trn.encode(), "a key TRN"),
        _field(entry.key_id.encode(), "a key id"),
        _field(entry.blob, "an encrypted data key"),
    ))


def derive(data_key: bytes | bytearray, message_id: bytes, suite: int) -> tuple[AESGCM, bytes]:
    """The content cipher and the key commitment value, both from the data key (HKDF-SHA256, salt =
    message id, info = suite id + label). The derived content key lives only in a zeroed buffer."""
    if len(data_key) != DATA_KEY_LEN:
        raise AuthenticationError(f"the data key must be {DATA_KEY_LEN} bytes")
    suite_b = _U16.pack(suite)
    content = bytearray(DATA_KEY_LEN)
    try:
        HKDF(hashes.SHA256(), DATA_KEY_LEN, salt=message_id, info=suite_b + _LABEL_CONTENT).derive_into(
            data_key, content)
        aead = AESGCM(content)  # copies the key
    finally:
        content[:] = bytes(DATA_KEY_LEN)
    commitment = HKDF(hashes.SHA256(), COMMITMENT_LEN, salt=message_id, info=suite_b + _LABEL_COMMIT).derive(data_key)
    return aead, commitment


def build_header(aead: AESGCM, commitment: bytes, message_id: bytes, frame_size: int,
                 context: Mapping[str, str] | None, entries: Sequence[EncryptedDataKey],
                 suite: int = SUITE_AES256_GCM_HKDF_SHA256_COMMIT) -> bytes:
    if len(message_id) != MESSAGE_ID_LEN:
        raise InvalidInput(f"a message id is {MESSAGE_ID_LEN} bytes")
    if not 1 <= len(entries) <= MAX_ENTRIES:
        raise InvalidInput(f"a message carries 1 to {MAX_ENTRIES} encrypted data keys, not {len(entries)}")
    body = b"".join((
        _PREFIX.pack(MAGIC, VERSION, suite, message_id, check_frame_size(frame_size)),
        encode_context(context),
        _U16.pack(len(entries)),
        *(encode_entry(e) for e in entries),
        commitment,
    ))
    if len(body) + TAG_LEN > MAX_HEADER_LEN:
        raise InvalidInput(f"the header would be {len(body) + TAG_LEN} bytes; at most {MAX_HEADER_LEN}")
    return body + aead.encrypt(_HEADER_NONCE, b"", body)


# --- reading a header -------------------------------------------------------------------------------
class _HeaderSource:
    """Reads the header's fields from a stream or straight from a message in memory, keeping the
    bytes the tag must cover."""

    def __init__(self, src: Reader | memoryview) -> None:
        self.src = src
        self.pos = 0
        self.seen = bytearray()

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > MAX_HEADER_LEN:
            raise FormatError(f"the header is longer than {MAX_HEADER_LEN} bytes: not a message of this format")
        if isinstance(self.src, memoryview):
            data = bytes(self.src[self.pos : self.pos + n])
        else:
            data = read_exact(self.src, n)
            self.seen += data
        if len(data) < n:
            raise FormatError(f"the message is truncated: it ends inside the header ({what})")
        self.pos += n
        return data

    def covered(self) -> bytes:
        return bytes(self.src[: self.pos]) if isinstance(self.src, memoryview) else bytes(self.seen)

    def u16(self, what: str) -> int:
        value: int = _U16.unpack(self.take(2, what))[0]
        return value

    def field(self, what: str) -> bytes:
        return self.take(self.u16(what), what)

    def text(self, what: str) -> str:
        try:
            return self.field(what).decode()
        except UnicodeDecodeError:
            raise FormatError(f"the header's {what} is not UTF-8") from None


def read_header(src: Reader | memoryview) -> Header:
    """Parse (not authenticate) a header; a stream is left at the first frame."""
    h = _HeaderSource(src)
    prefix = h.take(_PREFIX.size, "prefix")
    if not prefix.startswith(MAGIC):
        raise FormatError("not an envelope message: it does not start with the format's magic bytes 'KMSE'")
    _, version, suite, message_id, frame_size = _PREFIX.unpack(prefix)
    if version != VERSION:
        raise FormatError(f"message format version {version} is not supported (this reader knows version {VERSION})")
    if suite not in SUITES:
        raise FormatError(f"algorithm suite 0x{suite:04x} is not supported (known: "
                          f"{', '.join(f'0x{s:04x} {n}' for s, n in SUITES.items())})")
    if not MIN_FRAME_SIZE <= frame_size <= MAX_FRAME_SIZE:
        raise FormatError(f"the header's frame size {frame_size} is outside {MIN_FRAME_SIZE}..{MAX_FRAME_SIZE}")
    context: dict[str, str] = {}
    last: bytes | None = None
    for _ in range(h.u16("encryption context size")):
        name_b = h.field("encryption context name")
        value_b = h.field("encryption context value")
        if last is not None and name_b <= last:
            raise FormatError("the header's encryption context is not in canonical order")
        last = name_b
        try:
            context[name_b.decode()] = value_b.decode()
        except UnicodeDecodeError:
            raise FormatError("the header's encryption context is not UTF-8") from None
    count = h.u16("encrypted data key count")
    if not 1 <= count <= MAX_ENTRIES:
        raise FormatError(f"the header names {count} encrypted data keys; a message has 1 to {MAX_ENTRIES}")
    entries = tuple(
        EncryptedDataKey(region=h.text("key region"), trn=h.text("key TRN"), key_id=h.text("key id"),
                         blob=h.field("encrypted data key"))
        for _ in range(count)
    )
    commitment = h.take(COMMITMENT_LEN, "key commitment")
    authenticated = h.covered()
    tag = h.take(TAG_LEN, "header tag")
    return Header(version, suite, message_id, frame_size, context, entries, commitment, tag, authenticated)


def parse_header(message: bytes | bytearray | memoryview) -> Header:
    return read_header(memoryview(message).cast("B"))


def verify_header(header: Header, data_key: bytes | bytearray) -> AESGCM:
    """Key commitment first (the data key must be the one the message was made with), then the
    header tag. Answers the content cipher."""
    aead, commitment = derive(data_key, header.message_id, header.suite)
    import hmac  # here: encrypting never needs it, and its import loads OpenSSL's hashlib (start time)

    if not hmac.compare_digest(commitment, header.commitment):
        raise AuthenticationError("key commitment does not match: the data key that opened is not the one this "
                                  "message was encrypted with")
    try:
        aead.decrypt(_HEADER_NONCE, header.tag, header.authenticated)
    except InvalidTag:
        raise AuthenticationError("the message header does not authenticate: it was altered") from None
    return aead


# --- frames -----------------------------------------------------------------------------------------
def _frame_count(n: int, frame_size: int) -> int:
    return max(1, -(-n // frame_size))


def sealed_length(header_len: int, plaintext_len: int, frame_size: int) -> int:
    regular = _frame_count(plaintext_len, frame_size) - 1
    return header_len + regular * (1 + frame_size + TAG_LEN) + 1 + 4 + (plaintext_len - regular * frame_size) + TAG_LEN


def seal_bytes(aead: AESGCM, header: bytes, message_id: bytes, frame_size: int,
               plaintext: bytes | bytearray | memoryview) -> bytes:
    pt = memoryview(plaintext).cast("B")
    n = len(pt)
    frames = _frame_count(n, frame_size)
    if frames > MAX_FRAMES:
        raise InvalidInput(f"{n} bytes need {frames} frames of {frame_size}; a message holds at most {MAX_FRAMES}")
    out = bytearray(sealed_length(len(header), n, frame_size))
    view = memoryview(out)
    view[: len(header)] = header
    # Encrypting straight into the output buffer: one pass, no per-frame copies.
    enc, nonce, aad = aead.encrypt_into, _NONCE.pack, _AAD.pack
    o, pos, rec = len(header), 0, frame_size + TAG_LEN
    for seq in range(1, frames):
        out[o] = REGULAR
        enc(nonce(seq), pt[pos : pos + frame_size], aad(message_id, seq, 0, frame_size), view[o + 1 : o + 1 + rec])
        pos += frame_size
        o += 1 + rec
    last = n - pos
    out[o] = FINAL
    _U32.pack_into(out, o + 1, last)
    enc(nonce(frames), pt[pos:], aad(message_id, frames, 1, last), view[o + 5 :])
    view.release()
    return bytes(out)


def open_bytes(aead: AESGCM, header: Header, message: bytes | bytearray | memoryview) -> bytes:
    msg = memoryview(message).cast("B")
    size, mid, fs = len(msg), header.message_id, header.frame_size
    out = bytearray(max(0, size - header.length))
    view = memoryview(out)
    dec, nonce, aad = aead.decrypt_into, _NONCE.pack, _AAD.pack
    pos, w, seq, rec = header.length, 0, 1, fs + TAG_LEN
    try:
        while True:
            if seq > MAX_FRAMES:
                raise FormatError(f"the message has more than {MAX_FRAMES} frames")
            if pos >= size:
                raise FormatError(f"the message is truncated: it ends before its final frame (after {seq - 1} "
                                  "frames)")
            marker = msg[pos]
            if marker == REGULAR:
                end = pos + 1 + rec
                if end > size:
                    raise FormatError(f"the message is truncated: frame {seq} at byte {pos} is incomplete")
                _open_frame(dec, nonce(seq), msg[pos + 1 : end], aad(mid, seq, 0, fs), view[w : w + fs], seq, pos)
                w += fs
            elif marker == FINAL:
                if pos + 5 > size:
                    raise FormatError(f"the message is truncated: frame {seq} at byte {pos} is incomplete")
                (length,) = _U32.unpack_from(msg, pos + 1)
                if length > fs:
                    raise FormatError(f"final frame {seq} at byte {pos} claims {length} bytes, more than the frame "
                                      f"size {fs}")
                end = pos + 5 + length + TAG_LEN
                if end > size:
                    raise FormatError(f"the message is truncated: frame {seq} at byte {pos} is incomplete")
                if end < size:
                    raise FormatError(f"the message is extended: {size - end} bytes follow its final frame")
                _open_frame(dec, nonce(seq), msg[pos + 5 : end], aad(mid, seq, 1, length), view[w : w + length],
                            seq, pos)
                w += length
                view.release()
                del out[w:]
                return bytes(out)
            else:
                raise FormatError(f"frame {seq} at byte {pos} has an unknown marker 0x{marker:02x}")
            pos = end
            seq += 1
    except BaseException:
        # decrypt_into leaves unauthenticated plaintext behind on failure: never let it out.
        view.release()
        out[:] = bytes(len(out))
        raise


def _open_frame(dec: Callable[[bytes, memoryview, bytes, memoryview], int], nonce: bytes, data: memoryview,
                aad: bytes, into: memoryview, seq: int, pos: int) -> None:
    try:
        dec(nonce, data, aad, into)
    except InvalidTag:
        raise AuthenticationError(f"frame {seq} at byte {pos} does not authenticate: the message was altered, "
                                  "reordered or truncated") from None


# --- streams ----------------------------------------------------------------------------------------
def fill(src: Reader, buf: memoryview) -> int:
    """Fill `buf` from `src`; fewer bytes only at end of input (pipes answer short reads)."""
    readinto = getattr(src, "readinto", None)
    got, want = 0, len(buf)
    while got < want:
        if readinto is not None:
            n = readinto(buf[got:])
        else:
            chunk = src.read(want - got)
            n = len(chunk)
            buf[got : got + n] = chunk
        if not n:
            break
        got += n
    return got


def read_exact(src: Reader, n: int) -> bytes:
    buf = bytearray(n)
    got = fill(src, memoryview(buf))
    return bytes(buf[:got])


def seal_stream(aead: AESGCM, header: bytes, message_id: bytes, frame_size: int, src: Reader, dst: Writer,
                progress: Progress | None = None) -> None:
    """Constant memory: two plaintext buffers (one frame of look-ahead tells the final frame) and
    one output buffer, whatever the input's size."""
    dst.write(header)
    cur, nxt = bytearray(frame_size), bytearray(frame_size)
    out = bytearray(5 + frame_size + TAG_LEN)
    cur_v, nxt_v, out_v = memoryview(cur), memoryview(nxt), memoryview(out)
    try:
        n = fill(src, cur_v)
        seq = 1
        while True:
            if seq > MAX_FRAMES:
                raise InvalidInput(f"the input needs more than {MAX_FRAMES} frames of {frame_size} bytes")
            following = fill(src, nxt_v) if n == frame_size else 0
            if following:
                out[0] = REGULAR
                aead.encrypt_into(_NONCE.pack(seq), cur_v, _AAD.pack(message_id, seq, 0, n),
                                  out_v[1 : 1 + n + TAG_LEN])
                dst.write(out_v[: 1 + n + TAG_LEN])
            else:
                out[0] = FINAL
                _U32.pack_into(out, 1, n)
                aead.encrypt_into(_NONCE.pack(seq), cur_v[:n], _AAD.pack(message_id, seq, 1, n),
                                  out_v[5 : 5 + n + TAG_LEN])
                dst.write(out_v[: 5 + n + TAG_LEN])
            if progress is not None:
                progress(n)
            if not following:
                return
            cur, nxt, cur_v, nxt_v, n = nxt, cur, nxt_v, cur_v, following
            seq += 1
    finally:
        cur[:] = bytes(frame_size)
        nxt[:] = bytes(frame_size)


def open_stream(aead: AESGCM, header: Header, src: Reader, dst: Writer, progress: Progress | None = None) -> None:
    """Each frame is authenticated whole before any of its plaintext is written; the final frame's
    plaintext waits until the end of input is confirmed (no extension)."""
    fs, mid = header.frame_size, header.message_id
    rec = 1 + fs + TAG_LEN  # a regular frame on the wire
    frame = bytearray(5 + fs + TAG_LEN)
    plain = bytearray(fs)
    frame_v, plain_v = memoryview(frame), memoryview(plain)
    pos, seq = header.length, 1
    try:
        while True:
            if seq > MAX_FRAMES:
                raise FormatError(f"the message has more than {MAX_FRAMES} frames")
            got = fill(src, frame_v[:rec])
            if got == 0:
                raise FormatError(f"the message is truncated: it ends before its final frame (after {seq - 1} "
                                  "frames)")
            marker = frame[0]
            if marker == REGULAR:
                if got < rec:
                    raise FormatError(f"the message is truncated: frame {seq} at byte {pos} is incomplete")
                _open_frame(aead.decrypt_into, _NONCE.pack(seq), frame_v[1:rec], _AAD.pack(mid, seq, 0, fs),
                            plain_v, seq, pos)
                dst.write(plain_v)
                if progress is not None:
                    progress(rec)
                pos += rec
                seq += 1
                continue
            if marker != FINAL:
                raise FormatError(f"frame {seq} at byte {pos} has an unknown marker 0x{marker:02x}")
            if got < 5:
                got += fill(src, frame_v[got:5])
                if got < 5:
                    raise FormatError(f"the message is truncated: frame {seq} at byte {pos} is incomplete")
            (length,) = _U32.unpack_from(frame, 1)
            if length > fs:
                raise FormatError(f"final frame {seq} at byte {pos} claims {length} bytes, more than the frame "
                                  f"size {fs}")
            need = 5 + length + TAG_LEN
            if got > need:
                raise FormatError(f"the message is extended: bytes follow its final frame at byte {pos + need}")
            got += fill(src, frame_v[got:need])
            if got < need:
                raise FormatError(f"the message is truncated: frame {seq} at byte {pos} is incomplete")
            _open_frame(aead.decrypt_into, _NONCE.pack(seq), frame_v[5:need], _AAD.pack(mid, seq, 1, length),
                        plain_v[:length], seq, pos)
            if src.read(1):
                raise FormatError(f"the message is extended: bytes follow its final frame at byte {pos + need}")
            dst.write(plain_v[:length])
            if progress is not None:
                progress(need)
            return
    finally:
        plain[:] = bytes(fs)


# --- whole messages with a given data key (the test vectors' entry points) --------------------------
def seal(data_key: bytes | bytearray, message_id: bytes, entries: Sequence[EncryptedDataKey],
         context: Mapping[str, str] | None, frame_size: int, plaintext: bytes | bytearray | memoryview) -> bytes:
    aead, commitment = derive(data_key, message_id, SUITE_AES256_GCM_HKDF_SHA256_COMMIT)
    header = build_header(aead, commitment, message_id, frame_size, context, entries)
    return seal_bytes(aead, header, message_id, frame_size, plaintext)


def unseal(data_key: bytes | bytearray, message: bytes | bytearray | memoryview) -> tuple[Header, bytes]:
    header = parse_header(message)
    aead = verify_header(header, data_key)
    return header, open_bytes(aead, header, message)
