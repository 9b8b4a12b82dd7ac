"""The `volcengine` dialect: Volcengine KMS's OpenAPI (seed 003, `volcenginesdk-kms` 5.0.54), exactly.

`/?Action={Action}&Version=2021-02-18`, POST with a JSON body (GET with query parameters for the actions
the SDK sends so), signed with HMAC-SHA256 (signer.py), answered in seed 003's envelope. wire.py holds
the parameters, server.py parses and shapes, client.py is HttpBackend's side, shapes.py the objects.
"""

from __future__ import annotations

from collections.abc import Callable

from ...domain import model
from ...domain.capabilities import VOLCENGINE as CAPABILITIES
from ...domain.errors import KmsError
from .. import HttpCall, Parsed, Results, Send, WireRequest, WireResponse, register
from . import client, signer


class Volcengine:
    name = "volcengine"
    # What Volcengine's API can do (aliases: none; a key replicates only if created multi-region ...).
    capabilities = CAPABILITIES

    def owns(self, req: WireRequest) -> bool:
        return req.path == "/" and (req.method == "POST" or (req.method == "GET" and req.param("Action") is not None))

    def authenticate(self, req: WireRequest, secret_for: Callable[[str], str | None]) -> tuple[str, str]:
        cred = signer.verify(method=req.method, path=req.path, query=req.query, headers=req.headers, body=req.body,
                             secret_for=secret_for)
        req.notes["region"] = cred.region  # the answer's envelope names it
        return cred.access_key, cred.region

    def parse(self, req: WireRequest) -> Parsed:
        from . import server  # the server half loads on first use: a client never needs it

        return server.parse(req)

    def shape(self, req: WireRequest, action: Parsed, result: Results) -> WireResponse:
        from . import server  # the server half loads on first use: a client never needs it

        return server.shape(req, action, result)

    def shape_error(self, req: WireRequest, error: KmsError) -> WireResponse:
        from . import server  # the server half loads on first use: a client never needs it

        return server.shape_error(req, error)

    def execute(self, region: str, action: model.Action, send: Send) -> model.Result:
        return client.execute(region, action, send)

    def throttled(self, status: int, body: bytes) -> bool:
        return client.throttled(status, body)

    def sign(self, region: str, call: HttpCall, host: str, access_key: str, secret_key: str) -> dict[str, str]:
        return signer.sign(method=call.method, host=host, path=call.path, query=call.query, body=call.body,
                           access_key=access_key, secret_key=secret_key, region=region, headers=call.headers)


VOLCENGINE = register(Volcengine())
