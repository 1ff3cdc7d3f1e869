"""Every example's rules are tested: each examples/rules-tests/*.yaml passes, through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsbook.cli import app
from opsbook.config.loader import load_config

EXAMPLES = Path(__file__).parents[3] / "examples"
TEST_FILES = sorted((EXAMPLES / "rules-tests").glob("*.yaml"))


def test_there_are_rule_tests() -> None:
    assert TEST_FILES


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_example_rule_tests_pass(path: Path) -> None:
    result = CliRunner().invoke(app, ["test", "rules", str(path)])
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output and ", 0 failed" in result.output


@pytest.mark.parametrize("config", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_with_rules_has_rule_tests(config: Path) -> None:
    if not load_config(config, environ={}).rules:
        pytest.skip("no rules")
    expected = EXAMPLES / "rules-tests" / f"{config.stem}.test.yaml"
    assert expected.is_file(), f"{config.name} has rules but no {expected.relative_to(EXAMPLES)}"
