"""Fixtures of the wire tests: a real `kmsctl serve` per module, an in-thread server per test, and a raw
signed POST that lets a test send exactly the bytes and headers it wants."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from provider.dialects.volcengine import signer
from provider.emulator import Emulator
from provider.server.app import KmsApp
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, KmsctlServer, ThreadServer

REGION = "cn-north-4"

# The keyring of a CreateKey: Volcengine's CreateKey requires KeyringName (the SDK refuses None there).
KR: dict[str, str] = {"KeyringName": "default"}


@dataclass
class Answer:
    status: int
    doc: Any
    text: str

    @property
    def error(self) -> dict[str, str] | None:
        if isinstance(self.doc, dict):
            err: dict[str, str] | None = self.doc.get("ResponseMetadata", {}).get("Error")
            return err
        return None

    @property
    def result(self) -> dict[str, Any]:
        assert self.status == 200, (self.status, self.text)
        res: dict[str, Any] = self.doc["Result"]
        return res


def post(endpoint: str, action: str | None, params: Mapping[str, Any] | bytes | None = None, *,
         version: str | None = signer.VERSION, region: str = REGION, access_key: str = ACCESS_KEY,
         secret_key: str = SECRET_KEY, sign: bool = True, when: float | None = None,
         extra_headers: Mapping[str, str] | None = None, query: list[tuple[str, str]] | None = None,
         tamper: Mapping[str, str] | None = None, send_body: bytes | None = None,
         send_query: list[tuple[str, str]] | None = None) -> Answer:
    """One POST to the endpoint, signed as Volcengine's SignerV4 signs unless `sign` is false. `query` replaces the
    query pairs entirely; `tamper`, `send_body` and `send_query` change what is sent after signing."""
    body = params if isinstance(params, bytes) else json.dumps(params or {}).encode()
    if query is None:
        query = []
        if action is not None:
            query.append(("Action", action))
        if version is not None:
            query.append(("Version", version))
    host = urlsplit(endpoint).netloc
    headers = {"Content-Type": "application/json", **(extra_headers or {})}
    if sign:
        headers |= signer.sign(method="POST", host=host, path="/", query=query, body=body, access_key=access_key,
                               secret_key=secret_key, region=region, headers=headers, when=when)
    headers |= dict(tamper or {})
    sent_query = query if send_query is None else send_query
    url = endpoint + "/?" + signer.canonical_query(sent_query) if sent_query else endpoint + "/"
    resp = requests.post(url, data=body if send_body is None else send_body, headers=headers, timeout=30)
    try:
        doc = resp.json()
    except ValueError:
        doc = None
    return Answer(resp.status_code, doc, resp.text)


@pytest.fixture(scope="module")
def kmsctl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KmsctlServer]:
    """A real `kmsctl serve` subprocess shared by a module's tests (each uses its own key names)."""
    with KmsctlServer(tmp_path_factory.mktemp("kmsctl") / "state", env={"KMS_REPLICATION_DELAY": "0"}) as server:
        yield server


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[ThreadServer]:
    """The same application on a fresh state, in a thread of this process."""
    with ThreadServer(KmsApp(Emulator(tmp_path / "state"), {ACCESS_KEY: SECRET_KEY})) as server:
        yield server
