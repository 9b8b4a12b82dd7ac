"""A minimal dynamic resource for engine tests: no side effects, a predictable diff.

Inputs: `name` (changing it forces a replacement) and `value` (changed in place). Outputs add `revision`
(1 on create, +1 per update) and `created_id` (the id handed out on create).

The provider is pickled by dill *by reference* (module `noop_resource` + class name) because it lives in an
importable module, so the dynamic-provider host process (`python -m pulumi.dynamic`, started by the engine)
must be able to import this module: the harness puts tests/engine on PYTHONPATH for every engine process.
"""

from __future__ import annotations

import itertools
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

REPLACE_KEYS = ("name",)
INPUT_KEYS = ("name", "value")
_ids = itertools.count(1)


class NoopProvider(ResourceProvider):
    # Keep `__provider` a plain string in state (default: always a secret) so tests can inspect it.
    serialize_as_secret_always = False

    def create(self, props: dict[str, Any]) -> CreateResult:
        id_ = f"noop-{props['name']}-{next(_ids)}"
        return CreateResult(id_=id_, outs={**_inputs(props), "revision": 1, "created_id": id_})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in INPUT_KEYS if olds.get(key) != news.get(key)]
        return DiffResult(
            changes=bool(changed),
            replaces=[key for key in changed if key in REPLACE_KEYS],
            delete_before_replace=False,
        )

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(
            outs={**_inputs(news), "revision": int(olds.get("revision", 1)) + 1, "created_id": olds["created_id"]}
        )

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_=id_, outs=props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None


def _inputs(props: dict[str, Any]) -> dict[str, Any]:
    return {key: props[key] for key in INPUT_KEYS}


class Noop(Resource):
    name: pulumi.Output[str]
    value: pulumi.Output[str]
    revision: pulumi.Output[int]
    created_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        name: pulumi.Input[str],
        value: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"name": name, "value": value, "revision": None, "created_id": None}
        super().__init__(NoopProvider(), resource_name, props, opts)
