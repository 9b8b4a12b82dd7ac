"""`kmsctl serve`: the emulator as a shared server speaking both clouds' KMS APIs on one port (the
[server] extra). Huawei Cloud KMS: https://support.huaweicloud.com/intl/en-us/api-dew/CreateKey.html;
Volcengine KMS: https://www.volcengine.com/docs/6476/1337064."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .commands import Failed, UsageError, require_extra

if TYPE_CHECKING:
    from argparse import Namespace

LOG_LEVELS = ("debug", "info", "warning", "error")


def serve_command(args: Namespace) -> None:
    """Serve the emulator over HTTP, every request signed with the one key pair of the environment."""
    require_extra("server", "kmsctl serve")
    access_key = os.environ.get("KMS_ACCESS_KEY", "").strip()
    secret_key = os.environ.get("KMS_SECRET_KEY", "").strip()
    missing = [name for name, value in (("KMS_ACCESS_KEY", access_key), ("KMS_SECRET_KEY", secret_key)) if not value]
    if missing:
        raise Failed(f"kmsctl serve: {' and '.join(missing)} not set. The server checks the signature of every "
                     "request against one access key / secret key pair: export KMS_ACCESS_KEY and KMS_SECRET_KEY "
                     "(the same pair the clients use) and start it again.", 2)
    log_level: str = args.log_level
    if log_level.lower() not in LOG_LEVELS:
        raise UsageError(f"must be debug, info, warning or error, not {log_level!r}", "--log-level")

    from ..domain.errors import KmsError
    from ..server import serve as run
    from .stack import StackError, resolve

    state = Path(args.state) if args.state is not None else None
    if state is None:
        try:
            state = resolve(args.stack).emulator_path  # with --stack: that stack's kms:emulatorPath
        except (StackError, KmsError) as err:
            raise Failed(f"kmsctl serve: {err}", 2) from None
    try:
        run(state, args.host, args.port, access_key=access_key, secret_key=secret_key, log_level=log_level)
    except KmsError as err:
        raise Failed(f"kmsctl serve: {err.message}", 2) from None
