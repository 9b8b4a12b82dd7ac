"""`KeyTags`: tags on a key managed apart from the key itself (e.g. on a key another stack owns).

It manages only its own tag keys: other tags of the key are never touched, and destroy removes only the
tags it set.
"""

# Annotations evaluated, not `from __future__ import annotations`: the SDK resolves a resource class's
# annotations each time it registers one, and strings cost an eval each (docs/resources.md).

from typing import Any

import pulumi
from pulumi import dynamic

from ..client import KmsClient, tags_of
from ..domain import model, rules
from ..domain.errors import KmsError, NotFound
from . import _checks as checks
from . import _common as common
from . import _program as program
from . import _retire as retire
from ._checks import Checker, is_unknown
from ._common import Props

REPLACES = ("key_id", "region")
INPUTS = ("key_id", "region", "tags")


class KeyTagsProvider(common.BaseProvider):
    def check(self, olds: Props, news: Props) -> dynamic.CheckResult:
        c = Checker()
        if not c.config():
            return dynamic.CheckResult({}, c.failures)
        ins: Props = {"region": c.region("region", news.get("region"))}
        key = news.get("key_id")
        if key is None or key == "":
            c.fail("key_id", "key_id is required: the id, TRN or alias of the key to tag")
        elif is_unknown(key) or c.string("key_id", key) is not None:
            ins["key_id"] = key
        ins["tags"] = c.tags("tags", news.get("tags"))
        return dynamic.CheckResult({k: v for k, v in ins.items() if v is not None}, c.failures)

    def diff(self, _id: str, olds: Props, news: Props) -> dynamic.DiffResult:
        changed = checks.changed_inputs(INPUTS, olds, news, key_refs={"key_id": "region"})
        return dynamic.DiffResult(
            changes=bool(changed), replaces=[p for p in changed if p in REPLACES], delete_before_replace=False
        )

    def create(self, props: Props) -> dynamic.CreateResult:
        region = props["region"]
        c = common.connect(region)
        what = f"KeyTags on {props['key_id']} in {region}"
        try:
            key = c.describe_key(props["key_id"])
            key = _apply(c, key, {}, props.get("tags") or {})
        except KmsError as err:
            raise common.failure(f"{what}: create", err) from None
        return dynamic.CreateResult(f"{region}:{key.key_id}", _outs(key, region, props.get("tags") or {}))

    def update(self, id_: str, olds: Props, news: Props) -> dynamic.UpdateResult:
        region = news["region"]
        c = common.connect(region)
        try:
            key = c.describe_key(olds["key_id"])
            key = _apply(c, key, olds.get("tags") or {}, news.get("tags") or {})
        except KmsError as err:
            raise common.failure(f"KeyTags {id_}: update", err) from None
        return dynamic.UpdateResult(_outs(key, region, news.get("tags") or {}))

    def read(self, id_: str, props: Props) -> dynamic.ReadResult:
        region = props.get("region") or id_.split(":", 1)[0]
        key_ref = props.get("key_id") or id_.split(":", 1)[-1]
        c = common.connect(region)
        key = common.live_key(c, key_ref, f"KeyTags {id_}")
        if key is None:
            return dynamic.ReadResult("", {})
        live = tags_of(key)
        managed = props.get("tags")
        # Only the tag keys this resource manages (all of them when adopting).
        mine = live if managed is None else {k: v for k, v in live.items() if k in managed}
        return dynamic.ReadResult(
            id_,
            _outs(key, region, mine),
            None if managed is not None else {"key_id": key.key_id, "region": region, "tags": mine},
        )

    def delete(self, id_: str, props: Props) -> None:
        region = props["region"]
        c = common.connect(region)
        try:
            key = c.describe_key(props["key_id"])
        except NotFound:
            return
        except KmsError as err:
            raise common.failure(f"KeyTags {id_}: delete", err) from None
        if key.state == rules.KeyState.PENDING_DELETE:
            return  # the key is going away with its tags
        try:
            _apply(c, key, props.get("tags") or {}, {})
        except KmsError as err:
            raise common.failure(f"KeyTags {id_}: delete", err) from None


def _apply(c: KmsClient, key: model.Key, old: dict[str, str], new: dict[str, str]) -> model.Key:
    live = tags_of(key)
    mine_gone = {k for k in set(old) - set(new) if k in live}
    if not mine_gone and all(live.get(k) == v for k, v in new.items()):
        return key
    retire.while_enabled(
        c, key, lambda: retire.set_tags(c, key.key_id, {k: old[k] for k in mine_gone}, live, new)
    )
    return c.describe_key(key.key_id)


def _outs(key: model.Key, region: str, tags: dict[str, str]) -> Props:
    return {"key_id": key.key_id, "region": region, "tags": dict(tags)}


class KeyTags(dynamic.Resource, module="kms", name="KeyTags"):
    """Tags on an existing key, managed by this resource alone (the key's other tags are left alone).

    Every input is also an output attribute: ``key_id`` (the key id, whatever reference the program gave),
    ``region``, ``tags``.
    """

    key_id: pulumi.Output[str]
    region: pulumi.Output[str]
    tags: pulumi.Output[dict[str, str]]

    def __init__(
        self,
        resource_name: str,
        *,
        key_id: pulumi.Input[str],
        tags: pulumi.Input[dict[str, pulumi.Input[str]]],
        region: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare tags on a key. Every argument but ``resource_name`` is keyword-only and takes a Pulumi Input.

        :param resource_name: the resource's name in the stack (unique per type).
        :param key_id: the id, TRN or alias of the key (replace).
        :param tags: added and removed in place; destroy removes only these tag keys. The key's total stays
            within 20 tags, as the service allows.
        :param region: the key's region (replace). Default: stack config ``kms:region``.
        :param opts: Pulumi resource options.
        """
        props: dict[str, Any] = {"key_id": key_id, "region": region, "tags": tags}
        super().__init__(KeyTagsProvider(), resource_name, program.resource_props(props, INPUTS), opts)
