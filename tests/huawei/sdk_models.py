"""The official SDK's own description of Huawei Cloud KMS, read from `huaweicloudsdkkms` itself.

`OPERATIONS` is every method of `KmsClient` with its HTTP method, path template, request class and
response class (from the SDK's `_<method>_http_info`). `check_request` and `check_response` hold a
JSON document to the SDK's models: every field must be one of the model's, typed as its
`openapi_types` say (a `str` field is a JSON string, a `bool` a JSON boolean, ...).
"""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass
from typing import Any

from huaweicloudsdkkms.v2 import model as sdk_model
from huaweicloudsdkkms.v2.kms_client import KmsClient

PRIMITIVES: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "bool": (bool,), "float": (float, int),
                                           "object": (object,)}


@dataclass(frozen=True)
class SdkOperation:
    name: str
    method: str
    template: str
    pattern: re.Pattern[str]
    request: type
    response: type


def _operations() -> list[SdkOperation]:
    out = []
    for name, fn in inspect.getmembers(KmsClient, predicate=inspect.ismethod):
        found = re.fullmatch(r"_(\w+)_http_info", name)
        if not found:
            continue
        request_cls = getattr(sdk_model, "".join(p.capitalize() for p in found[1].split("_")) + "Request", None)
        if request_cls is None:
            continue
        info = fn(request_cls())
        template = info["resource_path"]
        pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")
        out.append(SdkOperation(found[1], info["method"], template, pattern, request_cls,
                                getattr(sdk_model, info["response_type"])))
    return out


OPERATIONS = _operations()


def operation_of(method: str, path: str) -> SdkOperation:
    """The SDK operation a request is, by method and path (the most specific template wins)."""
    matches = [op for op in OPERATIONS if op.method == method and op.pattern.match(path)]
    assert matches, f"{method} {path} is no operation of the SDK"
    return min(matches, key=lambda op: op.template.count("{"))


def _check(value: Any, type_name: str, where: str) -> None:
    if value is None:
        return
    if type_name.startswith("list["):
        assert isinstance(value, list), f"{where} must be a JSON list, is {value!r}"
        for i, item in enumerate(value):
            _check(item, type_name[5:-1], f"{where}[{i}]")
        return
    if type_name.startswith("dict("):
        assert isinstance(value, dict), f"{where} must be a JSON object"
        return
    if type_name in PRIMITIVES:
        ok = isinstance(value, PRIMITIVES[type_name]) and not (type_name == "int" and isinstance(value, bool))
        assert ok, f"{where} must be {type_name} as the SDK's model says, is {type(value).__name__} {value!r}"
        return
    check_model(value, getattr(sdk_model, type_name), where)


def check_model(doc: Any, cls: type, where: str = "") -> None:
    types: dict[str, str] = cls.openapi_types  # type: ignore[attr-defined]
    names: dict[str, str] = cls.attribute_map  # type: ignore[attr-defined]
    if list(names.values()) == ["body"]:
        _check(doc, types["body"], where or "body")
        return
    if not types:
        return
    assert isinstance(doc, dict), f"{where or cls.__name__} must be a JSON object, is {doc!r}"
    by_wire = {wire: attr for attr, wire in names.items()}
    unknown = set(doc) - set(by_wire)
    assert not unknown, f"{where or cls.__name__}: {sorted(unknown)} are not fields of the SDK's {cls.__name__}"
    for wire, value in doc.items():
        _check(value, types[by_wire[wire]], f"{where}.{wire}" if where else wire)


def check_request(method: str, path: str, query: list[tuple[str, str]], body: bytes) -> SdkOperation:
    op = operation_of(method, path)
    types: dict[str, str] = op.request.openapi_types  # type: ignore[attr-defined]
    names: dict[str, str] = op.request.attribute_map  # type: ignore[attr-defined]
    params = set(re.findall(r"\{(\w+)\}", op.template))
    query_fields = {names[a] for a in types if a != "body" and names[a] not in params}
    for k, _ in query:
        assert k in query_fields, f"{op.name}: query parameter {k} is not one of the SDK's {sorted(query_fields)}"
    if "body" in types:
        assert body, f"{op.name} takes a body"
        check_model(json.loads(body), getattr(sdk_model, types["body"]), op.name)
    else:
        assert not body, f"{op.name} takes no body, got {body[:80]!r}"
    return op


def check_response(op: SdkOperation, body: bytes) -> None:
    """An answer holds to the SDK's response model with no field left over (the SDK drops what its
    model lacks, so a field only our server sent would go unnoticed by a test client)."""
    if not body:
        return
    types: dict[str, str] = op.response.openapi_types  # type: ignore[attr-defined]
    doc = json.loads(body)
    if not types:
        assert doc in ({}, None), f"{op.name}: the SDK's {op.response.__name__} has no fields, the answer has {doc!r}"
        return
    check_model(doc, op.response, op.name)
    # The generated wire model (made from the same SDK) takes it as well, in strict JSON types.
    from provider.dialects.huaweicloud import models as generated

    wire_model = generated.OPERATIONS[op.name].response
    wire_model.model_validate({"body": doc} if list(types) == ["body"] else doc, strict=True)


def check_answer(method: str, path: str, status: int, body: bytes) -> None:
    """Any answer: a success holds to the operation's response model; an error is KMS's error body (or,
    for the API gateway's own refusals, its flat one), nothing more."""
    if status < 400:
        check_response(operation_of(method, path), body)
        return
    doc = json.loads(body)
    inner = doc.get("error", doc) if isinstance(doc, dict) else None
    assert isinstance(inner, dict) and set(inner) == {"error_code", "error_msg"}, f"error body {doc!r}"
    assert set(doc) in ({"error"}, {"error_code", "error_msg"}), f"error body {doc!r}"


def response_checker(seen: list[str] | None = None) -> Any:
    """A huaweicloudsdkcore HttpHandler that checks every raw answer as it arrives (check_answer)."""
    from urllib.parse import urlsplit

    from huaweicloudsdkcore.http.http_handler import HttpHandler

    def check(**kwargs: Any) -> None:
        response = kwargs["response"]
        path = urlsplit(response.request.url).path
        if seen is not None:
            seen.append(f"{response.request.method} {path}")
        check_answer(response.request.method, path, response.status_code, response.content)

    return HttpHandler().add_response_handler(check)
