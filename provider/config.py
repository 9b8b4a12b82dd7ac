"""Where the backend is and who we are (contract section 3).

Pulumi stack config (namespace `kms`) wins; environment variables are the fallback. No credential
is ever kept on an object that gets pickled into Pulumi state: settings are read per call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .backend import Backend
from .client import KmsClient
from .domain.errors import InvalidParameter
from .values import Value, field

DEFAULT_REGION = "cn-north-4"
EMULATOR_DIR = ".kms-emulator"
DEFAULT_DIALECT = "volcengine"


class Settings(Value):
    region: str = DEFAULT_REGION
    endpoint: str | None = None
    dialect: str = DEFAULT_DIALECT  # the real API the endpoint speaks (contract section 4)
    project_ids: Mapping[str, str] = field(default_factory=dict)  # huaweicloud: region -> project id
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    emulator_path: Path = Path(EMULATOR_DIR)

    @property
    def embedded(self) -> bool:
        return not self.endpoint


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
    return Settings(
        region=pick("region", "KMS_REGION") or DEFAULT_REGION,
        endpoint=pick("endpoint", "KMS_ENDPOINT"),
        dialect=dialect,
        project_ids=project_ids,
        access_key=pick("accessKey", "KMS_ACCESS_KEY"),
        secret_key=pick("secretKey", "KMS_SECRET_KEY"),
        # Only a default path needs the project's directory (a walk up the tree, per call: cwd may change).
        emulator_path=Path(path) if path else _project_dir((cwd or Path.cwd()).resolve()) / EMULATOR_DIR,
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


def unavailable(s: Settings, what: str) -> str | None:
    """Why the configured endpoint cannot serve our extension `what` (`alias`, `clock`): a real cloud's
    own endpoint has none. None for the embedded emulator and for servers of the dialect."""
    if s.embedded or not s.endpoint:
        return None
    from .dialects import dialect

    check = getattr(dialect(s.dialect), "unavailable", None)
    return check(s.endpoint, what) if check is not None else None


def open_backend(s: Settings) -> Backend:
    if s.embedded:
        from .backend.embedded import EmbeddedBackend

        return EmbeddedBackend(s.emulator_path)
    from .backend.http import HttpBackend

    assert s.endpoint is not None
    from .dialects import dialect

    chosen = dialect(s.dialect)
    if s.project_ids:
        from .dialects.huaweicloud import HuaweiCloud

        chosen = HuaweiCloud(project_ids=s.project_ids)
    return HttpBackend(s.endpoint, access_key=s.access_key, secret_key=s.secret_key, dialect=chosen)


def client(s: Settings | None = None) -> KmsClient:
    s = s or settings()
    return KmsClient(open_backend(s), s.region)
