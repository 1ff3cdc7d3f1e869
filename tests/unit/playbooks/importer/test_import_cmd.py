"""`opsbook import`: the YAML on stdout or in a file, the report on stderr or as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from opsbook.cli import app

RUNBOOKS = Path(__file__).resolve().parents[4] / "tests" / "golden" / "import" / "runbooks"


def test_yaml_to_stdout_and_report_to_stderr() -> None:
    result = CliRunner().invoke(app, ["import", str(RUNBOOKS / "review-engine.md")])
    assert result.exit_code == 0, result.output
    doc = yaml.safe_load(result.stdout)
    assert "incident-response-api-service-down" in [p["name"] for p in doc["playbooks"]]
    assert result.stderr.startswith("review-engine.md: 18 playbooks")
    assert "Left for a person (not mapped):" in result.stderr


def test_output_file_and_json_report(tmp_path: Path) -> None:
    out, report = tmp_path / "playbooks.yaml", tmp_path / "report.json"
    args = ["import", str(RUNBOOKS / "content-service-deploy.md"), "-o", str(out)]
    result = CliRunner().invoke(app, [*args, "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(out.read_text())["playbooks"]
    data = json.loads(report.read_text())
    assert data["title"] == "🚀 Production Deployment Runbook"
    assert data["repaired"][0]["line"] == 1
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 1 and "exists" in again.stderr
    assert CliRunner().invoke(app, [*args, "--force"]).exit_code == 0


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["import", str(tmp_path / "nope.md")])
    assert result.exit_code == 1
    assert "cannot read" in result.stderr
