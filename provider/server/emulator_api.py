"""What only an emulator has, on its own path outside both clouds' APIs: `POST /_emulator/clock/advance`.

Neither cloud's API can move a service clock, so this is not part of either dialect (LocalStack keeps its
own internals under `/_localstack/` the same way). A request here is signed like any other, with either
cloud's signature: `SDK-HMAC-SHA256` is checked as Huawei Cloud's SDK signs, anything else as Volcengine's.
The caller's dialect also shapes the errors, so each client reads them as it reads its cloud's.

    POST /_emulator/clock/advance   {"seconds": 86400}   ->   {"now": 1767225600.0, "offset_seconds": 86400}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..dialects import Call, Parsed, Results, ServedApi, WireRequest, WireResponse
from ..dialects.emulator_clock import CLOCK_PATH
from ..dialects.huaweicloud import DIALECT as HUAWEI
from ..dialects.huaweicloud import HuaweiCloud
from ..dialects.huaweicloud import projects as huawei_projects
from ..dialects.huaweicloud import signer as huawei_signer
from ..dialects.json_body import read_json, write_json
from ..dialects.volcengine import VOLCENGINE
from ..dialects.volcengine import signer as volcengine_signer
from ..domain import model
from ..domain.errors import InvalidParameter, KmsError, NotFound

PREFIX = "/_emulator/"


def _huawei_signed(req: WireRequest) -> bool:
    """Whether the request carries Huawei Cloud's signature (else it is checked as Volcengine's)."""
    return req.headers.get("authorization", "").lstrip().startswith(huawei_signer.ALGORITHM)


class EmulatorApi:
    """The emulator's own endpoints, routed by `KmsApp` before the clouds' dialects."""

    name = "emulator"

    def owns(self, req: WireRequest) -> bool:
        return req.path.startswith(PREFIX)

    def authenticate(self, req: WireRequest, secret_for: Callable[[str], str | None]) -> Call:
        if not _huawei_signed(req):
            cred = volcengine_signer.verify(method=req.method, path=req.path, query=req.query, headers=req.headers,
                                            body=req.body, secret_for=secret_for)
            return Call(req, "AdvanceClock", cred.region, None, cred.access_key)  # the credential scope's region
        access_key = huawei_signer.verify(req.method, req.path, req.query, req.headers, req.body, secret_for)
        # Huawei's SDK sends the project id as X-Project-Id (signed); it names the region here.
        project = req.headers.get("x-project-id", "")
        if not project:
            raise InvalidParameter("X-Project-Id is required: the project id of the region to act in")
        assert isinstance(HUAWEI, HuaweiCloud)
        region = huawei_projects.region_of(project, HUAWEI.projects)
        if region is None:
            raise InvalidParameter(f"X-Project-Id '{project[:64]}' names no region: use a region's name or map the "
                                   f"id with {huawei_projects.ENV}")
        return Call(req, "AdvanceClock", region, None, access_key)

    def decode(self, call: Call) -> Call:
        req = call.wire
        if req.path != CLOCK_PATH or req.method != "POST":
            raise NotFound(f"{req.method} {req.path[:128]} is no endpoint of the emulator; it has POST {CLOCK_PATH}")
        try:
            doc: Any = read_json(req.body) if req.body.strip() else None
        except (ValueError, RecursionError):
            raise InvalidParameter("The request body is invalid: not JSON; send {\"seconds\": N}") from None
        if not isinstance(doc, dict) or set(doc) != {"seconds"}:
            raise InvalidParameter("The request body must be the JSON object {\"seconds\": N} and nothing else")
        seconds = doc["seconds"]
        if not isinstance(seconds, int) or isinstance(seconds, bool):
            raise InvalidParameter("seconds must be a whole number of seconds")
        return call._replace(params=seconds)

    def parse(self, call: Call) -> Parsed:
        return model.AdvanceClock(seconds=call.params)

    def shape(self, call: Call, action: Parsed, result: Results) -> WireResponse:
        assert isinstance(result, model.Clock)
        return WireResponse(200, write_json({"now": result.now, "offset_seconds": int(result.offset_seconds)}))

    def shape_error(self, call: Call, error: KmsError) -> WireResponse:
        # The caller's dialect shapes the errors, so each client reads them as it reads its cloud's.
        signer: ServedApi = (HUAWEI if _huawei_signed(call.wire) else VOLCENGINE).served()
        return signer.shape_error(call, error)
