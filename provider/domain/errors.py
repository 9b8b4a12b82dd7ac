"""The service's errors, each carrying the wire status and code of the error table of the Volcengine KMS API reference.

Every layer raises these; the wire server serializes them, the HTTP backend rebuilds them from an
answer, so a caller cannot tell the backends apart by their errors.
"""

from __future__ import annotations

from typing import ClassVar


class KmsError(Exception):
    """Base of every service error. `code` and `status` are the wire's."""

    code: ClassVar[str] = "UndefinedError"
    status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidParameter(KmsError):
    code = "InvalidParameter"
    status = 400


class InvalidOperation(KmsError):
    code = "InvalidOperation"
    status = 400


class InvalidReplicaRegion(KmsError):
    code = "InvalidReplicaRegion"
    status = 400


class InvalidKeyStatus(KmsError):
    code = "InvalidKeyStatus"
    status = 400


class Throttled(KmsError):
    code = "Reject.Throttling.Action"
    status = 403


class AccessDenied(KmsError):
    code = "AccessDenied"
    status = 403


class ServiceNotOpen(KmsError):
    code = "KMS_ServiceNotOpen"
    status = 403


class QuotaExceeded(KmsError):
    code = "QuotaExceeded"
    status = 403


class NotFound(KmsError):
    code = "NotFound"
    status = 404


class Conflict(KmsError):
    code = "Conflict"
    status = 409


class UndefinedError(KmsError):
    code = "UndefinedError"
    status = 500


ERRORS_BY_CODE: dict[str, type[KmsError]] = {
    cls.code: cls
    for cls in (
        InvalidParameter,
        InvalidOperation,
        InvalidReplicaRegion,
        InvalidKeyStatus,
        Throttled,
        AccessDenied,
        ServiceNotOpen,
        QuotaExceeded,
        NotFound,
        Conflict,
        UndefinedError,
    )
}


def error_from_wire(code: str, message: str) -> KmsError:
    """Rebuild the typed error from a wire answer; an unknown code stays an UndefinedError."""
    cls = ERRORS_BY_CODE.get(code, UndefinedError)
    err = cls(message)
    return err
