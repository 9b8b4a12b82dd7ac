# mypy: disable-error-code="assignment"
# (a field here narrows its generated type: base64 text read as bytes, tags as our own Tag model)
"""Volcengine KMS's request parameters as the server reads them: each action's generated model
(models.py, made from `volcenginesdk-kms` by scripts/generate_wire_models.py) with its values' meaning
added (base64 decoded, the encryption context read, names bounded, defaults). A class here may narrow a
field's type but never add a field: tests/wire/test_generated_models.py holds each to its SDK model.

The server loads this module with its first request; HttpBackend never needs it (client.py sends plain
JSON and wire.py holds what both sides share).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ...domain import rules
from ...domain.errors import InvalidParameter
from . import models as g
from .wire import METHODS


def _b64(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if not isinstance(value, str):
        raise ValueError("must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not valid base64") from None


def _context(value: Any) -> Any:
    """EncryptionContext: the SDK sends a JSON object; the API documents a JSON string of one."""
    if isinstance(value, str):
        if not value:
            return None
        try:
            value = json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            raise ValueError("must be a JSON object of strings (or a JSON string of one)") from None
    if value is not None and not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
        raise ValueError("must be a JSON object of strings (or a JSON string of one)")
    return value


B64 = Annotated[bytes, BeforeValidator(_b64), Field(json_schema_extra={"type": "string", "format": "byte"})]
Context = Annotated[dict[str, str] | None, BeforeValidator(_context)]
Name = Annotated[str, Field(min_length=1, max_length=rules.NAME_MAX)]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tag(Params):
    Key: str
    Value: str = ""


class TagFilter(Params):
    Key: str
    Values: list[str] = []


class CreateKey(g.CreateKeyRequest, Params):
    KeyName: Name
    KeySpec: str = "SYMMETRIC_256"
    KeyUsage: str | None = None
    Origin: str | None = None
    Description: str | None = None
    ProtectionLevel: Literal["SOFTWARE"] | None = None
    RotateState: Literal["Enable", "Disable"] | None = None
    RotateInterval: int | None = None
    MultiRegion: bool | None = None
    Tags: list[Tag] = []
    CustomKeyStoreID: None = None  # not offered: key material always lives in the service
    XksKeyID: None = None


class DescribeKey(g.DescribeKeyRequest, Params):
    pass


class DescribeKeys(g.DescribeKeysRequest, Params):
    KeyringName: str | None = None
    KeyringID: str | None = None
    CurrentPage: int = Field(default=1, ge=1)
    PageSize: int = Field(default=10, ge=1, le=100)
    Filters: str | None = None
    TagFilters: list[TagFilter] = []


class UpdateKey(g.UpdateKeyRequest, Params):
    NewKeyName: str | None = None
    Description: str | None = None


class EnableKey(g.EnableKeyRequest, Params):
    pass


class DisableKey(g.DisableKeyRequest, Params):
    pass


class ScheduleKeyDeletion(g.ScheduleKeyDeletionRequest, Params):
    PendingWindowInDays: int | None = None


class CancelKeyDeletion(g.CancelKeyDeletionRequest, Params):
    pass


class ReplicateKey(g.ReplicateKeyRequest, Params):
    ReplicaRegion: str
    Description: str | None = None
    Tags: list[Tag] = []


class EnableKeyRotation(g.EnableKeyRotationRequest, Params):
    RotateInterval: int | None = None


class DisableKeyRotation(g.DisableKeyRotationRequest, Params):
    pass


class TagResources(g.TagResourcesRequest, Params):
    ResourceType: Literal["keys"]
    ResourceIds: list[str] = Field(min_length=1, max_length=20)
    Tags: list[Tag] = Field(min_length=1)


class UntagResources(g.UntagResourcesRequest, Params):
    ResourceType: Literal["keys"]
    ResourceIds: list[str] = Field(min_length=1, max_length=20)
    TagKeys: list[str] = Field(min_length=1)


class ListTagsForResources(g.ListTagsForResourcesRequest, Params):
    ResourceType: Literal["keys"]
    ResourceIds: list[str] = Field(default=[], max_length=20)
    TagFilters: list[TagFilter] = []
    MaxResults: int = Field(default=100, ge=1, le=100)
    NextToken: str | None = None


class CreateKeyring(g.CreateKeyringRequest, Params):
    KeyringName: str
    Description: str | None = None
    KeyringType: Literal["CustomKeyring"] | None = None
    ProjectName: Literal["default"] | None = None


class DescribeKeyrings(g.DescribeKeyringsRequest, Params):
    CurrentPage: int = Field(default=1, ge=1)
    PageSize: int = Field(default=10, ge=1, le=100)
    Filters: str | None = None
    ProjectName: Literal["default"] | None = None


class UpdateKeyring(g.UpdateKeyringRequest, Params):
    Description: str | None = None


class DeleteKeyring(g.DeleteKeyringRequest, Params):
    pass


class QueryKeyring(g.QueryKeyringRequest, Params):
    pass


class Encrypt(g.EncryptRequest, Params):
    Plaintext: B64
    EncryptionContext: Context = None


class Decrypt(g.DecryptRequest, Params):
    CiphertextBlob: B64
    EncryptionContext: Context = None


class GenerateDataKey(g.GenerateDataKeyRequest, Params):
    NumberOfBytes: int | None = None
    EncryptionContext: Context = None


class ReEncrypt(g.ReEncryptRequest, Params):
    CiphertextBlob: B64
    OldEncryptionContext: Context = None
    NewKeyID: str | None = None
    NewKeyringName: str | None = None
    NewKeyName: str | None = None
    NewEncryptionContext: Context = None


class AsymmetricEncrypt(g.AsymmetricEncryptRequest, Params):
    Plaintext: B64
    Algorithm: str


class AsymmetricDecrypt(g.AsymmetricDecryptRequest, Params):
    CiphertextBlob: B64
    Algorithm: str


class AsymmetricSign(g.AsymmetricSignRequest, Params):
    Message: B64
    MessageType: Literal["RAW", "DIGEST"] = "RAW"
    Algorithm: str


class AsymmetricVerify(g.AsymmetricVerifyRequest, Params):
    Message: B64
    MessageType: Literal["RAW", "DIGEST"] = "RAW"
    Algorithm: str
    Signature: B64


class GetPublicKey(g.GetPublicKeyRequest, Params):
    pass


class GenerateMac(g.GenerateMacRequest, Params):
    Message: B64


class VerifyMac(g.VerifyMacRequest, Params):
    Message: B64
    Mac: B64


class GetParametersForImport(g.GetParametersForImportRequest, Params):
    WrappingAlgorithm: str = "RSAES_OAEP_SHA_256"
    WrappingKeySpec: str = "RSA_2048"


class ImportKeyMaterial(g.ImportKeyMaterialRequest, Params):
    ImportToken: str
    EncryptedKeyMaterial: B64
    ExpirationModel: Literal["KEY_MATERIAL_DOES_NOT_EXPIRE"] | None = None
    ValidTo: int | None = None


MODELS: dict[str, type[Params]] = {m.__name__: m for m in (
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
    TagResources,
    UntagResources,
    ListTagsForResources,
    CreateKeyring,
    DescribeKeyrings,
    UpdateKeyring,
    DeleteKeyring,
    QueryKeyring,
    Encrypt,
    Decrypt,
    GenerateDataKey,
    ReEncrypt,
    AsymmetricEncrypt,
    AsymmetricDecrypt,
    AsymmetricSign,
    AsymmetricVerify,
    GetPublicKey,
    GenerateMac,
    VerifyMac,
    GetParametersForImport,
    ImportKeyMaterial,
)}
if set(MODELS) != set(METHODS):
    raise RuntimeError(f"wire.METHODS and the request models disagree: {sorted(set(MODELS) ^ set(METHODS))}")


def validate(action: str, params: Any, *, from_query: bool = False) -> Params:
    """One call's parameters, validated; every failure names the parameter and never echoes its value
    (a plaintext or key material must not reach an error message)."""
    model = MODELS.get(action)
    if model is None:
        raise InvalidParameter(f"The request parameter Action is invalid: unknown action '{action[:64]}'")
    if not isinstance(params, dict):
        raise InvalidParameter("The request body must be a JSON object of parameters")
    try:
        # The model's validator itself: model_validate is a Python wrapper around this very call.
        return model.__pydantic_validator__.validate_python(params, strict=not from_query)  # type: ignore[no-any-return]
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        msg = first["msg"]
        if first["type"] == "extra_forbidden":
            msg = f"is not a parameter of {action}"
        elif first["type"] == "missing":
            msg = "is required"
        elif first["type"] in ("none_required", "literal_error") and where in ("CustomKeyStoreID", "XksKeyID"):
            msg = "is not offered by this service (key material always lives in the service)"
        elif first["type"] == "value_error":
            msg = msg.removeprefix("Value error, ")
        raise InvalidParameter(f"The request parameter {where} is invalid: {msg}") from None
