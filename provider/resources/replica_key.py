"""`ReplicaKey`: a replica of a custom key in another region.

Replication is asynchronous: create returns once the replica is usable (`Enable`), polling with
exponential backoff within the resource's create timeout. A replica that already stands in the target
region for the same primary (a previous apply that timed out, or one still waiting out its deletion
window) is adopted instead of failing.
"""

# Annotations evaluated, not `from __future__ import annotations`: the SDK resolves a resource class's
# annotations each time it registers one, and strings cost an eval each (docs/resources.md).

import copy
import secrets
from typing import Any

import pulumi
from pulumi import dynamic

from .. import typing as kinds
from ..client import KmsClient, tags_of
from ..domain import model, rules
from ..domain.errors import Conflict, KmsError, NotFound
from . import _checks as checks
from . import _common as common
from . import _program as program
from . import _retire as retire
from ._checks import Checker, is_unknown
from ._common import IMPORT_ID, OWNER, TIMEOUT, Props, ProviderError

REPLACES = ("primary_key_id", "primary_region", "replica_region")
UPDATES = ("key_name", "description", "enabled", "pending_days", "tags")
INPUTS = REPLACES + UPDATES
OUTPUTS = ("key_id", "trn", "key_state", "key_spec", "key_usage", "primary_trn", "region")
USABLE = (rules.KeyState.ENABLE.value, rules.KeyState.DISABLE.value)
# Internal input: the `multi_region` input of the primary when the program declares it (checked at preview).
PRIMARY_MULTI_REGION = "__primary_multi_region"
PRIMARY_SEP = "@"  # an import id's replica part, then its primary: REGION:REPLICA@PRIMARY_REGION:PRIMARY


def _not_multi_region(cloud: str, primary: str) -> str:
    return (f"primary_key_id: {cloud} replicates only keys created multi-region, and {primary} was not: set "
            "multi_region=True on that CustomKey (a change that replaces the key)")


class ReplicaKeyProvider(common.BaseProvider):
    def check(self, olds: Props, news: Props) -> dynamic.CheckResult:
        c = Checker()
        if not c.config():
            return dynamic.CheckResult({}, c.failures)
        ins: Props = {}
        primary = news.get("primary_key_id")
        if primary is None or primary == "":
            c.fail(
                "primary_key_id", "primary_key_id is required: the id, TRN or alias of the key to replicate"
            )
        elif is_unknown(primary) or c.string("primary_key_id", primary) is not None:
            ins["primary_key_id"] = primary
        primary_region = c.region("primary_region", news.get("primary_region"))
        ins["primary_region"] = primary_region
        replica_region = news.get("replica_region")
        if replica_region is None:
            c.fail("replica_region", "replica_region is required")
        elif is_unknown(replica_region):
            ins["replica_region"] = replica_region
        elif (text := c.string("replica_region", replica_region)) is not None:
            ins["replica_region"] = text
            known = c.rule("replica_region", lambda: c.settings.catalog.region(text, "replica_region"))
            if known and isinstance(primary_region, str) and not is_unknown(primary_region):
                # The catalog's replica matrix (Huawei Cloud: the DEW guide's table of master and replica regions).
                matched = c.rule(
                    "replica_region",
                    lambda: c.settings.catalog.replica_region(primary_region, text, "replica_region"),
                )
                if matched is None and news.get("primary_region") is None:
                    # The program did not say where the primary is (a literal id): say what was assumed.
                    c.fail(
                        "primary_region",
                        f"primary_region is not set, so the primary was taken to be in kms:region {primary_region}; "
                        "set primary_region to the region of the key being replicated",
                    )
        multi = news.get(PRIMARY_MULTI_REGION)
        can = c.settings.capabilities
        if can.multi_region_at_create and multi is not None and not is_unknown(multi) and multi is not True:
            # Where the program shows the primary: Volcengine replicates only keys created multi-region.
            c.fail("primary_key_id", _not_multi_region(can.cloud, "the CustomKey this program declares"))
        name = news.get("key_name")
        if name is not None:
            if not is_unknown(name) and c.string("key_name", name) is not None:
                c.rule("key_name", lambda: rules.key_name(name, "key_name"))
            ins["key_name"] = name
        description = news.get("description")
        if description is not None:
            if not is_unknown(description) and c.string("description", description) is not None:
                c.rule("description", lambda: rules.description(description, "description"))
            ins["description"] = description
        ins["enabled"] = c.boolean("enabled", news.get("enabled"), True)
        days = c.whole("pending_days", news.get("pending_days"))
        ins["pending_days"] = (
            days
            if is_unknown(days)
            else c.rule("pending_days", lambda: rules.pending_days(days, "pending_days"))
        )
        if news.get("tags") is not None:  # omitted: the replica's tags are not managed here
            ins["tags"] = c.tags("tags", news.get("tags"))
        owner, _seed = common.check_identity(news)
        if owner:
            ins[OWNER] = owner
        for key in (TIMEOUT, IMPORT_ID, "key_spec", "key_usage", PRIMARY_MULTI_REGION):
            # key_spec and key_usage: the primary's, from the program, so that a preview knows them (an alias
            # on this replica is replaced when the usage changes); the live values replace them on create.
            if news.get(key) is not None:
                ins[key] = news[key]
        return dynamic.CheckResult({k: v for k, v in ins.items() if v is not None}, c.failures)

    def diff(self, _id: str, olds: Props, news: Props) -> dynamic.DiffResult:
        changed = checks.changed_inputs(
            INPUTS, olds, news, kept_when_undeclared=("key_name", "description", "tags"),
            key_refs={"primary_key_id": "primary_region"},
        )
        replaces = [p for p in changed if p in REPLACES]
        checks.refuse_imported_replacement("ReplicaKey", olds, news, replaces)
        # The service keeps one replica a region per primary, and a name unique in its region: a replacement
        # that keeps either must free it first.
        same_place = "replica_region" not in changed
        dbr = (
            bool(replaces)
            and same_place
            and ("primary_key_id" not in changed or news.get("key_name") is not None)
        )
        return dynamic.DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=dbr)

    def create(self, props: Props) -> dynamic.CreateResult:
        primary_region, replica_region = props["primary_region"], props["replica_region"]
        what = f"ReplicaKey of {props['primary_key_id']} in {replica_region}"
        pc = common.connect(primary_region)
        rc = pc.in_region(replica_region)
        timeout = float(props.get(TIMEOUT) or common.DEFAULT_CREATE_TIMEOUT)
        try:
            primary = pc.describe_key(props["primary_key_id"])
            can = common.capabilities()
            if can.multi_region_at_create and primary.multi_region_type == rules.MultiRegionType.NONE:
                raise ProviderError(f"{what}: create: " + _not_multi_region(can.cloud, f"key {primary.key_id}"))
            if props.get(IMPORT_ID):
                replica = _adopt_import(rc, primary, props[IMPORT_ID], what)
                old_tags: dict[str, str] = {}
            else:
                try:
                    replica = pc.replicate_key(
                        primary.key_id,
                        replica_region,
                        replica_key_name=props.get("key_name"),
                        description=props.get("description"),
                        tags=common.owner_tags(props.get("tags"), props.get(OWNER)) or None,
                        client_token=secrets.token_hex(16),
                    )
                    old_tags = dict(props.get("tags") or {})
                except Conflict as err:
                    replica = _adopt_standing(pc, rc, primary, replica_region, err, props)
                    old_tags = {}
            if replica.state == rules.KeyState.PENDING_DELETE:
                replica = rc.cancel_key_deletion(replica.key_id)
        except KmsError as err:
            raise common.failure(f"{what}: create", err) from None
        # Not rolled back when the wait runs out: a replica still Creating cannot be scheduled for deletion,
        # and the next apply adopts it.
        replica = retire.wait_state(rc, replica.key_id, USABLE, timeout, f"{what}: create")
        try:
            replica = _converge(rc, replica, old_tags, props, props.get("key_name") or primary.name)
        except KmsError as err:
            retire.roll_back(rc, replica.key_id, what)
            raise common.failure(
                f"{what}: create (replica {replica.key_id} was scheduled for deletion)", err
            ) from None
        known = {**props, "primary_key_id": primary.key_id, "primary_trn": primary.trn}
        return dynamic.CreateResult(replica.key_id, _outs(replica, known))

    def update(self, id_: str, olds: Props, news: Props) -> dynamic.UpdateResult:
        region = news["replica_region"]
        rc = common.connect(region)
        try:
            replica = rc.describe_key(id_)
            replica = _converge(rc, replica, olds.get("tags") or {}, news, news.get("key_name"))
        except KmsError as err:
            raise common.failure(f"ReplicaKey {id_} in {region}: update", err) from None
        # What the state knows of the primary stays where the cloud's answer is silent on it.
        known = {**news, "primary_key_id": olds.get("primary_key_id") or news.get("primary_key_id"),
                 "primary_trn": olds.get("primary_trn")}
        return dynamic.UpdateResult(_outs(replica, known))

    def read(self, id_: str, props: Props) -> dynamic.ReadResult:
        ref_part, _, primary_part = id_.partition(PRIMARY_SEP)
        region, ref = program.located(ref_part, props.get("replica_region") or props.get("region"))
        rc = common.connect(region)
        replica = common.live_key(rc, ref, f"ReplicaKey {ref} in {region}")
        if replica is None:
            return dynamic.ReadResult("", {})
        primary = replica.primary
        known_id, known_region, known_trn = props.get("primary_key_id"), props.get("primary_region"), \
            props.get("primary_trn")
        if primary is None and primary_part:
            # An import on a cloud whose answers never name a replica's primary (Huawei Cloud): the id names
            # it, and the shared key material proves it.
            p_region, p_ref = program.located(primary_part, None)
            found = _verified_primary(rc.in_region(p_region), p_ref, rc, replica, f"ReplicaKey {ref}: import")
            known_id, known_region, known_trn = found.key_id, found.region, found.trn
        elif primary is None and "replica_region" not in props and not common.capabilities().links_in_answers:
            raise ProviderError(
                f"ReplicaKey {ref} in {region}: import: {common.capabilities().cloud} never says which key a "
                f"replica belongs to; name the primary in the import id: {region}:{ref}{PRIMARY_SEP}"
                "PRIMARY_REGION:PRIMARY_KEY_ID"
            )
        # A cloud silent on the links (Huawei Cloud) is no drift: the state's primary stays.
        live: Props = {
            "primary_key_id": primary.key_id if primary else known_id,
            "primary_region": (primary.region if primary else None) or known_region,
            "replica_region": replica.region,
            "key_name": replica.name,
            "description": replica.description,
            "enabled": replica.state != rules.KeyState.DISABLE,
            "pending_days": props.get("pending_days") or rules.PENDING_DAYS_DEFAULT,
            "tags": tags_of(replica),
        }
        inputs = None if "replica_region" in props else {k: v for k, v in live.items() if v is not None}
        return dynamic.ReadResult(replica.key_id, _outs(replica, {**live, "primary_trn": known_trn}), inputs)

    def delete(self, id_: str, props: Props) -> None:
        region = props.get("replica_region") or props.get("region") or common.default_region()
        what = f"ReplicaKey {id_} in {region}: delete"
        days = int(props.get("pending_days") or rules.PENDING_DAYS_DEFAULT)
        try:
            retire.retire_key(common.connect(region), id_, days, what)
        except KmsError as err:
            raise common.failure(what, err) from None


def _adopt_standing(
    pc: KmsClient, rc: KmsClient, primary: model.Key, region: str, err: Conflict, props: Props
) -> model.Key:
    """ReplicateKey answered Conflict: if the primary already has a replica in the region (a create the engine
    lost, or one that timed out), take it over. Volcengine (and the emulator) name a primary's replicas; Huawei
    Cloud's answers never do, so there the replica is the key of the region under the replica's name that
    carries this resource's owner mark (see _common)."""
    primary = pc.describe_key(primary.key_id)
    for r in primary.replicas:
        if r.region == region:
            return rc.describe_key(r.key_id)
    found = common.find_named(rc, props.get("key_name") or primary.name)
    if found is not None and found.key_id != primary.key_id and common.owned(found, props.get(OWNER), False):
        return found
    raise err  # a name conflict, not a standing replica


def _adopt_import(rc: KmsClient, primary: model.Key, ref: str, what: str) -> model.Key:
    try:
        replica = rc.describe_key(ref.partition(PRIMARY_SEP)[0])
    except NotFound:
        raise ProviderError(f"{what}: import_ of {ref}: no such key in {rc.region}") from None
    if replica.primary is None and replica.multi_region_type == rules.MultiRegionType.NONE:
        # The cloud's answer names no primary (Huawei Cloud): the shared key material must prove it.
        if not _shares_material(rc.in_region(primary.region), primary, rc, replica):
            raise ProviderError(f"{what}: import_ of {ref}: it is not a replica of {primary.key_id} (their key "
                                "material differs)")
        return replica
    owner = replica.primary.key_id if replica.primary else None
    if replica.key_id == owner or owner != primary.key_id:
        raise ProviderError(f"{what}: import_ of {ref}: it is not a replica of {primary.key_id}")
    return replica


def _verified_primary(pc: KmsClient, ref: str, rc: KmsClient, replica: model.Key, what: str) -> model.Key:
    try:
        primary = pc.describe_key(ref)
    except NotFound:
        raise ProviderError(f"{what}: the primary {ref} named in the import id is not a key of {pc.region}") from None
    if primary.key_id == replica.key_id or not _shares_material(pc, primary, rc, replica):
        raise ProviderError(f"{what}: {replica.key_id} is not a replica of {primary.key_id} (their key material "
                            "differs)")
    return primary


_PROBE = b"kms-keys-as-code: is this a replica of that key?"


def _shares_material(pc: KmsClient, primary: model.Key, rc: KmsClient, replica: model.Key) -> bool:
    """Whether two keys share key material, as a primary and its replicas do: a ciphertext made by one
    opens under the other, or their public keys or MACs agree. Keys of another spec or usage never do;
    keys that cannot be used now (disabled) are taken on their spec and usage alone."""
    if (primary.spec, primary.usage, primary.origin) != (replica.spec, replica.usage, replica.origin):
        return False
    usable = (rules.KeyState.ENABLE,)
    if primary.state not in usable or replica.state not in usable:
        return True
    try:
        if primary.spec in rules.ASYMMETRIC_SPECS:
            return pc.get_public_key(primary.key_id) == rc.get_public_key(replica.key_id)
        if primary.spec in rules.HMAC_SPECS:
            return pc.generate_mac(primary.key_id, _PROBE) == rc.generate_mac(replica.key_id, _PROBE)
        if primary.usage == rules.KeyUsage.ENCRYPT_DECRYPT:
            blob = rc.encrypt(replica.key_id, _PROBE)
            return pc.decrypt(blob, key_id=primary.key_id)[1] == _PROBE
    except KmsError:
        return False
    return True


def _converge(
    rc: KmsClient, key: model.Key, old_tags: dict[str, str], want: Props, name: str | None
) -> model.Key:
    """Enable first, change the rest, disable last (tags need an enabled key)."""
    key_id = key.key_id
    enabled = want.get("enabled", True)
    if enabled and key.state == rules.KeyState.DISABLE:
        key = rc.enable_key(key_id)
    description = want.get("description")
    rename = name if name and name != key.name else None
    redescribe = description if description is not None and description != key.description else None
    if rename or redescribe is not None:
        key = rc.update_key(key_id, new_key_name=rename, description=redescribe)
    new_tags = dict(want.get("tags") or {})
    live_tags = tags_of(key)
    managed = want.get("tags") is not None
    if managed and (set(old_tags) - set(new_tags) or any(live_tags.get(k) != v for k, v in new_tags.items())):
        retire.while_enabled(rc, key, lambda: retire.set_tags(rc, key_id, old_tags, live_tags, new_tags))
        key = rc.describe_key(key_id)
    if not enabled and key.state == rules.KeyState.ENABLE:
        key = rc.disable_key(key_id)
    return key


def _outs(key: model.Key, want: Props) -> Props:
    primary = key.primary
    outs: Props = {p: want.get(p) for p in INPUTS}
    outs.update(
        {
            "key_id": key.key_id,
            "trn": key.trn,
            "key_state": key.state.value,
            "key_spec": key.spec.value,
            "key_usage": key.usage.value,
            "primary_trn": (primary.trn if primary else None) or want.get("primary_trn") or None,
            "primary_key_id": (primary.key_id if primary else None) or want.get("primary_key_id"),
            "region": key.region,
            "key_name": key.name,
            "description": key.description,
            "tags": dict(want["tags"]) if want.get("tags") is not None else tags_of(key),
        }
    )
    return outs


class ReplicaKey(dynamic.Resource, module="kms", name="ReplicaKey"):
    """A replica of a custom key in another region; it shares the primary's key material (Volcengine's
    ReplicateKey API: https://www.volcengine.com/docs/6476/1438471).

    Every input is also an output attribute, set whether or not the program passed it (the value the
    replica has); see ``__init__`` for the inputs. The other outputs: ``key_id`` (the resource id), ``trn``,
    ``key_state``, ``key_spec``, ``key_usage`` (the primary's), ``primary_trn`` and ``region`` (the
    replica's region).

    Create returns once the replica is usable, waiting at most the resource's create timeout
    (``ResourceOptions(custom_timeouts=CustomTimeouts(create="15m"))``, default 10 minutes).
    """

    key_id: pulumi.Output[str]
    trn: pulumi.Output[str]
    key_state: pulumi.Output[str]
    key_spec: pulumi.Output[kinds.KeySpec]
    key_usage: pulumi.Output[kinds.KeyUsage]
    primary_trn: pulumi.Output[str]
    region: pulumi.Output[str]
    primary_key_id: pulumi.Output[str]
    primary_region: pulumi.Output[str]
    replica_region: pulumi.Output[str]
    key_name: pulumi.Output[str]
    description: pulumi.Output[str | None]
    enabled: pulumi.Output[bool]
    pending_days: pulumi.Output[int]
    tags: pulumi.Output[dict[str, str] | None]

    def __init__(
        self,
        resource_name: str,
        *,
        primary_key_id: pulumi.Input[str],
        replica_region: pulumi.Input[str],
        primary_region: pulumi.Input[str] | None = None,
        key_name: pulumi.Input[str] | None = None,
        description: pulumi.Input[str] | None = None,
        enabled: pulumi.Input[bool] | None = None,
        pending_days: pulumi.Input[int] | None = None,
        tags: pulumi.Input[dict[str, pulumi.Input[str]]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare a replica. Every argument but ``resource_name`` is keyword-only and takes a Pulumi Input.

        :param resource_name: the resource's name in the stack (unique per type).
        :param primary_key_id: the id (or TRN, or alias) of the key to replicate, typically a
            ``CustomKey``'s ``key_id`` (replace).
        :param replica_region: where the replica lives: a region the cloud replicates the primary's region to
            (replace).
        :param primary_region: the primary's region (replace). Default: the region of the ``CustomKey`` whose
            ``key_id`` is ``primary_key_id``; for any other id, stack config ``kms:region``.
        :param key_name: the replica's name. Default: the primary's name, as the service does.
        :param description: default: the primary's.
        :param enabled: default True; False disables the replica.
        :param pending_days: 7..1096, default 30: the waiting period used when the replica is destroyed.
        :param tags: at most 20. Omitted: the replica's tags are left alone.
        :param opts: Pulumi resource options (``import_``, ``custom_timeouts``, ``protect``, ...).
        """
        props: dict[str, Any] = {
            "primary_key_id": primary_key_id,
            "primary_region": primary_region,
            "replica_region": replica_region,
            "key_name": key_name,
            "description": description,
            "enabled": enabled,
            "pending_days": pending_days,
            "tags": tags,
        }
        timeouts = opts.custom_timeouts if opts is not None else None
        if timeouts is not None and timeouts.create:
            props[TIMEOUT] = checks.duration_seconds(timeouts.create)
        primary = program.key_behind(primary_key_id)
        if primary is not None and primary_region is None and hasattr(primary, "add_replica"):
            # The primary is a CustomKey of this program: its region is the primary region, not kms:region.
            props["primary_region"] = primary.region
        if primary is not None:
            props["key_spec"], props["key_usage"] = primary.key_spec, primary.key_usage
            if hasattr(primary, "add_replica"):  # a CustomKey: its multi_region input, checked at preview
                props[PRIMARY_MULTI_REGION] = getattr(primary, "multi_region_input", None) or False
        if opts is not None and isinstance(opts.import_, str) and PRIMARY_SEP not in opts.import_ \
                and isinstance(primary_key_id, str):
            # The import id names the primary too, for a cloud whose answers never say it (Huawei Cloud).
            where = f"{primary_region}:" if isinstance(primary_region, str) else ""
            opts = copy.copy(opts)
            opts.import_ = f"{opts.import_}{PRIMARY_SEP}{where}{primary_key_id}"
        opts, import_id = program.import_option(opts, replica_region)
        if import_id:
            props[IMPORT_ID] = import_id
        super().__init__(ReplicaKeyProvider(), resource_name, program.resource_props(props, (*OUTPUTS, *INPUTS)), opts)
        # The key id is the resource id: the engine keeps it known while previewing an update (outputs that
        # are not inputs turn unknown there), so resources built on it show no spurious replacement.
        self.key_id = self.id
        program.declare_key(self)
        if primary is not None and hasattr(primary, "add_replica"):
            primary.add_replica(self)
