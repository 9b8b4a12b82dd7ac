"""What the KMS resources cost the engine, against no-op dynamic resources, in one run.

Three stacks under the real engine (Automation API, file:// backends in a temp dir), each with the same
dependency shape (a replica and an alias on each key):

* kms:  N CustomKeys, N ReplicaKeys (one per key) and N KeyAliases, on the embedded emulator;
* noop: 3N no-op resources that register the same property names as the KMS resource each stands for
  and answer what the contract asks of any provider: each output, and each input with the provider's
  value whether or not the program passed it. The SDK and the engine pay per attribute and per property
  kept in state: this is the floor for any provider of that contract, so a ratio over it is what this
  package's own code costs (checks, the emulator, durable commits, what it keeps beyond the contract);
* thin: 3N no-op resources of one property each, printed for reference: over it, the ratio adds what
  the contract's attribute set costs (docs/resources.md, "What a resource costs beyond a no-op one").

Each is brought up, previewed with no change, and destroyed; the timings are the median of `--repeat`
rounds (each round rotates which stack goes first), each ratio the median of the rounds' ratios.
The emulator's replication delay is set to 0 (KMS_REPLICATION_DELAY) so what is measured is the provider's
own overhead, not an emulated wait. Prints the timings, the checkpoints' sizes, the ratios over the thin
no-op, then `ratio up_over_noop X`, `ratio destroy_over_noop X` and, last, `ratio preview_over_noop X`
(goal: each <= 1.15).

    python benchmarks/provider_overhead.py              # N=20, 5 rounds (about two minutes on 2 cores)
    python benchmarks/provider_overhead.py --keys 80 --repeat 3
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
from pulumi import automation as auto
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
# Where a cn-north-4 key replicates (Huawei Cloud's ReplicateKey regions,
# https://support.huaweicloud.com/intl/en-us/api-dew/ReplicateKey.html; provider/domain/regions.json).
REPLICA_REGIONS = ("cn-east-3", "cn-south-1", "cn-southwest-2")

_ids = itertools.count(1)


class NoopProvider(ResourceProvider):
    """Does nothing, as fast as a dynamic provider can; pickled by reference like the KMS providers."""

    serialize_as_secret_always = False

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(
            f"noop-{os.getpid()}-{next(_ids)}", {"value": props.get("value"), "ref": props.get("ref")}
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in ("value", "ref") if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=[])

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult({"value": news.get("value"), "ref": news.get("ref")})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None


class Noop(Resource, module="bench", name="Noop"):
    value: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        value: pulumi.Input[str],
        ref: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(NoopProvider(), name, {"value": value, "ref": ref}, opts)


def noop_program(n: int) -> Callable[[], None]:
    def program() -> None:
        for i in range(n):
            key = Noop(f"key-{i}", value=f"key {i}")
            Noop(f"replica-{i}", value=REPLICA_REGIONS[i % 3], ref=key.id)
            Noop(f"alias-{i}", value=f"alias/bench-{i}", ref=key.id)

    return program


# --- the contract's no-op: the floor for any provider of the contract ------------------------------------
# The contract makes every input and output of a resource an attribute (an Output) holding the provider's
# value, and the SDK and the engine pay for each one: an asyncio task per attribute, its serialization, its
# place in the checkpoint. ShapedNoop registers exactly the property names the KMS resource registers and
# answers each output, and each input with its default, at the sizes ours answer; it does nothing else. Over
# it, a ratio shows what this package's code costs, apart from what the contract costs any implementation.
_ACCOUNT = "0123456789abcdef0123456789abcdef"


def _fake_outputs(props: dict[str, Any], key_id: str) -> dict[str, Any]:
    """The outputs the contract asks for: each output, and each input with the provider's value whether or
    not the program passed it (the defaults), of the sizes the KMS resources answer."""
    region = props.get("replica_region") or props.get("region") or "cn-north-4"
    if "alias_name" in props:
        return {"region": region, **props, "trn": f"trn:kms:{region}:{_ACCOUNT}:alias/{props['alias_name'][6:]}",
                "target_key_usage": "ENCRYPT_DECRYPT"}
    defaults = {"enabled": True, "pending_days": 30, "tags": {}}
    outs = {"key_id": key_id, "trn": f"trn:kms:{region}:{_ACCOUNT}:key/{key_id}", "key_state": "Enable",
            "region": region, "key_spec": "AES_256", "key_usage": "ENCRYPT_DECRYPT"}
    if "primary_key_id" in props:
        return {**defaults, "description": "key 00", "key_name": "key-00-a1b2c3d4", "primary_region": "cn-north-4",
                **props, **outs, "primary_trn": f"trn:kms:cn-north-4:{_ACCOUNT}:key/{props['primary_key_id']}"}
    defaults |= {"enterprise_project": "default", "keyring_name": "default", "origin": "kms", "rotation_enabled": False}
    return {**defaults, **props, **outs, "key_name": f"{props['__autoname']}-a1b2c3d4", "multi_region_type": "NONE",
            "replica_regions": [], "creation_date": "2026-12-06T04:32:35Z"}


class ShapedNoopProvider(ResourceProvider):
    """Does nothing but answer the KMS resources' property names; pickled by reference."""

    serialize_as_secret_always = False

    def create(self, props: dict[str, Any]) -> CreateResult:
        key_id = str(uuid.uuid4())
        return CreateResult(key_id, _fake_outputs(props, key_id))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k, v in news.items() if olds.get(k) != v]
        return DiffResult(changes=bool(changed), replaces=[])

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None


class ShapedNoop(Resource, module="bench", name="ShapedNoop"):
    def __init__(self, name: str, inputs: dict[str, Any], outputs: tuple[str, ...]) -> None:
        from provider.resources._program import resource_props

        super().__init__(ShapedNoopProvider(), name, resource_props(inputs, outputs))
        if "key_id" in outputs:
            self.key_id = self.id


def shaped_noop_program(n: int) -> Callable[[], None]:
    def program() -> None:
        from provider.resources import custom_key, key_alias, replica_key

        key_slots = (*custom_key.OUTPUTS, *custom_key.INPUTS)
        replica_slots = (*replica_key.OUTPUTS, *replica_key.INPUTS)
        alias_slots = (*key_alias.OUTPUTS, *key_alias.INPUTS)
        for i in range(n):
            key = ShapedNoop(
                f"key-{i}", {"description": f"key {i}", "tags": {"bench": "overhead"}, "__autoname": f"key-{i}"},
                key_slots,
            )
            ShapedNoop(
                f"replica-{i}", {"primary_key_id": key.key_id, "replica_region": REPLICA_REGIONS[i % 3]}, replica_slots
            )
            ShapedNoop(f"alias-{i}", {"alias_name": f"alias/bench-{i}", "target_key_id": key.key_id}, alias_slots)

    return program


def kms_program(n: int) -> Callable[[], None]:
    def program() -> None:
        from provider import CustomKey, KeyAlias, ReplicaKey

        for i in range(n):
            key = CustomKey(f"key-{i}", description=f"key {i}", tags={"bench": "overhead"})
            ReplicaKey(f"replica-{i}", primary_key_id=key.key_id, replica_region=REPLICA_REGIONS[i % 3])
            KeyAlias(f"alias-{i}", alias_name=f"alias/bench-{i}", target_key_id=key.key_id)

    return program


def engine_env() -> dict[str, str]:
    """The environment `make` gives the engine: setup-engine.sh builds it if needed, then prints it."""
    script = f'eval "$(bash {shlex.quote(str(ROOT / "scripts" / "setup-engine.sh"))} --print-env)" && env -0'
    out = subprocess.run(["bash", "-c", script], capture_output=True, check=True).stdout
    return dict(item.split("=", 1) for item in out.decode().split("\0") if "=" in item)


def make_stack(
    base: Path,
    name: str,
    program: Callable[[], None],
    env: dict[str, str],
    config: dict[str, str],
    extra_env: dict[str, str] | None = None,
) -> auto.Stack:
    state, work = base / name / "state", base / name / "work"
    state.mkdir(parents=True)
    work.mkdir(parents=True)
    stack_env = {
        "PATH": env["PATH"],
        "KMS_PYTHON": sys.executable,
        "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)]),  # the provider host imports this module
        "PULUMI_BACKEND_URL": state.as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": "bench",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "KMS_REPLICATION_DELAY": "0",
        # Destroyed keys wait out their pending days and count against the quota of 100 keys a region:
        # enough room for every round's keys, however many rounds.
        "KMS_KEY_QUOTA": "100000",
        **(extra_env or {}),
    }
    opts = auto.LocalWorkspaceOptions(
        work_dir=str(work),
        env_vars=stack_env,
        secrets_provider="passphrase",
        pulumi_home=str(base / name / "home"),
    )
    stack = auto.create_or_select_stack(
        stack_name="bench", project_name=f"bench-{name}", program=program, opts=opts
    )
    stack.set_all_config({k: auto.ConfigValue(v) for k, v in config.items()})
    return stack


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def state_bytes(stack: auto.Stack) -> int:
    """The size of the stack's checkpoint as the engine writes it (JSON): the engine rewrites all of it after
    each step, so what each resource keeps in state is paid once per step of every resource."""
    return len(json.dumps(stack.export_stack().deployment))


def round_of(stack: auto.Stack, parallel: int, size: list[int]) -> tuple[float, float, float]:
    """up, preview, destroy; the checkpoint's size after the up is appended to `size`."""
    up = timed(lambda: stack.up(parallel=parallel))
    size.append(state_bytes(stack))
    preview = timed(lambda: stack.preview(parallel=parallel, expect_no_changes=True))
    destroy = timed(lambda: stack.destroy(parallel=parallel))
    return up, preview, destroy


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--keys",
        type=int,
        default=int(os.environ.get("BENCH_KEYS", "20")),
        help="N: keys, replicas and aliases each (default 20; env BENCH_KEYS)",
    )
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", "5")))
    parser.add_argument("--parallel", type=int, default=16, help="engine parallelism (default 16)")
    parser.add_argument(
        "--profile",
        type=Path,
        help="write a cProfile of each KMS provider-host process and its per-method wall times to this "
        "directory (tools/engine/kms_provider_host.py, KMS_PROVIDER_PROFILE); the ratios are then not comparable",
    )
    args = parser.parse_args()

    env = engine_env()
    os.environ["PATH"] = env["PATH"]
    # Imported under its module name, so that the provider host can unpickle NoopProvider by reference.
    sys.path.insert(0, str(HERE))
    import provider_overhead as me

    with tempfile.TemporaryDirectory(prefix="kms-bench-") as tmp:
        base = Path(tmp)
        stacks = {
            "thin": make_stack(base, "thin", me.noop_program(args.keys), env, {}),
            "noop": make_stack(base, "noop", me.shaped_noop_program(args.keys), env, {}),
            "kms": make_stack(
                base,
                "kms",
                me.kms_program(args.keys),
                env,
                {"kms:emulatorPath": str(base / "emulator"), "kms:region": "cn-north-4"},
                {"KMS_PROVIDER_PROFILE": str(args.profile.resolve())} if args.profile else None,
            ),
        }
        rounds: dict[str, list[tuple[float, float, float]]] = {name: [] for name in stacks}
        sizes: dict[str, list[int]] = {name: [] for name in stacks}
        names = list(stacks)
        for i in range(args.repeat):
            # Rotate which goes first, so none always runs on a warmer machine.
            for name in names[i % 3:] + names[: i % 3]:
                rounds[name].append(round_of(stacks[name], args.parallel, sizes[name]))
                print(
                    f"round {i + 1} {name:4}: up {rounds[name][-1][0]:.2f}s  "
                    f"preview {rounds[name][-1][1]:.2f}s  "
                    f"destroy {rounds[name][-1][2]:.2f}s",
                    flush=True,
                )

    med = {name: [statistics.median(r[j] for r in rs) for j in range(3)] for name, rs in rounds.items()}

    # Each round's kms/baseline ratio compares runs made back to back; the median of those is robust to the
    # machine getting busier or quieter during the run.
    def ratio(baseline: str) -> list[float]:
        return [
            statistics.median(k[j] / n[j] for k, n in zip(rounds["kms"], rounds[baseline], strict=True))
            for j in range(3)
        ]

    print(
        f"resources: {3 * args.keys} a stack ({args.keys} keys, replicas, aliases); "
        f"median of {args.repeat} rounds"
    )
    print(
        f"state    kms {sizes['kms'][-1]:,} bytes  noop {sizes['noop'][-1]:,} bytes  "
        f"thin {sizes['thin'][-1]:,} bytes (checkpoint after up)"
    )
    for j, what in enumerate(("up", "preview", "destroy")):
        print(f"{what:8} kms {med['kms'][j]:.2f}s  noop {med['noop'][j]:.2f}s  thin {med['thin'][j]:.2f}s")
    thin, shaped = ratio("thin"), ratio("noop")
    # Over the thin no-op: what the contract's attributes cost on top (the SDK's and the engine's work).
    print(f"ratio up_over_thin_noop {thin[0]:.3f}")
    print(f"ratio destroy_over_thin_noop {thin[2]:.3f}")
    print(f"ratio preview_over_thin_noop {thin[1]:.3f}")
    print(f"ratio up_over_noop {shaped[0]:.3f}")
    print(f"ratio destroy_over_noop {shaped[2]:.3f}")
    print(f"ratio preview_over_noop {shaped[1]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
