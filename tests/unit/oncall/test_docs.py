"""docs/oncall.md stays true: its example validates and behaves as its comments say, its
calendar is what the command prints, and every config key is documented."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

import opsbook.oncall
from opsbook.cli import app
from opsbook.config.loader import load_config_text
from opsbook.config.models import Config
from opsbook.oncall import (
    EscalationLevel,
    EscalationPolicy,
    Layer,
    Override,
    Person,
    Schedule,
    begin,
    due_steps,
    plan_delivery,
    resolve_targets,
)
from tests.unit.oncall.factory import local

DOC = (Path(__file__).parents[3] / "docs" / "oncall.md").read_text()
ENV = {
    "SLACK_INCIDENTS_URL": "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#incidents",
    "ANA_SMS_URL": "twilio://AC735c307c62944b5a:e29dfbcebf390dee9@+15551234567/+15557654321",
}


def example() -> str:
    [text] = re.findall(r"```yaml\n(.*?)```", DOC, re.DOTALL)
    return text


def load_example() -> Config:
    return load_config_text(example(), environ=ENV)


def test_the_example_validates() -> None:
    config = load_example()
    assert [p.name for p in config.people] == ["ana", "ben", "chen", "dev", "manager", "cto"]
    ana = config.person("ana")
    assert ana is not None
    assert [(r.name, r.channel_name) for r in ana.receivers()] == [
        ("person.ana.0", "apprise"),
        ("person.ana.1", "email"),
    ]
    assert [s.name for s in config.schedules] == ["backend", "database"]


def test_the_example_pages_as_its_comments_say() -> None:
    config = load_example()
    policy = config.escalation_policy("default")
    assert policy is not None
    schedules = {s.name: s for s in config.schedules}
    people = {p.name: p for p in config.people}
    t0 = local("2026-01-13 03:00", "America/New_York")  # week 2: ben primary, chen secondary
    first = begin(policy, t0, timedelta(minutes=15))
    steps = [first, *due_steps(policy, first, t0 + timedelta(hours=3), timedelta(minutes=15))]
    offsets = [(s.level, (s.due_at or t0) - t0) for s in steps]
    assert offsets[:4] == [
        (0, timedelta(minutes=15)),
        (1, timedelta(minutes=45)),
        (2, timedelta(minutes=105)),
        (3, timedelta(minutes=120)),
    ]
    paged = [
        plan_delivery(resolve_targets(policy.levels[s.level], t0, schedules), people).receivers
        for s in steps[:4]
    ]
    assert paged == [
        ("person.ben.0",),
        ("person.chen.0",),
        ("person.manager.0",),
        ("person.cto.0", "team-chat"),
    ]
    christmas = resolve_targets(
        policy.levels[0], local("2026-12-25 10:00", "America/New_York"), schedules
    )
    assert plan_delivery(christmas, people).problems == (
        "dev has no contacts: nothing delivered (schedule backend/primary)",
    )


def test_the_documented_calendar_is_what_show_prints(tmp_path: Path) -> None:
    [documented] = re.findall(r"```text\n(.*?)```", DOC, re.DOTALL)
    path = tmp_path / "opsbook.yaml"
    path.write_text(example())
    result = CliRunner().invoke(
        app,
        ["oncall", "show", "backend", "--start", "2026-12-21", "--days", "8", "-c", str(path)],
        env={**ENV, "COLUMNS": "100"},
    )
    assert result.exit_code == 0, result.output
    assert result.output == documented


@pytest.mark.parametrize(
    "model", [Person, Schedule, Layer, Override, EscalationPolicy, EscalationLevel]
)
def test_every_key_is_documented(model: type[BaseModel]) -> None:
    for name, field in model.model_fields.items():
        key = field.alias or name
        assert f"| `{key}` |" in DOC, f"{model.__name__}.{key} is not in docs/oncall.md"


def test_the_public_api_is_exactly_all() -> None:
    exported = set(opsbook.oncall.__all__)
    assert exported == {
        name
        for name in vars(opsbook.oncall)
        if not name.startswith("_")
        and name
        not in {
            "annotations",
            "escalation",
            "localtime",
            "people",
            "rotation",
            "schedules",
            "targets",
            "validation",
        }
    }
    assert all(getattr(opsbook.oncall, name) is not None for name in exported)
