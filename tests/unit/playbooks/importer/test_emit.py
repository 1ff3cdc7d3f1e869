"""Names, the YAML text and what loading it gives back."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from opsbook.config.interpolate import interpolate
from opsbook.config.yaml_source import parse_yaml
from opsbook.playbooks.importer import import_runbook
from opsbook.playbooks.importer.drafts import DraftPlaybook, DraftStep
from opsbook.playbooks.importer.emit import (
    MAX_STEPS,
    escape_interpolation,
    name_playbooks,
    playbook_name,
    shorten,
    slug,
    split_long,
    to_yaml,
    unique,
)

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("Playbook: API Service Down", "api-service-down"),
        ("5. Out of Memory (OOM Kills)", "out-of-memory"),
        ("Issue: High Database CPU", "high-database-cpu"),
        ("🚨 Emergency Rollback (30 seconds - 2 minutes)", "emergency-rollback"),
        ("Monitoring & Alerts", "monitoring-alerts"),
        ("Application Won't Start", "application-won-t-start"),
        ("Scenario 1: GCP Region Failure", "scenario-1-gcp-region-failure"),
        ("Café résumé", "cafe-resume"),
        ("日本語", ""),
    ],
)
def test_slug(heading: str, expected: str) -> None:
    assert slug(heading) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (["Incident Response", "Response Playbooks", "Playbook: API Service Down"],
         "incident-response-api-service-down"),
        (["Rollback Procedures"], "rollback-procedures"),
        (["Incident Response", "Incident Response Process"], "incident-response-process"),
        (["日本語"], "runbook"),
        ([], "runbook"),
    ],
)  # fmt: skip
def test_playbook_names_from_heading_paths(path: list[str], expected: str) -> None:
    assert playbook_name(path, "runbook", 7) == expected


def test_the_document_title_names_nothing_and_names_are_unique() -> None:
    playbooks = [
        DraftPlaybook(["Runbook", "Ops", "Restart"], 3),
        DraftPlaybook(["Runbook", "Ops", "Restart"], 9),
        DraftPlaybook(["Runbook", "A" * 300], 12),
    ]
    name_playbooks(playbooks, "file", "Runbook")
    names = [p.name for p in playbooks]
    assert names[:2] == ["ops-restart", "ops-restart-2"]
    assert len(names[2]) <= 64
    assert all(__import__("re").match(NAME, n) for n in names)


def test_shorten_and_unique_stay_within_the_limit() -> None:
    assert shorten("alpha-beta-gamma", 12) == "alpha-beta"
    assert shorten("x" * 80, 64) == "x" * 64
    taken = {"a" * 10}
    assert unique("a" * 10, taken, 10) == "a" * 8 + "-2"


def test_interpolation_escapes_survive_loading() -> None:
    texts = ["echo ${HOME:-/root}", "echo $${X:y}", "${ENV:SECRET}", "plain ${lower:x} $HOME"]
    for text in texts:
        doc = {"value": escape_interpolation(text)}
        data, source, _ = parse_yaml(yaml.safe_dump(doc), "x.yaml")
        loaded, _, issues = interpolate(data, source, Path("."), {})
        assert issues == [] and loaded["value"] == text


def test_long_procedures_are_split_into_parts() -> None:
    steps = [DraftStep("manual", {"instruction": f"do {i}"}, f"Do {i}", i) for i in range(450)]
    parts = split_long([DraftPlaybook(["Big"], 1, steps=steps)])
    assert [len(p.steps) for p in parts] == [MAX_STEPS, MAX_STEPS, 50]
    assert parts[1].heading == "Big part 2"


def test_yaml_round_trip_keeps_every_string() -> None:
    text = (
        "# Ops\n\n## Restore\n\n```bash\n"
        "gunzip -c backup_TIMESTAMP.gz | psql -h $DB_HOST  \n"
        "kubectl get -o jsonpath='{.spec}' deploy/x\n"
        'echo "${HOME:-/root}" \'tabs\there\' "quote\'s" && echo ok\n'
        "```\n\n```sql\n-- Count users\nSELECT count(*) FROM users WHERE name LIKE 'a%';\n```\n"
    )
    result = import_runbook(text.encode(), "ops.md")
    emitted = result.yaml
    assert emitted.startswith("# Playbooks imported from ops.md")
    assert yaml.safe_load(emitted) == result.document
    steps = result.document["playbooks"][0]["steps"]
    assert steps[1]["shell"]["argv"] == ["kubectl", "get", "-o", "jsonpath={.spec}", "deploy/x"]
    assert "argv: [kubectl, get, -o, 'jsonpath={.spec}', deploy/x]" in emitted
    assert (
        steps[2]["shell"]["script"] == 'echo "$${HOME:-/root}" \'tabs\there\' "quote\'s" && echo ok'
    )


def test_multi_line_scripts_are_literal_blocks() -> None:
    doc = {"playbooks": [{"name": "x", "steps": [{"shell": {"script": "a \\\n  b\nc"}}]}]}
    assert "script: |-\n" in to_yaml(doc, "x.md")
