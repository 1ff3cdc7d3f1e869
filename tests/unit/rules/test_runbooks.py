"""The runbooks' thresholds as rules (runbooks/opsbook.yaml), replayed: each one fires when
the runbook says it should and not before (runbooks/*.test.yaml)."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from opsbook.cli import app
from opsbook.config.schema import config_json_schema
from opsbook.rules.testing import load_rules_tests

HERE = Path(__file__).parent / "runbooks"
TEST_FILES = sorted(HERE.glob("*.test.yaml"))


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_runbook_thresholds_fire_as_written(path: Path) -> None:
    result = CliRunner().invoke(app, ["test", "rules", str(path)])
    assert result.exit_code == 0, result.output


def test_the_runbook_rules_match_the_json_schema() -> None:
    """Editors validating with `opsbook schema` accept every rule form used here."""
    data = yaml.safe_load((HERE / "opsbook.yaml").read_text())
    jsonschema.validate(data, config_json_schema())
    data["rules"][0]["warning"] = "over 200"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, config_json_schema())


def test_every_runbook_rule_is_shown_firing_and_quiet() -> None:
    loaded = [load_rules_tests(path) for path in TEST_FILES]
    rules = {rule.name for rule in loaded[0].config.rules}
    firing = set()
    quiet = set()
    for tests in loaded:
        for case in tests.spec.tests:
            for check in case.alert_rule_test:
                (firing if check.exp_alerts else quiet).add(check.alertname)
    assert rules == firing
    assert rules == quiet


def test_a_changed_threshold_is_caught(tmp_path: Path) -> None:
    """The tests pin the numbers: the runbook's "> 5% error rate" typed as "> 6" fails."""
    config = (HERE / "opsbook.yaml").read_text()
    assert 'warning: "> 1"\n    critical: "> 5"\n    for: 5m' in config
    (tmp_path / "opsbook.yaml").write_text(
        config.replace('warning: "> 1"\n    critical: "> 5"', 'warning: "> 1"\n    critical: "> 9"')
    )
    (tmp_path / "t.test.yaml").write_text((HERE / "thresholds.test.yaml").read_text())
    result = CliRunner().invoke(app, ["test", "rules", str(tmp_path / "t.test.yaml")])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "alertname error-rate at eval_time 28m" in result.output
