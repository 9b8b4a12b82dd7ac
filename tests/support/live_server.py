"""Real servers on loopback for the tests.

`KmsctlServer` runs `kmsctl serve` as a subprocess (the faithful one: own process, signals, stderr);
`ThreadServer` runs the same application on uvicorn in a thread of the test process (starts in a few
milliseconds, for the backend-conformance suite that needs a fresh state for every test). Both really
listen on a loopback port and are spoken to over HTTP.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

import requests
import uvicorn
from requests.auth import AuthBase

from provider.backend.http import HttpBackend
from provider.dialects.volcengine import signer
from provider.server.app import KmsApp
from provider.server.run import config

ACCESS_KEY = "AKTESTKEY0000001"
SECRET_KEY = "test-secret-Zx9qL2mN8pR4tV6wY1bC3dF5gH7jK0"  # distinctive, so a log can be searched for it
KMSCTL = [sys.executable, "-c", "import sys; from provider.cli import main; sys.argv[0] = 'kmsctl'; main()"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class KmsctlServer:
    """`kmsctl serve --port P --state DIR` in a subprocess; stderr goes to `log_path`."""

    def __init__(self, state: Path, *, env: Mapping[str, str] | None = None, access_key: str = ACCESS_KEY,
                 secret_key: str = SECRET_KEY, log_level: str = "info") -> None:
        self.state = state
        self.access_key = access_key
        self.secret_key = secret_key
        self.log_level = log_level
        self.port = 0
        self.env = {**os.environ, "KMS_ACCESS_KEY": access_key, "KMS_SECRET_KEY": secret_key, **(env or {})}
        self.log_path = state.parent / f"{state.name}-server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> KmsctlServer:
        for _ in range(3):  # a port picked free can be taken before the server binds it: pick another
            self.port = free_port()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [*KMSCTL, "serve", "--port", str(self.port), "--state", str(self.state),
                     "--log-level", self.log_level],
                    env=self.env, stdout=log, stderr=subprocess.STDOUT,
                )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if _listening(self.port):
                    return self
                time.sleep(0.02)
            else:
                self.kill()
                raise TimeoutError(f"kmsctl serve did not listen within {timeout} s; log:\n{self.log()}")
        raise RuntimeError(f"kmsctl serve exited with {self.proc and self.proc.returncode}; log:\n{self.log()}")

    def backend(self, *, retries: int = 4, timeout: float = 30.0) -> HttpBackend:
        return HttpBackend(self.endpoint, access_key=self.access_key, secret_key=self.secret_key, retries=retries,
                           timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, the graceful way; SIGKILL if it does not stop in time."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self) -> KmsctlServer:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        try:
            self.stop()
        finally:
            self.kill()


class ThreadServer:
    """`app` on uvicorn in a background thread, on a socket bound before the thread starts."""

    def __init__(self, app: KmsApp) -> None:
        self.app = app
        # IPPROTO_TCP given explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
        # without it every keep-alive answer waits 40 ms for a delayed ACK.
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.server = uvicorn.Server(config(app, "127.0.0.1", self.port, log_level="warning", own_logging=False))
        self.thread = threading.Thread(target=self._run, name=f"kms-server-{self.port}", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def backend(self, *, retries: int = 4, timeout: float = 30.0) -> HttpBackend:
        return HttpBackend(self.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, retries=retries,
                           timeout=timeout)

    def _run(self) -> None:
        asyncio.run(self.server.serve(sockets=[self.sock]))

    def start(self, timeout: float = 10.0) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the in-thread server did not start")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()

    def __enter__(self) -> ThreadServer:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


class HmacAuth(AuthBase):
    """Signs any `requests` call as the volcengine dialect does: `requests.post(url, auth=HmacAuth(...))`.

    For tools that make their own requests (a fuzzer, a script)."""

    def __init__(self, access_key: str, secret_key: str, region: str) -> None:
        self.access_key = access_key
        self._secret_key = secret_key
        self.region = region

    def __repr__(self) -> str:
        return f"HmacAuth(access_key={self.access_key!r}, region={self.region!r}, secret_key=<hidden>)"

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        parts = urlsplit(r.url or "")
        body = r.body if isinstance(r.body, bytes) else (r.body or "").encode()
        covered = {"Content-Type": r.headers["Content-Type"]} if "Content-Type" in r.headers else {}
        r.headers.update(signer.sign(
            method=r.method or "POST", host=parts.netloc, path=parts.path or "/",
            query=parse_qsl(parts.query, keep_blank_values=True), body=body, access_key=self.access_key,
            secret_key=self._secret_key, region=self.region, headers=covered,
        ))
        return r
