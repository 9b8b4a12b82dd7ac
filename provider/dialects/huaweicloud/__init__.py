"""The `huaweicloud` dialect: Huawei Cloud KMS (DEW) exactly as `huaweicloudsdkkms` 3.1.219 speaks it.

Paths `/v1.0/{project_id}/kms/...` and `/v2/{project_id}/kms/...`, snake_case JSON, numeric key
states, the error body `{"error": {"error_code": "KMS.xxxx", "error_msg": ...}}`, signed with
`SDK-HMAC-SHA256`. The project id names the region (see `projects`). docs/dialect-huaweicloud.md
maps each operation to the domain's actions and lists our extensions.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ...domain import model, rules
from ...domain.capabilities import HUAWEICLOUD as CAPABILITIES
from ...domain.errors import KmsError, Throttled
from .. import HttpCall, Parsed, Results, Send, WireRequest, WireResponse, register, write_json
from . import client, codec, projects, signer

if TYPE_CHECKING:
    from . import server


_SERVER: Any = None


def _server() -> Any:
    # The server half (routes, request models) loads on first use: a client that only sends never needs it.
    global _SERVER
    if _SERVER is None:
        from . import server

        _SERVER = server
    return _SERVER

NAME = "huaweicloud"
ROUTES_KEPT = 4096
_JSON = [("Content-Type", "application/json")]


_ID_PREFIX = os.urandom(8).hex()
_ids = itertools.count(1)


def _request_id() -> str:
    # 32 hex digits as Huawei's ids are, distinct for each answer: this process's random half, then a
    # count (no system call for randomness per answer, issue 13).
    return f"{_ID_PREFIX}{next(_ids):016x}"


def _domain_id(result: Any) -> str:
    trn = getattr(result, "trn", None)
    if trn is None and isinstance(result, model.KeyPage) and result.keys:
        trn = result.keys[0].trn
    return _server().domain_of(trn or "")


class HuaweiCloud:
    """`project_ids` maps regions to project ids; None reads `KMS_PROJECT_IDS` when needed."""

    name = NAME
    # What Huawei Cloud's API can do (no keyrings; answers name no replica links ...).
    capabilities = CAPABILITIES

    def __init__(self, project_ids: Mapping[str, str] | None = None,
                 catalog: rules.RegionCatalog | None = None) -> None:
        self.project_ids = None if project_ids is None else dict(project_ids)
        self.catalog = catalog  # the stack's region catalog (None: Huawei Cloud's, or KMS_REGION_CATALOG)
        self._ops_built: Any = None  # server.operations(...), built on the first request served
        # The route of a (method, path), kept: every request on a path routes the same. A request's own
        # fields go in its notes (authenticate, parse and shape each need them).
        self._routes: dict[tuple[str, str], tuple[server.Operation, str, dict[str, str]]] = {}

    def __repr__(self) -> str:
        return f"HuaweiCloud(project_ids={self.project_ids!r})"

    @property
    def projects(self) -> Mapping[str, str]:
        return self.project_ids if self.project_ids is not None else projects.from_environment()

    def _region_of_project(self, project: str) -> str:
        region = projects.region_of(project, self.projects)
        if region is None:
            raise codec.BadUrl(
                f"project id '{project}' names no region: use a region's name or map the id with {projects.ENV}"
            )
        return region

    # --- server side ---------------------------------------------------------------------------------
    @property
    def _ops(self) -> Any:
        if self._ops_built is None:
            self._ops_built = _server().operations(self._region_of_project)
        return self._ops_built

    def owns(self, req: WireRequest) -> bool:
        return _server().PATH_RE.match(req.path) is not None

    def _route(self, req: WireRequest) -> tuple[server.Operation, str, dict[str, str]]:
        where = (req.method, req.path)
        found = self._routes.get(where)
        if found is None:
            found = _server().route(self._ops, req.method, req.path)  # raises for a path it does not serve
            if len(self._routes) >= ROUTES_KEPT:  # paths hold key ids: keep the memo bounded
                self._routes.clear()
            self._routes[where] = found
        return found

    def _fields(self, req: WireRequest) -> tuple[server.Operation, server.Fields]:
        read: tuple[server.Operation, server.Fields] | None = req.notes.get("fields")
        if read is None:
            op, _, params = self._route(req)
            read = req.notes["fields"] = (op, _server().read_fields(op, req.query, req.body, params))
        return read

    def authenticate(self, req: WireRequest, secret_for: Callable[[str], str | None]) -> tuple[str, str]:
        access_key = signer.verify(req.method, req.path, req.query, req.headers, req.body, secret_for)
        _, project, _ = self._route(req)
        return access_key, self._region_of_project(project)

    def parse(self, req: WireRequest) -> Parsed:
        op, fields = self._fields(req)
        return op.parse(fields)

    def shape(self, req: WireRequest, action: Parsed, result: Results) -> WireResponse:
        op, fields = self._fields(req)
        reply = op.shape(fields, action, result, _domain_id(result))
        body = b"" if reply.body is None else write_json(reply.body)
        return WireResponse(reply.status, body, [*_JSON, ("X-Request-Id", _request_id())])

    def shape_error(self, req: WireRequest, error: KmsError) -> WireResponse:
        status, code = codec.error_status_code(error)
        return WireResponse(status, codec.error_body(code, error.message), [*_JSON, ("X-Request-Id", _request_id())])

    # --- client side ---------------------------------------------------------------------------------
    def execute(self, region: str, action: model.Action, send: Send) -> model.Result:
        return client.execute(region, action, send, self.projects, self.catalog)

    def throttled(self, status: int, body: bytes) -> bool:
        # Only an error answer can be a throttling one: a success's body is not read here.
        return status == 429 or (status >= 400 and isinstance(codec.read_error(status, body), Throttled))

    def sign(self, region: str, call: HttpCall, host: str, access_key: str, secret_key: str) -> dict[str, str]:
        return signer.sign(call.method, call.path, call.query, call.headers, call.body, host, access_key, secret_key)


DIALECT = register(HuaweiCloud())

__all__ = ["DIALECT", "NAME", "HuaweiCloud"]
