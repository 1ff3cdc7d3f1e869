"""`opsbook oncall who` and `opsbook oncall show` through the real command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from opsbook.cli import app

CONFIG = """\
project:
  name: api
people:
  - name: alice
    full_name: Alice Meyer
    handle: "@alice"
    phone: "+49 30 1234567"
    contacts:
      - webhook: {url: "https://pager.example.com/alice"}
  - name: bob
    contacts:
      - webhook: {url: "https://pager.example.com/bob"}
  - name: carol
  - name: dave
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
      - person: dave
        start: 2026-12-24T18:00
        end: 2026-12-27T09:00
        reason: covers Christmas
  - name: frontend
    timezone: America/New_York
    layers:
      - name: primary
        rotation: daily
        handoff: "08:00"
        start: 2026-03-01
        participants: [carol, dave]
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "opsbook.yaml"
    path.write_text(CONFIG)
    return path


def run(*args: str) -> Any:
    """Wide enough that table cells do not wrap."""
    return CliRunner().invoke(app, ["oncall", *args], env={"COLUMNS": "200"})


def test_who_json_at_a_local_time(config: Path) -> None:
    result = run("who", "backend", "--at", "2026-01-12T10:00", "-c", str(config), "--json")
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.output)
    assert entry["schedule"] == "backend"
    assert entry["at"] == "2026-01-12T10:00:00+01:00"
    primary, secondary = entry["layers"]
    assert primary == {
        "layer": "primary",
        "person": "bob",
        "full_name": "",
        "handle": "",
        "email": None,
        "phone": None,
        "reachable": True,
        "override": False,
        "reason": "",
        "since": "2026-01-12T09:00:00+01:00",
        "until": "2026-01-19T09:00:00+01:00",
    }
    assert (secondary["person"], secondary["reachable"]) == ("carol", False)


def test_who_with_an_offset_asks_about_that_instant_everywhere(config: Path) -> None:
    result = run("who", "--at", "2026-12-25T12:00Z", "-c", str(config), "--json")
    assert result.exit_code == 0, result.output
    backend, frontend = json.loads(result.output)
    assert backend["at"] == "2026-12-25T13:00:00+01:00"
    assert frontend["at"] == "2026-12-25T07:00:00-05:00"
    override = backend["layers"][0]
    assert (override["person"], override["override"], override["reason"]) == (
        "dave",
        True,
        "covers Christmas",
    )
    assert override["since"] == "2026-12-24T18:00:00+01:00"
    assert override["until"] == "2026-12-27T09:00:00+01:00"
    # 07:00 is before the 08:00 handoff: still the shift that began on the 24th
    assert frontend["layers"][0]["since"] == "2026-12-24T08:00:00-05:00"


def test_who_table(config: Path) -> None:
    result = run("who", "backend", "--at", "2026-12-25T10:00", "-c", str(config))
    assert result.exit_code == 0, result.output
    assert "backend at Fri 2026-12-25 10:00 CET (Europe/Berlin)" in result.output
    assert "dave*" in result.output
    assert "override: covers Christmas" in result.output
    assert "Sun Dec 27 09:00" in result.output
    early = run("who", "frontend", "--at", "2026-02-01T10:00", "-c", str(config))
    assert "nobody" in early.output
    assert "rotation not started" in early.output
    contact = run("who", "backend", "--at", "2026-01-06T10:00", "-c", str(config))
    assert "alice (Alice Meyer)" in contact.output
    assert "@alice +49 30 1234567" in contact.output


def test_who_now(config: Path) -> None:
    result = run("who", "-c", str(config), "--json")
    assert result.exit_code == 0, result.output
    assert [e["schedule"] for e in json.loads(result.output)] == ["backend", "frontend"]


@pytest.mark.parametrize("value", ["tomorrow", "2026-13-01T10:00", "10 o'clock", ""])
def test_who_refuses_a_bad_time(config: Path, value: str) -> None:
    result = run("who", "--at", value, "-c", str(config))
    assert result.exit_code == 2
    assert "Invalid value for '--at'" in result.output
    assert "expected an ISO 8601 time like 2026-03-02T10:00" in result.output


def test_an_unknown_schedule_is_a_usage_error(config: Path) -> None:
    result = run("who", "backnd", "-c", str(config))
    assert result.exit_code == 2
    assert "unknown schedule 'backnd'; did you mean 'backend'?" in result.output
    assert run("show", "nope", "-c", str(config)).exit_code == 2


def test_show_json_lists_the_shifts(config: Path) -> None:
    result = run(
        "show", "backend", "--start", "2026-12-21", "--days", "7", "-c", str(config), "--json"
    )
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.output)
    assert (entry["start"], entry["end"]) == (
        "2026-12-21T00:00:00+01:00",
        "2026-12-28T00:00:00+01:00",
    )
    primary = [
        (s["person"], s["start"], s["end"], s["override"])
        for s in entry["shifts"]
        if s["layer"] == "primary"
    ]
    assert primary == [
        ("bob", "2026-12-21T00:00:00+01:00", "2026-12-21T09:00:00+01:00", False),
        ("carol", "2026-12-21T09:00:00+01:00", "2026-12-24T18:00:00+01:00", False),
        ("dave", "2026-12-24T18:00:00+01:00", "2026-12-27T09:00:00+01:00", True),
        ("carol", "2026-12-27T09:00:00+01:00", "2026-12-28T00:00:00+01:00", False),
    ]


def test_show_calendar(config: Path) -> None:
    result = run("show", "backend", "--start", "2026-12-21", "--days", "10", "-c", str(config))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "backend (Europe/Berlin), 2026-12-21 to 2026-12-30" in lines[0]

    def row(day: str) -> str:
        return next(line for line in lines if day in line)

    assert "bob, 09:00 carol" in row("Mon 2026-12-21")
    assert "carol, 18:00 dave*" in row("Thu 2026-12-24")
    assert "dave*, 09:00 carol" in row("Sun 2026-12-27")
    assert "alice, 09:00 bob" in row("Mon 2026-12-28")  # secondary
    assert (
        "* override: dave on primary, Thu 2026-12-24 18:00 CET to Sun 2026-12-27 09:00 CET: covers Christmas"
        in result.output
    )


def test_show_every_schedule_marks_days_before_the_start(config: Path) -> None:
    result = run("show", "--start", "2026-02-27", "--days", "3", "-c", str(config), "--json")
    _, frontend = json.loads(result.output)
    assert [s["person"] for s in frontend["shifts"]] == ["carol"]  # starts Mar 1, 08:00
    assert frontend["shifts"][0]["start"] == "2026-03-01T08:00:00-05:00"
    table = run("show", "frontend", "--start", "2026-02-27", "--days", "3", "-c", str(config))
    assert "08:00 carol" in table.output
    assert table.output.count(" - ") >= 2  # Feb 27 and 28: nobody


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "21.12.2026"], "expected a date like 2026-03-02, got '21.12.2026'"),
        (["--days", "0"], "Invalid value for '--days'"),
    ],
)
def test_show_refuses_bad_options(config: Path, args: list[str], message: str) -> None:
    result = run("show", *args, "-c", str(config))
    assert result.exit_code == 2
    assert message in result.output


def test_without_schedules(tmp_path: Path) -> None:
    path = tmp_path / "opsbook.yaml"
    path.write_text("project: {name: api}\n")
    assert json.loads(run("who", "-c", str(path), "--json").output) == []
    assert "no schedules in the config" in run("show", "-c", str(path)).output


def test_a_broken_config_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "opsbook.yaml"
    path.write_text(CONFIG.replace("[alice, bob, carol]", "[alice, bob, karol]"))
    result = run("who", "-c", str(path))
    assert result.exit_code == 2
    assert "unknown person 'karol'; did you mean 'carol'?" in result.output
