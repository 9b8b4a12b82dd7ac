"""The parameters of every action of the wire API (contract section 4), as pydantic models.

The emulator validates each call with these models, whichever way the call arrives (in process or
over the wire), so a bad parameter answers the same `InvalidParameter` naming it everywhere. The
server publishes its OpenAPI document from them too.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from .errors import InvalidParameter


def _b64(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if not isinstance(value, str):
        raise ValueError("must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not valid base64") from None


B64 = Annotated[bytes, BeforeValidator(_b64), Field(json_schema_extra={"type": "string", "format": "byte"})]
Context = dict[str, str]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Tag(_Params):
    Key: str
    Value: str = ""


class KeyRef(_Params):
    """A key: `KeyID` (an id, a TRN or an alias name), or `KeyringName` + `KeyName` (seed 003)."""

    KeyID: str | None = None
    KeyringName: str | None = None
    KeyName: str | None = None


class CreateKey(_Params):
    KeyName: str
    KeyringName: str | None = None
    KeySpec: str = "AES_256"
    KeyUsage: str | None = None
    Origin: str | None = None
    Description: str | None = None
    EnterpriseProject: str | None = None
    Tags: list[Tag] = []
    MultiRegion: bool | None = None
    ClientToken: str | None = Field(default=None, max_length=128)


class DescribeKey(KeyRef):
    pass


class DescribeKeys(_Params):
    KeyringName: str | None = None
    Limit: int = Field(default=100, ge=1, le=1000)
    Marker: str | None = None


class UpdateKey(KeyRef):
    NewKeyName: str | None = None
    Description: str | None = None
    EnterpriseProject: str | None = Field(default=None, min_length=1)


class EnableKey(KeyRef):
    pass


class DisableKey(KeyRef):
    pass


class ScheduleKeyDeletion(KeyRef):
    PendingWindowInDays: int | None = None


class CancelKeyDeletion(KeyRef):
    pass


class ReplicateKey(KeyRef):
    ReplicaRegion: str
    Description: str | None = None
    ReplicaKeyName: str | None = None
    EnterpriseProject: str | None = None
    Tags: list[Tag] = []
    ClientToken: str | None = Field(default=None, max_length=128)


class EnableKeyRotation(KeyRef):
    RotationIntervalInDays: int | None = None


class DisableKeyRotation(KeyRef):
    pass


class CreateAlias(_Params):
    AliasName: str
    KeyID: str


class UpdateAlias(_Params):
    AliasName: str
    KeyID: str


class DeleteAlias(_Params):
    AliasName: str


class ListAliases(_Params):
    KeyID: str | None = None


class TagResources(KeyRef):
    Tags: list[Tag]


class UntagResources(KeyRef):
    TagKeys: list[str]


class Encrypt(KeyRef):
    Plaintext: B64
    EncryptionContext: Context | None = None
    Algorithm: str | None = None


class Decrypt(KeyRef):
    CiphertextBlob: B64
    EncryptionContext: Context | None = None
    Algorithm: str | None = None


class GenerateDataKey(KeyRef):
    NumberOfBytes: int | None = None
    EncryptionContext: Context | None = None


class GenerateDataKeyWithoutPlaintext(GenerateDataKey):
    pass


class ReEncrypt(_Params):
    CiphertextBlob: B64
    OldEncryptionContext: Context | None = None
    NewKeyID: str | None = None
    NewKeyringName: str | None = None
    NewKeyName: str | None = None
    NewEncryptionContext: Context | None = None


class AsymmetricSign(KeyRef):
    Message: B64
    MessageType: Literal["RAW", "DIGEST"] = "RAW"
    Algorithm: str


class AsymmetricVerify(AsymmetricSign):
    Signature: B64


class GetPublicKey(KeyRef):
    pass


class GenerateMac(KeyRef):
    Message: B64
    Algorithm: str | None = None


class VerifyMac(GenerateMac):
    Mac: B64


class GetParametersForImport(KeyRef):
    WrappingAlgorithm: str = "RSAES_OAEP_SHA_256"
    WrappingKeySpec: str = "RSA_2048"


class ImportKeyMaterial(KeyRef):
    ImportToken: str
    EncryptedKeyMaterial: B64


class AdvanceClock(_Params):
    Seconds: int = Field(ge=0, le=200 * 365 * 86400)


ACTIONS: dict[str, type[_Params]] = {
    cls.__name__: cls
    for cls in (
        CreateKey,
        DescribeKey,
        DescribeKeys,
        UpdateKey,
        EnableKey,
        DisableKey,
        ScheduleKeyDeletion,
        CancelKeyDeletion,
        ReplicateKey,
        EnableKeyRotation,
        DisableKeyRotation,
        CreateAlias,
        UpdateAlias,
        DeleteAlias,
        ListAliases,
        TagResources,
        UntagResources,
        Encrypt,
        Decrypt,
        GenerateDataKey,
        GenerateDataKeyWithoutPlaintext,
        ReEncrypt,
        AsymmetricSign,
        AsymmetricVerify,
        GetPublicKey,
        GenerateMac,
        VerifyMac,
        GetParametersForImport,
        ImportKeyMaterial,
        AdvanceClock,
    )
}


def parse(action: str, params: Any) -> _Params:
    """Validate one call's parameters; every failure names the parameter and never echoes its value
    (a plaintext or key material must not reach an error message)."""
    model = ACTIONS.get(action)
    if model is None:
        raise InvalidParameter(f"The request parameter Action is invalid: unknown action '{action[:64]}'")
    if not isinstance(params, dict):
        raise InvalidParameter("The request body must be a JSON object of parameters")
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        msg = first["msg"]
        if first["type"] == "extra_forbidden":
            msg = f"is not a parameter of {action}"
        elif first["type"] == "missing":
            msg = "is required"
        elif first["type"] == "value_error":
            msg = msg.removeprefix("Value error, ")
        raise InvalidParameter(f"The request parameter {where} is invalid: {msg}") from None
