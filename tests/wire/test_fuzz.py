"""The OpenAPI document of the endpoint, published and committed, and schemathesis fuzzing the live
server from it: whatever it sends, signed or not, the answer is never a 5xx and always the envelope.

Bounded: a few examples per action and mode, derandomized so that a run is repeatable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from provider.dialects.volcengine import params
from provider.server.openapi import openapi_document
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, HmacAuth, KmsctlServer

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXAMPLES = 8

FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


def test_served_and_committed_documents_are_the_generated_one(kmsctl: KmsctlServer) -> None:
    served = requests.get(kmsctl.endpoint + "/_emulator/openapi.json", timeout=10)
    assert served.status_code == 200 and served.headers["content-type"].startswith("application/json")
    generated = openapi_document()
    assert served.json() == generated
    committed = json.loads((DOCS / "openapi.json").read_text())
    assert committed == generated, "docs/openapi.json is stale: python -m provider.server.openapi > docs/openapi.json"
    post = generated["paths"]["/"]["post"]
    assert post["parameters"][0]["schema"]["enum"] == list(params.MODELS)
    assert {ref["$ref"].rsplit("/", 1)[1] for ref in post["requestBody"]["content"]["application/json"]["schema"]
            ["anyOf"]} == set(params.MODELS)


def _check(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    doc = response.json()
    meta = doc["ResponseMetadata"]
    assert meta["Service"] == "kms"
    assert ("Error" in meta) == (response.status_code != 200)
    assert ("Result" in doc) == (response.status_code == 200)


def _fuzz(schema: schemathesis.BaseSchema, endpoint: str, mode: GenerationMode, auth: HmacAuth | None) -> int:
    sent = 0
    session = requests.Session()

    @FUZZ
    @given(case=schema.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        nonlocal sent
        response = case.call(base_url=endpoint, session=session, auth=auth, timeout=30)
        sent += 1
        _check(response)

    run()
    session.close()
    return sent


@pytest.mark.parametrize("action", list(params.MODELS))
def test_fuzz_each_action_signed(kmsctl: KmsctlServer, action: str) -> None:
    """The document narrowed to one action, so that generated bodies reach the emulator's rules."""
    schema = schemathesis.openapi.from_dict(openapi_document(action))
    auth = HmacAuth(ACCESS_KEY, SECRET_KEY, "cn-north-4")
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    sent = sum(_fuzz(schema, kmsctl.endpoint, mode, auth) for mode in modes)
    assert sent >= EXAMPLES


def test_fuzz_the_published_document_unsigned_and_signed(kmsctl: KmsctlServer) -> None:
    schema = schemathesis.openapi.from_url(kmsctl.endpoint + "/_emulator/openapi.json")
    for auth in (None, HmacAuth(ACCESS_KEY, SECRET_KEY, "cn-east-3")):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            assert _fuzz(schema, kmsctl.endpoint, mode, auth) >= 1


def test_the_server_still_serves_after_the_fuzzing(kmsctl: KmsctlServer) -> None:
    answer = requests.get(kmsctl.endpoint + "/_emulator/health", timeout=10)
    assert answer.json() == {"status": "ok"}
