"""Where the backend is and who we are.

Pulumi stack config (namespace `kms`, https://www.pulumi.com/docs/iac/concepts/config/) wins; environment
variables are the fallback. No credential
is ever kept on an object that gets pickled into Pulumi state: settings are read per call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .backend import Backend
from .client import KmsClient
from .domain import capabilities as caps
from .domain import rules
from .domain.errors import InvalidParameter
from .values import Value, field

DEFAULT_REGION = "cn-north-4"
EMULATOR_DIR = ".kms-emulator"
DEFAULT_DIALECT = "volcengine"


class Settings(Value):
    region: str = DEFAULT_REGION
    endpoint: str | None = None
    dialect: str = DEFAULT_DIALECT  # the real cloud API the endpoint speaks (docs/wire-protocol.md)
    project_ids: Mapping[str, str] = field(default_factory=dict)  # huaweicloud: region -> project id
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    emulator_path: Path = Path(EMULATOR_DIR)
    region_catalog: str | None = None  # kms:regionCatalog / KMS_REGION_CATALOG: a JSON file's path or inline JSON
    region_catalog_setting: str = rules.CATALOG_ENV  # which of the two gave it (errors name it)

    @property
    def embedded(self) -> bool:
        return not self.endpoint

    @property
    def cloud(self) -> str | None:
        """The cloud whose API the backend speaks: the dialect's name; None for the embedded emulator."""
        return None if self.embedded else self.dialect

    @property
    def capabilities(self) -> caps.Capabilities:
        """What the configured backend can do: by `kms:dialect`, never by the endpoint's host name."""
        if self.embedded:
            return caps.EMULATOR
        from .dialects import dialect

        found: caps.Capabilities = getattr(dialect(self.dialect), "capabilities", caps.EMULATOR)
        return found

    @property
    def catalog(self) -> rules.RegionCatalog:
        """The region catalog in force: the override, else the configured cloud's own (the embedded
        emulator: Huawei Cloud's)."""
        return rules.catalog(self.cloud, self.region_catalog, self.region_catalog_setting)


def _project_dir(start: Path) -> Path:
    """The directory of the stack's Pulumi.yaml at or above `start`, else `start` itself."""
    for d in (start, *start.parents):
        if (d / "Pulumi.yaml").exists() or (d / "Pulumi.yml").exists():
            return d
    return start


def settings(
    config: Mapping[str, str | None] | None = None, environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Settings:
    """Resolve the settings: `config` holds stack config keys without the `kms:` prefix."""
    config = config or {}
    env = os.environ if environ is None else environ

    def pick(key: str, var: str) -> str | None:
        value = config.get(key)
        if value in (None, ""):
            value = env.get(var)
        return value or None

    path = pick("emulatorPath", "KMS_EMULATOR_PATH")
    dialect = pick("dialect", "KMS_DIALECT") or DEFAULT_DIALECT
    if dialect != DEFAULT_DIALECT:
        # A typo must fail at preview, not fall back to another cloud's API (the registry's own check).
        from .dialects import dialect as known_dialect

        known_dialect(dialect)
    project_ids = _project_ids(config, env, dialect)
    region_catalog, catalog_setting = config.get("regionCatalog"), "kms:regionCatalog"
    if region_catalog in (None, ""):
        region_catalog, catalog_setting = env.get(rules.CATALOG_ENV), rules.CATALOG_ENV
    endpoint = pick("endpoint", "KMS_ENDPOINT")
    if endpoint:
        check_endpoint(endpoint, "kms:endpoint" if config.get("endpoint") else "KMS_ENDPOINT")
    # A bad catalog fails here, naming the setting. Without kms:region, the catalog's first region (Huawei
    # Cloud's: cn-north-4; Volcengine's: cn-beijing).
    regions = rules.catalog(dialect if endpoint else None, region_catalog or None, catalog_setting)
    return Settings(
        region=pick("region", "KMS_REGION") or next(iter(regions.names), DEFAULT_REGION),
        endpoint=endpoint,
        dialect=dialect,
        project_ids=project_ids,
        access_key=pick("accessKey", "KMS_ACCESS_KEY"),
        secret_key=pick("secretKey", "KMS_SECRET_KEY"),
        # Only a default path needs the project's directory (a walk up the tree, per call: cwd may change).
        emulator_path=_emulator_path(path, env) if path else _project_dir((cwd or Path.cwd()).resolve()) / EMULATOR_DIR,
        region_catalog=region_catalog or None,
        region_catalog_setting=catalog_setting,
    )


STACK_PLACEHOLDER = "{stack}"
STACK_ENV = "KMS_STACK"  # the stack's name: set by this project's engine hosts (and kmsctl --stack)


def _emulator_path(path: str, env: Mapping[str, str]) -> Path:
    """kms:emulatorPath, with `{stack}` replaced by the stack's name: one emulator per stack. The default stays
    one per project (`.kms-emulator/` beside Pulumi.yaml), like one cloud account that a project's stacks
    share: names collide between its stacks there as they would in the cloud, and a stack made before
    this setting existed keeps its keys."""
    if STACK_PLACEHOLDER not in path:
        return Path(path)
    stack = env.get(STACK_ENV, "")
    if not stack or "/" in stack or stack in (".", ".."):
        raise InvalidParameter(
            f"kms:emulatorPath: {path!r} names {STACK_PLACEHOLDER} but the stack is not known here: "
            f"{STACK_ENV} must hold the stack's name (this project's engine sets it; with another engine set it)"
        )
    return Path(path.replace(STACK_PLACEHOLDER, stack))


def check_endpoint(endpoint: str, setting: str) -> None:
    """An endpoint is an http(s) URL with a host: anything else must fail at preview, naming the setting,
    not at the first request of `up`."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(endpoint.replace("{region}", "r"))  # a per-region endpoint names its region so
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidParameter(
            f"{setting}: {endpoint!r} is not a URL: the endpoint is http:// or https:// followed by a host "
            "(and an optional port), e.g. https://kms.cn-north-4.myhuaweicloud.com"
        )


def _project_ids(config: Mapping[str, str | None], env: Mapping[str, str], dialect: str) -> dict[str, str]:
    """`kms:projectIds` / `KMS_PROJECT_IDS` (`region=id,...`): Huawei Cloud names a region by a project id."""
    raw, setting = config.get("projectIds"), "kms:projectIds"
    if raw in (None, ""):
        raw, setting = env.get("KMS_PROJECT_IDS"), "KMS_PROJECT_IDS"
    if not raw:
        return {}
    # Only now: the dialect's import is not worth paying on every call of a stack that sets no ids.
    from .dialects.huaweicloud import NAME, projects

    if dialect != NAME:
        raise InvalidParameter(f"{setting}: project ids are for the {NAME} dialect; kms:dialect is {dialect!r}")
    return projects.parse(raw, setting)


def open_backend(s: Settings) -> Backend:
    if s.embedded:
        from .backend.embedded import EmbeddedBackend

        return EmbeddedBackend(s.emulator_path, catalog=s.catalog)
    from .backend.http import HttpBackend

    assert s.endpoint is not None
    from .dialects import dialect

    chosen = dialect(s.dialect)
    if s.dialect == "huaweicloud":
        from .dialects.huaweicloud import HuaweiCloud

        chosen = HuaweiCloud(project_ids=s.project_ids or None, catalog=s.catalog)
    return HttpBackend(s.endpoint, access_key=s.access_key, secret_key=s.secret_key, dialect=chosen)


def connect(s: Settings | None = None) -> KmsClient:
    """A `KmsClient` on the configured backend, in the configured region."""
    s = s or settings()
    return KmsClient(open_backend(s), s.region)
