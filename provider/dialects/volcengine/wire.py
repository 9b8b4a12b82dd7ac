"""What both sides of the Volcengine dialect share: the API version, the service name, the key spec
names, the actions served with their HTTP methods, and how the SDK flattens parameters into a query.

No pydantic here: HttpBackend imports this. The request models live in params.py (on the generated
models.py), which only the server loads.
"""

from __future__ import annotations

from typing import Any

from ...domain.errors import InvalidParameter

VERSION = "2021-02-18"
SERVICE = "kms"

# Volcengine names the symmetric key spec SYMMETRIC_256; the seeds call it AES_256. Other specs share names.
SPEC_TO_WIRE = {"AES_256": "SYMMETRIC_256"}
SPEC_FROM_WIRE = {v: k for k, v in SPEC_TO_WIRE.items()}


# Volcengine's actions this service emulates, each with the HTTP method the SDK sends it with (GET ones
# carry their parameters in the query string); every one is an operation of the SDK with that method
# (tests/wire/test_generated_models.py). Volcengine's other actions are refused as its gateway refuses
# an unknown one.
METHODS: dict[str, str] = {
    "CreateKey": "POST", "DescribeKey": "POST", "DescribeKeys": "POST", "UpdateKey": "POST", "EnableKey": "GET",
    "DisableKey": "POST", "ScheduleKeyDeletion": "POST", "CancelKeyDeletion": "POST", "ReplicateKey": "POST",
    "EnableKeyRotation": "POST", "DisableKeyRotation": "GET", "TagResources": "POST", "UntagResources": "POST",
    "ListTagsForResources": "POST", "CreateKeyring": "POST", "DescribeKeyrings": "POST", "UpdateKeyring": "GET",
    "DeleteKeyring": "POST", "QueryKeyring": "GET", "Encrypt": "POST", "Decrypt": "POST", "GenerateDataKey": "POST",
    "ReEncrypt": "POST", "AsymmetricEncrypt": "POST", "AsymmetricDecrypt": "POST", "AsymmetricSign": "POST",
    "AsymmetricVerify": "POST", "GetPublicKey": "POST", "GenerateMac": "POST", "VerifyMac": "POST",
    "GetParametersForImport": "POST", "ImportKeyMaterial": "POST",
}


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


