"""The emulator as a shared service: `kmsctl serve` runs `KmsApp` on uvicorn speaking
Volcengine's and Huawei Cloud's KMS APIs on one port."""

from .app import KmsApp
from .run import serve

__all__ = ["KmsApp", "serve"]
