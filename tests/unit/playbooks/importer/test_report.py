"""The report: totals, the terminal text, JSON and the docs table."""

from __future__ import annotations

import json

from opsbook.playbooks.importer import import_runbook, summary_table

RUNBOOK = """\
# Ops

## Restore

Bring the database back.

```bash
# 1. Stop the app
systemctl stop app
# 2. Restore
./scripts/backup.sh restore <backup-id>
# 3. Watch
tail -f /var/log/app.log
```

```sql
-- Remove stale sessions
DELETE FROM sessions WHERE expires_at < now();
```

| a | b |
|---|---|

```yaml
key: value
```

## Notes

Only prose here.
"""


def test_totals_and_entries() -> None:
    report = import_runbook(RUNBOOK.encode(), "ops.md").report
    totals = report.totals()
    assert totals == {
        "playbooks": 1,
        "steps": 4,
        "forms": {"shell-argv": 2, "shell-script": 0, "sql": 1, "manual": 1},
        "dangerous": 3,
        "params": 1,
        "switches": 0,
        "env": [],
        "unmapped": {"code": 1, "section": 1, "table": 1},
        "notes": 1,
    }
    (playbook,) = report.playbooks
    assert (playbook.name, playbook.line, playbook.params) == ("restore", 3, ["backup_id"])
    # "# Ops" holds nothing of its own: it is neither a procedure nor left over
    assert [(u.line, u.kind) for u in report.unmapped] == [
        (21, "table"),
        (24, "code"),
        (28, "section"),
    ]
    assert report.notes[0].line == 13 and "follows output" in report.notes[0].message
    assert report.connections == ["database"]


def test_text_and_json() -> None:
    report = import_runbook(RUNBOOK.encode(), "ops.md").report
    text = report.render()
    assert text.startswith(
        "ops.md: 1 playbooks, 4 steps (2 shell argv, 0 shell script, 1 sql, 1 manual)"
    )
    assert "line   24  code: Restore: a ```yaml block (1 lines)" in text
    data = json.loads(report.to_json())
    assert data["totals"]["steps"] == 4
    assert data["unmapped"][-1] == {
        "line": 28,
        "kind": "section",
        "section": "Notes",
        "detail": "prose without commands or steps (1 paragraph)",
    }


def test_summary_table_rows_come_from_the_totals() -> None:
    data = json.loads(import_runbook(RUNBOOK.encode(), "ops.md").report.to_json())
    table = summary_table([data])
    assert table.splitlines()[-1] == (
        "| `ops.md` | 1 | 4 | 2 | 0 | 1 | 1 | 3 | 1 | 0 | 1 code block, 1 prose section, 1 table |"
    )
