"""The OpenAPI 3.1 document of the Volcengine dialect, generated from its parameter models
(provider/dialects/volcengine/wire.py, the one source of truth).

The API has one operation, `POST /`, whose query parameter `Action` picks the body's schema (the few
actions the SDK sends as GET carry the same parameters in the query string instead).
OpenAPI cannot tie a body schema to a query value, so the published document lists every action's
schema under `anyOf`; `openapi_document(action=...)` narrows it to one action, which is what a fuzzer
needs to reach past parameter validation.

`python -m provider.server.openapi > docs/openapi.json` writes the committed copy.
"""

from __future__ import annotations

import functools
import json
import sys
from typing import Any

from pydantic.json_schema import models_json_schema

from ..dialects.volcengine import params, wire
from ..domain import rules

ERROR_CODES = {
    400: ["InvalidParameter", "InvalidOperation", "InvalidReplicaRegion", "InvalidKeyStatus"],
    403: ["AccessDenied", "Reject.Throttling.Action", "KMS_ServiceNotOpen", "QuotaExceeded"],
    404: ["NotFound"],
    409: ["Conflict"],
    413: ["InvalidParameter"],
    500: ["UndefinedError"],
}

SIGNING = (
    "Every request is signed with HMAC-SHA256 (Volcengine OpenAPI signature): headers `X-Date` "
    "(YYYYMMDDTHHMMSSZ), `X-Content-Sha256` (hex SHA-256 of the body) and `Authorization: HMAC-SHA256 "
    "Credential={AK}/{YYYYMMDD}/{region}/kms/request, SignedHeaders=host;x-content-sha256;x-date, "
    "Signature={hex}`. The credential scope's region selects the region. See docs/wire-protocol.md."
)


def _enums() -> dict[str, list[str]]:
    """Parameters whose values are a fixed set: the models take strings (the rules give the message
    naming the allowed values), the document lists the values."""
    return {
        "KeySpec": sorted({wire.SPEC_TO_WIRE.get(s.value, s.value) for s in rules.KeySpec} | {"AES_256"}),
        "KeyUsage": [u.value for u in rules.KeyUsage],
        "Origin": [o.value for o in rules.Origin],
        "ReplicaRegion": list(rules.catalog().names),
    }


def _formats() -> dict[str, dict[str, Any]]:
    """The shape rules of names (Huawei Cloud's CreateKey, https://support.huaweicloud.com/intl/en-us/api-dew/CreateKey.html;
    Volcengine's KMS API, https://www.volcengine.com/docs/6476/1337064), as JSON Schema keywords."""
    name = {"pattern": r"^[A-Za-z0-9_\-:/]+$", "maxLength": rules.NAME_MAX}
    return {
        "KeyName": name,
        "NewKeyName": name,
        "AliasName": {"pattern": r"^alias/[A-Za-z0-9_\-:/]+$", "maxLength": rules.NAME_MAX},
        "KeyringName": {"pattern": rules.KEYRING_RE.pattern},
        "Description": {"maxLength": rules.DESCRIPTION_MAX},
    }


def _refine(prop: dict[str, Any], keywords: dict[str, Any]) -> None:
    for branch in prop.get("anyOf", [prop]):
        if branch.get("type") == "string":
            branch.update(keywords)


def component_schemas() -> dict[str, Any]:
    """Every action's parameter schema, from its model, refined with the value sets and name rules."""
    _, top = models_json_schema([(model, "validation") for model in params.MODELS.values()],
                                ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = top.get("$defs", {})
    refinements = {name: {"enum": values} for name, values in _enums().items()} | _formats()
    for schema in schemas.values():
        for name, prop in schema.get("properties", {}).items():
            if name in refinements:
                _refine(prop, refinements[name])
    return schemas


def _envelope_schemas() -> dict[str, Any]:
    meta = {
        "type": "object",
        "required": ["RequestId", "Action", "Version", "Service", "Region"],
        "properties": {
            "RequestId": {"type": "string"},
            "Action": {"type": "string"},
            "Version": {"type": "string"},
            "Service": {"type": "string", "const": wire.SERVICE},
            "Region": {"type": "string"},
            "Error": {"$ref": "#/components/schemas/Error"},
        },
    }
    return {
        "ResponseMetadata": meta,
        "Error": {"type": "object", "required": ["Code", "Message"],
                  "properties": {"Code": {"type": "string"}, "Message": {"type": "string"}}},
        "Answer": {"type": "object", "required": ["ResponseMetadata", "Result"],
                   "properties": {"ResponseMetadata": {"$ref": "#/components/schemas/ResponseMetadata"},
                                  "Result": {"type": "object"}}},
        "ErrorAnswer": {"type": "object", "required": ["ResponseMetadata"],
                        "properties": {"ResponseMetadata": {
                            "allOf": [{"$ref": "#/components/schemas/ResponseMetadata"}, {"required": ["Error"]}]}}},
    }


@functools.cache
def published() -> bytes:
    """The whole document as the server sends it, built once per process."""
    return json.dumps(openapi_document(), sort_keys=True).encode()


def openapi_document(action: str | None = None) -> dict[str, Any]:
    """The document of the endpoint; with `action`, narrowed to that one action."""
    names = list(params.MODELS) if action is None else [action]
    if action is not None and action not in params.MODELS:
        raise KeyError(action)
    schemas = component_schemas() | _envelope_schemas()
    bodies = [{"$ref": f"#/components/schemas/{name}"} for name in names]
    errors = {
        str(status): {
            "description": "Error: " + ", ".join(codes),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorAnswer"}}},
        }
        for status, codes in ERROR_CODES.items()
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Volcengine KMS OpenAPI (2021-02-18), as kmsctl serve speaks it",
            "version": wire.VERSION,
            "description": ("The `volcengine` dialect of `kmsctl serve`, exactly as "
                            "volcenginesdk-kms 5.0.54 defines it, and nothing more. GET with query "
                            "parameters: "
                            + ", ".join(a for a, verb in wire.METHODS.items() if verb == "GET") + ". " + SIGNING),
        },
        "paths": {
            "/": {
                "post": {
                    "operationId": action or "Action",
                    "summary": f"Run the action {action}" if action else "Run one action of the KMS API",
                    "parameters": [
                        {"name": "Action", "in": "query", "required": True,
                         "schema": {"type": "string", "enum": names}},
                        {"name": "Version", "in": "query", "required": True,
                         "schema": {"type": "string", "enum": [wire.VERSION]}},
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": bodies[0] if len(bodies) == 1 else
                                                         {"anyOf": bodies}}},
                    },
                    "responses": {
                        "200": {"description": "The action's result",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Answer"}}}},
                        **errors,
                    },
                    "security": [{"HmacSha256": []}],
                }
            }
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "HmacSha256": {"type": "apiKey", "in": "header", "name": "Authorization", "description": SIGNING},
            },
        },
    }


def main() -> None:
    json.dump(openapi_document(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
