"""What `kmsctl encrypt` imports before its first call is what its user waits for (benchmarks/startup.py
measures it): none of the modules below, each of which costs a sizeable share of a bare interpreter's
start, is on its way, through an endpoint in either dialect or on the embedded emulator."""

from __future__ import annotations

import subprocess
import sys

import pytest

# http.client brings the email package and ssl; dataclasses brings inspect; orjson and pydantic are the
# server's; shutil brings the compressors (argparse's help formatter would import it); rich is drawing.
NOT_ON_THE_WAY = ("http.client", "email", "ssl", "dataclasses", "inspect", "orjson", "pydantic", "shutil",
                  "random", "rich", "typer", "click", "uvicorn", "provider.emulator")


@pytest.mark.parametrize("dialect", ["volcengine", "huaweicloud", None])
def test_kmsctl_encrypt_imports_nothing_it_does_not_use(dialect: str | None) -> None:
    backend = (f"from provider.backend.http import HttpBackend; "
               f"HttpBackend('http://127.0.0.1:1', access_key='a', secret_key='b', dialect={dialect!r}); "
               if dialect else "")
    probe = ("import sys; from provider.cli import commands; "
             "commands._parse(['encrypt', '-k', 'cn-north-4:alias/a', 'in', 'out']); "
             "import provider.cli.envelope; " + backend +
             f"print(sorted(m for m in {NOT_ON_THE_WAY!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
