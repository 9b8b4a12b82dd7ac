"""The `volcengine` dialect: Volcengine KMS's OpenAPI exactly, as the SDK `volcenginesdk-kms` 5.0.54 speaks it
(API reference: https://www.volcengine.com/docs/6476/1337064).

`/?Action={Action}&Version=2021-02-18`, POST with a JSON body (GET with query parameters for the actions
the SDK sends so), signed with HMAC-SHA256 (signer.py), answered in Volcengine's envelope
(https://www.volcengine.com/docs/6499/1125371). wire.py holds the parameters, server.py parses and shapes,
client.py is HttpBackend's side, shapes.py the objects.
"""

from __future__ import annotations

from ...domain import model
from ...domain.capabilities import VOLCENGINE as CAPABILITIES
from .. import HttpCall, Send, ServedApi, register
from . import client, signer


class Volcengine:
    name = "volcengine"
    # What Volcengine's API can do (aliases: none; a key replicates only if created multi-region ...).
    capabilities = CAPABILITIES

    def served(self) -> ServedApi:
        from . import server  # the server half: handlers and request models, which a client never loads

        return server

    def execute(self, region: str, action: model.Action, send: Send) -> model.Result:
        return client.execute(region, action, send)

    def throttled(self, status: int, body: bytes) -> bool:
        return client.throttled(status, body)

    def sign(self, region: str, call: HttpCall, host: str, access_key: str, secret_key: str) -> dict[str, str]:
        return signer.sign(method=call.method, host=host, path=call.path, query=call.query, body=call.body,
                           access_key=access_key, secret_key=secret_key, region=region, headers=call.headers)


VOLCENGINE = register(Volcengine())
