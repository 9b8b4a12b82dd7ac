"""Volcengine KMS's request parameters (OpenAPI version 2021-02-18), as `volcenginesdk-kms` 5.0.54 defines
them: one pydantic model per action, PascalCase names, the SDK's types. The server validates every
request with these (the OpenAPI document is generated from them); `EXTENSIONS` are ours, not
Volcengine's, and docs/wire-protocol.md marks them so.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ...domain import rules
from ...domain.errors import InvalidParameter

VERSION = "2021-02-18"
SERVICE = "kms"

# Volcengine names the symmetric key spec SYMMETRIC_256; the seeds call it AES_256. Other specs share names.
SPEC_TO_WIRE = {"AES_256": "SYMMETRIC_256"}
SPEC_FROM_WIRE = {v: k for k, v in SPEC_TO_WIRE.items()}


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


class KeyRef(Params):
    """A key: `KeyID`, or `KeyringName` + `KeyName` (seed 003)."""

    KeyID: str | None = None
    KeyringName: str | None = None
    KeyName: str | None = None


class CreateKey(Params):
    KeyringName: str = "default"
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


class DescribeKey(KeyRef):
    pass


class DescribeKeys(Params):
    KeyringName: str | None = None
    KeyringID: str | None = None
    CurrentPage: int = Field(default=1, ge=1)
    PageSize: int = Field(default=10, ge=1, le=100)
    Filters: str | None = None
    TagFilters: list[TagFilter] = []


class UpdateKey(KeyRef):
    NewKeyName: str | None = None
    Description: str | None = None


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
    Tags: list[Tag] = []


class EnableKeyRotation(KeyRef):
    RotateInterval: int | None = None


class DisableKeyRotation(KeyRef):
    pass


class TagResources(Params):
    ResourceType: Literal["keys"] = "keys"
    ResourceIds: list[str] = Field(min_length=1, max_length=20)
    Tags: list[Tag] = Field(min_length=1)


class UntagResources(Params):
    ResourceType: Literal["keys"] = "keys"
    ResourceIds: list[str] = Field(min_length=1, max_length=20)
    TagKeys: list[str] = Field(min_length=1)


class ListTagsForResources(Params):
    ResourceType: Literal["keys"] = "keys"
    ResourceIds: list[str] = Field(default=[], max_length=20)
    TagFilters: list[TagFilter] = []
    MaxResults: int = Field(default=100, ge=1, le=100)
    NextToken: str | None = None


class CreateKeyring(Params):
    KeyringName: str
    Description: str | None = None
    KeyringType: Literal["CustomKeyring"] | None = None
    ProjectName: Literal["default"] | None = None


class DescribeKeyrings(Params):
    CurrentPage: int = Field(default=1, ge=1)
    PageSize: int = Field(default=10, ge=1, le=100)
    Filters: str | None = None
    ProjectName: Literal["default"] | None = None


class KeyringRef(Params):
    KeyringName: str | None = None
    KeyringID: str | None = None


class UpdateKeyring(KeyringRef):
    Description: str | None = None


class DeleteKeyring(KeyringRef):
    pass


class QueryKeyring(KeyringRef):
    pass


class Encrypt(KeyRef):
    Plaintext: B64
    EncryptionContext: Context = None


class Decrypt(Params):
    CiphertextBlob: B64
    EncryptionContext: Context = None


class GenerateDataKey(KeyRef):
    NumberOfBytes: int | None = None
    EncryptionContext: Context = None


class ReEncrypt(Params):
    CiphertextBlob: B64
    OldEncryptionContext: Context = None
    NewKeyID: str | None = None
    NewKeyringName: str | None = None
    NewKeyName: str | None = None
    NewEncryptionContext: Context = None


class AsymmetricEncrypt(KeyRef):
    Plaintext: B64
    Algorithm: str


class AsymmetricDecrypt(KeyRef):
    CiphertextBlob: B64
    Algorithm: str


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
    MacAlgorithm: str | None = None


class VerifyMac(GenerateMac):
    Mac: B64


class GetParametersForImport(KeyRef):
    WrappingAlgorithm: str = "RSAES_OAEP_SHA_256"
    WrappingKeySpec: str = "RSA_2048"


class ImportKeyMaterial(KeyRef):
    ImportToken: str
    EncryptedKeyMaterial: B64
    ExpirationModel: Literal["KEY_MATERIAL_DOES_NOT_EXPIRE"] | None = None
    ValidTo: int | None = None


# Volcengine's own actions that the service has, each with the HTTP method the SDK sends it with
# (GET ones carry their parameters in the query string).
VOLCENGINE: dict[type[Params], str] = {
    CreateKey: "POST", DescribeKey: "POST", DescribeKeys: "POST", UpdateKey: "POST", EnableKey: "GET",
    DisableKey: "POST", ScheduleKeyDeletion: "POST", CancelKeyDeletion: "POST", ReplicateKey: "POST",
    EnableKeyRotation: "POST", DisableKeyRotation: "GET", TagResources: "POST", UntagResources: "POST",
    ListTagsForResources: "POST", CreateKeyring: "POST", DescribeKeyrings: "POST", UpdateKeyring: "GET",
    DeleteKeyring: "POST", QueryKeyring: "GET", Encrypt: "POST", Decrypt: "POST", GenerateDataKey: "POST",
    ReEncrypt: "POST", AsymmetricEncrypt: "POST", AsymmetricDecrypt: "POST", AsymmetricSign: "POST",
    AsymmetricVerify: "POST", GetPublicKey: "POST", GenerateMac: "POST", VerifyMac: "POST",
    GetParametersForImport: "POST", ImportKeyMaterial: "POST",
}
METHODS: dict[str, str] = {m.__name__: method for m, method in VOLCENGINE.items()}
MODELS: dict[str, type[Params]] = {m.__name__: m for m in VOLCENGINE}


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Query parameters as the SDK flattens them (`Tags.1.Key=a`, `ResourceIds.1=x`) back into JSON."""
    root: dict[str, Any] = {}
    for name, value in pairs:
        parts = name.split(".")
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            key: Any = int(part) - 1 if part.isdigit() and isinstance(node, list) else part
            if isinstance(node, list):
                if not isinstance(key, int) or key < 0 or key > len(node):
                    raise InvalidParameter(f"The request parameter {name[:64]} is invalid: list items are numbered "
                                           "from 1 without gaps")
                if key == len(node):
                    node.append(None)
            elif not isinstance(node, dict):
                raise InvalidParameter(f"The request parameter {name[:64]} is invalid: it names a field of a value")
            if last:
                node[key] = value
            else:
                child = node[key] if isinstance(node, list) else node.get(key)
                if child is None:
                    child = [] if parts[i + 1].isdigit() else {}
                    node[key] = child
                node = child
    return root


def validate(action: str, params: Any, *, from_query: bool = False) -> Params:
    """One call's parameters, validated; every failure names the parameter and never echoes its value
    (a plaintext or key material must not reach an error message)."""
    model = MODELS.get(action)
    if model is None:
        raise InvalidParameter(f"The request parameter Action is invalid: unknown action '{action[:64]}'")
    if not isinstance(params, dict):
        raise InvalidParameter("The request body must be a JSON object of parameters")
    try:
        return model.model_validate(params, strict=not from_query)
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
