"""The generated part of docs/wire-protocol.md: every action of the volcengine dialect, its parameters and
its result.

Parameters come from the dialect's models (the same ones that validate each request). Results come
from a scripted run of every action through the dialect against a scratch emulator, so the tables say
what the service answers, not what someone remembered it answers. A test keeps the committed document
equal to this.

    python -m provider.server.docs docs/wire-protocol.md     # rewrite the generated section in place
"""

from __future__ import annotations

import base64
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..dialects import WireRequest
from ..dialects.volcengine import client, params, server, wire
from ..dialects.volcengine.shapes import b64
from ..domain import model
from ..domain.errors import ERRORS_BY_CODE
from .openapi import component_schemas

BEGIN = "<!-- BEGIN GENERATED: python -m provider.server.docs docs/wire-protocol.md -->"
END = "<!-- END GENERATED -->"
REGION = "cn-north-4"
REPLICA_REGION = "cn-east-3"
_KEY_RESULTS = {"Key", "ReplicaKey"}


class _Scenario:
    """Requests as the SDK sends them, through the dialect's parse and shape, on a scratch emulator."""

    def __init__(self, path: Path) -> None:
        from ..emulator import Emulator

        self.emulator = Emulator(path, replication_delay=0)
        self.results: dict[str, dict[str, Any]] = {}

    def __call__(self, action: str, region: str = REGION, **params: Any) -> dict[str, Any]:
        call = client.http_call(action, params, repeatable=True)
        req = server.decode(server.route(WireRequest(call.method, call.path, call.query, {}, call.body)))
        parsed = server.parse(req)
        if isinstance(parsed, model.Action):
            results: Any = self.emulator.execute(region, parsed)
        else:
            results = tuple(self.emulator.execute(region, a) for a in parsed)
        doc: dict[str, Any] = server.result_doc(req, parsed, results)
        self.results.setdefault(action, doc)
        return doc


def sample_results() -> dict[str, dict[str, Any]]:
    """Run every action once on a scratch emulator; answer each action's result."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    with tempfile.TemporaryDirectory(prefix="kms-docs-") as tmp:
        run = _Scenario(Path(tmp))
        run("CreateKeyring", KeyringName="docs", Description="docs")
        run("DescribeKeyrings", CurrentPage=1, PageSize=10)
        run("UpdateKeyring", KeyringName="docs", Description="docs, updated")
        run("QueryKeyring", KeyringName="docs")
        key = run("CreateKey", KeyringName="docs", KeyName="doc-aes", Description="docs", MultiRegion=True,
                  Tags=[{"Key": "team", "Value": "docs"}])["Key"]["ID"]
        other = run("CreateKey", KeyringName="docs", KeyName="doc-aes-2")["Key"]["ID"]
        run("DescribeKey", KeyID=key)
        run("DescribeKeys", KeyringName="docs", CurrentPage=1, PageSize=10)
        run("UpdateKey", KeyID=key, Description="docs, updated")
        run("DisableKey", KeyID=key)
        run("EnableKey", KeyID=key)
        run("EnableKeyRotation", KeyID=key, RotateInterval=90)
        run("DisableKeyRotation", KeyID=key)
        run("TagResources", ResourceType="keys", ResourceIds=[key], Tags=[{"Key": "env", "Value": "doc"}])
        run("ListTagsForResources", ResourceType="keys", ResourceIds=[key])
        run("UntagResources", ResourceType="keys", ResourceIds=[key], TagKeys=["env"])
        run("ReplicateKey", KeyID=key, ReplicaRegion=REPLICA_REGION)
        blob = run("Encrypt", KeyID=key, Plaintext=b64(b"docs"), EncryptionContext={"purpose": "docs"})
        run("Decrypt", CiphertextBlob=blob["CiphertextBlob"], EncryptionContext={"purpose": "docs"})
        run("GenerateDataKey", KeyID=key, NumberOfBytes=32)
        run("ReEncrypt", CiphertextBlob=blob["CiphertextBlob"], NewKeyID=other,
            OldEncryptionContext={"purpose": "docs"})
        rsa_key = run("CreateKey", KeyringName="default", KeyName="doc-rsa", KeySpec="RSA_2048",
                      KeyUsage="ENCRYPT_DECRYPT")["Key"]["ID"]
        sealed = run("AsymmetricEncrypt", KeyID=rsa_key, Plaintext=b64(b"docs"), Algorithm="RSAES_OAEP_SHA_256")
        run("AsymmetricDecrypt", KeyID=rsa_key, CiphertextBlob=sealed["CiphertextBlob"],
            Algorithm="RSAES_OAEP_SHA_256")
        ec_key = run("CreateKey", KeyringName="default", KeyName="doc-ec", KeySpec="EC_P256",
                     KeyUsage="SIGN_VERIFY")["Key"]["ID"]
        sig = run("AsymmetricSign", KeyID=ec_key, Message=b64(b"docs"), Algorithm="ECDSA_SHA_256")
        run("AsymmetricVerify", KeyID=ec_key, Message=b64(b"docs"), Signature=sig["Signature"],
            Algorithm="ECDSA_SHA_256")
        run("GetPublicKey", KeyID=ec_key)
        mac_key = run("CreateKey", KeyringName="default", KeyName="doc-hmac", KeySpec="HMAC_256")["Key"]["ID"]
        mac = run("GenerateMac", KeyID=mac_key, Message=b64(b"docs"), MacAlgorithm="HMAC_SHA_256")
        run("VerifyMac", KeyID=mac_key, Message=b64(b"docs"), Mac=mac["Mac"], MacAlgorithm="HMAC_SHA_256")
        external = run("CreateKey", KeyringName="default", KeyName="doc-external", Origin="External")["Key"]["ID"]
        params = run("GetParametersForImport", KeyID=external)
        wrapping = serialization.load_der_public_key(base64.b64decode(params["PublicKey"]))
        assert isinstance(wrapping, rsa.RSAPublicKey)
        wrapped = wrapping.encrypt(bytes(range(32)), padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                                                                  algorithm=hashes.SHA256(), label=None))
        run("ImportKeyMaterial", KeyID=external, ImportToken=params["ImportToken"], EncryptedKeyMaterial=b64(wrapped))
        doomed = run("CreateKey", KeyringName="default", KeyName="doc-doomed")["Key"]["ID"]
        run("ScheduleKeyDeletion", KeyID=doomed, PendingWindowInDays=7)
        run("CancelKeyDeletion", KeyID=doomed)
        run("CreateKeyring", KeyringName="doc-empty")
        run("DeleteKeyring", KeyringName="doc-empty")
        run.emulator.close()
        return run.results


def _type(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> str:
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        props = defs[name].get("properties", {})
        return "{" + ", ".join(f'"{p}"' for p in props) + "}"
    if "anyOf" in schema:
        kinds = [_type(s, defs) for s in schema["anyOf"] if s.get("type") != "null"]
        return " or ".join(kinds)
    kind = schema.get("type")
    if kind == "string" and schema.get("format") == "byte":
        return "string (base64)"
    if kind == "string" and "enum" in schema:
        return "string: " + ", ".join(f"`{v}`" for v in schema["enum"])
    if kind == "string" and ("pattern" in schema or "maxLength" in schema):
        rule = [f"`{schema['pattern']}`" if "pattern" in schema else "",
                f"at most {schema['maxLength']} characters" if "maxLength" in schema else ""]
        return "string, " + ", ".join(r for r in rule if r)
    if kind == "array":
        return f"list of {_type(schema.get('items', {}), defs)}"
    if kind == "object":
        return f"object of {_type(schema.get('additionalProperties', {}), defs)}"
    if kind == "integer":
        bounds = [f">= {schema['minimum']}" if "minimum" in schema else "",
                  f"<= {schema['maximum']}" if "maximum" in schema else ""]
        extra = ", ".join(b for b in bounds if b)
        return f"integer ({extra})" if extra else "integer"
    return str(kind)


def _param_rows(action: str, schemas: Mapping[str, Any]) -> list[str]:
    schema = schemas[action]
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        default = prop.get("default")
        shown = "" if default is None or default == [] else f"`{default}`"
        rows.append(f"| `{name}` | {_type(prop, schemas)} | {'yes' if name in required else 'no'} | {shown} |")
    return rows


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def _fields(objects: list[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """Each field of a family of result objects with every JSON kind it took."""
    kinds: dict[str, set[str]] = {}
    for obj in objects:
        for name, value in obj.items():
            kinds.setdefault(name, set()).add(_json_kind(value))
    out = []
    for name, seen in kinds.items():
        main = sorted(seen - {"null"})
        text = " or ".join(main) if main else "null"
        out.append((name, text + (" or null" if "null" in seen and main else "")))
    return out


def render(results: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    results = results if results is not None else sample_results()
    schemas = component_schemas()
    key_objects = [r[k] for r in results.values() for k in _KEY_RESULTS if k in r]
    key_objects += [k for r in results.values() for k in r.get("Keys", [])]
    lines = [BEGIN, "", "### The key object", "",
             "`Key` (and `ReplicaKey`, and each item of `Keys`) is this object:", "",
             "| Field | Type |", "| --- | --- |"]
    lines += [f"| `{name}` | {kind} |" for name, kind in _fields(key_objects)]
    for action in params.MODELS:
        lines += ["", f"### {action}", ""]
        if wire.METHODS[action] == "GET":
            lines += ["Sent as `GET` with the parameters in the query string (as the SDK sends it).", ""]
        rows = _param_rows(action, schemas)
        if rows:
            lines += ["| Parameter | Type | Required | Default |", "| --- | --- | --- | --- |", *rows, ""]
        else:
            lines += ["No parameters.", ""]
        result = results.get(action)
        if result is None:
            raise RuntimeError(f"the docs scenario never ran {action}")
        lines += ["Result:", ""]
        if not result:
            lines += ["Nothing (an empty `Result` object)."]
            continue
        lines += ["| Field | Type |", "| --- | --- |"]
        for name, kind in _fields([result]):
            if name in _KEY_RESULTS:
                kind = "the key object"
            elif name == "Keys":
                kind = "list of the key object"
            lines.append(f"| `{name}` | {kind} |")
    lines += ["", "### Errors", "", "| HTTP status | Code |", "| --- | --- |"]
    lines += [f"| {cls.status} | `{code}` |" for code, cls in ERRORS_BY_CODE.items()]
    lines += ["", END]
    return "\n".join(lines)


def splice(document: str, generated: str) -> str:
    start, end = document.index(BEGIN), document.index(END) + len(END)
    return document[:start] + generated + document[end:]


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/wire-protocol.md")
    path.write_text(splice(path.read_text(), render()))


if __name__ == "__main__":
    main()
