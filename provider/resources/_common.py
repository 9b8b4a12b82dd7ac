"""What the four dynamic providers share: configuration, the client, validation, waits, key retirement.

The provider objects are pickled (by reference: only the class name) into every resource's state and
shared by the engine's concurrent calls, so they hold nothing. Stack configuration arrives through
`configure` in the provider host process and is kept in this module (never pickled: classes of an
importable module are pickled by reference, their module globals are not). Each call builds its client
from that configuration, with environment variables as the fallback (contract section 3).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import datetime as dt
import hashlib
import os
import re
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import pulumi
from pulumi.dynamic import CheckFailure, ConfigureRequest, ResourceProvider
from pulumi.output import Unknown
from pulumi.runtime import rpc

from .. import config as kms_config
from ..backend import Backend
from ..client import OWNER_TAG, KmsClient
from ..domain import model, rules
from ..domain.capabilities import Capabilities
from ..domain.errors import InvalidOperation, KmsError, NotFound

T = TypeVar("T")
Props = dict[str, Any]

CONFIG_KEYS = (
    "region", "endpoint", "dialect", "projectIds", "accessKey", "secretKey", "emulatorPath", "regionCatalog",
)
# Internal inputs (hidden from previews: the engine treats `__`-prefixed keys as internal).
AUTONAME = "__autoname"  # the resource's logical name, the base of an automatic key name
AUTONAMED = "__autonamed"  # True when check generated key_name
IMPORT_ID = "__import_id"  # ResourceOptions(import_=ID), turned into an adoption by create
TIMEOUT = "__create_timeout"  # seconds, from ResourceOptions(custom_timeouts=CustomTimeouts(create=...))
TARGET_USAGE = "__target_key_usage"  # the usage of the key a KeyAlias is to name, as the program knows it
OWNER = "__owner"  # digest of the resource's URN: marks what its create makes (see "Lost creates" below)
# Put into Check's `news` by this project's provider host (tools/engine/kms_provider_host.py), never by a
# program: the URN and the engine's random seed of CheckRequest, which pulumi.dynamic does not hand over.
CHECK_URN = "__check_urn"
CHECK_SEED = "__check_seed"

DEFAULT_CREATE_TIMEOUT = 600.0  # the engine's own default for a create without custom timeouts
DELETE_WAIT = 60.0  # how long a primary waits for its replicas to be scheduled for deletion
MIN_PENDING_DAYS = rules.PENDING_DAYS_MIN  # the window used when a failed create is rolled back

_config: dict[str, str] = {}
_config_lock = threading.Lock()
_backends: dict[tuple[Any, ...], Backend] = {}
_backend_lock = threading.Lock()


class ProviderError(Exception):
    """A failure shown to the user: what was being done, then the service's code and message."""


class BaseProvider(ResourceProvider):
    # The pickled provider is just a class reference: nothing secret, so it may stay readable in state.
    serialize_as_secret_always = False

    def configure(self, req: ConfigureRequest) -> None:
        # Runs in the provider host, once per deserialized provider. Kept in the module, not on `self`.
        values = {}
        for key in CONFIG_KEYS:
            value = req.config.get(f"kms:{key}")
            if value not in (None, ""):
                values[key] = str(value)
        with _config_lock:
            _config.clear()
            _config.update(values)
        _warm_backend()


_warmed: set[tuple[tuple[str, str], ...]] = set()


def _warm_backend() -> None:
    """Open this configuration's backend in the background, once per process: the first create or delete
    then finds the emulator imported and its state open instead of waiting for it (issue 13). Only the
    opening is done early; a failure is left for the call that needs the backend to report."""
    with _config_lock:
        config = dict(_config)
        key = tuple(sorted(config.items()))
        if key in _warmed:
            return
        _warmed.add(key)

    def warm() -> None:
        with contextlib.suppress(Exception):
            client(config=config)

    threading.Thread(target=warm, name="kms-backend-warm", daemon=True).start()


def resource_props(inputs: Mapping[str, Any], outputs: Iterable[str]) -> dict[str, Any]:
    """What a resource registers: the inputs given, plus a slot for each contract output (the SDK makes an
    Output attribute for every key). Unset inputs are left out: every slot costs the SDK and the engine work.
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


def reset_config(values: Mapping[str, str] | None = None) -> None:
    """Replace the stack configuration seen by the providers (keys without the `kms:` prefix)."""
    with _config_lock:
        _config.clear()
        _config.update(values or {})


def settings(config: Mapping[str, str] | None = None) -> kms_config.Settings:
    """The provider host's configuration, or `config` (keys without `kms:`) where a program runs a lookup."""
    if config is None:
        with _config_lock:
            config = dict(_config)
    return kms_config.settings(dict(config))


def capabilities(config: Mapping[str, str] | None = None) -> Capabilities:
    """What the configured backend can do (one table per cloud, by `kms:dialect`; the embedded emulator:
    everything)."""
    return settings(config).capabilities


def catalog(config: Mapping[str, str] | None = None) -> rules.RegionCatalog:
    """The region catalog in force: `kms:regionCatalog` / `KMS_REGION_CATALOG`, else the configured cloud's."""
    return settings(config).catalog


def default_region() -> str:
    return settings().region


def client(region: str | None = None, config: Mapping[str, str] | None = None) -> KmsClient:
    s = settings(config)
    key = (s.endpoint, s.dialect, tuple(sorted(s.project_ids.items())), s.access_key, s.secret_key,
           str(s.emulator_path) if s.embedded else None, s.region_catalog)
    backend = _backends.get(key)
    if backend is None:
        # Its own lock: opening the first backend imports the emulator (a few hundred ms), and calls that
        # only need the configuration (check, diff) must not wait for it.
        with _backend_lock:
            backend = _backends.get(key)
            if backend is None:
                backend = kms_config.open_backend(s)
                _backends[key] = backend
    return KmsClient(backend, region or s.region)


def failure(action: str, err: KmsError) -> ProviderError:
    return ProviderError(f"{action}: {err}")


# --- values as the engine hands them over ------------------------------------------------------------
def is_unknown(value: Any) -> bool:
    """A value not known during a preview (an output of a resource still to be created or updated): the
    provider host hands it over as an `Unknown` object (or, in some paths, the wire's sentinel string)."""
    if isinstance(value, Unknown):
        return True
    if isinstance(value, str):
        return value == rpc.UNKNOWN
    if isinstance(value, Mapping):
        return any(is_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(is_unknown(v) for v in value)
    return False


class Checker:
    """Collects `CheckFailure`s: each rule of the domain layer is called with the property's name."""

    def __init__(self) -> None:
        self.failures: list[CheckFailure] = []

    def fail(self, prop: str, reason: str) -> None:
        # The reason names the property even where the engine prints it alone.
        if not reason.startswith(prop):
            reason = f"{prop}: {reason}"
        self.failures.append(CheckFailure(prop, reason))

    def config(self) -> bool:
        """Whether the stack's kms: settings are valid. Every check calls it first, so a bad setting fails
        at preview naming it, even for a resource that gives its region (and so never asks for kms:region)."""
        try:
            settings()
        except KmsError as err:
            self.fail("kms", err.message)
            return False
        return True

    def rule(self, prop: str, fn: Callable[[], T]) -> T | None:
        try:
            return fn()
        except KmsError as err:
            self.fail(prop, err.message)
            return None

    def string(self, prop: str, value: Any) -> str | None:
        if value is None or is_unknown(value):
            return None
        if not isinstance(value, str):
            self.fail(prop, f"{prop} must be a string, not {type(value).__name__}")
            return None
        return value

    def boolean(self, prop: str, value: Any, default: bool) -> Any:
        if value is None:
            return default
        if is_unknown(value):
            return value
        if not isinstance(value, bool):
            self.fail(prop, f"{prop} must be true or false, not {value!r}")
            return default
        return value

    def whole(self, prop: str, value: Any) -> Any:
        """Numbers cross the engine as floats: 30.0 is the whole number 30."""
        if value is None or is_unknown(value):
            return value
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            self.fail(prop, f"{prop} must be a whole number, not {value!r}")
            return None
        return int(value)

    def tags(self, prop: str, value: Any) -> Any:
        if value is None:
            return {}
        if is_unknown(value):
            return value
        if not isinstance(value, Mapping):
            self.fail(prop, f"{prop} must be a map of tag keys to values")
            return {}
        return self.rule(prop, lambda: rules.tags(value.items(), prop)) or {}

    def region(self, prop: str, value: Any) -> Any:
        if value is None:
            value = default_region()
        if is_unknown(value):
            return value
        text = self.string(prop, value)
        if text is None:
            return None
        return self.rule(prop, lambda: catalog().region(text, prop))


def decode_material(value: str) -> bytes:
    """Base64 key material; the error never repeats the value."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("key_material must be base64") from None


# --- lost creates -----------------------------------------------------------------------------------------
# A `pulumi up` killed while a create runs leaves a key the engine never recorded (Pulumi keeps a pending
# "creating" operation instead, https://www.pulumi.com/docs/iac/concepts/state-and-backends/#pending-operations).
# The next create of the same resource must find that key and take it over instead of making a second one.
# Only what both clouds' APIs offer is used: the key's name (Huawei Cloud's key alias, Volcengine's keyring +
# key name: unique in a region in both) and a tag (TagResources / the tags of create-key).
#
# * The owner mark: tag OWNER_TAG = a digest of the resource's URN (project, stack, type, parents, name), so
#   a key is never taken over by another stack or another resource.
# * The autoname: a digest of the owner and of the key this one replaces (none for a first create), so it is
#   the same name when a lost create is retried and a new one for each replacement. The engine checks a
#   replacement twice with one random seed, first with the old inputs (which hold the old name), then without
#   them; the seed ties the second check to the first.
# With pulumi.dynamic's stock host (no URN, no seed reach `check`) names stay random and nothing is marked:
# a lost create then leaves a key that `up` does not find (docs/resources.md).
_predecessors: dict[str, str] = {}
_predecessors_lock = threading.Lock()
_adopted: set[str] = set()


def owner_of(urn: str) -> str:
    return hashlib.sha256(urn.encode()).hexdigest()[:32]


def check_identity(news: Props) -> tuple[str | None, str | None]:
    """The owner digest and the engine's random seed of this Check, when the provider host passed them."""
    urn, seed = news.get(CHECK_URN), news.get(CHECK_SEED)
    owner = owner_of(urn) if isinstance(urn, str) and urn.startswith("urn:pulumi:") else None
    return owner, seed if isinstance(seed, str) and seed else None


def note_predecessor(seed: str | None, name: str) -> None:
    """Check saw the old inputs of a registration: a replacement checked next with this seed replaces `name`."""
    if seed:
        with _predecessors_lock:
            if len(_predecessors) > 100_000:  # one entry per registration of a deployment: bounded anyway
                _predecessors.clear()
            _predecessors[seed] = name


def predecessor(seed: str | None) -> str:
    with _predecessors_lock:
        return _predecessors.get(seed or "", "")


def owner_tags(tags: Mapping[str, str] | None, owner: str | None) -> dict[str, str]:
    """The tags a create sends: the program's, plus the owner mark where the key has room (20 tags a key)."""
    out = dict(tags or {})
    if owner and len(out) < rules.MAX_TAGS:
        out[OWNER_TAG] = owner
    return out


def owned(key: model.Key, owner: str | None, autonamed: bool) -> bool:
    """Whether `key`, found under the name this resource's create asks for, is what a lost create of this
    resource made: it carries this resource's owner mark, or it carries none (a create lost before its tags
    were set, Huawei Cloud tags after create-key) and the name is an autoname, which embeds the owner digest."""
    if not owner or key.state == rules.KeyState.PENDING_DELETE:
        return False
    mark = dict(key.tags).get(OWNER_TAG)
    return mark == owner or (mark is None and autonamed)


def find_named(c: KmsClient, name: str, keyring: str | None = None) -> model.Key | None:
    """The key of this region named `name` (in `keyring`), with its tags; None when there is none. Volcengine
    (and the emulator) describe a key by keyring and name; Huawei Cloud's describe-key takes only an id, so
    there the region's keys are listed (list-keys answers each key's alias) and the one found is described."""
    s = settings()
    if not s.embedded and s.dialect == "huaweicloud":
        found = next((k for k in c.list_keys() if k.name == name), None)
        return None if found is None else c.describe_key(found.key_id)
    try:
        return c.describe_key(model.KeyRef(keyring=keyring or rules.DEFAULT_KEYRING, name=name))
    except NotFound:
        return None


def adopted(key_id: str) -> None:
    """Remember that a create of this process answered an existing key (see `was_adopted`)."""
    _adopted.add(key_id)


def was_adopted(key_id: str) -> bool:
    """Whether a create of this process (this deployment) answered this existing key. A forced replacement
    (`pulumi up --replace`, a taint) checks without the old inputs, so its create may find the very key it
    replaces: the engine's delete of the old resource must then leave that key alone (the provider host asks)."""
    return key_id in _adopted


# The provider host sets this when the engine is gone: waits stop instead of starting more calls.
engine_gone = threading.Event()


def autoname(base: str, owner: str | None = None, replaces: str = "") -> str:
    """A legal key name from a resource name plus a suffix: a digest of the owner and of the name of the key
    this one replaces when the owner is known (stable across a retry, new for each replacement), else random."""
    if owner:
        suffix = "-" + hashlib.sha256(f"{owner}\0{replaces}".encode()).hexdigest()[:8]
    else:
        suffix = "-" + secrets.token_hex(4)
    cleaned = "".join(c if rules.NAME_RE.match(c) else "-" for c in base) or "key"
    if cleaned.startswith(rules.ALIAS_PREFIX):
        cleaned = "key-" + cleaned
    return cleaned[: rules.NAME_MAX - len(suffix)] + suffix


def retired_name(name: str) -> str:
    """The name a key takes while it waits out its deletion window, freeing its own name at once."""
    suffix = f"-deleted-{secrets.token_hex(4)}"
    return name[: rules.NAME_MAX - len(suffix)] + suffix


def timestamp(epoch: Any) -> str | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")


def duration_seconds(text: str | None) -> float | None:
    """A Go-style duration of CustomTimeouts ("10m", "1h30m", "45s") in seconds."""
    if not text:
        return None
    parts = _DURATION.findall(text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(f"custom timeout {text!r} is not a duration like 10m, 1h30m or 45s")
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(n) * scale[u] for n, u in parts)


def same_tags(a: Any, b: Any) -> bool:
    return dict(a or {}) == dict(b or {})


def changed_inputs(
    inputs: Iterable[str],
    olds: Props,
    news: Props,
    *,
    kept_when_undeclared: Iterable[str] = (),
    key_refs: Mapping[str, str] | None = None,
) -> list[str]:
    """The inputs whose value really changed. Tags compare as unordered maps; a key reference (`key_refs`
    maps it to the property holding its region) compares by the key it names, so id, TRN and alias never
    make a perpetual diff; a property of `kept_when_undeclared` left out of the program keeps its live value."""
    kept, refs = set(kept_when_undeclared), key_refs or {}
    changed = []
    for prop in inputs:
        old, new = olds.get(prop), news.get(prop)
        if prop in kept and new is None:
            continue
        if is_unknown(new):
            changed.append(prop)
        elif prop == "tags":
            if not same_tags(old, new):
                changed.append(prop)
        elif prop in refs:
            if not same_key(news.get(refs[prop]), old, new):
                changed.append(prop)
        elif old != new:
            changed.append(prop)
    return changed


def live_key(c: KmsClient, ref: str, what: str) -> model.Key | None:
    """The key as `refresh` sees it: None when it is gone or pending deletion (on its way out, for Pulumi
    it no longer exists)."""
    try:
        key = c.describe_key(ref)
    except NotFound:
        return None
    except KmsError as err:
        raise failure(f"{what}: read", err) from None
    return None if key.state == rules.KeyState.PENDING_DELETE else key


def refuse_imported_replacement(kind: str, olds: Props, news: Props, replaces: list[str]) -> None:
    """As in Pulumi: a resource that still says `import_` is never replaced (it would destroy the key)."""
    if replaces and news.get(IMPORT_ID):
        raise ProviderError(
            f"{kind} {olds.get('key_id') or olds.get('alias_name')}: previously-imported resources that still "
            f"specify import_ may not be replaced (changed: {', '.join(replaces)}); remove import_ from the "
            "resource options"
        )


# --- the service ---------------------------------------------------------------------------------------
def replica_regions(key: model.Key) -> list[str]:
    """The regions of a key's replicas not scheduled for deletion, as the key's own answer tells (a replica
    whose state the answer leaves out counts as live: `live_replicas` asks when that matters)."""
    return sorted(r.region for r in key.replicas if r.state != rules.KeyState.PENDING_DELETE)


def live_replicas(c: KmsClient, key: model.Key) -> list[model.LinkedKey]:
    """The replicas of a primary key that are not yet scheduled for deletion. A replica whose state the
    primary's description leaves out (Volcengine's answers name only its TRN and region) is described
    in its own region."""
    if key.multi_region_type != rules.MultiRegionType.PRIMARY:
        return []
    live = []
    for r in key.replicas:
        state = r.state
        if state is None:
            try:
                state = c.in_region(r.region).describe_key(r.key_id).state
            except NotFound:
                continue
        if state != rules.KeyState.PENDING_DELETE:
            live.append(r)
    return live


def canonical_id(c: KmsClient, ref: str) -> str:
    """The key id behind an id, a TRN or an alias in the client's region."""
    return c.describe_key(ref).key_id


def same_key(region: Any, a: Any, b: Any) -> bool:
    """Whether two references (id, TRN or alias) name one key: no diff when only the spelling changed."""
    if a == b:
        return True
    if not isinstance(a, str) or not isinstance(b, str) or is_unknown(a) or is_unknown(b):
        return False
    if not isinstance(region, str) or is_unknown(region):
        return False
    c = client(region)
    try:
        return canonical_id(c, a) == canonical_id(c, b)
    except KmsError:
        return False


def wait_state(c: KmsClient, key_id: str, want: Iterable[str], timeout: float, what: str) -> model.Key:
    """Poll DescribeKey with exponential backoff until the key is in one of `want`."""
    wanted = set(want)
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        key = c.describe_key(key_id)
        if key.state in wanted:
            return key
        if engine_gone.is_set():
            raise ProviderError(f"{what}: the Pulumi engine is gone; stopped waiting for key {key_id}")
        left = deadline - time.monotonic()
        if left <= 0:
            raise ProviderError(
                f"{what}: key {key_id} in {c.region} is still {key.state} after {timeout:.0f}s "
                f"(waiting for {' or '.join(sorted(wanted))}); run the update again to pick it up"
            )
        engine_gone.wait(min(delay, left))  # a sleep that ends when the engine goes away
        delay = min(delay * 2, 5.0)


def set_tags(
    c: KmsClient, key_id: str, old: Mapping[str, str], live: Mapping[str, str], new: Mapping[str, str]
) -> None:
    """Remove the tag keys that were managed (`old`) and are no longer wanted, and set every wanted tag the
    live key lacks. Other tags are left alone: they may belong to a KeyTags resource."""
    gone = sorted(set(old) - set(new))
    if gone:
        c.untag_resources(key_id, gone)
    changed = {k: v for k, v in new.items() if live.get(k) != v}
    if changed:
        c.tag_resources(key_id, changed)


def while_enabled(c: KmsClient, key: model.Key, work: Callable[[], None]) -> None:
    """Run `work` (tagging, rotation: the service needs an enabled key) on a key that may be disabled,
    leaving it in the state it was in."""
    if key.state != rules.KeyState.DISABLE:
        work()
        return
    c.enable_key(key.key_id)
    try:
        work()
    finally:
        c.disable_key(key.key_id)


def retire_key(
    c: KmsClient, key_id: str, pending_days: int, what: str, wait_replicas: float | None = None
) -> None:
    """Schedule a key's deletion so that nothing of it blocks a re-creation: its aliases are deleted and
    it is renamed first. A key that is gone or already pending deletion is left as it is."""
    try:
        key = c.describe_key(key_id)
    except NotFound:
        return
    state = key.state
    if state == rules.KeyState.PENDING_DELETE:
        return
    if state == rules.KeyState.CREATING:
        key = wait_state(
            c, key_id, [rules.KeyState.ENABLE, rules.KeyState.DISABLE], DEFAULT_CREATE_TIMEOUT, what
        )
    # Seed 001: a primary is scheduled only after its replicas. The engine deletes dependent replicas
    # first; replicas it does not know about (or still being deleted) are waited for, briefly. Where the
    # cloud's answers name no replicas (Huawei Cloud), the service's own refusal is what says to wait.
    can = capabilities()
    deadline = time.monotonic() + (DELETE_WAIT if wait_replicas is None else wait_replicas)
    delay = 0.1
    while can.links_in_answers and (waiting := live_replicas(c, key)):
        if time.monotonic() >= deadline:
            names = ", ".join(f"{r.key_id} ({r.region})" for r in waiting)
            raise ProviderError(
                f"{what}: key {key_id} is a primary key whose replica keys are not scheduled for deletion: "
                f"{names}; delete the replica keys first (seed 001)"
            )
        time.sleep(delay)
        delay = min(delay * 2, 2.0)
        key = c.describe_key(key_id)
    if can.aliases:  # a cloud without aliases (Volcengine) has none to free
        for alias in c.list_aliases(key_id):
            with contextlib.suppress(NotFound):
                c.delete_alias(alias.name, key_id)
    original = key.name
    c.update_key(key_id, new_key_name=retired_name(original))
    while True:
        try:
            c.schedule_key_deletion(key_id, pending_days)
            return
        except InvalidOperation as err:
            # The service refuses a primary whose replicas are live: they may be on their way (a replica that
            # a sibling's deletion renamed at the moment its primary looked), so it is asked again, briefly.
            if time.monotonic() >= deadline:
                _restore_name(c, key_id, original)
                if not can.links_in_answers:
                    raise ProviderError(
                        f"{what}: key {key_id} could not be scheduled for deletion: {err}; if it is a primary "
                        "key, delete its replica keys first"
                    ) from None
                raise
        except KmsError:
            # Leave the key as it was found rather than renamed and still live.
            _restore_name(c, key_id, original)
            raise
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


def _restore_name(c: KmsClient, key_id: str, original: str) -> None:
    with contextlib.suppress(KmsError):
        c.update_key(key_id, new_key_name=original)


def roll_back(c: KmsClient, key_id: str, what: str) -> None:
    """A create failed after the key was made: schedule it for deletion (shortest window), then let the
    original error surface."""
    with contextlib.suppress(KmsError, ProviderError):
        retire_key(c, key_id, MIN_PENDING_DAYS, what, wait_replicas=0)
