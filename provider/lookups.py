"""Lookups of keys the stack does not manage, in the style of pulumi-aws' `aws.kms.get_key` / `get_alias`.

`get_key(key=..., region=...)` and `get_alias(alias_name=..., region=...)` answer at once (plain values, usable
while the program is being built); `get_key_output` / `get_alias_output` take Inputs and answer an Output.
They run in the program's own process (the dynamic-provider host has no Invoke), with the stack's `kms:`
configuration, environment variables as the fallback, as the resources do. A key that does not exist fails
with `KeyNotFound`, naming the key and the region.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from .client import KmsClient
from .domain import model
from .domain.errors import KmsError, NotFound
from .resources import _common as common


class KeyNotFound(common.ProviderError):
    """The key or alias of a lookup does not exist in the region."""


@dataclass(frozen=True)
class GetKeyResult:
    """A key as the service describes it. `primary_region` is the primary's region (the key's own for a
    primary or a single-region key); `replica_regions` are the regions of the primary's replicas not
    scheduled for deletion. Where the cloud's answers never name a key's primary or replicas (Huawei
    Cloud's KeyDetails), `multi_region_type`, `primary_key_id`, `primary_region` and `replica_regions` are
    None: unknown, rather than a guess."""

    key_id: str
    trn: str
    region: str
    key_name: str
    key_state: str
    key_spec: str
    key_usage: str
    multi_region_type: str | None
    primary_key_id: str | None
    primary_region: str | None
    replica_regions: list[str] | None
    description: str
    creation_date: str | None


@dataclass(frozen=True)
class GetAliasResult:
    """An alias and the key it names (the key's facts as in `GetKeyResult`)."""

    alias_name: str
    region: str
    trn: str
    target_key_id: str
    key: GetKeyResult


def get_key(key: str, region: str | None = None, opts: pulumi.InvokeOptions | None = None) -> GetKeyResult:
    """The key that `key` (an id, a TRN or an alias) names in `region` (default: config `kms:region`)."""
    del opts  # accepted for the Pulumi signature; a lookup here has no provider to pick
    c = _client(region)
    return _key_result(_describe(c, key, f"get_key({key!r})"), common.capabilities(_config()).links_in_answers)


def get_alias(alias_name: str, region: str | None = None, opts: pulumi.InvokeOptions | None = None) -> GetAliasResult:
    """The alias `alias_name` (`alias/...`) of `region` and the key it names."""
    del opts
    c = _client(region)
    what = f"get_alias({alias_name!r})"
    can = common.capabilities(_config())
    if not can.aliases:
        raise common.ProviderError(f"{what}: " + can.lacking("aliases", "get_alias"))
    try:
        alias = next((a for a in c.list_aliases() if a.name == alias_name), None)
    except KmsError as err:
        raise common.failure(f"{what} in {c.region}", err) from None
    if alias is None:
        raise KeyNotFound(f"{what}: no alias {alias_name} in region {c.region}")
    key = _key_result(_describe(c, alias.key_id, what), can.links_in_answers)
    return GetAliasResult(alias_name=alias.name, region=c.region, trn=alias.trn, target_key_id=key.key_id, key=key)


def get_key_output(
    key: pulumi.Input[str], region: pulumi.Input[str | None] = None, opts: pulumi.InvokeOptions | None = None
) -> pulumi.Output[GetKeyResult]:
    """`get_key` taking Inputs (an id from another resource's output, say)."""
    return pulumi.Output.all(key, region).apply(lambda v: get_key(v[0], v[1], opts))


def get_alias_output(
    alias_name: pulumi.Input[str],
    region: pulumi.Input[str | None] = None,
    opts: pulumi.InvokeOptions | None = None,
) -> pulumi.Output[GetAliasResult]:
    """`get_alias` taking Inputs."""
    return pulumi.Output.all(alias_name, region).apply(lambda v: get_alias(v[0], v[1], opts))


def _config() -> dict[str, str]:
    # The program's stack configuration (a plain Python process outside a stack has none: the environment).
    return {k: v for k in common.CONFIG_KEYS if (v := pulumi.runtime.get_config(f"kms:{k}"))}


def _client(region: str | None) -> KmsClient:
    return common.connect(region, _config())


def _describe(c: KmsClient, ref: str, what: str) -> model.Key:
    try:
        return c.describe_key(ref)
    except NotFound:
        raise KeyNotFound(f"{what}: no key {ref} in region {c.region}") from None
    except KmsError as err:
        raise common.failure(f"{what} in {c.region}", err) from None


def _key_result(key: model.Key, links: bool = True) -> GetKeyResult:
    primary = key.primary
    if not links:  # the cloud does not say: unknown, never "single-region"
        return GetKeyResult(
            key_id=key.key_id, trn=key.trn, region=key.region, key_name=key.name, key_state=key.state.value,
            key_spec=key.spec.value, key_usage=key.usage.value, multi_region_type=None, primary_key_id=None,
            primary_region=None, replica_regions=None, description=key.description,
            creation_date=common.timestamp(key.created),
        )
    return GetKeyResult(
        key_id=key.key_id,
        trn=key.trn,
        region=key.region,
        key_name=key.name,
        key_state=key.state.value,
        key_spec=key.spec.value,
        key_usage=key.usage.value,
        multi_region_type=key.multi_region_type.value,
        primary_key_id=primary.key_id if primary else key.key_id,
        primary_region=primary.region if primary else key.region,
        replica_regions=common.replica_regions(key),
        description=key.description,
        creation_date=common.timestamp(key.created),
    )
