"""The `huaweicloud` dialect: Huawei Cloud KMS (DEW) exactly as `huaweicloudsdkkms` 3.1.219 speaks it.

Paths `/v1.0/{project_id}/kms/...` and `/v2/{project_id}/kms/...`, snake_case JSON, numeric key
states, the error body `{"error": {"error_code": "KMS.xxxx", "error_msg": ...}}`, signed with
`SDK-HMAC-SHA256`. The project id names the region (see `projects`). docs/dialect-huaweicloud.md
maps each operation to the domain's actions and lists our extensions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ...domain import model, rules
from ...domain.capabilities import HUAWEICLOUD as CAPABILITIES
from ...domain.errors import Throttled
from .. import HttpCall, Send, ServedApi, register
from . import client, codec, projects, signer

if TYPE_CHECKING:
    from .server import HuaweiServer

NAME = "huaweicloud"
_REGIONS_KEPT = 1024


class HuaweiCloud:
    """`project_ids` maps regions to project ids; None reads `KMS_PROJECT_IDS` when needed."""

    name = NAME
    # What Huawei Cloud's API can do (no keyrings; answers name no replica links ...).
    capabilities = CAPABILITIES

    def __init__(self, project_ids: Mapping[str, str] | None = None,
                 catalog: rules.RegionCatalog | None = None) -> None:
        self.project_ids = None if project_ids is None else dict(project_ids)
        self.catalog = catalog  # the stack's region catalog (None: Huawei Cloud's, or KMS_REGION_CATALOG)
        self._served: HuaweiServer | None = None
        self._regions: dict[tuple[str, str | None, str | None], str] = {}

    def __repr__(self) -> str:
        return f"HuaweiCloud(project_ids={self.project_ids!r})"

    @property
    def projects(self) -> Mapping[str, str]:
        return self.project_ids if self.project_ids is not None else projects.from_environment()

    def region_of_project(self, project: str) -> str:
        """The region a project id names, under the settings in force (kept per id and settings: the server
        asks on every request, and reading the settings costs more than the rest of its work on a call)."""
        environ = os.environ
        where = (project, environ.get(projects.ENV) if self.project_ids is None else None,
                 environ.get(rules.CATALOG_ENV))
        region = self._regions.get(where)
        if region is None:
            region = projects.region_of(project, self.projects)
            if region is None:
                raise codec.BadUrl(
                    f"project id '{project}' names no region: use a region's name or map the id with {projects.ENV}"
                )
            if len(self._regions) >= _REGIONS_KEPT:  # ids come from request paths: bounded
                self._regions.clear()
            self._regions[where] = region
        return region

    def served(self) -> ServedApi:
        if self._served is None:
            from .server import HuaweiServer  # the server half (routes, request models): a client never loads it

            self._served = HuaweiServer(self.region_of_project)
        return self._served

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
