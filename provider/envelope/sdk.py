"""The mechanism of Alibaba Cloud KMS, Use multi-region CMKs to encrypt and decrypt data, over KMS: one data key,
wrapped under keys in several regions.

Encrypt: GenerateDataKey under the first key, Encrypt of that data key under each other key (each
in its own region), a header naming every wrapping, frames of AES-256-GCM under a key derived from
the data key. Decrypt: the given key opens one of the wrappings (its own, or for a multi-region key
the primary's or a replica's, which share material), the key commitment and the header tag are
checked, then the frames.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..backend import Backend
from ..client import KmsClient
from ..config import DEFAULT_REGION
from ..domain.errors import InvalidParameter, KmsError, NotFound
from . import format as fmt
from .errors import ContextMismatch, DataKeyUnavailable, InvalidInput
from .keys import RegionalKey, regional_keys

Target = KmsClient | Backend
Keys = RegionalKey | str | Sequence[RegionalKey | str]
Data = bytes | bytearray | memoryview


def _data(value: object, what: str) -> None:
    if not isinstance(value, bytes | bytearray | memoryview):
        hint = " (encode the text first)" if isinstance(value, str) else ""
        raise InvalidInput(f"the {what} must be bytes, not {type(value).__name__}{hint}")


def _client(target: Target) -> KmsClient:
    if isinstance(target, KmsClient):
        return target
    if isinstance(target, Backend):
        return KmsClient(target, DEFAULT_REGION)
    raise InvalidInput(f"expected a KmsClient or a Backend, not {type(target).__name__}")


def _zero(buf: bytearray) -> None:
    buf[:] = bytes(len(buf))


def _context(context: Mapping[str, str] | None) -> dict[str, str]:
    ctx = dict(context or {})
    fmt.encode_context(ctx)  # checks every rule before any call to KMS
    return ctx


def _keys(keys: Keys, default_region: str) -> list[RegionalKey]:
    if isinstance(keys, RegionalKey | str):
        return regional_keys(keys, default_region)
    return regional_keys(list(keys), default_region)


def _one_key(key: RegionalKey | str, default_region: str) -> RegionalKey:
    return key if isinstance(key, RegionalKey) else RegionalKey.parse(key, default_region)


def _trn(client: KmsClient, key_id: str) -> str:
    return client.describe_key(key_id).trn


def _family(client: KmsClient, ref: str) -> set[str]:
    """The ids and TRNs of a key and of the keys that share its material: its primary and the primary's
    replicas (a replica key shares its primary's material), as their descriptions name them."""
    key = client.describe_key(ref)
    names = {key.key_id, key.trn}
    links = [*([key.primary] if key.primary else []), *key.replicas]
    if key.primary is not None and key.primary.key_id != key.key_id and key.primary.region:
        try:
            primary = client.in_region(key.primary.region).describe_key(key.primary.key_id)
            links += [*primary.replicas]
        except KmsError:
            pass
    for link in links:
        names |= {link.key_id, link.trn}
    return names


def _wrap(
    client: KmsClient, refs: list[RegionalKey], ctx: dict[str, str]
) -> tuple[bytearray, list[fmt.EncryptedDataKey]]:
    """The plaintext data key (zero it after use) and its wrapping under every key."""
    first = refs[0]
    c = client.in_region(first.region)
    try:
        key_id, plaintext, blob = c.generate_data_key(first.key, fmt.DATA_KEY_LEN, ctx or None)
        entries = [fmt.EncryptedDataKey(first.region, _trn(c, key_id), key_id, blob)]
    except KmsError as err:
        raise DataKeyUnavailable(f"cannot generate a data key under key {first.key} in region {first.region}: "
                                 f"{err}") from err
    data_key = bytearray(plaintext)
    del plaintext
    try:
        if len(data_key) != fmt.DATA_KEY_LEN:
            raise DataKeyUnavailable(f"key {first} answered a data key of {len(data_key)} bytes, not "
                                     f"{fmt.DATA_KEY_LEN}")
        for ref in refs[1:]:
            c = client.in_region(ref.region)
            try:
                key_id, wrapped = c.encrypt_naming_key(ref.key, bytes(data_key), ctx or None, data_key=True)
                entries.append(fmt.EncryptedDataKey(ref.region, _trn(c, key_id), key_id, wrapped))
            except KmsError as err:
                raise DataKeyUnavailable(f"cannot wrap the data key under key {ref.key} in region {ref.region}: "
                                         f"{err}") from err
    except BaseException:
        _zero(data_key)
        raise
    return data_key, entries


def _unwrap(client: KmsClient, ref: RegionalKey, header: fmt.Header) -> bytearray:
    """Try the wrappings with `ref` in its own region, those made in that region first. KMS opens a
    wrapping made under this key, or under its primary or a replica (they share material)."""
    c = client.in_region(ref.region)
    ctx = dict(header.context) or None
    reasons: list[str] = []
    family: set[str] | None = None
    for entry in sorted(header.entries, key=lambda e: e.region != ref.region):
        try:
            opener, plaintext = c.decrypt(entry.blob, ctx, key_id=ref.key, data_key=True)
        except (NotFound, InvalidParameter) as err:
            reasons.append(str(err))
            continue
        except KmsError as err:
            raise DataKeyUnavailable(f"key {ref.key} in region {ref.region} cannot open the message's data key: "
                                     f"{err}") from err
        data_key = bytearray(plaintext)
        del plaintext
        if not opener and ref.key not in (entry.key_id, entry.trn):
            # The cloud opened it without saying with which key (Volcengine's Decrypt takes and answers none):
            # the wrapping counts only if the message says it was made under this key or one sharing its
            # material (its primary or a replica).
            try:
                family = _family(c, ref.key) if family is None else family
            except KmsError as err:
                _zero(data_key)
                raise DataKeyUnavailable(f"key {ref.key} in region {ref.region} cannot open the message's data "
                                         f"key: {err}") from err
            if entry.key_id not in family and entry.trn not in family:
                _zero(data_key)
                reasons.append(f"the wrapping under {entry.trn} was not made under key {ref.key} or a key sharing "
                               "its material")
                continue
        if len(data_key) == fmt.DATA_KEY_LEN:
            return data_key
        _zero(data_key)
        reasons.append(f"the wrapping under {entry.trn} does not hold a {fmt.DATA_KEY_LEN}-byte data key")
    made_under = ", ".join(f"{e.trn} ({e.region})" for e in header.entries)
    raise DataKeyUnavailable(
        f"none of the {len(header.entries)} encrypted data keys can be opened with key {ref.key} in region "
        f"{ref.region}; the message was encrypted under {made_under}; KMS said: {'; '.join(dict.fromkeys(reasons))}"
    )


def check_context(header: fmt.Header, expected: Mapping[str, str] | None) -> None:
    """Every pair the caller expects must be in the message's context (which KMS also checks)."""
    for name, value in (expected or {}).items():
        if name not in header.context:
            raise ContextMismatch(f"the message's encryption context has no entry {name!r}")
        if header.context[name] != value:
            raise ContextMismatch(f"the message's encryption context entry {name!r} has another value")


def _open(client: KmsClient, key: RegionalKey | str, header: fmt.Header,
          context: Mapping[str, str] | None) -> AESGCM:
    ref = _one_key(key, client.region)
    check_context(header, context)
    data_key = _unwrap(client, ref, header)
    try:
        return fmt.verify_header(header, data_key)
    finally:
        _zero(data_key)


def _seal_setup(client: KmsClient, keys: Keys, context: Mapping[str, str] | None,
                frame_size: int) -> tuple[AESGCM, bytes, bytes]:
    refs = _keys(keys, client.region)
    ctx = _context(context)
    fmt.check_frame_size(frame_size)
    message_id = os.urandom(fmt.MESSAGE_ID_LEN)
    data_key, entries = _wrap(client, refs, ctx)
    try:
        aead, commitment = fmt.derive(data_key, message_id, fmt.SUITE_AES256_GCM_HKDF_SHA256_COMMIT)
    finally:
        _zero(data_key)
    return aead, fmt.build_header(aead, commitment, message_id, frame_size, ctx, entries), message_id


# --- the public face --------------------------------------------------------------------------------
def encrypt(target: Target, keys: Keys, plaintext: Data, context: Mapping[str, str] | None = None, *,
            frame_size: int = fmt.DEFAULT_FRAME_SIZE) -> bytes:
    """One message readable with any of `keys` (REGION:KEY strings or RegionalKeys; the first generates
    the data key). `context` is bound to the message and to every KMS call."""
    client = _client(target)
    _data(plaintext, "plaintext")
    aead, header, message_id = _seal_setup(client, keys, context, frame_size)
    return fmt.seal_bytes(aead, header, message_id, frame_size, plaintext)


def decrypt(target: Target, key: RegionalKey | str, message: Data, context: Mapping[str, str] | None = None) -> bytes:
    """The plaintext, opened with one key (region + id/alias). With `context`, each of its pairs must
    be in the message's encryption context."""
    client = _client(target)
    _data(message, "message")
    header = fmt.parse_header(message)
    return fmt.open_bytes(_open(client, key, header, context), header, message)


def encrypt_stream(target: Target, keys: Keys, src: fmt.Reader, dst: fmt.Writer,
                   context: Mapping[str, str] | None = None, *, frame_size: int = fmt.DEFAULT_FRAME_SIZE,
                   progress: fmt.Progress | None = None) -> fmt.Header:
    """`encrypt` from a readable file object to a writable one, in constant memory."""
    client = _client(target)
    aead, header, message_id = _seal_setup(client, keys, context, frame_size)
    fmt.seal_stream(aead, header, message_id, frame_size, src, dst, progress)
    return fmt.parse_header(header)


def decrypt_stream(target: Target, key: RegionalKey | str, src: fmt.Reader, dst: fmt.Writer,
                   context: Mapping[str, str] | None = None, *, progress: fmt.Progress | None = None) -> fmt.Header:
    """`decrypt` between file objects in constant memory. Only authenticated frames reach `dst`; on
    an error, what was written before it must be discarded (the CLI deletes its output file)."""
    client = _client(target)
    header = fmt.read_header(src)
    aead = _open(client, key, header, context)
    if progress is not None:
        progress(header.length)
    fmt.open_stream(aead, header, src, dst, progress)
    return header


def read_header(message: Data | fmt.Reader) -> fmt.Header:
    """The header of a message (unauthenticated): its keys, encryption context and frame size."""
    if isinstance(message, bytes | bytearray | memoryview):
        return fmt.parse_header(message)
    return fmt.read_header(message)
