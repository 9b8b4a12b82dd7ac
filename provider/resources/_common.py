"""What the four dynamic providers share: the stack configuration, the backend, errors, and lost creates.

The provider objects are pickled (by reference: only the class name) into every resource's state. Pulumi's
dynamic-provider host (`python -m pulumi.dynamic`,
https://github.com/pulumi/pulumi/blob/master/sdk/python/lib/pulumi/dynamic/__main__.py) unpickles one
provider object per class and calls its `configure` once with the stack's configuration. Everything the
host process keeps between calls is one `HostState`, `HOST`: the configuration those `configure` calls
hand over, the open backends, and what a deployment remembers of lost creates. It is one object for the
four providers, not state on each provider object, because the backend is one per process (an embedded
emulator's state directory is opened once) while the host makes one provider object per class; and
because code with no provider object at hand reads it too (our host's Delete and engine watch, lookups,
tests). Each call builds its client from that configuration, with the environment variables the README
documents as the fallback.

Beside this module: `_checks` (input checking), `_retire` (key retirement and every wait), `_program`
(what runs in the Pulumi program: registrations, `import_`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import secrets
import threading
from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import ConfigureRequest, ResourceProvider

from .. import config as kms_config
from ..backend import Backend
from ..client import OWNER_TAG, KmsClient
from ..domain import model, rules
from ..domain.capabilities import Capabilities
from ..domain.errors import KmsError, NotFound

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


class HostState:
    """What the provider host process keeps between calls, owned here and nowhere else. `reset` puts it back
    as a fresh process has it (tests; a host never needs to)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # guards config, warmed, predecessors
        self.backend_lock = threading.Lock()  # separate: opening a backend is slow, reading config is not
        self.engine_gone = threading.Event()  # set by our provider host when the engine is gone: waits stop
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.config: dict[str, str] = {}  # stack configuration, keys without the `kms:` prefix
            self.backends: dict[tuple[Any, ...], Backend] = {}
            self.warmed: set[tuple[tuple[str, str], ...]] = set()  # configurations whose backend is warming
            self.predecessors: dict[str, str] = {}  # Check's random seed -> the name of the key it replaces
            self.adopted: set[str] = set()  # ids of existing keys a create of this process answered
        self.engine_gone.clear()


HOST = HostState()


class ProviderError(Exception):
    """A failure shown to the user: what was being done, then the service's code and message."""


class BaseProvider(ResourceProvider):
    # The pickled provider is just a class reference: nothing secret, so it may stay readable in state.
    serialize_as_secret_always = False

    def configure(self, req: ConfigureRequest) -> None:
        # Runs in the provider host once per provider class (the host caches one object per class): the
        # four receive the same stack configuration, kept once in HOST (see the module's docstring).
        values = {}
        for key in CONFIG_KEYS:
            value = req.config.get(f"kms:{key}")
            if value not in (None, ""):
                values[key] = str(value)
        reset_config(values)
        _warm_backend()


def _warm_backend() -> None:
    """Open this configuration's backend in the background, once per process: the first create or delete
    then finds the emulator imported and its state open instead of waiting for it. Only the opening is done
    early; a failure is left for the call that needs the backend to report."""
    with HOST.lock:
        config = dict(HOST.config)
        key = tuple(sorted(config.items()))
        if key in HOST.warmed:
            return
        HOST.warmed.add(key)

    def warm() -> None:
        with contextlib.suppress(Exception):
            connect(config=config)

    threading.Thread(target=warm, name="kms-backend-warm", daemon=True).start()


def reset_config(values: Mapping[str, str] | None = None) -> None:
    """Replace the stack configuration seen by the providers (keys without the `kms:` prefix)."""
    with HOST.lock:
        HOST.config = dict(values or {})


def settings(config: Mapping[str, str] | None = None) -> kms_config.Settings:
    """The provider host's configuration, or `config` (keys without `kms:`) where a program runs a lookup."""
    if config is None:
        config = HOST.config  # replaced whole by reset_config, never changed in place: no copy needed
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


def connect(region: str | None = None, config: Mapping[str, str] | None = None) -> KmsClient:
    """A `KmsClient` in `region` on the stack's backend, built once per configuration in this host."""
    s = settings(config)
    key = (s.endpoint, s.dialect, tuple(sorted(s.project_ids.items())), s.access_key, s.secret_key,
           str(s.emulator_path) if s.embedded else None, s.region_catalog)
    backend = HOST.backends.get(key)
    if backend is None:
        # Its own lock: opening the first backend imports the emulator (a few hundred ms), and calls that
        # only need the configuration (check, diff) must not wait for it.
        with HOST.backend_lock:
            backend = HOST.backends.get(key)
            if backend is None:
                backend = kms_config.open_backend(s)
                HOST.backends[key] = backend
    return KmsClient(backend, region or s.region)


def failure(action: str, err: KmsError) -> ProviderError:
    return ProviderError(f"{action}: {err}")


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
        with HOST.lock:
            if len(HOST.predecessors) > 100_000:  # one entry per registration of a deployment: bounded anyway
                HOST.predecessors.clear()
            HOST.predecessors[seed] = name


def predecessor(seed: str | None) -> str:
    with HOST.lock:
        return HOST.predecessors.get(seed or "", "")


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
    HOST.adopted.add(key_id)


def was_adopted(key_id: str) -> bool:
    """Whether a create of this process (this deployment) answered this existing key. A forced replacement
    (`pulumi up --replace`, a taint) checks without the old inputs, so its create may find the very key it
    replaces: the engine's delete of the old resource must then leave that key alone (the provider host asks)."""
    return key_id in HOST.adopted


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


def timestamp(epoch: Any) -> str | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the service ---------------------------------------------------------------------------------------
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


def replica_regions(key: model.Key) -> list[str]:
    """The regions of a key's replicas not scheduled for deletion, as the key's own answer tells (a replica
    whose state the answer leaves out counts as live: `live_replicas` asks when that matters)."""
    return sorted(r.region for r in key.replicas if r.state != rules.KeyState.PENDING_DELETE)


def canonical_id(c: KmsClient, ref: str) -> str:
    """The key id behind an id, a TRN or an alias in the client's region."""
    return c.describe_key(ref).key_id

