"""The on-call sections in opsbook.yaml: references checked across sections, each error
at its file:line:column with a "did you mean", and the JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from opsbook.cli import app
from opsbook.config.loader import load_config_text
from opsbook.errors import ConfigError

GOOD = """\
project:
  name: api
receivers:
  - name: team-chat
    webhook: {url: "https://chat.example.com/hook"}
people:
  - name: alice
    contacts:
      - webhook: {url: "https://pager.example.com/alice"}
  - name: bob
  - name: carol
  - name: manager
schedules:
  - name: backend
    timezone: Europe/Berlin
    layers:
      - name: primary
        rotation: weekly
        start: 2026-01-05
        participants: [alice, bob, carol]
      - name: secondary
        rotation: weekly
        start: 2026-01-05
        participants: [bob, carol, alice]
    overrides:
      - person: carol
        start: 2026-12-24T18:00
        end: 2026-12-27T09:00
escalation_policies:
  - name: default
    levels:
      - targets: ["schedule:backend"]
        escalate_after: 15m
      - targets: ["schedule:backend/secondary", "person:manager", "receiver:team-chat"]
"""


def issues(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(text)
    return [str(issue) for issue in caught.value.issues]


def test_a_good_config_loads_with_lookups() -> None:
    config = load_config_text(GOOD)
    assert config.person("alice") is config.people[0]
    assert config.schedule("backend") is config.schedules[0]
    assert config.escalation_policy("default") is config.escalation_policies[0]
    assert config.person("zed") is None
    assert config.schedule("frontend") is None
    assert config.escalation_policy("other") is None


def test_a_typo_in_a_participant_fails_validate_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "opsbook.yaml"
    path.write_text(
        GOOD.replace("participants: [bob, carol, alice]", "participants: [bob, carlo, alice]")
    )
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert (
        f"{path}:24:29 schedules[0].layers[1].participants[1]: unknown person 'carlo'; did you mean 'carol'?"
        in result.output
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "  - person: carol",
            "  - person: carl",
            "opsbook.yaml:26:17 schedules[0].overrides[0].person: unknown person 'carl'; did you mean 'carol'?",
        ),
        (
            '"schedule:backend"]',
            '"schedule:backnd"]',
            "opsbook.yaml:32:19 escalation_policies[0].levels[0].targets[0]: unknown schedule 'backnd'; did you mean 'backend'?",
        ),
        (
            "schedule:backend/secondary",
            "schedule:backend/second",
            "opsbook.yaml:34:19 escalation_policies[0].levels[1].targets[0]: unknown layer 'second' in schedule 'backend'; did you mean 'secondary'?",
        ),
        (
            "person:manager",
            "person:manger",
            "opsbook.yaml:34:49 escalation_policies[0].levels[1].targets[1]: unknown person 'manger'; did you mean 'manager'?",
        ),
        (
            "receiver:team-chat",
            "receiver:team",
            "opsbook.yaml:34:67 escalation_policies[0].levels[1].targets[2]: unknown receiver 'team'; did you mean 'team-chat'?",
        ),
        (
            "  - name: carol\n",
            "  - name: bob\n",
            "opsbook.yaml:11:11 people[2].name: duplicate person name 'bob' (first at line 10)",
        ),
        (
            "escalation_policies:\n",
            "escalation_policies:\n  - name: default\n    levels: [{targets: ['person:bob']}]\n",
            "opsbook.yaml:32:11 escalation_policies[1].name: duplicate escalation policy name 'default' (first at line 30)",
        ),
        (
            "name: team-chat",
            "name: person.alice.0",
            "opsbook.yaml:9:9 people[0].contacts[0]: this contact is delivered as receiver 'person.alice.0', which is also the name of a configured receiver; rename that receiver",
        ),
        (
            "        end: 2026-12-27T09:00",
            "        end: 2026-12-24T09:00",
            "schedules[0].overrides[0]: end 2026-12-24T09:00:00 is not after start 2026-12-24T18:00:00",
        ),
        (
            '["schedule:backend"]',
            '["schedule:backend", "pager:x"]',
            "opsbook.yaml:32:39 escalation_policies[0].levels[0].targets[1]: unknown target kind 'pager' in 'pager:x'",
        ),
        (
            "rotation: weekly\n        start: 2026-01-05\n        participants: [alice",
            "rotation: weekly\n        handoff: 10:30\n        start: 2026-01-05\n        participants: [alice",
            "opsbook.yaml:19:18 schedules[0].layers[0].handoff: expected a time of day as HH:MM, got the number 630",
        ),
    ],
)
def test_reference_and_shape_errors_are_located(old: str, new: str, expected: str) -> None:
    assert old in GOOD
    found = issues(GOOD.replace(old, new, 1))
    assert any(expected in issue for issue in found), found


def test_duplicate_schedule_names() -> None:
    text = GOOD.replace(
        "escalation_policies:\n",
        "  - name: backend\n    timezone: UTC\n    layers: [{name: p, rotation: daily, start: 2026-01-01, participants: [bob]}]\nescalation_policies:\n",
    )
    assert (
        "opsbook.yaml:29:11 schedules[1].name: duplicate schedule name 'backend' (first at line 14)"
        in issues(text)
    )


def test_the_schema_describes_the_oncall_sections() -> None:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    for key in ("people", "schedules", "escalation_policies"):
        assert schema["properties"][key]["description"]
    data = json.loads(json.dumps(yaml.safe_load(GOOD), default=str))  # dates as text
    jsonschema.validate(data, schema)
    for bad in (["nobody"], ["schedule:a/b/c"]):
        data["escalation_policies"][0]["levels"][0]["targets"] = bad
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(data, schema)
