"""docs/rules.md stays true: its runbook rules are the tested ones, its examples run."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from typer.testing import CliRunner

from opsbook.cli import app
from opsbook.config.loader import load_config_text

ROOT = Path(__file__).parents[3]
DOC = (ROOT / "docs" / "rules.md").read_text()
BLOCKS = re.findall(r"```yaml\n(.*?)```", DOC, flags=re.DOTALL)
RUNBOOK_CONFIG = Path(__file__).parent / "runbooks" / "opsbook.yaml"


def test_each_runbook_rule_in_the_docs_is_the_tested_rule() -> None:
    tested = {r["name"]: r for r in yaml.safe_load(RUNBOOK_CONFIG.read_text())["rules"]}
    shown = [yaml.safe_load(b)[0] for b in BLOCKS if b.startswith("- name:")]
    assert {r["name"] for r in shown} == set(tested)
    for rule in shown:
        assert rule == tested[rule["name"]], rule["name"]


def test_the_opening_example_validates() -> None:
    head = """\
project: {name: practice-app}
checks:
  - name: api-health
    http: {url: "http://127.0.0.1:8000/health"}
  - name: app-metrics
    interval: 1m
    prometheus:
      scrape: http://127.0.0.1:8000/metrics
      series:
        - {sample: requests_total, metric: http_requests_total}
        - {sample: errors_total, metric: http_requests_total, labels: {status: "500"}}
"""
    config = load_config_text(head + BLOCKS[0])
    assert [r.name for r in config.rules] == ["response-time", "error-rate"]
    assert str(config.rules[1].critical_bound) == "> 5"


def test_the_test_file_example_runs_against_the_demo(tmp_path: Path) -> None:
    example = next(b for b in BLOCKS if b.startswith("config: ../demo.yaml"))
    text = example.replace("../demo.yaml", str(ROOT / "examples" / "demo.yaml"))
    (tmp_path / "doc.test.yaml").write_text(text)
    result = CliRunner().invoke(app, ["test", "rules", str(tmp_path / "doc.test.yaml")])
    assert result.exit_code == 0, result.output
    # The failure shown in the docs is what a wrong severity really prints.
    (tmp_path / "doc.test.yaml").write_text(text.replace("severity: P2", "severity: P1"))
    result = CliRunner().invoke(app, ["test", "rules", str(tmp_path / "doc.test.yaml")])
    assert result.exit_code == 1
    failure = DOC.split("A failure shows what was expected")[1].split("```\n")[1]
    shown = failure.splitlines()[1:-1]  # without the FAIL line's path and the summary
    for line in shown:
        assert line in result.output, line
