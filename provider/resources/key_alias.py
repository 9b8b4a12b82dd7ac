"""`KeyAlias`: a name (`alias/...`) for a key of one region.

Retargeting to a key of the same key usage is an update in place. The service never moves an alias to a key
of another usage, so a new target of another usage (a key replaced by one of another key spec, say) makes
the alias a replacement: deleted, then made again on the new key, in the same update, and the preview says
so. The program tells the provider the new target's usage while previewing (the key's outputs are known then
even when its id is not)."""

# Annotations evaluated, not `from __future__ import annotations`: the SDK resolves a resource class's
# annotations each time it registers one, and strings cost an eval each (docs/resources.md).

from typing import Any

import pulumi
from pulumi import dynamic

from .. import typing as kinds
from ..client import KmsClient
from ..domain import model, rules
from ..domain.errors import Conflict, InvalidOperation, KmsError, NotFound
from . import _checks as checks
from . import _common as common
from . import _program as program
from ._checks import Checker, is_unknown
from ._common import IMPORT_ID, TARGET_USAGE, Props, ProviderError

REPLACES = ("alias_name", "region")
INPUTS = ("alias_name", "target_key_id", "region")
OUTPUTS = ("alias_name", "target_key_id", "trn", "target_key_usage")
# The region of the key the alias names, where the program declares that key: checked at preview.
TARGET_REGION = "__target_region"


class KeyAliasProvider(common.BaseProvider):
    def check(self, olds: Props, news: Props) -> dynamic.CheckResult:
        c = Checker()
        if not c.config():
            return dynamic.CheckResult({}, c.failures)
        ins: Props = {"region": c.region("region", news.get("region"))}
        name = news.get("alias_name")
        # Decided by the configured cloud (kms:dialect), whatever the endpoint's host: Volcengine has no aliases.
        can = c.settings.capabilities
        if not can.aliases:
            c.fail("alias_name", can.lacking("aliases", "alias_name (KeyAlias)"))
        if name is None:
            c.fail("alias_name", "alias_name is required (alias/ followed by a name)")
        elif is_unknown(name) or c.string("alias_name", name) is None:
            ins["alias_name"] = name
        else:
            ins["alias_name"] = name
            c.rule("alias_name", lambda: rules.alias_name(name, "alias_name"))
        target = news.get("target_key_id")
        if target is None or target == "":
            c.fail("target_key_id", "target_key_id is required: the id, TRN or alias of a key of the region")
        elif is_unknown(target) or c.string("target_key_id", target) is not None:
            ins["target_key_id"] = target
        where, theirs = ins.get("region"), news.get(TARGET_REGION)
        if isinstance(where, str) and isinstance(theirs, str) and not is_unknown(theirs) and where != theirs \
                and not is_unknown(where):
            # An alias names a key of its own region (Huawei Cloud's CreateAlias takes the region's key id).
            c.fail(
                "target_key_id",
                f"target_key_id: the key is in {theirs} and the alias in {where}: an alias names a key of its "
                f"own region; set region={theirs!r} on the KeyAlias (or target a key of {where})",
            )
        for key in (IMPORT_ID, TARGET_USAGE):
            if news.get(key) is not None:
                ins[key] = news[key]
        return dynamic.CheckResult({k: v for k, v in ins.items() if v is not None}, c.failures)

    def diff(self, _id: str, olds: Props, news: Props) -> dynamic.DiffResult:
        changed = checks.changed_inputs(INPUTS, olds, news, key_refs={"target_key_id": "region"})
        replaces = [p for p in changed if p in REPLACES]
        if "target_key_id" in changed and not replaces and _usage_changes(olds, news):
            replaces.append("target_key_id")
        # An alias is unique in its region: the old one goes before the new one is made.
        return dynamic.DiffResult(
            changes=bool(changed), replaces=replaces, delete_before_replace=bool(replaces)
        )

    def create(self, props: Props) -> dynamic.CreateResult:
        region, name = props["region"], props["alias_name"]
        c = common.connect(region)
        try:
            if props.get(IMPORT_ID):
                alias = _find(c, name)
                if alias is None:
                    raise ProviderError(f"KeyAlias {name} in {region}: import_: no such alias")
                alias = _retarget(c, name, props["target_key_id"])
            else:
                alias = _create(c, name, props["target_key_id"])
            outs = _outs(c, alias, region)
        except KmsError as err:
            raise common.failure(f"KeyAlias {name} in {region}: create", err) from None
        return dynamic.CreateResult(alias.trn, outs)

    def update(self, id_: str, olds: Props, news: Props) -> dynamic.UpdateResult:
        region, name = news["region"], news["alias_name"]
        c = common.connect(region)
        try:
            alias = _retarget(c, name, news["target_key_id"])
            outs = _outs(c, alias, region)
        except KmsError as err:
            raise common.failure(f"KeyAlias {name} in {region}: update", err) from None
        return dynamic.UpdateResult(outs)

    def read(self, id_: str, props: Props) -> dynamic.ReadResult:
        region, ref = program.located(id_, props.get("region"))  # imported: the id names the region
        name = props.get("alias_name") or "alias/" + ref.partition("alias/")[2]
        c = common.connect(region)
        try:
            alias = _find(c, name)
        except KmsError as err:
            raise common.failure(f"KeyAlias {name} in {region}: read", err) from None
        if alias is None:
            return dynamic.ReadResult("", {})
        try:
            outs = _outs(c, alias, region)
        except KmsError as err:
            raise common.failure(f"KeyAlias {name} in {region}: read", err) from None
        inputs = None if "target_key_id" in props else {p: outs[p] for p in INPUTS}
        return dynamic.ReadResult(alias.trn, outs, inputs)

    def delete(self, id_: str, props: Props) -> None:
        region, name = props["region"], props["alias_name"]
        try:
            # Not the state's target: the alias may have been moved outside Pulumi (Huawei's delete-alias
            # takes the key it names now, which the client looks up).
            common.connect(region).delete_alias(name)
        except NotFound:
            return  # already gone, e.g. with the key it named
        except KmsError as err:
            raise common.failure(f"KeyAlias {name} in {region}: delete", err) from None


def _create(c: KmsClient, name: str, target: str) -> model.Alias:
    """Make the alias; one that already names the target key is taken over: a create the engine lost (a
    killed `up`) made it. An alias naming any other key is not this resource's: the conflict stands."""
    try:
        return c.create_alias(name, target)
    except Conflict:
        standing = _find(c, name)
        if standing is None or standing.key_id != common.canonical_id(c, target):
            raise
        return standing


def _find(c: KmsClient, name: str) -> model.Alias | None:
    return next((a for a in c.list_aliases() if a.name == name), None)


def _usage(c: KmsClient, ref: str) -> str | None:
    """The key usage of the key an id, TRN or alias names; None when there is no such key (any more)."""
    try:
        return c.describe_key(ref).usage.value
    except NotFound:
        return None


def _usage_changes(olds: Props, news: Props) -> bool:
    """Whether the new target is a key of another usage than the old one (then the alias cannot be moved and
    is replaced). The new usage comes from the program (known while previewing a key's replacement) or from
    the service when the new target already exists; unknown, it is taken as unchanged, and `_retarget` still
    makes the alias again should the service refuse the move."""
    region = news.get("region")
    if not isinstance(region, str) or is_unknown(region):
        return False
    c = common.connect(region)
    new = news.get(TARGET_USAGE)
    target = news.get("target_key_id")
    if (new is None or is_unknown(new)) and isinstance(target, str) and not is_unknown(target):
        new = _usage(c, target)
    if not isinstance(new, str) or is_unknown(new):
        return False
    old = olds.get("target_key_usage") or _usage(c, str(olds.get("target_key_id") or ""))
    return not _may_move(str(news.get("alias_name")), old, new)


def _may_move(name: str, old: str | None, new: str | None) -> bool:
    """The service's rule (rules.alias_retarget): may the alias move from a key of usage `old` to one of `new`?"""
    try:
        rules.alias_retarget(name, rules.KeyUsage(old) if old else None, "the new key", rules.KeyUsage(new or ""))
    except InvalidOperation:
        return False
    except ValueError:  # a usage the rules do not know: leave the decision to the service
        return True
    return True


def _retarget(c: KmsClient, name: str, target: str) -> model.Alias:
    try:
        return c.update_alias(name, target)
    except NotFound:
        # Its old key took the alias along when it was deleted (a replaced key): make it again.
        return c.create_alias(name, target)
    except InvalidOperation:
        # The new key has another usage, which a preview could not know (its target was not a key declared
        # in the program): the alias is a name, so it is made again on the new key.
        if _may_move(name, _usage(c, name), _usage(c, target)):
            raise
        c.delete_alias(name)
        return c.create_alias(name, target)


def _outs(c: KmsClient, alias: model.Alias, region: str) -> Props:
    return {
        "alias_name": alias.name,
        "target_key_id": alias.key_id,
        "trn": alias.trn,
        "region": alias.region or region,
        "target_key_usage": _usage(c, alias.key_id),
    }


class KeyAlias(dynamic.Resource, module="kms", name="KeyAlias"):
    """An alias of a key in one region; any key argument of the service accepts it in place of the key id.

    Every input is also an output attribute: ``alias_name``, ``target_key_id`` (the key id the alias names,
    whatever reference the program gave), ``region``. The other outputs: ``trn`` and ``target_key_usage``
    (the usage of the key it names).

    A new target of another key usage replaces the alias (deleted, then made on the new key): the service
    never moves an alias across usages. The preview knows when ``target_key_id`` is the ``key_id`` (or
    ``id``) of a CustomKey or ReplicaKey of the program, or an existing key.
    """

    alias_name: pulumi.Output[str]
    target_key_id: pulumi.Output[str]
    region: pulumi.Output[str]
    trn: pulumi.Output[str]
    target_key_usage: pulumi.Output[kinds.KeyUsage]

    def __init__(
        self,
        resource_name: str,
        *,
        alias_name: pulumi.Input[str],
        target_key_id: pulumi.Input[str],
        region: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare an alias. Every argument but ``resource_name`` is keyword-only and takes a Pulumi Input.

        :param resource_name: the resource's name in the stack (unique per type).
        :param alias_name: starts with ``alias/``; then letters, digits, ``_ - : /``, at most 255 characters
            in all, not ending with ``/default`` (replace).
        :param target_key_id: the id, TRN or alias of the key it names, a key of the alias's region (update:
            the alias is retargeted).
        :param region: the alias's region, which is its key's (replace). Default: stack config ``kms:region``.
        :param opts: Pulumi resource options (``import_`` takes an existing alias by name).
        """
        props: dict[str, Any] = {"alias_name": alias_name, "target_key_id": target_key_id, "region": region}
        target = program.key_behind(target_key_id)
        if target is not None:
            props[TARGET_USAGE] = target.key_usage
            props[TARGET_REGION] = target.region
        opts, import_id = program.import_option(opts, region)
        if import_id:
            props[IMPORT_ID] = import_id
        super().__init__(KeyAliasProvider(), resource_name, program.resource_props(props, (*OUTPUTS, *INPUTS)), opts)
