"""Holding every answer of `kmsctl serve` to the official SDKs' response models, with no field left over.

The SDKs drop what their models lack, so a test that only reads an answer through the SDK cannot see a
field the real cloud would never send. These checks read the raw answer: every field must be one of the
response model's (recursively, by `attribute_map`) and of the JSON kind its declared type says.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import volcenginesdkkms.models as volc_models

from provider.dialects.volcengine import models as generated

_NATIVE: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "bool": (bool,), "float": (float, int),
                                        "object": (object,)}


def check_volcengine_model(cls: type, doc: Any, where: str) -> None:
    assert isinstance(doc, dict), f"{where}: the SDK's {cls.__name__} is an object, the answer has {doc!r}"
    by_wire = {wire: attr for attr, wire in cls.attribute_map.items()}  # type: ignore[attr-defined]
    for name, value in doc.items():
        assert name in by_wire, f"{where}.{name} is not a field of the SDK's {cls.__name__}"
        _check_value(cls.swagger_types[by_wire[name]], value, f"{where}.{name}")  # type: ignore[attr-defined]


def _check_value(kind: str, value: Any, where: str) -> None:
    if value is None:
        return
    if kind.startswith("list["):
        assert isinstance(value, list), f"{where}: {kind} expected, got {type(value).__name__}"
        for i, item in enumerate(value):
            _check_value(kind[5:-1], item, f"{where}[{i}]")
        return
    if kind.startswith("dict("):
        assert isinstance(value, dict), f"{where}: {kind} expected"
        return
    native = _NATIVE.get(kind)
    if native is not None:
        ok = isinstance(value, native) and not (kind in ("int", "float") and isinstance(value, bool))
        assert ok, f"{where}: the SDK's model says {kind}, the answer has {type(value).__name__} {value!r}"
        return
    check_volcengine_model(getattr(volc_models, kind), value, where)


def check_volcengine_answer(action: str, body: bytes) -> None:
    """A Volcengine answer: the envelope's metadata, and its `Result` as `<Action>Response`."""
    doc = json.loads(body)
    assert set(doc) <= {"ResponseMetadata", "Result"}, f"{action}: {sorted(doc)} outside the envelope"
    meta = doc["ResponseMetadata"]
    assert set(meta) <= {"RequestId", "Action", "Version", "Service", "Region", "Error"}, f"{action}: {sorted(meta)}"
    if "Error" in meta:
        assert set(meta["Error"]) == {"Code", "Message"}, f"{action}: error {meta['Error']!r}"
        assert "Result" not in doc
        return
    check_volcengine_model(getattr(volc_models, f"{action}Response"), doc.get("Result"), f"{action} answer")
    # The generated wire model (made from the same SDK) takes it as well, in strict JSON types.
    generated.OPERATIONS[action].response.model_validate(doc.get("Result") or {}, strict=True)


def checking_volcengine_sdk(api_client: Any, seen: list[str] | None = None) -> Any:
    """`api_client` (volcenginesdkcore's ApiClient) with every raw answer checked as it arrives."""
    send: Callable[..., Any] = api_client.request

    def request(method: str, url: str, query_params: Any = None, **kw: Any) -> Any:
        answer = send(method, url, query_params=query_params, **kw)
        params = dict(query_params or []) | dict(parse_qsl(urlsplit(url).query))
        action = str(params.get("Action"))
        if seen is not None:
            seen.append(action)
        check_volcengine_answer(action, answer.data)
        return answer

    api_client.request = request
    return api_client
