"""Previews in the shape `pulumi preview --json` prints, of any size: for the scale benchmark and the tests of
malformed input (the engine never prints 20,000 steps in a test's time, nor a hostile file)."""

from __future__ import annotations

import itertools
from typing import Any

PREFIX = "pulumi-python:dynamic/kms:"
STACK = "urn:pulumi:dev::keys::pulumi:pulumi:Stack::keys-dev"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
# A primary's region and two regions its replicas may stand in (Huawei Cloud's replica table).
FAMILIES = (
    ("cn-north-4", ("cn-east-3", "cn-south-1")),
    ("cn-east-3", ("cn-north-4", "cn-south-1")),
    ("ap-southeast-3", ("cn-north-4", "me-east-1")),
)
OPS = ("same", "update", "replace", "delete", "create", "same")


def urn(kind: str, name: str) -> str:
    return f"urn:pulumi:dev::keys::{PREFIX}{kind}::{name}"


def step(op: str, kind: str, name: str, key_id: str, inputs: dict[str, Any], outputs: dict[str, Any] | None = None,
         new_inputs: dict[str, Any] | None = None, deps: dict[str, list[str]] | None = None,
         reasons: tuple[str, ...] = ()) -> dict[str, Any]:
    old = {"type": PREFIX + kind, "id": key_id, "inputs": inputs, "outputs": {**inputs, **(outputs or {})}}
    new = {"type": PREFIX + kind, "inputs": new_inputs if new_inputs is not None else inputs,
           "propertyDependencies": deps or {}}
    raw: dict[str, Any] = {"op": op, "urn": urn(kind, name)}
    if op != "create":
        raw["oldState"] = old
    if op != "delete":
        raw["newState"] = new
    if reasons:
        raw["replaceReasons"] = list(reasons)
    return raw


def preview(steps: int, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """About `steps` steps: families of a primary, two replicas and an alias (and for some, tags), each family
    with one op."""
    out: list[dict[str, Any]] = [{"op": "same", "urn": STACK, "newState": {"type": "pulumi:pulumi:Stack"}}]
    for i in itertools.count():
        if len(out) >= steps:
            break
        region, replica_regions = FAMILIES[i % len(FAMILIES)]
        op = OPS[i % len(OPS)]
        key, kid = f"key{i}", f"{i:08d}-0000-4000-8000-000000000000"
        inputs = {"region": region, "key_spec": "AES_256", "key_usage": "ENCRYPT_DECRYPT", "pending_days": 7 + i % 30,
                  "enabled": True, "key_name": f"{key}-abc"}
        new_inputs = dict(inputs)
        reasons: tuple[str, ...] = ()
        if op == "update":
            new_inputs.update(enabled=False, description="off")
        elif op == "replace":
            new_inputs["key_spec"] = "RSA_2048"
            reasons = ("key_spec",)
        out.append(step(op, "CustomKey", key, kid, inputs, {"key_id": kid, "key_state": "Enable"}, new_inputs,
                        reasons=reasons))
        primary_id = UNKNOWN if op in ("replace", "create") else kid
        for j, replica_region in enumerate(replica_regions):
            rid = f"{i:08d}-0000-4000-8000-{j + 1:012d}"
            r_inputs = {"primary_key_id": kid, "primary_region": region, "replica_region": replica_region,
                        "pending_days": 30}
            out.append(step(op, "ReplicaKey", f"{key}-r{j}", rid, r_inputs, {"key_id": rid, "region": replica_region},
                            {**r_inputs, "primary_key_id": primary_id}, {"primary_key_id": [urn("CustomKey", key)]},
                            reasons=("primary_key_id",) if op == "replace" else ()))
        a_inputs = {"alias_name": f"alias/{key}", "target_key_id": kid, "region": region}
        out.append(step("same" if op == "same" else "update", "KeyAlias", f"{key}-alias", f"alias/{key}", a_inputs,
                        new_inputs={**a_inputs, "target_key_id": primary_id},
                        deps={"target_key_id": [urn("CustomKey", key)]}))
        if i % 4 == 1:  # tags managed apart from the key, changed in place
            t_inputs = {"key_id": kid, "region": region, "tags": {"team": "billing"}}
            out.append(step("update", "KeyTags", f"{key}-tags", f"{region}:{kid}", t_inputs,
                            new_inputs={**t_inputs, "tags": {"team": "billing", "env": "prod"}},
                            deps={"key_id": [urn("CustomKey", key)]}))
    summary: dict[str, int] = {}
    for raw in out:
        summary[raw["op"]] = summary.get(raw["op"], 0) + 1
    return {"steps": out, "changeSummary": summary, "diagnostics": [], "config": config or {}}
