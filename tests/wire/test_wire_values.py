"""The values a request travels in: immutable, and a call's body (a plaintext, key material) never in a repr."""

from __future__ import annotations

import pytest

from provider.dialects import Call, HttpCall, WireRequest, WireResponse


def test_an_http_calls_repr_leaves_out_its_body() -> None:
    call = HttpCall("POST", "/", [("Action", "Encrypt")], b'{"Plaintext":"c2VjcmV0"}', {}, repeatable=True)
    shown = repr(call)
    assert "c2VjcmV0" not in shown and "Plaintext" not in shown
    assert "POST" in shown and "Encrypt" in shown and "24 bytes" in shown


def test_a_request_and_its_decoded_call_cannot_be_changed() -> None:
    req = WireRequest("POST", "/", [("Action", "DescribeKey")], {"host": "h"}, b"{}")
    call = Call(req, "DescribeKey", "cn-north-4", None, "AK")
    with pytest.raises(AttributeError):
        req.body = b"other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        call.region = "cn-east-3"  # type: ignore[misc]
    assert not hasattr(req, "notes")  # what a dialect learns travels in the Call, not in the request
    assert req.param("Action") == "DescribeKey" and call.wire is req
    assert WireResponse(200, b"{}").headers == ((b"content-type", b"application/json"),)
