"""`CustomKey`: a custom (master) key in one region.

Immutable inputs (region, key_spec, key_usage, origin, keyring_name) force a replacement; everything
else is changed in place. Create is transactional: a key whose follow-up steps fail is scheduled for
deletion again before the error surfaces.
"""

# Annotations evaluated, not `from __future__ import annotations`: the SDK resolves a resource class's
# annotations each time it registers one, and strings cost an eval each (docs/resources.md).

import asyncio
import secrets
from typing import Any, cast

import pulumi
from pulumi import dynamic

from .. import typing as kinds
from ..client import KmsClient, tags_of
from ..domain import model, rules
from ..domain.errors import KmsError, NotFound
from . import _checks as checks
from . import _common as common
from . import _program as program
from . import _retire as retire
from ._checks import Checker, is_unknown
from ._common import AUTONAME, AUTONAMED, IMPORT_ID, OWNER, Props, ProviderError

ORIGINS = {rules.Origin.KMS: "kms", rules.Origin.EXTERNAL: "external"}
REPLACES = ("region", "key_spec", "key_usage", "origin", "keyring_name", "multi_region")
UPDATES = (
    "key_name",
    "description",
    "enterprise_project",
    "enabled",
    "pending_days",
    "rotation_enabled",
    "rotation_interval_days",
    "tags",
    "key_material",
)
INPUTS = REPLACES + UPDATES
OUTPUTS = (
    "key_id",
    "trn",
    "key_state",
    "key_name",
    "region",
    "key_spec",
    "key_usage",
    "multi_region_type",
    "replica_regions",
    "public_key",
    "creation_date",
)


class CustomKeyProvider(common.BaseProvider):
    # --- check: every rule of the domain layer, defaults filled so the preview shows them -------------
    def check(self, olds: Props, news: Props) -> dynamic.CheckResult:
        c = Checker()
        if not c.config():
            return dynamic.CheckResult({}, c.failures)
        ins: Props = {}
        ins["region"] = c.region("region", news.get("region"))

        spec: rules.KeySpec | None = None
        raw_spec = news.get("key_spec") or rules.KeySpec.AES_256.value
        if is_unknown(raw_spec):
            ins["key_spec"] = raw_spec
        elif (text := c.string("key_spec", raw_spec)) is not None:
            spec = c.rule("key_spec", lambda: rules.key_spec(text, "key_spec"))
            ins["key_spec"] = spec.value if spec else text

        raw_usage = news.get("key_usage")
        if is_unknown(raw_usage):
            ins["key_usage"] = raw_usage
        elif spec is not None and (raw_usage is None or c.string("key_usage", raw_usage) is not None):
            usage = c.rule("key_usage", lambda: rules.key_usage(spec, raw_usage, "key_usage"))
            ins["key_usage"] = usage.value if usage else raw_usage
        else:
            ins["key_usage"] = raw_usage

        raw_origin = news.get("origin")
        origin: rules.Origin | None = None
        if is_unknown(raw_origin):
            ins["origin"] = raw_origin
        elif spec is not None and (raw_origin is None or c.string("origin", raw_origin) is not None):
            origin = c.rule("origin", lambda: rules.origin(raw_origin, spec, "origin"))
            ins["origin"] = ORIGINS[origin] if origin else raw_origin
        else:
            ins["origin"] = raw_origin

        ins["keyring_name"] = _rule_str(
            c, news, "keyring_name", lambda v: rules.keyring_name(v, "keyring_name")
        )
        ins["description"] = _rule_str(c, news, "description", lambda v: rules.description(v, "description"))
        project = news.get("enterprise_project")
        if project is None:
            ins["enterprise_project"] = rules.DEFAULT_ENTERPRISE_PROJECT
        elif project == "":
            c.fail("enterprise_project", "enterprise_project must be a non-empty string")
        elif is_unknown(project) or c.string("enterprise_project", project) is not None:
            ins["enterprise_project"] = project
        # An input the configured cloud's API lacks is refused here, never dropped on the way.
        can = c.settings.capabilities
        for able, what, prop, default in (
            (can.keyrings, "keyrings", "keyring_name", rules.DEFAULT_KEYRING),
            (can.enterprise_projects, "enterprise_projects", "enterprise_project", rules.DEFAULT_ENTERPRISE_PROJECT),
        ):
            value = ins.get(prop)
            if isinstance(value, str) and value != default and not able:
                c.fail(prop, can.lacking(what, f"{prop} {value!r}"))
        multi = news.get("multi_region")
        if multi is not None:  # left out: the key is created as the cloud's default (not multi-region)
            ins["multi_region"] = c.boolean("multi_region", multi, False)
        ins["enabled"] = c.boolean("enabled", news.get("enabled"), True)
        days = c.whole("pending_days", news.get("pending_days"))
        ins["pending_days"] = (
            days
            if is_unknown(days)
            else c.rule("pending_days", lambda: rules.pending_days(days, "pending_days"))
        )
        ins["rotation_enabled"] = c.boolean("rotation_enabled", news.get("rotation_enabled"), False)
        interval = c.whole("rotation_interval_days", news.get("rotation_interval_days"))
        if is_unknown(interval):
            ins["rotation_interval_days"] = interval
        elif interval is not None or ins["rotation_enabled"] is True:
            ins["rotation_interval_days"] = c.rule(
                "rotation_interval_days", lambda: rules.rotation_days(interval, "rotation_interval_days")
            )
        if ins["rotation_enabled"] is True and spec is not None and origin is not None:
            c.rule("rotation_enabled", lambda: rules.rotation_supported(spec, origin, False, "rotation_enabled"))
        if news.get("tags") is not None:  # omitted: the key's tags are not managed here (see KeyTags)
            ins["tags"] = c.tags("tags", news.get("tags"))
        _check_material(c, news.get("key_material"), spec, origin, ins)
        _check_name(c, olds, news, ins)
        for key in (AUTONAME, IMPORT_ID, OWNER):
            if news.get(key) is not None:
                ins[key] = news[key]
        return dynamic.CheckResult({k: v for k, v in ins.items() if v is not None}, c.failures)

    # --- diff: exactly the changed inputs; the immutable ones replace ----------------------------------
    def diff(self, _id: str, olds: Props, news: Props) -> dynamic.DiffResult:
        rotating = news.get("rotation_enabled") is not False  # the interval only matters while rotation is on
        plain = [p for p in INPUTS if p not in ("key_material", "multi_region")
                 and (rotating or p != "rotation_interval_days")]
        changed = checks.changed_inputs(plain, olds, news, kept_when_undeclared=("key_name", "tags"))
        # A flag: unset is false, so a stack made before the input existed sees no change.
        multi = news.get("multi_region")
        if is_unknown(multi) or bool(multi) != bool(olds.get("multi_region")):
            changed.append("multi_region")
        # Material is never in state: it only matters while the key still waits for it.
        if news.get("key_material") is not None and olds.get("key_state") == rules.KeyState.PENDING_IMPORT:
            changed.append("key_material")
        replaces = [p for p in changed if p in REPLACES]
        checks.refuse_imported_replacement("CustomKey", olds, news, replaces)
        # An explicit name stays unique only if the old key gives it up before the new one takes it.
        explicit_name = news.get("key_name") is not None and not news.get(AUTONAMED)
        return dynamic.DiffResult(
            changes=bool(changed), replaces=replaces, delete_before_replace=bool(replaces) and explicit_name
        )

    # --- create ----------------------------------------------------------------------------------------
    def create(self, props: Props) -> dynamic.CreateResult:
        region = props["region"]
        what = f"CustomKey {props.get('key_name') or props.get(AUTONAME)} in {region}"
        c = common.connect(region)
        try:
            if props.get(IMPORT_ID):
                return self._adopt(c, props, what)
            lost = _lost_create(c, props)
            if lost is not None:
                return self._take_over(c, lost, props, what)
            key = c.create_key(
                props["key_name"],
                key_spec=props["key_spec"],
                key_usage=props["key_usage"],
                origin=_wire_origin(props["origin"]),
                keyring_name=props["keyring_name"],
                description=props.get("description") or None,
                enterprise_project=props["enterprise_project"],
                tags=common.owner_tags(props.get("tags"), props.get(OWNER)) or None,
                client_token=secrets.token_hex(16),
                multi_region=props.get("multi_region"),
            )
        except KmsError as err:
            raise common.failure(f"{what}: create", err) from None
        try:
            key, public_key = _converge(c, key, props.get("tags") or {}, props, None)
        except KmsError as err:
            retire.roll_back(c, key.key_id, what)
            raise common.failure(
                f"{what}: create (the new key {key.key_id} was scheduled for deletion)", err
            ) from None
        except BaseException:
            retire.roll_back(c, key.key_id, what)
            raise
        return dynamic.CreateResult(key.key_id, _outs(key, props, public_key))

    def _take_over(self, c: KmsClient, key: model.Key, props: Props, what: str) -> dynamic.CreateResult:
        """The key a lost create of this resource made (see `_lost_create`): make it match the program. It is
        never rolled back on failure: the next `up` takes it over again."""
        live = _live_inputs(key, props)
        wrong = [f"{p} is {live[p]!r}, the program says {props.get(p)!r}" for p in REPLACES if live[p] != props.get(p)]
        if wrong:
            raise ProviderError(
                f"{what}: key {key.key_id} named {key.name} was made by an interrupted create of this resource but "
                "does not match the program: " + "; ".join(wrong) + "; schedule it for deletion (kmsctl keys "
                "schedule-deletion) or change the program back"
            )
        common.adopted(key.key_id)
        key, public_key = _converge(c, key, {}, props, None)
        return dynamic.CreateResult(key.key_id, _outs(key, props, public_key))

    def _adopt(self, c: KmsClient, props: Props, what: str) -> dynamic.CreateResult:
        """ResourceOptions(import_=ID): take over an existing key and make it match the program."""
        ref = props[IMPORT_ID]
        try:
            key = c.describe_key(ref)
        except NotFound:
            raise ProviderError(f"{what}: import_ of {ref}: no such key in {c.region}") from None
        if key.multi_region_type == rules.MultiRegionType.REPLICA:
            raise ProviderError(f"{what}: import_ of {ref}: it is a replica key; adopt it with ReplicaKey")
        if key.state == rules.KeyState.PENDING_DELETE:
            raise ProviderError(
                f"{what}: import_ of {ref}: the key is pending deletion; cancel the deletion first"
            )
        live = _live_inputs(key, props)
        wrong = [
            f"{p} is {live[p]!r}, the program says {props.get(p)!r}"
            for p in REPLACES
            if live[p] != props.get(p)
        ]
        if wrong:
            raise ProviderError(
                f"{what}: import_ of {ref}: the key does not match the program: " + "; ".join(wrong)
            )
        key, public_key = _converge(c, key, {}, props, None)
        return dynamic.CreateResult(key.key_id, _outs(key, props, public_key))

    # --- update ----------------------------------------------------------------------------------------
    def update(self, id_: str, olds: Props, news: Props) -> dynamic.UpdateResult:
        what = f"CustomKey {id_} in {news['region']}"
        c = common.connect(news["region"])
        try:
            key = c.describe_key(id_)
            key, public_key = _converge(c, key, olds.get("tags") or {}, news, olds.get("public_key"))
        except KmsError as err:
            raise common.failure(f"{what}: update", err) from None
        outs = _outs(key, news, public_key)
        if not common.capabilities().links_in_answers:
            outs["replica_regions"] = list(olds.get("replica_regions") or [])
            outs["multi_region_type"] = olds.get("multi_region_type") or outs["multi_region_type"]
        return dynamic.UpdateResult(outs)

    # --- read: live state for refresh (drift) ----------------------------------------------------------
    def read(self, id_: str, props: Props) -> dynamic.ReadResult:
        region, ref = program.located(id_, props.get("region"))  # imported: the id names the region
        c = common.connect(region)
        key = common.live_key(c, ref, f"CustomKey {ref} in {region}")
        if key is None:
            return dynamic.ReadResult("", {})
        public_key = props.get("public_key")
        if key.spec in rules.ASYMMETRIC_SPECS and key.state == rules.KeyState.ENABLE:
            public_key = c.get_public_key(key.key_id)
        live = _live_inputs(key, props)
        outs = _outs(key, live, public_key)
        if not common.capabilities().links_in_answers and "key_spec" in props:
            # Huawei Cloud's answers never name a key's replicas: silence is not drift, the state's stand.
            outs["replica_regions"] = list(props.get("replica_regions") or [])
            outs["multi_region_type"] = props.get("multi_region_type") or outs["multi_region_type"]
        # Without our inputs in `props` this is an adoption: hand back inputs rebuilt from the live key.
        inputs = None if "key_spec" in props else {k: v for k, v in live.items() if v is not None}
        return dynamic.ReadResult(key.key_id, outs, inputs)

    # --- delete ----------------------------------------------------------------------------------------
    def delete(self, id_: str, props: Props) -> None:
        region = props.get("region") or common.default_region()
        what = f"CustomKey {id_} in {region}: delete"
        days = int(props.get("pending_days") or rules.PENDING_DAYS_DEFAULT)
        try:
            retire.retire_key(common.connect(region), id_, days, what)
        except KmsError as err:
            raise common.failure(what, err) from None


def _rule_str(c: Checker, news: Props, prop: str, rule: Any) -> Any:
    value = news.get(prop)
    if is_unknown(value):
        return value
    if value is not None and c.string(prop, value) is None:
        return None
    return c.rule(prop, lambda: rule(value))


def _check_material(
    c: Checker, material: Any, spec: rules.KeySpec | None, origin: rules.Origin | None, ins: Props
) -> None:
    if material is None:
        return
    ins["key_material"] = material
    if is_unknown(material) or c.string("key_material", material) is None:
        return
    if origin is not None and origin is not rules.Origin.EXTERNAL:
        c.fail("key_material", "key_material is only for keys with origin external")
        return
    try:
        raw = checks.decode_material(material)
    except ValueError as err:
        c.fail("key_material", str(err))
        return
    if spec is not None:
        want = rules.EXTERNAL_MATERIAL_BYTES.get(spec)
        if want is not None and len(raw) != want:
            c.fail("key_material", f"key_material for {spec} must be {want} bytes, got {len(raw)}")


def _lost_create(c: KmsClient, props: Props) -> model.Key | None:
    """The key an earlier create of this very resource made before the engine lost it (a killed `up`): the
    live key under the name this create asks for that carries this resource's owner mark (see _common)."""
    owner = props.get(OWNER)
    if not owner:
        return None
    key = common.find_named(c, props["key_name"], props.get("keyring_name"))
    if key is None or key.multi_region_type == rules.MultiRegionType.REPLICA:
        return None
    return key if common.owned(key, owner, bool(props.get(AUTONAMED))) else None


def _check_name(c: Checker, olds: Props, news: Props, ins: Props) -> None:
    name = news.get("key_name")
    owner, seed = common.check_identity(news)
    if owner:
        ins[OWNER] = owner
    existing = any(not k.startswith("__") for k in olds)
    if is_unknown(name):
        ins["key_name"], ins[AUTONAMED] = name, False
    elif name is not None:
        if c.string("key_name", name) is not None:
            c.rule("key_name", lambda: rules.key_name(name, "key_name"))
        ins["key_name"], ins[AUTONAMED] = name, False
    elif olds.get(AUTONAMED) and olds.get("key_name"):
        # Stable across previews and updates; a replacement re-checks without olds (same seed) and gets a new
        # name, derived from this one.
        ins["key_name"], ins[AUTONAMED] = olds["key_name"], True
        common.note_predecessor(seed, str(olds["key_name"]))
    elif existing or news.get(IMPORT_ID):
        ins[AUTONAMED] = False  # an adopted key, or one whose name was dropped: it keeps its name
    else:
        base = str(news.get(AUTONAME) or "key")
        ins["key_name"], ins[AUTONAMED] = common.autoname(base, owner, common.predecessor(seed)), True


def _wire_origin(origin: str) -> str:
    return {v: k for k, v in ORIGINS.items()}[origin].value


def _converge(
    c: KmsClient, key: model.Key, old_tags: dict[str, str], want: Props, public_key: str | None
) -> tuple[model.Key, str | None]:
    """Make a live key match `want`: import material, enable first, change the rest, disable last."""
    key_id = key.key_id
    if want.get("key_material") and key.state == rules.KeyState.PENDING_IMPORT:
        key = c.import_material(key_id, checks.decode_material(want["key_material"]))
    enabled = want.get("enabled", True)
    if enabled and key.state == rules.KeyState.DISABLE:
        key = c.enable_key(key_id)
    name = want.get("key_name")
    description = want.get("description") or ""
    if (name and name != key.name) or description != key.description:
        key = c.update_key(
            key_id,
            new_key_name=name if name != key.name else None,
            description=description if description != key.description else None,
        )
    if want.get("enterprise_project") and want["enterprise_project"] != key.enterprise_project:
        key = c.update_key(key_id, enterprise_project=want["enterprise_project"])

    managed = want.get("tags") is not None
    new_tags = dict(want.get("tags") or {})
    live_tags = tags_of(key)
    rotate = bool(want.get("rotation_enabled"))
    interval = want.get("rotation_interval_days")
    tags_to_change = managed and (
        bool(set(old_tags) - set(new_tags)) or any(live_tags.get(k) != v for k, v in new_tags.items())
    )
    rotation_to_change = rotate != key.rotation_enabled or (
        rotate and interval is not None and int(interval) != key.rotation_days
    )
    if tags_to_change or rotation_to_change:

        def change() -> None:
            if tags_to_change:
                retire.set_tags(c, key_id, old_tags, live_tags, new_tags)
            if rotation_to_change and rotate:
                c.enable_key_rotation(key_id, int(interval) if interval is not None else None)
            elif rotation_to_change:
                c.disable_key_rotation(key_id)

        # The service tags and rotates enabled keys only: a disabled key is enabled for the change.
        retire.while_enabled(c, key, change)
        key = c.describe_key(key_id)
    if key.spec in rules.ASYMMETRIC_SPECS and key.state == rules.KeyState.ENABLE:
        public_key = c.get_public_key(key_id)
    if not enabled and key.state == rules.KeyState.ENABLE:
        key = c.disable_key(key_id)
    return key, public_key


def _live_inputs(key: model.Key, props: Props) -> Props:
    """The inputs that describe a live key (props fill what the service does not report)."""
    state = key.state
    rotation = key.rotation_enabled
    return {
        "region": key.region,
        "key_spec": key.spec.value,
        "key_usage": key.usage.value,
        "origin": ORIGINS[key.origin],
        "keyring_name": key.keyring,
        "key_name": key.name,
        "description": key.description,
        "enterprise_project": key.enterprise_project or rules.DEFAULT_ENTERPRISE_PROJECT,
        # A key still waiting for its material is neither: it keeps what the program asked for.
        "enabled": (
            props.get("enabled", True)
            if state == rules.KeyState.PENDING_IMPORT
            else state != rules.KeyState.DISABLE
        ),
        "pending_days": props.get("pending_days") or rules.PENDING_DAYS_DEFAULT,
        "rotation_enabled": rotation,
        "rotation_interval_days": (
            key.rotation_days if rotation else props.get("rotation_interval_days")
        ),
        "tags": tags_of(key),
        # Not in every cloud's answer: the program's (or state's) word stands; an adopted key without one
        # is multi-region where the cloud says so.
        "multi_region": props.get("multi_region") if "key_spec" in props else (
            True if key.multi_region_type is not rules.MultiRegionType.NONE
            and common.capabilities().multi_region_at_create else None),
    }


def _outs(key: model.Key, want: Props, public_key: str | None) -> Props:
    outs: Props = {p: want.get(p) for p in INPUTS if p != "key_material"}
    outs.update(
        {
            "key_id": key.key_id,
            "trn": key.trn,
            "key_state": key.state.value,
            "key_name": key.name,
            "region": key.region,
            "key_spec": key.spec.value,
            "key_usage": key.usage.value,
            "keyring_name": key.keyring,
            "multi_region_type": key.multi_region_type.value,
            "replica_regions": common.replica_regions(key),
            "public_key": public_key,
            "creation_date": common.timestamp(key.created),
        }
    )
    # Declared tags once converged; the live ones when tags are not managed here (informational).
    outs["tags"] = dict(want["tags"]) if want.get("tags") is not None else tags_of(key)
    return outs


class CustomKey(dynamic.Resource, module="kms", name="CustomKey"):
    """A custom key in one region, made by the KMS CreateKey API (Huawei Cloud:
    https://support.huaweicloud.com/intl/en-us/api-dew/CreateKey.html; Volcengine:
    https://www.volcengine.com/docs/6476/1337064) and kept as declared.

    Every input is also an output attribute, set whether or not the program passed it (the value the key
    has, or None where the service has none); see ``__init__`` for the inputs. The other outputs:

    - ``key_id`` (the resource id), ``trn``, ``key_state``, ``creation_date``;
    - ``multi_region_type``: ``NONE`` or ``PRIMARY``;
    - ``replica_regions``: the regions of the ReplicaKeys this program declares on ``key_id`` (resolved once
      they are created) plus any other live replica the service reported at the key's last create, update
      or refresh;
    - ``public_key``: PEM, for asymmetric keys (None otherwise).

    ``key_material`` is never an output: its attribute is the secret the program passed, and neither the
    key's state nor a preview holds it.

    ``ResourceOptions(import_=KEY_ID)`` takes an existing key of the region into the stack: an engine import
    (``= import`` in the preview) where the engine runs this package's dynamic-provider host, else an
    adoption made by create (``KEY_ID`` may be ``REGION:KEY_ID`` or a TRN, which name the region).
    """

    key_id: pulumi.Output[str]
    trn: pulumi.Output[str]
    key_state: pulumi.Output[str]
    key_name: pulumi.Output[str]
    region: pulumi.Output[str]
    key_spec: pulumi.Output[kinds.KeySpec]
    key_usage: pulumi.Output[kinds.KeyUsage]
    origin: pulumi.Output[kinds.Origin]
    keyring_name: pulumi.Output[str]
    description: pulumi.Output[str | None]
    enterprise_project: pulumi.Output[str | None]
    enabled: pulumi.Output[bool]
    pending_days: pulumi.Output[int]
    rotation_enabled: pulumi.Output[bool | None]
    rotation_interval_days: pulumi.Output[int | None]
    key_material: pulumi.Output[str | None]
    tags: pulumi.Output[dict[str, str]]
    multi_region: pulumi.Output[bool | None]
    public_key: pulumi.Output[str | None]
    creation_date: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        region: pulumi.Input[str] | None = None,
        key_spec: pulumi.Input[kinds.KeySpec] | None = None,
        key_usage: pulumi.Input[kinds.KeyUsage] | None = None,
        origin: pulumi.Input[kinds.Origin] | None = None,
        keyring_name: pulumi.Input[str] | None = None,
        key_name: pulumi.Input[str] | None = None,
        description: pulumi.Input[str] | None = None,
        enterprise_project: pulumi.Input[str] | None = None,
        enabled: pulumi.Input[bool] | None = None,
        pending_days: pulumi.Input[int] | None = None,
        rotation_enabled: pulumi.Input[bool] | None = None,
        rotation_interval_days: pulumi.Input[int] | None = None,
        key_material: pulumi.Input[str] | None = None,
        tags: pulumi.Input[dict[str, pulumi.Input[str]]] | None = None,
        multi_region: pulumi.Input[bool] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare a custom key. Every argument but ``resource_name`` is keyword-only and takes a Pulumi Input.

        :param resource_name: the resource's name in the stack (unique per type); the base of an automatic
            ``key_name``.
        :param region: the key's region (replace). Default: stack config ``kms:region``, then ``KMS_REGION``.
        :param key_spec: ``AES_256`` (default), ``HMAC_256``, ``HMAC_384``, ``HMAC_512``, ``HMAC_SM3``,
            ``RSA_2048``, ``RSA_3072``, ``RSA_4096``, ``EC_P256`` or ``EC_P384`` (replace).
        :param key_usage: ``ENCRYPT_DECRYPT``, ``SIGN_VERIFY`` or ``GENERATE_VERIFY_MAC`` (replace). Each spec
            allows its own: AES_256 encrypts (the default); HMAC_* make MACs; RSA_* sign (the default) or
            encrypt; EC_* sign.
        :param origin: ``kms`` (default: the service makes the material) or ``external`` (imported: see
            ``key_material``) (replace).
        :param keyring_name: the keyring holding the key, default ``default`` (replace).
        :param key_name: the key's name: letters, digits, ``_ - : /``, at most 255 characters, not ending with
            ``/default``. Omitted: the resource name plus a random suffix.
        :param description: free text, at most 255 characters.
        :param enterprise_project: default ``default``.
        :param enabled: default True; False disables the key.
        :param pending_days: 7..1096, default 30: the waiting period used when the key is destroyed.
        :param rotation_enabled: automatic rotation of the key material (symmetric keys).
        :param rotation_interval_days: 30..365, default 365 when rotation is on.
        :param key_material: secret; base64 key material for ``origin="external"``; never in outputs or state.
        :param tags: at most 20; the key's whole tag set (tags added elsewhere are drift). Omitted: the key's
            tags are left alone (manage some of them with ``KeyTags``).
        :param multi_region: create the key replicable (replace), where the cloud needs a key so created to
            replicate it, as Volcengine does (CreateKey's MultiRegion); unset is false.
        :param opts: Pulumi resource options (``import_``, ``custom_timeouts``, ``protect``, ...).
        """
        self.multi_region_input = multi_region  # a ReplicaKey on this key checks it at preview (Volcengine)
        props: dict[str, Any] = {
            "region": region,
            "key_spec": key_spec,
            "key_usage": key_usage,
            "origin": origin,
            "keyring_name": keyring_name,
            "key_name": key_name,
            "description": description,
            "enterprise_project": enterprise_project,
            "enabled": enabled,
            "pending_days": pending_days,
            "rotation_enabled": rotation_enabled,
            "rotation_interval_days": rotation_interval_days,
            "tags": tags,
            "multi_region": multi_region,
            # Secret whatever the caller passed: the engine then stores the input encrypted.
            "key_material": pulumi.Output.secret(key_material) if key_material is not None else None,
            AUTONAME: resource_name,
        }
        opts, import_id = program.import_option(opts, region)
        if import_id:
            props[IMPORT_ID] = import_id
        super().__init__(CustomKeyProvider(), resource_name, program.resource_props(props, (*OUTPUTS, *INPUTS)), opts)
        # The key id is the resource id: the engine keeps it known while previewing an update (outputs that
        # are not inputs turn unknown there), so resources built on it show no spurious replacement.
        self.key_id = self.id
        program.declare_key(self)
        self._replicas: list[Any] = []  # the ReplicaKeys the program declares on this key's key_id

    def add_replica(self, replica: Any) -> None:
        """Called by a ReplicaKey built on this key's key_id: its region belongs in `replica_regions`."""
        self._replicas.append(replica)

    # `replica_regions` and `multi_region_type` are derived from what the service reported and the replicas the
    # program declares, built when first read: each Output is an asyncio task the SDK's end-of-program loop
    # waits over, and most programs never read these two (docs/resources.md, "What a resource costs"). The SDK
    # puts each reported Output in the instance's __dict__ under the property's name, which the property
    # shadows.
    @property
    def replica_regions(self) -> pulumi.Output[list[str]]:
        """The regions of the key's replicas (see the class docstring)."""
        derived: pulumi.Output[list[str]] | None = self.__dict__.get("_replica_regions")
        if derived is None:
            reported = self.__dict__["replica_regions"]
            derived = self._replica_regions = _with_declared_replicas(reported, self._replicas)
        return derived

    @replica_regions.setter
    def replica_regions(self, reported: pulumi.Output[list[str]]) -> None:  # where an SDK sets it, not __dict__
        self.__dict__["replica_regions"] = reported

    @property
    def multi_region_type(self) -> pulumi.Output[kinds.MultiRegionType]:
        """``NONE`` or ``PRIMARY`` (see the class docstring)."""
        derived: pulumi.Output[kinds.MultiRegionType] | None = self.__dict__.get("_multi_region_type")
        if derived is None:
            # A key with replicas is a primary, whatever the service said when the key itself was created.
            derived = self._multi_region_type = pulumi.Output.all(
                self.__dict__["multi_region_type"], self.replica_regions
            ).apply(lambda v: rules.MultiRegionType.PRIMARY.value if v[1] else v[0])
        return derived

    @multi_region_type.setter
    def multi_region_type(self, reported: pulumi.Output[kinds.MultiRegionType]) -> None:
        self.__dict__["multi_region_type"] = reported


def _with_declared_replicas(live: pulumi.Output[list[str]], replicas: list[Any]) -> pulumi.Output[list[str]]:
    """`replica_regions` as it stands once the update is done: the key's own create cannot know the replicas
    made after it, so the regions of the replicas declared on it join the regions the service reported (the
    replicas made outside the program). It resolves after those replicas are created."""

    async def regions() -> pulumi.Output[list[str]]:
        # The key's outputs arrive after its step, long after the program has declared all its resources.
        await live.future(with_unknowns=True)
        declared = [r.replica_region for r in replicas]
        return pulumi.Output.all(live, *declared).apply(
            lambda v: sorted(set(v[0] or []) | {r for r in v[1:] if isinstance(r, str)})
        )

    later: pulumi.Output[pulumi.Output[list[str]]] = pulumi.Output.from_input(
        cast(Any, asyncio.ensure_future(regions()))
    )
    return later.apply(lambda o: o)
