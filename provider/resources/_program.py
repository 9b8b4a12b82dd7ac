"""What runs in the Pulumi program, not in the provider host: what a resource registers, which declared key
stands behind an Output, and how `ResourceOptions(import_=...)` is carried out."""

from __future__ import annotations

import copy
import os
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

import pulumi

from ._checks import is_unknown
from ._common import catalog, default_region


def resource_props(inputs: Mapping[str, Any], outputs: Iterable[str]) -> dict[str, Any]:
    """What a resource registers: the inputs given, plus a slot for each output docs/resources.md lists (the SDK
    makes an Output attribute for every key). Unset inputs are left out: every slot costs the SDK and the engine work.
    `key_id` is the resource id itself (see CustomKey)."""
    props = {k: v for k, v in inputs.items() if v is not None}
    for name in outputs:
        if name != "key_id":
            props.setdefault(name, None)
    return props


# --- import: the engine's own where our dynamic-provider host runs ---------------------------------------
ENGINE_IMPORTS = "KMS_ENGINE_IMPORTS"  # "1"/"0": set by tools/engine/kms_language_host.py for the program


def engine_imports() -> bool:
    """Whether the engine running this program starts this project's dynamic-provider host, which answers the
    engine's import (tools/engine/kms_provider_host.py). A stock host cannot (pulumi/pulumi#16175). Our
    language host says so in KMS_ENGINE_IMPORTS (a user may set "0" to keep adoption by create); an inline
    Automation API program, which no language host of ours runs, asks the engine it drives (`_host`)."""
    flag = os.environ.get(ENGINE_IMPORTS)
    if flag in ("0", "1"):
        return flag == "1"
    from . import _host

    return _host.engine_children_import()


def located(ref: str, region: Any = None) -> tuple[str, str]:
    """The region and the reference of an import id: `REGION:KEY` names the region, a TRN carries its own,
    anything else is in `region` (default: the configured one). KEY is an id, a TRN or an alias."""
    if isinstance(region, str) and region and not is_unknown(region):
        return region, ref
    if ref.startswith("trn:") and ref.count(":") >= 3:
        return ref.split(":")[2], ref
    head, sep, rest = ref.partition(":")
    if sep and head in catalog().names:
        return head, rest
    return default_region(), ref


def _names_region(ref: str) -> bool:
    head = ref.partition(":")[0]
    return ref.startswith("trn:") or (head != ref and head in catalog().names)


def import_option(
    opts: pulumi.ResourceOptions | None, region: Any
) -> tuple[pulumi.ResourceOptions | None, str | None]:
    """`ResourceOptions(import_=ID)`: left to the engine where our host answers its import (the id then names
    its region, so that the host, which is sent nothing else, finds the key); elsewhere it becomes an
    adoption done by create (the returned id, an internal input), and the engine sees a plain create."""
    if opts is None or not opts.import_:
        return opts, None
    import_id = str(opts.import_)
    opts = copy.copy(opts)
    if engine_imports():
        if isinstance(region, str) and not _names_region(import_id):
            opts.import_ = f"{region}:{import_id}"
        return opts, None
    opts.import_ = None
    return opts, import_id


# --- the program side: which declared key stands behind an Output --------------------------------------
# Program-process state, not the provider host's (HOST): weak references, so an entry dies with its resource
# and nothing needs resetting between programs.
_declared: dict[int, weakref.ref[Any]] = {}


def declare_key(resource: Any) -> None:
    """Remember that `resource.key_id` is this key's id Output, so that a replica or an alias built on it can
    read the key's other outputs (its usage, known even while a replacement is previewed)."""
    _declared[id(resource.key_id)] = weakref.ref(resource)


def key_behind(ref: Any) -> Any | None:
    """The CustomKey or ReplicaKey whose `key_id` (or `id`) Output is `ref` itself; None for anything else
    (a literal id, an alias, an Output derived with apply)."""
    entry = _declared.get(id(ref))
    resource = entry() if entry is not None else None
    return resource if resource is not None and resource.key_id is ref else None

