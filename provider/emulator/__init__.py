"""The embedded KMS emulator: the service's state and rules over a local state directory."""

from .service import Emulator

__all__ = ["Emulator"]
