"""Project ids: Huawei Cloud names the region of a request by the project id in its path.

`kms:projectIds` / `KMS_PROJECT_IDS` (`region=id,...`) map each region to its project id, for the
provider (which id to put in the path) and for `kmsctl serve` (which region an id names). A project
id that is a region's own name (`cn-north-4`) names that region: the emulator's default.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from ...domain import rules
from ...domain.errors import InvalidParameter

ENV = "KMS_PROJECT_IDS"
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def parse(text: str | None, setting: str = ENV) -> dict[str, str]:
    """`region=id,...` as {region: id}; a wrong entry fails naming `setting` and the rule."""
    out: dict[str, str] = {}
    for entry in (text or "").split(","):
        entry = entry.strip()
        if not entry:
            continue
        region, sep, project = (part.strip() for part in entry.partition("="))
        if not sep or not region or not project:
            raise InvalidParameter(f"{setting}: '{entry}' must be region=project_id (entries separated by commas)")
        rules.catalog().region(region, f"{setting}: region")
        if not _ID_RE.match(project):
            raise InvalidParameter(
                f"{setting}: project id '{project}' of {region} must be 1-64 letters, digits, - or _"
            )
        if region in out:
            raise InvalidParameter(f"{setting}: region {region} is given twice")
        out[region] = project
    owners: dict[str, str] = {}
    for region, project in out.items():
        if project in owners or (project in rules.catalog().names and project != region):
            raise InvalidParameter(f"{setting}: project id '{project}' names two regions; each region needs its own")
        owners[project] = region
    return out


def region_of(project: str, projects: Mapping[str, str]) -> str | None:
    """The region a project id names: a configured id, or a region's own name; None otherwise."""
    for region, pid in projects.items():
        if pid == project:
            return region
    return project if project in rules.catalog().names else None


def from_environment() -> Mapping[str, str]:
    """`KMS_PROJECT_IDS` as {region: id}: what `kmsctl serve` maps project ids with."""
    return _parsed(os.environ.get(ENV) or "")


@lru_cache(maxsize=4)
def _parsed(text: str) -> Mapping[str, str]:
    # Read on every request of the server; parsed once per value.
    return MappingProxyType(parse(text))
