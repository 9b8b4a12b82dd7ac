"""The emulator as a shared service: `kmsctl serve` runs `KmsApp` on uvicorn (contract sections 4, 6)."""

from .app import KmsApp
from .run import serve

__all__ = ["KmsApp", "serve"]
