"""Pulumi's own dynamic-provider host, run as a stock Pulumi install runs it (`python -m pulumi.dynamic`).

The harness's `pulumi-resource-pulumi-python` shim runs whatever $KMS_PROVIDER_HOST names: pointing it here
shows what the resources do without this project's host (no URN, no random seed reach `check`).
"""

from __future__ import annotations

import os
import runpy
import sys

sys.path[0] = os.getcwd()  # what `python -m` puts first: the program's directory
runpy.run_module("pulumi.dynamic", run_name="__main__", alter_sys=True)
