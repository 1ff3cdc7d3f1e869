"""Incident operations over the store: declare, acknowledge, resolve, update, note, assign.

Every operation is one write transaction: it locks the incident row, checks the change is
allowed, saves it, appends the timeline entries and queues the notifications it causes,
so the CLI, the HTTP API and the engine can act on one incident at the same time without
losing or doubling anything. The rules about *what* changes live in pure helpers; this
module only orders the reads and writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from opsbook.alerts.model import Alert
from opsbook.errors import OpsbookError
from opsbook.incidents.communication import render_status_update
from opsbook.incidents.model import (
    ActionItem,
    EventKind,
    Incident,
    IncidentStatus,
    TimelineEntry,
)
from opsbook.incidents.opening import (
    more_severe,
    open_key,
    open_threshold,
    opens_incident,
    title_for,
)
from opsbook.incidents.paging import Pager, incident_message
from opsbook.incidents.postmortem import NOTE_SECTIONS, render_postmortem
from opsbook.notify.model import Notification
from opsbook.store.transaction import write_transaction

if TYPE_CHECKING:
    from opsbook.config.models import Config
    from opsbook.store import Store


def _text(value: str, what: str, limit: int, *, required: bool = True) -> str:
    """Free text from people: bounded, and without NUL or other control characters that
    no terminal, mail or database (PostgreSQL refuses NUL) handles well."""
    value = value.strip()
    if required and not value:
        raise IncidentError(f"{what} is empty", 422)
    if len(value) > limit:
        raise IncidentError(f"{what} is longer than {limit} characters", 422)
    if "\x00" in value:
        raise IncidentError(f"{what} contains a NUL character", 422)
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise IncidentError(f"{what} contains control characters", 422)
    return value


class IncidentError(OpsbookError):
    """A request the incident's state does not allow (with the reason), or no such
    incident. `status` is the HTTP status the API answers with."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Outcome:
    """What one operation changed: the callers print or return it."""

    incident: Incident
    entries: list[TimelineEntry] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    message: str = ""


class IncidentDesk:
    """Incident operations bound to one config and store."""

    def __init__(
        self, config: Config, store: Store, clock: Callable[[], datetime] | None = None
    ) -> None:
        from datetime import UTC

        self.config = config
        self.store = store
        self.clock = clock or (lambda: datetime.now(UTC))
        self.pager = Pager(config, lambda: store.tokens.secret("link-signing-key"))
        self.severities = [s.name for s in config.severities]

    # -- helpers -------------------------------------------------------------------------

    def _entry(
        self,
        incident: Incident,
        kind: EventKind,
        actor: str,
        text: str,
        now: datetime,
        public: bool = False,
        **data: object,
    ) -> TimelineEntry:
        return TimelineEntry(incident.id, now, kind, actor, text, dict(data), public)

    def _locked(self, conn: Connection, incident_id: int) -> Incident:
        incident = self.store.incidents.lock(conn, incident_id)
        if incident is None:
            raise IncidentError(f"no incident #{incident_id}", 404)
        return incident

    def _commit(
        self,
        conn: Connection,
        incident: Incident,
        entries: Sequence[TimelineEntry],
        notifications: Sequence[Notification],
        now: datetime,
    ) -> None:
        self.store.incidents.save(conn, incident, now)
        self.store.incidents.append(conn, entries)
        self.store.outbox.enqueue(conn, notifications)

    def _change(
        self,
        incident_id: int,
        step: Callable[[Incident, datetime], Outcome],
    ) -> Outcome:
        now = self.clock()
        with write_transaction(self.store.engine) as conn:
            outcome = step(self._locked(conn, incident_id), now)
            self._commit(conn, outcome.incident, outcome.entries, outcome.notifications, now)
        return outcome

    def _require_open(self, incident: Incident) -> None:
        if not incident.is_open:
            raise IncidentError(
                f"incident #{incident.id} is resolved; reopen it before changing it"
            )

    def _updates(
        self, incident: Incident, kind: str, message: str, now: datetime
    ) -> list[Notification]:
        """Status updates for the receivers in `incidents.updates_to`."""
        settings = self.config.incidents
        if not settings.updates_to:
            return []
        severity = self.config.severity(incident.severity)
        title, body = render_status_update(
            kind,  # type: ignore[arg-type]
            incident,
            message,
            now=now,
            next_update_in=severity.update_interval if severity else None,
            eta=None,
            templates=settings.templates,
            timezone=self.config.project.timezone,
            actions=self.store.incidents.actions(incident.id) if kind == "resolution" else (),
            redactor=self.config.redactor,
        )
        return [
            incident_message(
                incident,
                kind="status_update",
                key=f"update:{incident.id}:{kind}:{now.isoformat()}:{receiver}",
                receiver=receiver,
                title=title,
                body=body,
                now=now,
                resolved=kind == "resolution",
            )
            for receiver in settings.updates_to
        ]

    def _next_reminder(self, incident: Incident, after: datetime) -> datetime | None:
        severity = self.config.severity(incident.severity)
        if not self.config.incidents.reminders or severity is None:
            return None
        return after + severity.update_interval if severity.update_interval else None

    # -- opening ---------------------------------------------------------------------------

    def open_in(
        self,
        conn: Connection,
        incident: Incident,
        now: datetime,
        first_entries: Iterable[TimelineEntry] = (),
    ) -> Outcome:
        """Create `incident` (id ignored) in the caller's transaction: opening entries,
        the first page of its escalation policy, the initial status update."""
        policy = self.pager.policy_for(incident)
        incident = incident.evolve(
            escalation_policy=policy.name if policy else None,
            last_update_at=None,
            next_reminder_at=self._next_reminder(incident, now),
        )
        created = self.store.incidents.create(conn, incident, now)
        entries = [replace(e, incident_id=created.id) for e in first_entries]
        outcome = Outcome(created, entries)
        if policy is not None:
            self.pager.begin(outcome, now)
        outcome.notifications.extend(self._updates(outcome.incident, "initial", "", now))
        self._commit(conn, outcome.incident, outcome.entries, outcome.notifications, now)
        return outcome

    def declare(
        self,
        *,
        title: str,
        severity: str,
        services: Sequence[str] = (),
        actor: str,
        impact: str = "",
        commander: str | None = None,
    ) -> Outcome:
        if severity not in self.severities:
            raise IncidentError(
                f"unknown severity {severity!r}; configured: {', '.join(self.severities)}", 422
            )
        unknown = [s for s in services if self.config.service(s) is None]
        if unknown and self.config.services:
            raise IncidentError(f"unknown service {unknown[0]!r}", 422)
        if commander is not None and self.config.people and self.config.person(commander) is None:
            raise IncidentError(f"unknown person {commander!r}", 422)
        title = _text(" ".join(title.split()), "the title", 300)
        impact = _text(impact, "the impact", 5_000, required=False)
        now = self.clock()
        incident = Incident(
            id=0,
            title=title,
            severity=severity,
            status=IncidentStatus.INVESTIGATING,
            opened_at=now,
            detected_at=now,
            services=tuple(services),
            roles={"commander": commander} if commander else {},
            impact=impact,
            created_by=actor,
        )
        declared = TimelineEntry(
            0, now, EventKind.DECLARED, actor, f"Declared {severity}: {title}", {}, True
        )
        with write_transaction(self.store.engine) as conn:
            return self.open_in(conn, incident, now, [declared])

    # -- acknowledging and resolving ---------------------------------------------------

    def acknowledge(self, incident_id: int, actor: str, via: str = "cli") -> Outcome:
        def step(incident: Incident, now: datetime) -> Outcome:
            self._require_open(incident)
            if incident.acknowledged:
                return Outcome(
                    incident,
                    message=f"#{incident.id} was already acknowledged by "
                    f"{incident.acknowledged_by} at {incident.acknowledged_at:%H:%M:%S} UTC",
                )
            policy = self.pager.policy_for(incident)
            expires = now + policy.ack_timeout if policy and policy.ack_timeout else None
            acked = incident.evolve(
                acknowledged_at=now,
                acknowledged_by=actor,
                next_escalation_at=None,
                ack_expires_at=expires,
            )
            text = f"Acknowledged by {actor} (via {via}); escalation stopped"
            if expires:
                text += f" until {expires:%H:%M:%S} UTC (ack timeout)"
            entry = self._entry(acked, EventKind.ACKNOWLEDGED, actor, text, now, via=via)
            return Outcome(acked, [entry], message=text)

        return self._change(incident_id, step)

    def resolve(self, incident_id: int, actor: str, message: str = "") -> Outcome:
        message = _text(message, "the message", 5_000, required=False)

        def step(incident: Incident, now: datetime) -> Outcome:
            if not incident.is_open:
                return Outcome(incident, message=f"#{incident.id} is already resolved")
            resolved = incident.evolve(
                status=IncidentStatus.RESOLVED,
                resolved_at=now,
                next_escalation_at=None,
                ack_expires_at=None,
                next_reminder_at=None,
            )
            text = f"Resolved by {actor}" + (f": {message}" if message else "")
            entry = self._entry(resolved, EventKind.RESOLVED, actor, text, now, public=True)
            updates = self._updates(resolved, "resolution", message, now)
            return Outcome(resolved, [entry], updates, text)

        return self._change(incident_id, step)

    def set_status(self, incident_id: int, status: IncidentStatus, actor: str) -> Outcome:
        if status is IncidentStatus.RESOLVED:
            return self.resolve(incident_id, actor)

        def step(incident: Incident, now: datetime) -> Outcome:
            if incident.status is status:
                return Outcome(incident, message=f"#{incident.id} is already {status.value}")
            reopened = not incident.is_open
            changed = incident.evolve(
                status=status,
                resolved_at=None,
                next_reminder_at=self._next_reminder(incident, now) if reopened else None,
            )
            if not reopened:
                changed = changed.evolve(next_reminder_at=incident.next_reminder_at)
            kind = EventKind.REOPENED if reopened else EventKind.STATUS_CHANGED
            text = f"Status {incident.status.value} → {status.value} by {actor}"
            entry = self._entry(
                changed, kind, actor, text, now, True, old=incident.status.value, new=status.value
            )
            return Outcome(changed, [entry], message=text)

        return self._change(incident_id, step)

    def set_severity(self, incident_id: int, severity: str, actor: str) -> Outcome:
        if severity not in self.severities:
            raise IncidentError(
                f"unknown severity {severity!r}; configured: {', '.join(self.severities)}", 422
            )

        def step(incident: Incident, now: datetime) -> Outcome:
            self._require_open(incident)
            if incident.severity == severity:
                return Outcome(incident, message=f"#{incident.id} is already {severity}")
            changed = incident.evolve(severity=severity)
            text = f"Severity {incident.severity} → {severity} by {actor}"
            entry = self._entry(
                changed, EventKind.SEVERITY_CHANGED, actor, text, now, True,
                old=incident.severity, new=severity,
            )  # fmt: skip
            return Outcome(changed, [entry], message=text)

        return self._change(incident_id, step)

    def assign(self, incident_id: int, role: str, person: str, actor: str) -> Outcome:
        if not role.replace("_", "").isalnum() or len(role) > 50:
            raise IncidentError(f"a role is a word like commander, not {role!r}", 422)
        if self.config.people and self.config.person(person) is None:
            raise IncidentError(f"unknown person {person!r}", 422)

        def step(incident: Incident, now: datetime) -> Outcome:
            self._require_open(incident)
            changed = incident.evolve(roles={**incident.roles, role: person})
            text = f"{person} is {role} (assigned by {actor})"
            entry = self._entry(
                changed, EventKind.ASSIGNED, actor, text, now, role=role, person=person
            )
            return Outcome(changed, [entry], message=text)

        return self._change(incident_id, step)

    def note(self, incident_id: int, text: str, actor: str, section: str | None = None) -> Outcome:
        text = _text(text, "the note", 20_000)
        if section is not None and section not in NOTE_SECTIONS:
            raise IncidentError(f"section must be one of {', '.join(NOTE_SECTIONS)}", 422)

        def step(incident: Incident, now: datetime) -> Outcome:
            data: dict[str, object] = {"section": section} if section else {}
            entry = TimelineEntry(incident.id, now, EventKind.NOTE, actor, text, data)
            return Outcome(incident, [entry], message="note added")

        return self._change(incident_id, step)

    def post_update(
        self, incident_id: int, message: str, actor: str, public: bool = True
    ) -> Outcome:
        message = _text(message, "the update", 5_000)

        def step(incident: Incident, now: datetime) -> Outcome:
            self._require_open(incident)
            changed = incident.evolve(
                last_update_at=now, next_reminder_at=self._next_reminder(incident, now)
            )
            entry = self._entry(changed, EventKind.STATUS_UPDATE, actor, message, now, public)
            return Outcome(
                changed, [entry], self._updates(changed, "update", message, now), "update posted"
            )

        return self._change(incident_id, step)

    def add_action(self, incident_id: int, text: str, owner: str | None, actor: str) -> ActionItem:
        text = _text(" ".join(text.split()), "the action item", 1_000)
        if owner is not None:
            owner = _text(owner, "the owner", 100)
        now = self.clock()
        with write_transaction(self.store.engine) as conn:
            incident = self._locked(conn, incident_id)
            item = self.store.incidents.add_action(conn, incident.id, text, owner, now)
            entry = self._entry(
                incident, EventKind.ACTION_ADDED, actor, f"Action item {item.id}: {text}", now,
                action=item.id, owner=owner,
            )  # fmt: skip
            self.store.incidents.append(conn, [entry])
        return item

    def finish_action(self, incident_id: int, action_id: int, actor: str) -> ActionItem:
        now = self.clock()
        with write_transaction(self.store.engine) as conn:
            incident = self._locked(conn, incident_id)
            found = self.store.incidents.finish_action(conn, incident.id, action_id, now)
            if found is None:
                raise IncidentError(f"incident #{incident_id} has no action item {action_id}", 404)
            item, finished = found
            if finished:
                entry = self._entry(
                    incident, EventKind.ACTION_DONE, actor,
                    f"Action item {item.id} done: {item.text}", now, action=item.id,
                )  # fmt: skip
                self.store.incidents.append(conn, [entry])
        return item

    def record(
        self, incident_id: int, actor: str, text: str, data: dict[str, object], kind: EventKind
    ) -> None:
        """Put something that happened elsewhere (a playbook step, a deploy) on the
        timeline."""
        text = _text(text, "the entry", 20_000)

        def step(incident: Incident, now: datetime) -> Outcome:
            return Outcome(incident, [TimelineEntry(incident.id, now, kind, actor, text, data)])

        self._change(incident_id, step)

    # -- reading ---------------------------------------------------------------------------

    def require(self, incident_id: int) -> Incident:
        incident = self.store.incidents.get(incident_id)
        if incident is None:
            raise IncidentError(f"no incident #{incident_id}", 404)
        return incident

    def postmortem(self, incident_id: int, fmt: str = "markdown") -> str:
        """The postmortem as it stands now (a draft while the incident is open)."""
        incident = self.require(incident_id)
        severity = self.config.severity(incident.severity)
        return render_postmortem(
            incident,
            self.store.incidents.timeline(incident.id),
            self.store.incidents.actions(incident.id),
            now=self.clock(),
            timezone=self.config.project.timezone,
            response_target=severity.response_time if severity else None,
            services_info={s.name: s.description for s in self.config.services if s.description},
            fmt="html" if fmt == "html" else "markdown",
            redactor=self.config.redactor,
        )

    # -- alerts ------------------------------------------------------------------------------

    def on_alert_events(
        self, conn: Connection, events: Iterable[tuple[Alert, str, datetime]], now: datetime
    ) -> list[Notification]:
        """Open, join and calm incidents from alert transitions, in the engine's own
        transaction (the alert rows are already written in it). The unique open_key makes a
        second incident for the same alerts impossible, even across a restart or nodes."""
        threshold = open_threshold(self.config.incidents, self.severities)
        group_by = self.config.incidents.group_by
        queued: list[Notification] = []
        for alert, event, at in events:
            if event == "firing":
                queued.extend(self._alert_firing(conn, alert, at, threshold, group_by))
            elif event == "resolved":
                self._alert_resolved(conn, alert, at)
        return queued

    def _alert_firing(
        self,
        conn: Connection,
        alert: Alert,
        at: datetime,
        threshold: str | None,
        group_by: Sequence[str],
    ) -> list[Notification]:
        name = alert.labels.get("alertname", alert.rule)
        text = f"Alert {name} firing" + (
            f": {alert.annotations['summary']}" if alert.annotations.get("summary") else ""
        )
        data = {"fingerprint": alert.fingerprint, "alertname": name, "severity": alert.severity}
        linked = self.store.incidents.open_for_alert(conn, alert.fingerprint)
        if not linked and opens_incident(alert, threshold, self.severities):
            key = open_key(alert, group_by)
            joined = self.store.incidents.open_by_key(conn, key)
            if joined is None:
                return self._open_for_alert(conn, alert, key, at, text, data)
            self.store.incidents.link(conn, joined.id, alert.fingerprint, at)
            linked = [joined]
        for incident in linked:
            entries = [
                TimelineEntry(incident.id, at, EventKind.ALERT_FIRING, "opsbook", text, data)
            ]
            if more_severe(alert.severity, incident.severity, self.severities):
                entries.append(
                    TimelineEntry(
                        incident.id, at, EventKind.SEVERITY_CHANGED, "opsbook",
                        f"Severity {incident.severity} → {alert.severity} (alert {name})",
                        {"old": incident.severity, "new": alert.severity}, True,
                    )
                )  # fmt: skip
                incident = incident.evolve(severity=alert.severity)
            if incident.status is IncidentStatus.MONITORING:
                entries.append(
                    TimelineEntry(
                        incident.id, at, EventKind.STATUS_CHANGED, "opsbook",
                        f"Status monitoring → investigating ({name} firing again)",
                        {"old": "monitoring", "new": "investigating"}, True,
                    )
                )  # fmt: skip
                incident = incident.evolve(status=IncidentStatus.INVESTIGATING)
            self.store.incidents.save(conn, incident, at)
            self.store.incidents.append(conn, entries)
        return []

    def _open_for_alert(
        self,
        conn: Connection,
        alert: Alert,
        key: str,
        at: datetime,
        text: str,
        data: dict[str, str],
    ) -> list[Notification]:
        service = alert.service
        incident = Incident(
            id=0,
            title=title_for(alert),
            severity=alert.severity,
            status=IncidentStatus.INVESTIGATING,
            opened_at=at,
            detected_at=alert.active_since or alert.fired_at or at,
            services=(service,) if service else (),
            impact=alert.annotations.get("impact", ""),
            open_key=key,
            alerts=(alert.fingerprint,),
        )
        opened = TimelineEntry(
            0, at, EventKind.OPENED, "opsbook",
            f"Opened {alert.severity} by alert {data['alertname']}", data, True,
        )  # fmt: skip
        firing = TimelineEntry(0, at, EventKind.ALERT_FIRING, "opsbook", text, data)
        outcome = self.open_in(conn, incident, at, [opened, firing])
        return outcome.notifications

    def _alert_resolved(self, conn: Connection, alert: Alert, at: datetime) -> None:
        name = alert.labels.get("alertname", alert.rule)
        for incident in self.store.incidents.open_for_alert(conn, alert.fingerprint):
            entries = [
                TimelineEntry(
                    incident.id, at, EventKind.ALERT_RESOLVED, "opsbook",
                    f"Alert {name} resolved", {"fingerprint": alert.fingerprint, "alertname": name},
                )
            ]  # fmt: skip
            states = self.store.incidents.alert_states(conn, incident.id)
            calm = all(state != "firing" for state in states.values())
            if calm and incident.status in (
                IncidentStatus.INVESTIGATING,
                IncidentStatus.IDENTIFIED,
            ):
                entries.append(
                    TimelineEntry(
                        incident.id, at, EventKind.STATUS_CHANGED, "opsbook",
                        f"Status {incident.status.value} → monitoring (all alerts resolved)",
                        {"old": incident.status.value, "new": "monitoring"}, True,
                    )
                )  # fmt: skip
                # Nobody needs paging for a recovered service; a human still resolves.
                incident = incident.evolve(
                    status=IncidentStatus.MONITORING, next_escalation_at=None
                )
                self.store.incidents.save(conn, incident, at)
            self.store.incidents.append(conn, entries)

    # -- the engine's timers -----------------------------------------------------------

    def tick(self, now: datetime | None = None) -> int:
        """Escalate, expire acks and remind, for every incident due; returns how many
        notifications were queued. Safe to run on several nodes at once."""
        now = now or self.clock()
        queued = 0
        with write_transaction(self.store.engine) as conn:
            for incident in self.store.incidents.due(conn, now):
                outcome = Outcome(incident)
                self.pager.tick(outcome, now)
                if incident.next_reminder_at is not None and incident.next_reminder_at <= now:
                    self.pager.remind(outcome, now, self._next_reminder(incident, now))
                self._commit(conn, outcome.incident, outcome.entries, outcome.notifications, now)
                queued += len(outcome.notifications)
        return queued
