"""Why an envelope operation failed. Messages name keys, regions and positions in the message,
never a plaintext or a data key."""

from __future__ import annotations


class EnvelopeError(Exception):
    """Base of every envelope failure."""


class InvalidInput(EnvelopeError, ValueError):
    """A caller's argument breaks a rule: a key reference, an encryption context, a frame size."""


class FormatError(EnvelopeError):
    """The bytes are not a well-formed message of a version and suite we know (including a
    truncated or extended message)."""


class AuthenticationError(EnvelopeError):
    """A check of the message failed: key commitment, header tag or a frame's tag."""


class ContextMismatch(EnvelopeError):
    """The encryption context the caller expects is not the one the message carries."""


class DataKeyUnavailable(EnvelopeError):
    """KMS could not produce the data key: no encrypted data key opens with the given key, or a key
    refused to wrap one."""
