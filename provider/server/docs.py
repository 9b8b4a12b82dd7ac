"""The generated part of docs/wire-protocol.md: every action's parameters and result.

Parameters come from the action models (the same ones that validate each call). Results come from
a scripted run of every action against a scratch emulator, so the tables say what the service
answers, not what someone remembered it answers. A test keeps the committed document equal to this.

    python -m provider.server.docs docs/wire-protocol.md     # rewrite the generated section in place
"""

from __future__ import annotations

import base64
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..domain import actions
from ..domain.errors import ERRORS_BY_CODE
from .openapi import component_schemas

BEGIN = "<!-- BEGIN GENERATED: python -m provider.server.docs docs/wire-protocol.md -->"
END = "<!-- END GENERATED -->"
REGION = "cn-north-4"
REPLICA_REGION = "cn-east-3"
_KEY_RESULTS = {"Key", "ReplicaKey"}


class _Recorder:
    """A backend that remembers the first result of every action."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.results: dict[str, dict[str, Any]] = {}

    def call(self, region: str, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.backend.call(region, action, params)
        self.results.setdefault(action, result)
        return result

    def close(self) -> None:
        self.backend.close()


def sample_results() -> dict[str, dict[str, Any]]:
    """Run every action once on a scratch emulator; answer each action's result."""
    from ..client import KmsClient
    from ..emulator import Emulator

    with tempfile.TemporaryDirectory(prefix="kms-docs-") as tmp:
        recorder = _Recorder(Emulator(Path(tmp), replication_delay=0))
        kms = KmsClient(recorder, REGION)
        key = kms.create_key("doc-aes", description="docs", tags={"team": "docs"})["ID"]
        other = kms.create_key("doc-aes-2")["ID"]
        kms.describe_key(key)
        kms.list_keys()
        kms.update_key(key, description="docs, updated")
        kms.disable_key(key)
        kms.enable_key(key)
        kms.enable_key_rotation(key, 90)
        kms.disable_key_rotation(key)
        kms.tag_resources(key, {"env": "doc"})
        kms.untag_resources(key, ["env"])
        kms.replicate_key(key, REPLICA_REGION)
        kms.create_alias("alias/doc", key)
        kms.update_alias("alias/doc", other)
        kms.list_aliases()
        kms.delete_alias("alias/doc")
        blob = kms.encrypt(key, b"docs", {"purpose": "docs"})
        kms.decrypt(blob, {"purpose": "docs"})
        kms.generate_data_key(key)
        kms.generate_data_key_without_plaintext(key)
        kms.re_encrypt(blob, other, {"purpose": "docs"})
        rsa = kms.create_key("doc-rsa", key_spec="RSA_2048")["ID"]
        sig = kms.sign(rsa, b"docs", "RSA_PSS_SHA_256")
        kms.verify(rsa, b"docs", sig, "RSA_PSS_SHA_256")
        kms.get_public_key(rsa)
        mac_key = kms.create_key("doc-hmac", key_spec="HMAC_256")["ID"]
        mac = kms.generate_mac(mac_key, b"docs")
        kms.verify_mac(mac_key, b"docs", mac)
        external = kms.create_key("doc-external", origin="External")["ID"]
        kms.import_material(external, base64.b64decode(base64.b64encode(bytes(range(32)))))
        doomed = kms.create_key("doc-doomed")["ID"]
        kms.schedule_key_deletion(doomed, 7)
        kms.cancel_key_deletion(doomed)
        kms.advance_clock(0)
        recorder.close()
        return recorder.results


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
    for action in actions.ACTIONS:
        lines += ["", f"### {action}", ""]
        doc = (actions.ACTIONS[action].__doc__ or "").strip()
        if doc and not doc.startswith(("A key:", "Usage docs:")) and action != "AdvanceClock":
            lines += [doc.splitlines()[0], ""]
        if action == "AdvanceClock":
            lines += ["Emulator only: moves the service clock (never the signature window).", ""]
        rows = _param_rows(action, schemas)
        if rows:
            lines += ["| Parameter | Type | Required | Default |", "| --- | --- | --- | --- |", *rows, ""]
        else:
            lines += ["No parameters.", ""]
        result = results.get(action)
        if result is None:
            raise RuntimeError(f"the docs scenario never ran {action}")
        lines += ["Result:", "", "| Field | Type |", "| --- | --- |"]
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
