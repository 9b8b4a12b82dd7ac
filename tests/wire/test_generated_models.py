"""The wire models come from the pinned SDKs, not from a hand copy: regenerating them gives the committed
files, the server's request models add no field to the SDK's, every operation served is one the SDK
defines with the same method and path, and HttpBackend does not load them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from huaweicloudsdkkms.v2 import model as huawei_sdk
from volcenginesdkkms import models as volc_sdk

from provider.dialects.huaweicloud import models as huawei_models
from provider.dialects.huaweicloud import server as huawei_server
from provider.dialects.volcengine import models as volc_models
from provider.dialects.volcengine import params, wire
from scripts import generate_wire_models as generator

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("path", list(generator.GENERATORS), ids=lambda p: p.parent.name)
def test_regenerating_from_the_pinned_sdk_gives_the_committed_file(path: Path) -> None:
    assert generator.GENERATORS[path]() == path.read_text(), \
        f"{path.relative_to(ROOT)} is stale or edited by hand: python scripts/generate_wire_models.py"


def test_the_check_mode_fails_on_a_file_that_differs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    edited = tmp_path / "models.py"
    edited.write_text(generator.volcengine().replace("KeyName: str", "KeyName: int", 1))
    monkeypatch.setattr(generator, "GENERATORS", {edited: generator.volcengine})
    monkeypatch.setattr(generator, "ROOT", tmp_path)
    assert generator.main(["--check"]) == 1
    edited.write_text(generator.volcengine())
    assert generator.main(["--check"]) == 0


def test_every_sdk_model_is_generated_field_for_field() -> None:
    for generated, sdk in ((volc_models, volc_sdk), (huawei_models, huawei_sdk)):
        for op in generated.OPERATIONS.values():
            for cls in (op.request, op.response):
                theirs = getattr(sdk, cls.__name__)
                wire_names = {f.alias or name for name, f in cls.model_fields.items()}
                assert wire_names == set(theirs.attribute_map.values()), cls.__name__


def test_volcengine_requests_are_parsed_with_the_generated_models_adding_no_field() -> None:
    assert set(params.MODELS) == set(wire.METHODS)
    for action, model in params.MODELS.items():
        op = volc_models.OPERATIONS[action]
        assert issubclass(model, op.request), f"{action} is not parsed with the generated {op.request.__name__}"
        assert set(model.model_fields) == set(op.request.model_fields), action
        assert wire.METHODS[action] == op.method, f"{action}: the SDK sends it as {op.method}"


def test_huawei_operations_served_are_the_sdks_with_its_method_and_path() -> None:
    for op in huawei_server.routes():
        sdk = huawei_models.OPERATIONS[op.name]
        assert op.method == sdk.method, op.name
        path = sdk.path.split("/kms", 1)[1].replace("{key_id}", "k1").replace("{tag_key}", "t1")
        assert sdk.path.startswith(f"/{op.version}/") and op.path.match(path), (op.name, sdk.path)
        assert op.request is sdk.request, op.name


def test_http_backend_loads_neither_the_generated_models_nor_pydantic() -> None:
    code = ("import sys, provider.backend.http, provider.dialects.volcengine, provider.dialects.huaweicloud; "
            "print(sorted(m for m in sys.modules if m.endswith(('.models', '.params')) and 'dialects' in m "
            "or m == 'pydantic'))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert loaded.stdout.strip() == "[]", loaded.stdout
