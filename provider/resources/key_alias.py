"""`KeyAlias`: a name (`alias/...`) for a key of one region; retargeting is an update in place."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi import dynamic

from ..client import KmsClient
from ..domain import model, rules
from ..domain.errors import KmsError, NotFound
from . import _common as common
from ._common import IMPORT_ID, Checker, Props, ProviderError, is_unknown
from .custom_key import take_import

REPLACES = ("alias_name", "region")
INPUTS = ("alias_name", "target_key_id", "region")
OUTPUTS = ("alias_name", "target_key_id", "trn")


class KeyAliasProvider(common.BaseProvider):
    def check(self, olds: Props, news: Props) -> dynamic.CheckResult:
        c = Checker()
        ins: Props = {"region": c.region("region", news.get("region"))}
        name = news.get("alias_name")
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
        if news.get(IMPORT_ID) is not None:
            ins[IMPORT_ID] = news[IMPORT_ID]
        return dynamic.CheckResult({k: v for k, v in ins.items() if v is not None}, c.failures)

    def diff(self, _id: str, olds: Props, news: Props) -> dynamic.DiffResult:
        changed = common.changed_inputs(INPUTS, olds, news, key_refs={"target_key_id": "region"})
        replaces = [p for p in changed if p in REPLACES]
        # An alias is unique in its region: the old one goes before the new one is made.
        return dynamic.DiffResult(
            changes=bool(changed), replaces=replaces, delete_before_replace=bool(replaces)
        )

    def create(self, props: Props) -> dynamic.CreateResult:
        region, name = props["region"], props["alias_name"]
        c = common.client(region)
        try:
            if props.get(IMPORT_ID):
                alias = _find(c, name)
                if alias is None:
                    raise ProviderError(f"KeyAlias {name} in {region}: import_: no such alias")
                alias = c.update_alias(name, props["target_key_id"])
            else:
                alias = c.create_alias(name, props["target_key_id"])
        except KmsError as err:
            raise common.failure(f"KeyAlias {name} in {region}: create", err) from None
        return dynamic.CreateResult(alias.trn, _outs(alias, region))

    def update(self, id_: str, olds: Props, news: Props) -> dynamic.UpdateResult:
        region, name = news["region"], news["alias_name"]
        c = common.client(region)
        try:
            try:
                alias = c.update_alias(name, news["target_key_id"])
            except NotFound:
                # Its old key took the alias along when it was deleted (a replaced key): make it again.
                alias = c.create_alias(name, news["target_key_id"])
        except KmsError as err:
            raise common.failure(f"KeyAlias {name} in {region}: update", err) from None
        return dynamic.UpdateResult(_outs(alias, region))

    def read(self, id_: str, props: Props) -> dynamic.ReadResult:
        region = props.get("region") or common.default_region()
        name = props.get("alias_name") or id_.rsplit(":", 1)[-1]
        c = common.client(region)
        try:
            alias = _find(c, name)
        except KmsError as err:
            raise common.failure(f"KeyAlias {name} in {region}: read", err) from None
        if alias is None:
            return dynamic.ReadResult("", {})
        outs = _outs(alias, region)
        inputs = None if "target_key_id" in props else {p: outs[p] for p in INPUTS}
        return dynamic.ReadResult(alias.trn, outs, inputs)

    def delete(self, id_: str, props: Props) -> None:
        region, name = props["region"], props["alias_name"]
        try:
            common.client(region).delete_alias(name)
        except NotFound:
            return  # already gone, e.g. with the key it named
        except KmsError as err:
            raise common.failure(f"KeyAlias {name} in {region}: delete", err) from None


def _find(c: KmsClient, name: str) -> model.Alias | None:
    return next((a for a in c.list_aliases() if a.name == name), None)


def _outs(alias: model.Alias, region: str) -> Props:
    return {
        "alias_name": alias.name,
        "target_key_id": alias.key_id,
        "trn": alias.trn,
        "region": alias.region or region,
    }


class KeyAlias(dynamic.Resource, module="kms", name="KeyAlias"):
    """An alias of a key in one region; any key argument of the service accepts it in place of the key id.

    Inputs (keyword arguments, each accepting a Pulumi Input):

    - ``alias_name``: starts with ``alias/`` (replace).
    - ``target_key_id``: the id, TRN or alias of the key it names (update: the alias is retargeted).
    - ``region``: the alias's region, the key's region (replace). Default: stack config ``kms:region``.

    Outputs: ``alias_name``, ``target_key_id`` (the key id), ``trn``.
    """

    alias_name: pulumi.Output[str]
    target_key_id: pulumi.Output[str]
    trn: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        alias_name: pulumi.Input[str],
        target_key_id: pulumi.Input[str],
        region: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {"alias_name": alias_name, "target_key_id": target_key_id, "region": region}
        opts, import_id = take_import(opts)
        if import_id:
            props[IMPORT_ID] = import_id
        super().__init__(KeyAliasProvider(), resource_name, common.resource_props(props, OUTPUTS), opts)
