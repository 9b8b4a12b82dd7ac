"""`kmsctl review` trusts no input file: live keys come only from the backend the reviewer configured, any
malformed preview is one line on stderr and a non-zero exit, and its outputs never replace a file silently.

The previews are built in the engine's JSON shape (tests/review/synthetic.py): a hostile file is whatever its
author wrote, and the real engine's previews are reviewed in test_review.py."""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provider.client import KmsClient
from provider.emulator import Emulator
from provider.review import PreviewError, build, page, parse
from provider.review import markdown as md
from tests.support.cli import invoke

from .synthetic import preview

ROOT = Path(__file__).resolve().parents[2]
KMSCTL = [sys.executable, "-c", "import sys; sys.argv[0] = 'kmsctl'; from provider.cli import main; main()"]


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback port that records whether anything connects to it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    yield sock
    sock.close()


def connections(sock: socket.socket) -> int:
    n = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return n
        conn.close()
        n += 1


def run(args: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([*KMSCTL, *args], cwd=cwd, env=env, input=stdin, capture_output=True, text=True,
                          timeout=120, check=False)


def clean_env(**values: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("KMS_")}, **values}


def pending_family(kms: KmsClient) -> dict[str, Any]:
    """A preview that destroys a key which, live, is already pending deletion."""
    doc = preview(6)
    key = kms.in_region("cn-north-4").create_key("key0-abc")
    kms.in_region("cn-north-4").schedule_key_deletion(key.key_id, 7)
    primary = doc["steps"][1]
    primary["op"] = "delete"
    primary["oldState"]["id"] = key.key_id
    del primary["newState"]
    return doc


def test_an_endpoint_named_in_the_preview_is_never_contacted(listener: socket.socket, tmp_path: Path) -> None:
    kms = KmsClient(Emulator(tmp_path / "mine"), "cn-north-4")
    doc = pending_family(kms)
    port = listener.getsockname()[1]
    doc["config"] = {"kms:endpoint": f"http://127.0.0.1:{port}", "kms:dialect": "volcengine",
                     "kms:emulatorPath": str(tmp_path / "theirs"), "kms:region": "cn-north-4"}
    (tmp_path / "p.json").write_text(json.dumps(doc))
    # The reviewer's own backend: the environment's emulator, where the key is already pending deletion.
    done = run(["review", "p.json"], clean_env(KMS_EMULATOR_PATH=str(tmp_path / "mine")), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "already (pending deletion)" in done.stdout and "live keys not read" not in done.stdout
    assert connections(listener) == 0
    assert not (tmp_path / "theirs").exists()
    # With no backend of the reviewer's, the review still stands, says why, and still contacts nobody.
    bare = run(["review", "-"], clean_env(KMS_EMULATOR_PATH=str(tmp_path / "absent")), tmp_path,
               stdin=json.dumps(doc))
    assert bare.returncode == 0, bare.stderr
    assert f"live keys not read (no emulator state at {tmp_path / 'absent'})" in bare.stdout
    assert connections(listener) == 0
    assert not (tmp_path / "absent").exists() and not (tmp_path / "theirs").exists()


def test_the_reviewers_endpoint_is_used(listener: socket.socket, tmp_path: Path) -> None:
    """The other side of the rule: an endpoint the reviewer configured is the one read."""
    port = listener.getsockname()[1]
    doc = preview(6)
    doc["steps"][1]["op"] = "delete"
    del doc["steps"][1]["newState"]
    env = clean_env(KMS_ENDPOINT=f"http://127.0.0.1:{port}", KMS_ACCESS_KEY="AK", KMS_SECRET_KEY="SK-not-shown",
                    KMS_EMULATOR_PATH=str(tmp_path / "unused"))
    done = subprocess.Popen([*KMSCTL, "review", "-"], cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                                                    os.environ.get("PYTHONPATH")]))})
    assert done.stdin is not None
    done.stdin.write(json.dumps(doc))
    done.stdin.close()
    listener.setblocking(True)
    listener.settimeout(60)
    conn, _ = listener.accept()  # the review's read of the live key arrives here
    conn.close()
    done.kill()
    done.wait(30)


def refused(text: str, tmp_path: Path) -> str:
    (tmp_path / "bad.json").write_text(text)
    out = invoke(["review", str(tmp_path / "bad.json")])
    assert out.exit_code == 1, out.output
    lines = out.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.output
    assert out.exception is None or isinstance(out.exception, SystemExit)
    return lines[0]


def mutated(change: str) -> str:
    doc = preview(6)
    primary = doc["steps"][1]
    if change == "newState":
        primary["newState"] = "notadict"
    elif change == "inputs":
        primary["newState"]["inputs"] = ["region", "cn-north-4"]
    elif change == "oldState":
        primary["oldState"] = [1, 2]
    elif change == "id":
        primary["oldState"]["id"] = 12345
    elif change == "reasons":
        primary["replaceReasons"] = "key_spec"
    elif change == "deps":
        primary["newState"]["propertyDependencies"] = ["urn"]
    elif change == "region":
        primary["newState"]["inputs"]["region"] = {"nested": True}
    elif change == "pending_days":
        primary["oldState"]["inputs"]["pending_days"] = 1e300
    elif change == "deep_value":
        value: Any = "x"
        for _ in range(500):
            value = [value]
        primary["newState"]["inputs"]["tags"] = value
    elif change == "summary":
        doc["changeSummary"] = [1, 2]
    elif change == "config":
        doc["config"] = ["kms:endpoint"]
    elif change == "diagnostics":
        doc["diagnostics"] = {"severity": "error"}
    elif change == "type":
        primary["newState"]["type"] = "pulumi-python:dynamic/kms:Other\nsecond line"
    return json.dumps(doc)


@pytest.mark.parametrize(("change", "message"), [
    ("newState", "newState is a string, not an object"),
    ("inputs", "inputs is a list, not an object"),
    ("oldState", "oldState is a list, not an object"),
    ("id", "oldState.id is a number, not a string"),
    ("reasons", "replaceReasons is not a list of property names"),
    ("deps", "propertyDependencies is a list, not an object"),
    ("region", "region is an object, not a string"),
    ("pending_days", "pending_days is 1e+300, not a whole number of days 7..1096"),
    ("deep_value", "is nested more than 32 levels deep"),
    ("summary", "changeSummary is a list, not an object"),
    ("config", "config is a list, not an object"),
    ("diagnostics", "diagnostics is an object, not a list"),
    ("type", 'is not a resource of this provider'),
])
def test_each_malformed_shape_is_one_line(tmp_path: Path, change: str, message: str) -> None:
    line = refused(mutated(change), tmp_path)
    assert line.startswith(f"error: {tmp_path / 'bad.json'} is not a well-formed preview: ")
    assert message in line


def test_json_nested_deeper_than_the_parser_goes(tmp_path: Path) -> None:
    line = refused('{"steps": ' + "[" * 200_000 + "]" * 200_000 + "}", tmp_path)
    assert "nested too deeply to be a preview" in line


# Any JSON value, where the engine puts objects, lists and strings.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
PATHS = [("op",), ("urn",), ("oldState",), ("newState",), ("replaceReasons",), ("oldState", "id"),
         ("oldState", "inputs"), ("oldState", "outputs"), ("newState", "inputs"), ("newState", "type"),
         ("newState", "propertyDependencies"), ("newState", "inputs", "region"), ("oldState", "inputs", "pending_days"),
         ("newState", "inputs", "target_key_id"), ("newState", "inputs", "primary_key_id"),
         ("oldState", "outputs", "key_state"), ("newState", "inputs", "enabled"), ("newState", "inputs", "tags")]
BASE = preview(30)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.integers(0, len(BASE["steps"]) - 1), st.sampled_from(PATHS), json_values),
                      min_size=1, max_size=4),
       top=st.sampled_from([None, "config", "changeSummary", "diagnostics"]), top_value=json_values)
def test_any_shape_is_reviewed_or_refused_with_a_message(edits: list[tuple[int, tuple[str, ...], Any]],
                                                         top: str | None, top_value: Any) -> None:
    doc = copy.deepcopy(BASE)
    for index, path, value in edits:
        target: Any = doc["steps"][index]
        for part in path[:-1]:
            if not isinstance(target, dict):
                break
            target = target.setdefault(part, {})
        if isinstance(target, dict):
            target[path[-1]] = value
    if top is not None:
        doc[top] = top_value
    try:
        review = build(parse(json.dumps(doc)))
    except PreviewError as exc:
        assert "\n" not in str(exc)
        return
    md.render(review)
    page.render(review)


@pytest.fixture
def reviewable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KMS_EMULATOR_PATH", str(tmp_path / "absent"))
    monkeypatch.delenv("KMS_ENDPOINT", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.json").write_text(json.dumps(preview(10)))
    return tmp_path


def test_outputs_are_never_replaced_without_force(reviewable: Path) -> None:
    (reviewable / "r.md").write_text("my notes")
    (reviewable / "r.html").write_text("my page")
    md_out = invoke(["review", "p.json", "--markdown", "r.md"])
    assert md_out.exit_code == 1
    assert md_out.output == "error: --markdown r.md: the file exists and is kept; nothing was written " \
                            "(--force replaces it)\n"
    html_out = invoke(["review", "p.json", "--markdown", "new.md", "--html", "r.html"])
    assert html_out.exit_code == 1 and "--html r.html: the file exists" in html_out.output
    assert (reviewable / "r.md").read_text() == "my notes" and (reviewable / "r.html").read_text() == "my page"
    assert not (reviewable / "new.md").exists()  # refused before anything is written
    forced = invoke(["review", "p.json", "--markdown", "r.md", "--html", "r.html", "--force"])
    assert forced.exit_code == 0, forced.output
    assert (reviewable / "r.md").read_text().startswith("## KMS review:")
    assert (reviewable / "r.html").read_text().startswith("<!doctype html>")
    helped = invoke(["review", "--help"])
    assert "Replace an existing --markdown or --html file" in " ".join(helped.output.replace("│", " ").split())


def test_an_unwritable_output_is_named_by_its_path(reviewable: Path) -> None:
    if os.geteuid() == 0:
        target = "/sys/r.md"  # root writes into any directory its mode forbids, but not at the top of sysfs
    else:
        (reviewable / "ro").mkdir(mode=0o500)
        target = "ro/r.md"
    out = invoke(["review", "p.json", "--markdown", target])
    assert out.exit_code == 1
    assert out.output == f"error: cannot write {target}: Permission denied\n"


def test_an_unreachable_backend_of_the_reviewer_is_a_note(tmp_path: Path) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    doc = preview(12)
    for raw in doc["steps"][1:]:
        if raw["op"] == "same":
            raw["op"] = "delete"
            raw.pop("newState", None)
    done = run(["review", "-"], clean_env(KMS_ENDPOINT=f"http://127.0.0.1:{port}", KMS_ACCESS_KEY="AK",
                                          KMS_SECRET_KEY="SK-never-shown"), tmp_path, stdin=json.dumps(doc))
    assert done.returncode == 0, done.stderr
    assert f"live keys not read after the backend failed (UndefinedError: could not reach http://127.0.0.1:{port}" \
        in done.stdout
    assert "SK-never-shown" not in done.stdout + done.stderr
