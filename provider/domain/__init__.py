"""The domain layer: the KMS service's rules and errors, shared by the emulator and the resources."""

from . import rules
from .errors import KmsError

__all__ = ["KmsError", "rules"]
