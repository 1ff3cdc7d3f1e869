"""The five runbooks, imported: each output pinned as a golden file, each golden file
loaded as config, and the table in docs/import.md checked against the reports.

Regenerate the golden files (and the table) with OPSBOOK_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from opsbook.config.loader import load_config_text
from opsbook.playbooks.importer import import_runbook, summary_table
from opsbook.playbooks.steps import STEP_KINDS

ROOT = Path(__file__).resolve().parents[4]
GOLDEN = ROOT / "tests" / "golden" / "import"
DOCS = ROOT / "docs" / "import.md"
RUNBOOKS = sorted((GOLDEN / "runbooks").glob("*.md"))
UPDATE = os.environ.get("OPSBOOK_UPDATE_GOLDEN") == "1"
TABLE_START = "<!-- import-summary:start (generated from tests/golden/import/*.report.json) -->"
TABLE_END = "<!-- import-summary:end -->"
KINDS_MISSING = sorted({"shell", "sql", "manual"} - set(STEP_KINDS))


def _matches(path: Path, text: str) -> None:
    if UPDATE:
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing; run with OPSBOOK_UPDATE_GOLDEN=1"
    assert path.read_text(encoding="utf-8") == text, (
        f"{path.name} differs from the import; if the change is intended, regenerate "
        "with OPSBOOK_UPDATE_GOLDEN=1 and review the diff"
    )


def test_there_are_five_runbooks() -> None:
    assert [p.stem for p in RUNBOOKS] == [
        "api-backend-cloud",
        "content-service-deploy",
        "memoapp",
        "practice-app-ops",
        "review-engine",
    ]


@pytest.mark.parametrize("runbook", RUNBOOKS, ids=lambda p: p.stem)
def test_import_matches_the_golden_files(runbook: Path) -> None:
    result = import_runbook(runbook.read_bytes(), runbook.name)
    _matches(GOLDEN / f"{runbook.stem}.yaml", result.yaml)
    _matches(GOLDEN / f"{runbook.stem}.report.json", result.report.to_json())
    steps = [s for p in result.document["playbooks"] for s in p["steps"]]
    totals = result.report.totals()
    assert totals["steps"] == len(steps)
    assert totals["dangerous"] == sum(1 for s in steps if s.get("dangerous"))
    assert totals["forms"]["sql"] == sum(1 for s in steps if "sql" in s)
    assert totals["forms"]["manual"] == sum(1 for s in steps if "manual" in s)


@pytest.mark.xfail(
    bool(KINDS_MISSING),
    reason=f"step kinds not registered yet: {', '.join(KINDS_MISSING)}",
    strict=True,
)
@pytest.mark.parametrize("runbook", RUNBOOKS, ids=lambda p: p.stem)
def test_golden_file_loads_as_config(runbook: Path) -> None:
    text = (GOLDEN / f"{runbook.stem}.yaml").read_text(encoding="utf-8")
    config = load_config_text(
        "project:\n  name: imported\n" + text,
        f"{runbook.stem}.yaml",
        environ={"DATABASE_URL": "postgresql://localhost/imported"},
    )
    doc = yaml.safe_load(text)
    assert [p.name for p in config.playbooks] == [p["name"] for p in doc["playbooks"]]
    for loaded, written in zip(config.playbooks, doc["playbooks"], strict=True):
        assert [s.kind for s in loaded.steps] == [
            next(k for k in ("shell", "sql", "manual") if k in s) for s in written["steps"]
        ]
        assert [s.dangerous for s in loaded.steps] == [
            bool(s.get("dangerous")) for s in written["steps"]
        ]
    if "connections" in doc:
        assert [c.name for c in config.connections] == ["database"]


def test_docs_table_matches_the_reports() -> None:
    reports = [
        json.loads(p.read_text(encoding="utf-8")) for p in sorted(GOLDEN.glob("*.report.json"))
    ]
    table = summary_table(reports)
    text = DOCS.read_text(encoding="utf-8")
    assert TABLE_START in text and TABLE_END in text
    before, rest = text.split(TABLE_START, 1)
    current, after = rest.split(TABLE_END, 1)
    if UPDATE:
        DOCS.write_text(f"{before}{TABLE_START}\n{table}\n{TABLE_END}{after}", encoding="utf-8")
        return
    assert current.strip() == table, (
        "docs/import.md is out of date: run with OPSBOOK_UPDATE_GOLDEN=1"
    )
