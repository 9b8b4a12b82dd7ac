"""`kmsctl serve` as a process (README, "kmsctl"): credentials or a clear refusal, loopback by default,
a graceful stop on SIGTERM, every acknowledged write kept through a SIGKILL, and no secret in its log."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from provider.client import KmsClient
from provider.domain import model
from provider.domain.errors import KmsError
from tests.support.live_server import KMSCTL, SECRET_KEY, KmsctlServer, free_port
from tests.wire.conftest import KR, REGION, post


def _serve(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("KMS_ACCESS_KEY", "KMS_SECRET_KEY", "KMS_RATE_LIMIT")}
    return subprocess.run([*KMSCTL, "serve", "--port", str(free_port()), *args], env=clean | env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("env", "missing"), [
    ({}, "KMS_ACCESS_KEY and KMS_SECRET_KEY not set"),
    ({"KMS_ACCESS_KEY": "AK1"}, "KMS_SECRET_KEY not set"),
    ({"KMS_SECRET_KEY": "SK1"}, "KMS_ACCESS_KEY not set"),
])
def test_refuses_to_start_without_credentials(env: dict[str, str], missing: str, tmp_path: Path) -> None:
    done = _serve(env, "--state", str(tmp_path / "state"))
    assert done.returncode == 2
    assert missing in done.stderr and "export" in done.stderr
    assert not (tmp_path / "state").exists(), "it refused, yet it touched the state"


def test_refuses_a_bad_rate_limit(tmp_path: Path) -> None:
    done = _serve({"KMS_ACCESS_KEY": "AK1", "KMS_SECRET_KEY": "SK1", "KMS_RATE_LIMIT": "fast"},
                  "--state", str(tmp_path / "state"))
    assert done.returncode == 2 and "KMS_RATE_LIMIT" in done.stderr and "'fast'" in done.stderr


def _listening_address(port: int) -> str:
    """The local address of the listening socket on `port`, from the kernel's table."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                return address
    raise AssertionError(f"nothing listens on port {port}")


def test_listens_on_loopback_by_default(kmsctl: KmsctlServer) -> None:
    assert _listening_address(kmsctl.port) == "0100007F"  # 127.0.0.1, little-endian hex


def test_sigterm_lets_the_running_request_finish(tmp_path: Path) -> None:
    server = KmsctlServer(tmp_path / "state").start()
    backend = server.backend(retries=0)
    outcome: dict[str, object] = {}

    def slow_create() -> None:
        try:
            # RSA-4096 generation takes a while: the signal arrives while the request runs.
            outcome["key"] = backend.execute(REGION, model.CreateKey(name="in-flight", spec="RSA_4096"))
        except KmsError as err:
            outcome["error"] = err

    writer = threading.Thread(target=slow_create)
    writer.start()
    time.sleep(0.1)
    assert server.proc is not None
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(30) == 0
    writer.join(30)
    backend.close()
    assert "error" not in outcome, outcome
    assert "state is closed" in server.log()

    with KmsctlServer(tmp_path / "state") as again:
        key = post(again.endpoint, "DescribeKey", {"KeyName": "in-flight"}).result["Key"]
        assert key["KeySpec"] == "RSA_4096" and key["KeyState"] == "Enable"


def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    """Two clients write as fast as they can; the server is killed mid-stream; after a restart on the
    same state every create and every tag value the clients saw acknowledged is there."""
    server = KmsctlServer(tmp_path / "state").start()
    tagged = post(server.endpoint, "CreateKey", {**KR, "KeyName": "tagged"}).result["Key"]["ID"]
    created: list[str] = []
    last_tag = [-1]
    stop = threading.Event()

    def create_stream() -> None:
        kms = KmsClient(server.backend(retries=0, timeout=10), REGION)
        for i in range(10_000):
            if stop.is_set():
                return
            try:
                created.append(kms.create_key(f"durable-{i}").key_id)
            except KmsError:
                return

    def tag_stream() -> None:
        kms = KmsClient(server.backend(retries=0, timeout=10), REGION)
        for i in range(10_000):
            if stop.is_set():
                return
            try:
                kms.tag_resources(tagged, {"counter": str(i)})
            except KmsError:
                return
            last_tag[0] = i

    writers = [threading.Thread(target=create_stream), threading.Thread(target=tag_stream)]
    for w in writers:
        w.start()
    deadline = time.monotonic() + 60
    while (len(created) < 40 or last_tag[0] < 40) and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()  # SIGKILL, in the middle of both streams
    stop.set()
    for w in writers:
        w.join(30)
    assert len(created) >= 40 and last_tag[0] >= 40

    with KmsctlServer(tmp_path / "state") as again:
        kms = KmsClient(again.backend(), REGION)
        present = {k.key_id for k in kms.list_keys()}
        lost = [key_id for key_id in created if key_id not in present]
        assert not lost, f"{len(lost)} acknowledged keys lost"
        counter = int(kms.describe_key(tagged).tags["counter"])
        # The tag write in flight at the kill may or may not have landed; every acknowledged one did.
        assert counter >= last_tag[0]


def test_no_secret_reaches_the_server_log(tmp_path: Path) -> None:
    server = KmsctlServer(tmp_path / "state", log_level="debug").start()
    kms = KmsClient(server.backend(), REGION)
    plaintext = b"plaintext-that-must-never-be-logged"
    key = kms.create_key("logged").key_id
    blob = kms.encrypt(key, plaintext, {"purpose": "log-test"})
    assert kms.decrypt(blob, {"purpose": "log-test"})[1] == plaintext
    _, data_key, wrapped = kms.generate_data_key(key)
    external = kms.create_key("logged-external", origin="External").key_id
    material = bytes(range(100, 132))
    kms.import_material(external, material)
    # Refused and malformed requests are logged too: their secrets must stay out as well.
    post(server.endpoint, "Encrypt", {"KeyID": key, "Plaintext": base64.b64encode(plaintext).decode()},
         secret_key=SECRET_KEY + "-wrong")
    post(server.endpoint, "Encrypt", {"KeyID": key, "Plaintext": base64.b64encode(plaintext).decode() + "!"})
    post(server.endpoint, "Encrypt", b'{"Plaintext": "' + base64.b64encode(plaintext) + b'", broken')
    server.stop()
    log = server.log()
    assert "denied" in log and "state is closed" in log, "the log is not the server's"
    for secret in (SECRET_KEY, plaintext.decode(), base64.b64encode(plaintext).decode(),
                   base64.b64encode(data_key).decode(), data_key.hex(), base64.b64encode(material).decode(),
                   material.hex()):
        assert secret not in log, f"the server log holds a secret: {secret[:12]}..."
    assert base64.b64encode(wrapped).decode()[:20] not in log
