"""docs/wire-protocol.md lists every action of the volcengine dialect with its parameters and result,
and nothing that is not Volcengine's, and stays what the generator makes from the dialect's models and a
run of every action."""

from __future__ import annotations

from pathlib import Path

from provider.dialects.volcengine import params
from provider.domain.errors import ERRORS_BY_CODE
from provider.server import docs

DOC = Path(__file__).resolve().parents[2] / "docs" / "wire-protocol.md"


def test_generated_section_is_current() -> None:
    text = DOC.read_text()
    generated = docs.render()
    assert docs.splice(text, generated) == text, "stale: python -m provider.server.docs docs/wire-protocol.md"


def test_every_action_and_error_code_is_documented_and_nothing_is_ours() -> None:
    text = DOC.read_text()
    for action, model in params.MODELS.items():
        section = text.split(f"\n### {action}\n", 1)
        assert len(section) == 2, f"{action} is not documented"
        body = section[1].split("\n### ", 1)[0]
        assert "Result:" in body
        assert "Ours, not Volcengine's" not in body, action
        for field in model.model_fields:
            assert f"`{field}`" in body, f"{action}.{field} is not documented"
    for code, cls in ERRORS_BY_CODE.items():
        assert f"| {cls.status} | `{code}` |" in text
