"""docs/moving-backends.md under the real engine: a stack made on the embedded emulator moves to another
endpoint (`kmsctl serve`, Volcengine's API) and ends with a correct preview and refresh."""

from __future__ import annotations

from pathlib import Path

from engine_harness import StackFactory

from provider import CustomKey
from provider.backend.embedded import EmbeddedBackend
from provider.client import KmsClient
from provider.domain import rules
from tests.support.live_server import ACCESS_KEY, SECRET_KEY, KmsctlServer

CK = "pulumi-python:dynamic/kms:CustomKey"
HUAWEI_REGIONS = str(Path(rules.__file__).with_name(rules.CATALOG_FILES["huaweicloud"]))


def changes(summary: dict[str, int] | None) -> dict[str, int]:
    return {op: n for op, n in (summary or {}).items() if n and op != "same"}


def test_move_a_stack_from_the_emulator_to_an_endpoint(inline_stack: StackFactory, tmp_path: Path) -> None:
    def program() -> None:
        CustomKey("orders", key_name="orders", description="orders data")

    local, served = tmp_path / "local-emulator", tmp_path / "served-emulator"
    stack = inline_stack(program, config={"kms:emulatorPath": str(local)})
    stack.up()
    old_id = stack.state_resource("orders")["id"]

    with KmsctlServer(served) as server:
        # The guide's steps: point the stack at the endpoint ...
        stack.set_config({
            "kms:endpoint": server.endpoint,
            "kms:dialect": "volcengine",
            "kms:regionCatalog": HUAWEI_REGIONS,
            "kms:accessKey": ACCESS_KEY,
            "kms:secretKey": (SECRET_KEY, True),
        })
        # ... refresh with the program, so that refresh reads through the new config (a plain refresh uses the
        # provider config of the last `up`, the emulator's): the keys the endpoint lacks leave the stack ...
        stack.refresh(run_program=True)
        assert stack.state_resources(CK) == []
        # ... the preview shows them made anew there, and `up` makes them.
        assert changes(stack.preview().change_summary) == {"create": 1}
        stack.up()
        new_id = stack.state_resource("orders")["id"]
        assert new_id != old_id
        # A plain refresh now talks to the endpoint and finds everything as recorded; so does a preview.
        assert changes(stack.refresh().summary.resource_changes) == {}
        assert changes(stack.preview().change_summary) == {}
        served_keys = KmsClient(EmbeddedBackend(served), "cn-north-4").list_keys()
        assert [(k.key_id, k.name) for k in served_keys] == [(new_id, "orders")]
        stack.destroy()
    # The emulator's key is left where it was: the move neither deleted nor reused it.
    assert [k.key_id for k in KmsClient(EmbeddedBackend(local), "cn-north-4").list_keys()] == [old_id]
