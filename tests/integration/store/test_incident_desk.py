"""Incident operations on both stores, with a controlled clock.

Timelines read like the runbooks: "P1 opens at t=0, primary paged at once, secondary at
15 min (the severity's response time), manager at 45 min; nobody repeats; an ack stops
it; an ack that times out starts it over".
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from opsbook.alerts.model import Alert, AlertState, Level, fingerprint
from opsbook.config.loader import load_config
from opsbook.incidents.model import EventKind, IncidentStatus
from opsbook.incidents.service import IncidentDesk, IncidentError
from opsbook.store import Store
from opsbook.store.transaction import write_transaction

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)

CONFIG = {
    "project": {"name": "shop"},
    "services": [{"name": "api"}, {"name": "db"}],
    "receivers": [{"name": "status-page", "webhook": {"url": "http://127.0.0.1:9/updates"}}],
    "people": [
        {"name": "alice", "contacts": [{"webhook": {"url": "http://127.0.0.1:9/alice"}}]},
        {"name": "bob", "contacts": [{"webhook": {"url": "http://127.0.0.1:9/bob"}}]},
        {"name": "erin", "contacts": [{"webhook": {"url": "http://127.0.0.1:9/erin"}}]},
    ],
    "schedules": [
        {
            "name": "backend",
            "timezone": "Europe/Berlin",
            "layers": [
                {"name": "primary", "rotation": "weekly", "start": "2026-01-05",
                 "participants": ["alice"]},
                {"name": "secondary", "rotation": "weekly", "start": "2026-01-05",
                 "participants": ["bob"]},
            ],
        }
    ],
    "escalation_policies": [
        {
            # api-backend runbook: primary → (15 min) secondary → (30 min) manager
            "name": "default",
            "levels": [
                {"targets": ["schedule:backend"]},
                {"targets": ["schedule:backend/secondary"], "escalate_after": "30m"},
                {"targets": ["person:erin"]},
            ],
            "ack_timeout": "30m",
        }
    ],
    "incidents": {"escalation_policy": "default", "updates_to": ["status-page"]},
}  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk(store_url: str, tmp_path: Path, clock: Clock) -> Iterator[IncidentDesk]:
    path = tmp_path / "opsbook.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    config = load_config(path, environ={})
    with Store.open(store_url) as store:
        yield IncidentDesk(config, store, clock)


def pages(desk: IncidentDesk) -> list[tuple[str, str]]:
    return [(e.notification.kind, e.receiver) for e in desk.store.outbox.list()]


def kinds(desk: IncidentDesk, incident_id: int = 1) -> list[EventKind]:
    return [e.kind for e in desk.store.incidents.timeline(incident_id)]


def declare(desk: IncidentDesk, severity: str = "P1") -> int:
    outcome = desk.declare(title="API Service Down", severity=severity, services=["api"],
                           actor="alice")  # fmt: skip
    return outcome.incident.id


def test_declare_pages_primary_and_sends_initial_update(desk: IncidentDesk) -> None:
    number = declare(desk)
    incident = desk.require(number)
    assert incident.status is IncidentStatus.INVESTIGATING
    assert incident.next_escalation_at == T0 + timedelta(minutes=15)  # P1 response time
    assert ("page", "person.alice.0") in pages(desk)
    assert ("status_update", "status-page") in pages(desk)
    assert kinds(desk)[:1] == [EventKind.DECLARED]
    assert EventKind.ESCALATED in kinds(desk)


def test_escalation_follows_the_policy_and_catches_up_in_order(
    desk: IncidentDesk, clock: Clock
) -> None:
    declare(desk)
    clock.advance(minutes=14, seconds=59)
    assert desk.tick() == 0
    clock.advance(seconds=1)
    desk.tick()
    assert ("page", "person.bob.0") in pages(desk)
    clock.advance(hours=5)  # engine was down: erin's step (due at 45 min) is still taken
    desk.tick()
    steps = [e for e in desk.store.incidents.timeline(1) if e.kind is EventKind.ESCALATED]
    assert [e.data["level"] for e in steps] == [1, 2, 3]
    assert EventKind.ESCALATION_EXHAUSTED in kinds(desk)
    assert desk.require(1).next_escalation_at is None
    clock.advance(hours=1)
    before = len(pages(desk))
    desk.tick()
    assert len([p for p in pages(desk) if p[0] == "page"]) == len(
        [p for p in pages(desk)[:before] if p[0] == "page"]
    )


def test_ack_stops_escalation_until_it_times_out(desk: IncidentDesk, clock: Clock) -> None:
    declare(desk)
    clock.advance(minutes=5)
    outcome = desk.acknowledge(1, "alice", "cli")
    assert outcome.incident.next_escalation_at is None
    assert outcome.incident.ack_expires_at == clock.now + timedelta(minutes=30)
    assert "already acknowledged" in desk.acknowledge(1, "bob").message
    clock.advance(minutes=29)
    desk.tick()
    assert desk.require(1).acknowledged
    clock.advance(minutes=1)
    desk.tick()
    incident = desk.require(1)
    assert not incident.acknowledged
    assert EventKind.ACK_EXPIRED in kinds(desk)
    primary_pages = [p for p in pages(desk) if p == ("page", "person.alice.0")]
    assert len(primary_pages) == 2, "the policy started over at level 1"
    assert incident.next_escalation_at == clock.now + timedelta(minutes=15)


def test_resolve_stops_everything_and_reopen_is_recorded(desk: IncidentDesk, clock: Clock) -> None:
    declare(desk)
    desk.resolve(1, "alice", "rolled back")
    incident = desk.require(1)
    assert incident.status is IncidentStatus.RESOLVED and incident.next_escalation_at is None
    assert ("status_update", "status-page") in pages(desk)
    assert "already resolved" in desk.resolve(1, "bob").message
    with pytest.raises(IncidentError, match="resolved"):
        desk.acknowledge(1, "bob")
    clock.advance(hours=1)
    desk.tick()
    assert kinds(desk)[-1] is EventKind.RESOLVED
    desk.set_status(1, IncidentStatus.INVESTIGATING, "bob")
    assert kinds(desk)[-1] is EventKind.REOPENED
    assert desk.require(1).resolved_at is None


def test_changes_are_validated_and_recorded(desk: IncidentDesk) -> None:
    declare(desk)
    desk.set_severity(1, "P0", "alice")
    desk.assign(1, "commander", "bob", "alice")
    desk.note(1, "Connection pool exhausted", "bob", section="root_cause")
    desk.set_status(1, IncidentStatus.IDENTIFIED, "bob")
    item = desk.add_action(1, "Raise pool size", "bob", "bob")
    desk.finish_action(1, item.id, "bob")
    desk.finish_action(1, item.id, "bob")  # once only
    incident = desk.require(1)
    assert incident.severity == "P0" and incident.commander == "bob"
    assert incident.status is IncidentStatus.IDENTIFIED
    assert kinds(desk).count(EventKind.ACTION_DONE) == 1
    note = next(e for e in desk.store.incidents.timeline(1) if e.kind is EventKind.NOTE)
    assert note.data == {"section": "root_cause"}
    for bad in (
        lambda: desk.set_severity(1, "SEV9", "x"),
        lambda: desk.assign(1, "commander", "mallory", "x"),
        lambda: desk.assign(1, "role; rm -rf /", "bob", "x"),
        lambda: desk.note(1, "   ", "x"),
        lambda: desk.note(1, "ok", "x", section="secrets"),
        lambda: desk.declare(title="x", severity="P9", actor="x"),
        lambda: desk.declare(title="x", severity="P1", services=["nope"], actor="x"),
        lambda: desk.declare(title="", severity="P1", actor="x"),
        lambda: desk.finish_action(1, 999, "x"),
        lambda: desk.acknowledge(999, "x"),
    ):
        before = kinds(desk)
        with pytest.raises(IncidentError):
            bad()
        assert kinds(desk) == before, "a refused change writes nothing"


def test_reminder_when_no_update_within_the_interval(desk: IncidentDesk, clock: Clock) -> None:
    declare(desk)  # P1: updates every 30 minutes
    desk.assign(1, "commander", "bob", "alice")
    desk.acknowledge(1, "bob")
    clock.advance(minutes=20)
    desk.post_update(1, "Rolling back the deploy", "bob")
    clock.advance(minutes=29)
    desk.tick()
    assert EventKind.REMINDER not in kinds(desk)
    clock.advance(minutes=1)
    desk.tick()
    assert kinds(desk).count(EventKind.REMINDER) == 1
    assert ("reminder", "person.bob.0") in pages(desk)
    clock.advance(minutes=30)
    desk.tick()
    assert kinds(desk).count(EventKind.REMINDER) == 2


def alert(service: str, severity: str = "P1", state: AlertState = AlertState.FIRING) -> Alert:
    labels = {"alertname": f"{service}-down", "service": service, "severity": severity}
    return Alert(fingerprint(labels), f"{service}-down", Level.CRITICAL, labels,
                 {"summary": f"{service} down"}, state, T0, T0)  # fmt: skip


def feed(desk: IncidentDesk, events: list[tuple[Alert, str]]) -> None:
    with write_transaction(desk.store.engine) as conn:
        desk.store.alerts.save(conn, [a for a, _ in events])
        desk.store.outbox.enqueue(
            conn, desk.on_alert_events(conn, [(a, e, desk.clock()) for a, e in events], T0)
        )


def test_alerts_open_join_and_calm_incidents(desk: IncidentDesk) -> None:
    api, api_latency = alert("api"), alert("api").evolve(fingerprint="f2", rule="latency")
    feed(desk, [(api, "firing"), (alert("api", "P3"), "firing")])
    feed(desk, [(api_latency, "firing")])  # same service: joins, does not open another
    feed(desk, [(alert("db", "P2"), "firing")])  # below P1: no incident
    assert desk.store.incidents.count() == 1
    assert set(desk.require(1).alerts) == {api.fingerprint, "f2"}
    feed(desk, [(api.evolve(state=AlertState.RESOLVED), "resolved")])
    assert desk.require(1).status is IncidentStatus.INVESTIGATING  # f2 still firing
    feed(desk, [(api_latency.evolve(state=AlertState.RESOLVED), "resolved")])
    assert desk.require(1).status is IncidentStatus.MONITORING
    feed(desk, [(api.evolve(state=AlertState.FIRING), "firing")])
    assert desk.require(1).status is IncidentStatus.INVESTIGATING
    feed(desk, [(alert("api", "P0"), "firing")])
    assert desk.require(1).severity == "P0"
    desk.resolve(1, "alice")
    feed(desk, [(alert("api"), "firing")])  # after resolution a new outage is a new incident
    assert desk.store.incidents.count() == 2
