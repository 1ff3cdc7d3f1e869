"""`opsbook incident …`, `opsbook ack`, `opsbook resolve` and `opsbook token …` on a
SQLite store next to the config, without an engine running."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsbook.cli import app
from opsbook.store import Store

CONFIG = """
project: {name: review-engine}
services: [{name: api}]
severities:                       # review-engine: "SEV1: Complete service outage" …
  - {name: SEV1, response_time: 15m, update_interval: 10m}
  - {name: SEV2, response_time: 1h, update_interval: 30m}
  - {name: SEV3, response_time: 4h}
  - {name: SEV4, response_time: 1d}
people:
  - {name: alice, contacts: [{webhook: {url: "http://127.0.0.1:9/alice"}}]}
  - {name: bob}
escalation_policies:
  - {name: default, levels: [{targets: ["person:alice"]}]}
incidents: {escalation_policy: default}
"""

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "opsbook.yaml"
    path.write_text(CONFIG)
    return path


def run(config: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "-c", str(config)])
    return result.exit_code, result.output


def test_incident_lifecycle_from_the_command_line(config: Path) -> None:
    # review-engine: ./scripts/create-incident.sh SEV1 "API Service Down"
    code, out = run(config, "incident", "declare", "API Service Down", "--severity", "SEV1",
                    "--service", "api", "--as", "alice")  # fmt: skip
    assert code == 0, out
    assert "#1" in out
    assert run(config, "ack", "1", "--as", "alice")[0] == 0
    code, out = run(config, "ack", "1", "--as", "bob")
    assert code == 0 and "already acknowledged by alice" in out
    assert run(config, "incident", "assign", "1", "bob", "--as", "alice")[0] == 0
    assert run(config, "incident", "status", "1", "identified", "--as", "bob")[0] == 0
    assert run(config, "incident", "severity", "1", "SEV2", "--as", "bob")[0] == 0
    assert run(config, "incident", "note", "1", "Pool exhausted", "--section", "root_cause")[0] == 0
    assert run(config, "incident", "update", "1", "Rolled back; watching errors")[0] == 0
    code, out = run(config, "incident", "update", "1", "--status", "monitoring")
    assert code == 0 and "monitoring" in out
    assert run(config, "incident", "update", "1")[0] == 2
    assert (
        run(config, "incident", "action", "add", "1", "Alert on pool use", "--owner", "bob")[0] == 0
    )
    assert run(config, "incident", "action", "done", "1", "1")[0] == 0
    code, out = run(config, "resolve", "1", "-m", "rolled back", "--as", "bob")
    assert code == 0 and "resolved" in out

    code, out = run(config, "incident", "show", "1", "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["status"] == "resolved" and shown["severity"] == "SEV2"
    assert shown["commander"] == "bob" and shown["acknowledged_by"] == "alice"
    kinds = [e["kind"] for e in shown["timeline"]]
    for kind in ("declared", "escalated", "acknowledged", "assigned", "status_changed",
                 "severity_changed", "note", "status_update", "action_added", "action_done",
                 "resolved"):  # fmt: skip
        assert kind in kinds
    assert shown["actions"][0]["done_at"] is not None

    code, out = run(config, "incident", "list", "--status", "all", "--json")
    assert code == 0 and [i["id"] for i in json.loads(out)] == [1]
    code, out = run(config, "incident", "list")  # open ones: none left
    assert code == 0 and "0 incidents" in out

    target = config.parent / "pm.md"
    assert run(config, "incident", "postmortem", "1", "-o", str(target))[0] == 0
    text = target.read_text()
    assert "# Postmortem: API Service Down" in text and "Pool exhausted" in text
    assert "- [x] Alert on pool use" in text
    code, out = run(config, "incident", "postmortem", "1", "--html")
    assert code == 0 and out.lstrip().startswith("<!")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["ack", "7"], 3, "no incident #7"),
        (["incident", "declare", "x", "--severity", "P1"], 1, "unknown severity 'P1'"),
        (
            ["incident", "declare", "x", "--severity", "SEV1", "--service", "web"],
            1,
            "unknown service",
        ),
        (["incident", "status", "1", "fixed"], 2, "unknown status 'fixed'"),
        (["incident", "list", "--status", "gone"], 2, "unknown status 'gone'"),
        (["incident", "note", "1", "x", "--section", "gossip"], 1, "section must be one of"),
        (["incident", "assign", "1", "mallory"], 1, "unknown person 'mallory'"),
        (["incident", "action", "done", "1", "9"], 3, "no action item 9"),
        (["incident", "show", "0"], 2, ""),
    ],
)
def test_bad_requests_change_nothing(
    config: Path, args: list[str], code: int, message: str
) -> None:
    run(config, "incident", "declare", "API Service Down", "--severity", "SEV1")
    with Store.open(f"sqlite:///{config.with_suffix('.db')}") as store:
        before = store.incidents.timeline(1)
    got, out = run(config, *args)
    assert got == code, out
    assert message in out
    with Store.open(f"sqlite:///{config.with_suffix('.db')}") as store:
        assert store.incidents.timeline(1) == before


def test_tokens_are_shown_once_and_revocable(config: Path) -> None:
    code, out = run(config, "token", "create", "grafana", "--role", "viewer")
    assert code == 0
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("obk_")
    code, out = run(config, "token", "list", "--json")
    listed = json.loads(out)
    assert listed[0]["name"] == "grafana" and listed[0]["role"] == "viewer"
    assert secret not in out and secret.split("_")[-1] not in out
    db = f"sqlite:///{config.with_suffix('.db')}"
    with Store.open(db) as store:
        token = store.api_tokens.authenticate(secret, datetime.now(UTC))
        assert token is not None and token.name == "grafana"
        assert (
            store.api_tokens.authenticate(
                secret[:-1] + ("x" if secret[-1] != "x" else "y"), datetime.now(UTC)
            )
            is None
        )
    assert run(config, "token", "revoke", listed[0]["id"])[0] == 0
    with Store.open(db) as store:
        assert store.api_tokens.authenticate(secret, datetime.now(UTC)) is None
    assert run(config, "token", "revoke", listed[0]["id"])[0] == 3
    assert run(config, "token", "create", "x", "--role", "root")[0] == 2
