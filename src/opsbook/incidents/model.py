"""The incident record and its append-only timeline, as plain immutable values.

The store reads and writes these; every pure stage (incident manager, reminders,
postmortem rendering) works on them without touching I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class IncidentStatus(StrEnum):
    """The runbooks' lifecycle: investigating → identified → monitoring → resolved."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class EventKind(StrEnum):
    """What a timeline entry records. Postmortems filter on these (noise vs. story)."""

    DECLARED = "declared"  # opened by hand
    OPENED = "opened"  # opened by an alert
    ALERT_FIRING = "alert_firing"
    ALERT_RESOLVED = "alert_resolved"
    ACKNOWLEDGED = "acknowledged"
    ACK_EXPIRED = "ack_expired"
    ESCALATED = "escalated"  # a level of the policy was paged
    ESCALATION_EXHAUSTED = "escalation_exhausted"
    NOTIFIED = "notified"  # a message was queued for a receiver / person
    STATUS_CHANGED = "status_changed"
    SEVERITY_CHANGED = "severity_changed"
    ASSIGNED = "assigned"  # a role (commander, …) given to someone
    NOTE = "note"
    STATUS_UPDATE = "status_update"  # a communication posted (maybe public)
    REMINDER = "reminder"  # the commander was reminded to post an update
    ACTION_ADDED = "action_added"
    ACTION_DONE = "action_done"
    PLAYBOOK = "playbook"
    DEPLOY = "deploy"
    RESOLVED = "resolved"
    REOPENED = "reopened"


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    incident_id: int
    at: datetime  # UTC
    kind: EventKind
    actor: str  # "opsbook" for the engine, a person's name, "cli:<user>", "api:<token>"
    text: str
    data: Mapping[str, Any] = field(default_factory=dict)
    public: bool = False  # shown on the status page
    id: int | None = None  # assigned by the store; entries are never updated


@dataclass(frozen=True, slots=True)
class ActionItem:
    incident_id: int
    id: int
    text: str
    owner: str | None
    created_at: datetime
    done_at: datetime | None = None

    @property
    def done(self) -> bool:
        return self.done_at is not None


@dataclass(frozen=True, slots=True)
class Incident:
    """One incident. `roles` maps a role ("commander", "communications", …) to a person.

    Timestamps that drive the metrics: `detected_at` is the first failing sample (or the
    moment of declaring), `opened_at` when the incident was created (the alert fired),
    `acknowledged_at` the first ack, `resolved_at` the resolution.
    """

    id: int
    title: str
    severity: str
    status: IncidentStatus
    opened_at: datetime
    services: tuple[str, ...] = ()
    roles: Mapping[str, str] = field(default_factory=dict)
    impact: str = ""
    summary: str = ""
    detected_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    open_key: str | None = None  # group key of the alerts that opened it (dedup), if any
    alerts: tuple[str, ...] = ()  # fingerprints of linked alerts
    deploys: tuple[str, ...] = ()
    escalation_policy: str | None = None
    escalation_round: int = 0
    escalation_level: int = -1  # index of the level last paged; -1 before the first page
    next_escalation_at: datetime | None = None
    ack_expires_at: datetime | None = None
    last_update_at: datetime | None = None  # last status update posted
    next_reminder_at: datetime | None = None
    created_by: str = "opsbook"

    @property
    def commander(self) -> str | None:
        return self.roles.get("commander")

    @property
    def is_open(self) -> bool:
        return self.status is not IncidentStatus.RESOLVED

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    def duration(self, now: datetime) -> timedelta:
        end = self.resolved_at or now
        return end - (self.detected_at or self.opened_at)

    def evolve(self, **changes: Any) -> Incident:
        return replace(self, **changes)
