"""Envelope encryption across regions (Alibaba Cloud KMS, Use multi-region CMKs to encrypt and decrypt data): data
encrypted once, readable in every region that holds one of its keys, a multi-region key's replicas included.

    from provider.envelope import encrypt, decrypt
    message = encrypt(client, ["cn-north-4:alias/app", "cn-east-3:alias/app"], data, {"purpose": "backup"})
    data = decrypt(client, "cn-east-3:alias/app", message)

`encrypt_stream` / `decrypt_stream` do the same between file objects in constant memory. The byte
layout is in docs/message-format.md.
"""

from __future__ import annotations

from .errors import (
    AuthenticationError,
    ContextMismatch,
    DataKeyUnavailable,
    EnvelopeError,
    FormatError,
    InvalidInput,
)
from .format import DEFAULT_FRAME_SIZE, EncryptedDataKey, Header
from .keys import RegionalKey
from .sdk import decrypt, decrypt_stream, encrypt, encrypt_stream, read_header

__all__ = [
    "DEFAULT_FRAME_SIZE",
    "AuthenticationError",
    "ContextMismatch",
    "DataKeyUnavailable",
    "EncryptedDataKey",
    "EnvelopeError",
    "FormatError",
    "Header",
    "InvalidInput",
    "RegionalKey",
    "decrypt",
    "decrypt_stream",
    "encrypt",
    "encrypt_stream",
    "read_header",
]
