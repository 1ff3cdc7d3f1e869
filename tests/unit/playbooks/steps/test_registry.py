"""Every step kind that acts on systems is registered, documented with an example that
loads, and tested on its own."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from opsbook.playbooks.model import Step
from opsbook.playbooks.steps import STEP_KINDS

ROOT = Path(__file__).resolve().parents[4]
DOCS = ROOT / "docs" / "playbooks" / "steps.md"
KINDS = ("shell", "http", "sql", "redis", "check", "wait")


def section(kind: str) -> str:
    text = DOCS.read_text()
    match = re.search(rf"^## `{kind}`\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"docs/playbooks/steps.md has no section for {kind}"
    return match.group(1)


def keys(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


@pytest.mark.parametrize("kind", KINDS)
def test_kind_is_registered_documented_and_tested(kind: str) -> None:
    info = STEP_KINDS[kind]
    assert info.name == kind
    assert info.config_model.model_config.get("extra") == "forbid"
    assert info.config_model.model_config.get("frozen") is True
    text = section(kind)
    missing = [key for key in keys(info.config_model) if f"| `{key}` |" not in text]
    assert not missing, f"{kind}: keys not in the docs table: {missing}"
    assert "```yaml" in text
    for tests in ("unit", "integration"):
        assert (ROOT / "tests" / tests / "playbooks" / "steps" / f"test_{kind}.py").is_file()


def steps_in(block: Any) -> list[dict[str, Any]]:
    if isinstance(block, list):
        return block
    if "steps" in block:
        return list(block["steps"])
    return [s for playbook in block.get("playbooks", []) for s in playbook["steps"]]


def test_every_example_step_in_the_docs_is_valid() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), re.DOTALL)
    examples = [s for block in blocks for s in steps_in(yaml.safe_load(block))]
    assert {kind for s in examples for kind in KINDS if kind in s} == set(KINDS)
    for example in examples:
        Step.model_validate(example)
