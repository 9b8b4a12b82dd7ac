"""End to end through the real engine: a dynamic resource created, diffed, updated, replaced, destroyed.

This proves the dill serialization of the provider, the dynamic-provider host process started by the engine,
the engine's diff and step ordering, and the state file the file:// backend keeps.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import dill
import pulumi
from engine_harness import StackFactory
from noop_resource import Noop, NoopProvider

NOOP_TYPE = "pulumi-python:dynamic:Resource"
PROJECT_DIR = Path(__file__).parent / "projects" / "noop"


def noop_program(name: str, value: str) -> Callable[[], None]:
    def program() -> None:
        thing = Noop("thing", name=name, value=value)
        pulumi.export("value", thing.value)
        pulumi.export("revision", thing.revision)
        pulumi.export("created_id", thing.created_id)

    return program


def changes(summary: dict[str, int] | None) -> dict[str, int]:
    return {op: n for op, n in (summary or {}).items() if n}


def test_noop_lifecycle(inline_stack: StackFactory) -> None:
    stack = inline_stack(noop_program("alpha", "v1"))

    up = stack.up()
    assert changes(up.summary.resource_changes) == {"create": 2}  # the stack and the Noop
    outputs = stack.outputs()
    assert outputs["value"] == "v1"
    assert outputs["revision"] == 1
    first_id = outputs["created_id"]
    assert first_id.startswith("noop-alpha-")

    preview = stack.preview()
    assert changes(preview.change_summary) == {"same": 2}

    up = stack.up(noop_program("alpha", "v2"))
    assert changes(up.summary.resource_changes) == {"same": 1, "update": 1}
    outputs = stack.outputs()
    assert (outputs["value"], outputs["revision"], outputs["created_id"]) == ("v2", 2, first_id)

    up = stack.up(noop_program("beta", "v2"))
    assert changes(up.summary.resource_changes) == {"same": 1, "replace": 1}
    outputs = stack.outputs()
    assert outputs["revision"] == 1
    assert outputs["created_id"].startswith("noop-beta-")

    # The checkpoint of the file:// backend.
    state = stack.export_state()
    thing = stack.state_resource("thing")
    assert thing["type"] == NOOP_TYPE
    assert thing["id"] == outputs["created_id"]
    assert thing["outputs"]["name"] == "beta"
    assert thing["outputs"]["value"] == "v2"
    assert thing["outputs"]["revision"] == 1
    serialized = thing["inputs"]["__provider"]
    assert isinstance(serialized, str) and serialized == thing["outputs"]["__provider"]
    provider = dill.loads(base64.b64decode(serialized))
    assert type(provider).__name__ == NoopProvider.__name__
    provider_types = {r["type"] for r in state["resources"]}
    assert "pulumi:providers:pulumi-python" in provider_types
    assert thing["provider"].startswith(next(r["urn"] for r in state["resources"] if "providers" in r["type"]))

    refresh = stack.refresh()
    assert changes(refresh.summary.resource_changes) == {"same": 2}

    destroy = stack.destroy()
    assert changes(destroy.summary.resource_changes) == {"delete": 2}
    assert stack.export_state().get("resources") in (None, [])


def test_project_through_language_host(project_stack: StackFactory) -> None:
    stack = project_stack(PROJECT_DIR, config={"name": "gamma", "value": "v1", "token": ("s3cret", True)})

    up = stack.up()
    assert changes(up.summary.resource_changes) == {"create": 2}
    outputs = stack.outputs()
    assert (outputs["value"], outputs["revision"], outputs["secret_echo"]) == ("v1", 1, "s3cret")
    assert stack.stack.outputs()["secret_echo"].secret

    assert changes(stack.preview().change_summary) == {"same": 2}

    stack.set_config({"value": "v2"})
    up = stack.up()
    assert changes(up.summary.resource_changes) == {"same": 1, "update": 1}
    assert stack.outputs()["revision"] == 2

    destroy = stack.destroy()
    assert changes(destroy.summary.resource_changes) == {"delete": 2}
