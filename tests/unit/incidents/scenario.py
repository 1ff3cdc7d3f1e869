"""The review-engine runbook's "Playbook: API Service Down", as one recorded incident.

Fault at 09:59:50 (first failing health check), alert fired at 10:00:05 and paged the
primary on-call; no ack within 15 minutes, so the secondary was paged at 10:15:05; bob
acknowledged via the link at 10:17:30, identified a connection leak, rolled back,
moved to monitoring at 10:31 and resolved at 10:45.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from opsbook.incidents.model import (
    ActionItem,
    EventKind,
    Incident,
    IncidentStatus,
    TimelineEntry,
)

DAY = datetime(2026, 3, 10, tzinfo=UTC)
INCIDENT_ID = 42
P1_TARGET = timedelta(minutes=15)  # review-engine "Alert Response Matrix": P1, 15 minutes
NOW = datetime(2026, 3, 11, 9, 0, tzinfo=UTC)


def at(clock: str) -> datetime:
    hours, minutes, *seconds = (int(part) for part in clock.split(":"))
    return DAY.replace(hour=hours, minute=minutes, second=seconds[0] if seconds else 0)


def entry(
    clock: str,
    kind: EventKind,
    text: str = "",
    actor: str = "opsbook",
    incident_id: int = INCIDENT_ID,
    public: bool = False,
    **data: Any,
) -> TimelineEntry:
    return TimelineEntry(
        incident_id=incident_id,
        at=at(clock),
        kind=kind,
        actor=actor,
        text=text,
        data=data,
        public=public,
    )


def notified(clock: str, person: str, receiver: str) -> TimelineEntry:
    return entry(
        clock, EventKind.NOTIFIED, f"{receiver} → {person}", person=person, receiver=receiver
    )


def incident(**changes: Any) -> Incident:
    base = Incident(
        id=INCIDENT_ID,
        title="API Service Down",
        severity="P1",
        status=IncidentStatus.RESOLVED,
        opened_at=at("10:00:05"),
        services=("review-engine", "api"),
        roles={"commander": "bob", "communications": "carol"},
        impact="Reviews could not be loaded or saved; mobile sync failed for all users.",
        detected_at=at("09:59:50"),
        acknowledged_at=at("10:17:30"),
        acknowledged_by="bob",
        resolved_at=at("10:45:00"),
        open_key="alertname=api-down",
        alerts=("api-down",),
        escalation_policy="review-engine",
        escalation_level=1,
        last_update_at=at("10:22:00"),
    )
    return base.evolve(**changes)


def timeline() -> list[TimelineEntry]:
    """The entries as the store returns them: ids in the order they were written."""
    return [replace(e, id=number) for number, e in enumerate(_entries(), start=1)]


def _entries() -> list[TimelineEntry]:
    E = EventKind  # noqa: N806 - short enough to keep one event per line
    return [
        entry("10:00:05", E.OPENED, "Opened by alert api-down", severity="P2"),
        entry(
            "10:00:05",
            E.ALERT_FIRING,
            "api-down: GET https://api.moshimoshi.app/health failed 3 times (connection refused)",
            fingerprint="4f1c0a9e",
            alertname="api-down",
        ),
        entry("10:00:05", E.ESCALATED, "Level 1 paged: primary on-call (alice)", level=0),
        notified("10:00:06", "alice", "pager"),
        notified("10:00:06", "alice", "sms"),
        notified("10:00:06", "alice", "team-email"),
        entry(
            "10:03:00",
            E.ALERT_FIRING,
            "api-latency: p95 1.8s > 1s",
            fingerprint="77d2b6c1",
            alertname="api-latency",
        ),
        entry(
            "10:04:00",
            E.ALERT_RESOLVED,
            "api-latency resolved",
            fingerprint="77d2b6c1",
            alertname="api-latency",
        ),
        entry(
            "10:05:30",
            E.ALERT_FIRING,
            "api-latency: p95 1.4s > 1s",
            fingerprint="77d2b6c1",
            alertname="api-latency",
        ),
        entry(
            "10:06:10",
            E.ALERT_RESOLVED,
            "api-latency resolved",
            fingerprint="77d2b6c1",
            alertname="api-latency",
        ),
        entry(
            "10:07:00",
            E.ALERT_FIRING,
            "api-latency: p95 2.2s > 1s",
            fingerprint="77d2b6c1",
            alertname="api-latency",
        ),
        entry(
            "10:10:00",
            E.SEVERITY_CHANGED,
            "Severity P2 → P1: complete outage",
            actor="carol",
            old="P2",
            new="P1",
        ),
        entry("10:10:00", E.REMINDER, "Status update due (P1: every 30 minutes)"),
        entry("10:15:05", E.ESCALATED, "Level 2 paged: secondary on-call (bob)", level=1),
        notified("10:15:06", "bob", "pager"),
        notified("10:15:06", "bob", "sms"),
        notified("10:15:06", "bob", "team-email"),
        entry("10:17:30", E.ACKNOWLEDGED, "Acknowledged via link", actor="bob"),
        entry(
            "10:18:00", E.ASSIGNED, "bob is commander", actor="bob", role="commander", person="bob"
        ),
        entry(
            "10:18:30",
            E.ASSIGNED,
            "carol is communications",
            actor="bob",
            role="communications",
            person="carol",
        ),
        entry(
            "10:20:00",
            E.NOTE,
            "Health endpoint times out; database connections exhausted (pool 100/100).",
            actor="bob",
        ),
        entry(
            "10:22:00",
            E.STATUS_UPDATE,
            "Investigating production outage. ETA: 15 minutes",
            actor="carol",
            public=True,
        ),
        notified("10:22:01", "carol", "slack-incidents"),
        entry(
            "10:24:00",
            E.STATUS_CHANGED,
            "Status investigating → identified",
            actor="bob",
            old="investigating",
            new="identified",
        ),
        entry(
            "10:25:00",
            E.NOTE,
            "Release 2.14.0 opened a new connection per review sync and never closed it;\n"
            "the pool hit its limit of 100 twelve minutes after the deploy.",
            actor="bob",
            section="root_cause",
        ),
        entry(
            "10:26:00",
            E.PLAYBOOK,
            "Playbook rollback (./scripts/rollback.sh previous) succeeded in 48s",
            actor="bob",
        ),
        entry("10:27:00", E.DEPLOY, "review-engine rolled back 2.14.0 → 2.13.2", actor="bob"),
        entry("10:30:00", E.ACTION_ADDED, "Close connections opened by review sync", actor="bob"),
        entry(
            "10:31:00",
            E.STATUS_CHANGED,
            "Status identified → monitoring",
            actor="bob",
            old="identified",
            new="monitoring",
        ),
        entry(
            "10:31:30",
            E.NOTE,
            "Rolled back to 2.13.2 and restarted the service; connections dropped to 12.",
            actor="bob",
            section="resolution",
        ),
        entry("10:40:00", E.REMINDER, "Status update due (P1: every 30 minutes)"),
        entry(
            "10:44:00",
            E.ALERT_RESOLVED,
            "api-down resolved",
            fingerprint="4f1c0a9e",
            alertname="api-down",
        ),
        entry(
            "10:44:00",
            E.ALERT_RESOLVED,
            "api-latency resolved",
            fingerprint="77d2b6c1",
            alertname="api-latency",
        ),
        entry(
            "10:45:00",
            E.RESOLVED,
            "Resolved: error rate back to baseline for 10 minutes",
            actor="bob",
        ),
        notified("10:45:01", "alice", "team-email"),
        notified("10:45:01", "bob", "team-email"),
    ]


def actions() -> list[ActionItem]:
    return [
        ActionItem(
            incident_id=INCIDENT_ID,
            id=1,
            text="Close connections opened by review sync (fix in 2.14.1)",
            owner="bob",
            created_at=at("10:30:00"),
            done_at=datetime(2026, 3, 12, 15, 0, tzinfo=UTC),
        ),
        ActionItem(
            incident_id=INCIDENT_ID,
            id=2,
            text="Alert on database connections_used_pct > 80% for 5 minutes",
            owner="alice",
            created_at=at("10:50:00"),
        ),
        ActionItem(
            incident_id=INCIDENT_ID,
            id=3,
            text="Update the runbook: API Service Down step 5 should check the pool first",
            owner=None,
            created_at=at("10:51:00"),
        ),
    ]
