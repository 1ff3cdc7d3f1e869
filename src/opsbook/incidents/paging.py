"""Paging people for an incident: escalation steps, ack expiry and update reminders.

The escalation arithmetic is `opsbook.oncall.escalation` (pure); this module turns a step
into notifications for the people on call and timeline entries, on the `Outcome` of the
operation in progress. Each page carries signed one-click links (acknowledge, resolve)
made for the person it is sent to, so the timeline can say who acted.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from opsbook.inbound.signing import sign
from opsbook.incidents.communication import reminder_text
from opsbook.incidents.model import EventKind, Incident, TimelineEntry
from opsbook.notify.model import Notification
from opsbook.oncall.escalation import (
    EscalationPolicy,
    EscalationPosition,
    advance,
    begin,
    reach,
    resolve_targets,
)

if TYPE_CHECKING:
    from opsbook.config.models import Config
    from opsbook.incidents.service import Outcome

LINK_PURPOSES = ("ack", "resolve")


class Pager:
    def __init__(self, config: Config, secret: Callable[[], bytes]) -> None:
        self.config = config
        # Read now, outside any transaction: on SQLite a second writer inside the
        # caller's BEGIN IMMEDIATE would wait on itself.
        self.key = secret()
        self.schedules = {s.name: s for s in config.schedules}
        self.people = {p.name: p for p in config.people}

    # -- lookups -------------------------------------------------------------------------

    def policy_for(self, incident: Incident) -> EscalationPolicy | None:
        """The incident's own policy once chosen; for a new one, the first affected
        service's policy, else the default of `incidents.escalation_policy`."""
        if incident.escalation_policy:
            return self.config.escalation_policy(incident.escalation_policy)
        for name in incident.services:
            service = self.config.service(name)
            if service is not None and service.escalation_policy:
                return self.config.escalation_policy(service.escalation_policy)
        default = self.config.incidents.escalation_policy
        return self.config.escalation_policy(default) if default else None

    def response_time(self, incident: Incident) -> timedelta:
        severity = self.config.severity(incident.severity)
        return severity.response_time if severity else timedelta(minutes=15)

    def link(self, purpose: str, incident: Incident, actor: str, now: datetime) -> str:
        token = sign(
            self.key,
            purpose,
            f"incident:{incident.id}",
            now + self.config.incidents.link_ttl,
            secrets.token_urlsafe(12),
            actor=actor,
        )
        return f"{self.config.incidents.public_url}/links/{token}"

    # -- escalation ----------------------------------------------------------------------

    def begin(self, outcome: Outcome, now: datetime) -> None:
        policy = self.policy_for(outcome.incident)
        if policy is None:
            return
        position = begin(policy, now, self.response_time(outcome.incident))
        self._page(outcome, policy, position, now)

    def tick(self, outcome: Outcome, now: datetime) -> None:
        """Expire an ack that timed out (escalation starts over), then take every
        escalation step due by `now` (catching up in order after downtime)."""
        incident = outcome.incident
        policy = self.policy_for(incident)
        if policy is None:
            outcome.incident = incident.evolve(next_escalation_at=None, ack_expires_at=None)
            return
        if incident.ack_expires_at is not None and incident.ack_expires_at <= now:
            outcome.entries.append(
                TimelineEntry(
                    incident.id, now, EventKind.ACK_EXPIRED, "opsbook",
                    f"Acknowledgement by {incident.acknowledged_by} expired "
                    f"(ack_timeout); escalation starts over",
                )
            )  # fmt: skip
            outcome.incident = incident.evolve(
                acknowledged_at=None, acknowledged_by=None, ack_expires_at=None
            )
            start = begin(policy, incident.ack_expires_at, self.response_time(incident))
            self._page(outcome, policy, start, now)
        incident = outcome.incident
        due = incident.next_escalation_at
        if incident.acknowledged or due is None or due > now:
            return
        position = EscalationPosition(incident.escalation_round, incident.escalation_level, due)
        while (step := advance(policy, position, now, self.response_time(incident))) is not None:
            if step.exhausted:
                outcome.entries.append(
                    TimelineEntry(
                        incident.id, now, EventKind.ESCALATION_EXHAUSTED, "opsbook",
                        f"Escalation policy {policy.name} exhausted: nobody acknowledged",
                    )
                )  # fmt: skip
                outcome.incident = outcome.incident.evolve(next_escalation_at=None)
                return
            self._page(outcome, policy, step, now)
            position = step

    def _page(
        self,
        outcome: Outcome,
        policy: EscalationPolicy,
        position: EscalationPosition,
        now: datetime,
    ) -> None:
        incident = outcome.incident
        level = policy.levels[position.level]
        reached: list[str] = []
        problems: list[str] = []
        for target in resolve_targets(level, now, self.schedules):
            receivers, problem = reach(target, self.people)
            if problem is not None:
                problems.append(problem)
                continue
            assert target.name is not None  # reach explains every target without a name
            reached.append(f"{target.name} ({target.via})")
            for receiver in receivers:
                outcome.notifications.append(
                    self._notification(incident, position, receiver, target.name, now)
                )
                outcome.entries.append(
                    TimelineEntry(
                        incident.id, now, EventKind.NOTIFIED, "opsbook",
                        f"Page queued for {target.name} via {receiver}",
                        {"person" if target.kind == "person" else "receiver": target.name,
                         "channel": receiver},
                    )
                )  # fmt: skip
        step = f"level {position.level + 1}" + (
            f", round {position.round + 1}" if position.round else ""
        )
        text = f"Escalation {policy.name} {step}: paged " + (", ".join(reached) or "nobody")
        if problems:
            text += "; " + "; ".join(problems)
        outcome.entries.append(
            TimelineEntry(
                incident.id, now, EventKind.ESCALATED, "opsbook", text,
                {"policy": policy.name, "level": position.level + 1, "round": position.round + 1,
                 "paged": reached, "problems": problems},
            )
        )  # fmt: skip
        outcome.incident = incident.evolve(
            escalation_round=position.round,
            escalation_level=position.level,
            next_escalation_at=position.due_at,
        )

    def _notification(
        self,
        incident: Incident,
        position: EscalationPosition,
        receiver: str,
        actor: str,
        now: datetime,
    ) -> Notification:
        ack = self.link("ack", incident, actor, now)
        resolve = self.link("resolve", incident, actor, now)
        services = ", ".join(incident.services) or "-"
        body = "\n".join(
            [
                f"INCIDENT #{incident.id} - {incident.severity}",
                f"Service: {services}",
                f"Issue: {incident.title}",
                *([f"Impact: {incident.impact}"] if incident.impact else []),
                f"Status: {incident.status.value.capitalize()}",
                f"Opened: {incident.opened_at:%Y-%m-%d %H:%M:%S} UTC",
                "",
                f"Acknowledge: {ack}",
                f"Resolve: {resolve}",
            ]
        )
        # The step's due time tells a restarted escalation (after an ack expired) from
        # the first one; a retried transaction computes the same key.
        due = position.due_at.isoformat() if position.due_at else "-"
        return incident_message(
            incident,
            kind="page",
            key=f"page:{incident.id}:{position.round}:{position.level}:{due}:{receiver}",
            receiver=receiver,
            title=f"[{incident.severity}] Incident #{incident.id}: {incident.title}",
            body=body,
            now=now,
        )

    # -- reminders -----------------------------------------------------------------------

    def remind(self, outcome: Outcome, now: datetime, next_at: datetime | None) -> None:
        """Tell the commander (or whoever acknowledged) that a status update is due."""
        incident = outcome.incident
        who = incident.commander or incident.acknowledged_by
        person = self.config.person(who) if who else None
        receivers = [r.name for r in person.receivers()] if person else []
        due = incident.next_reminder_at or now
        text = reminder_text(incident, now - due)
        for receiver in receivers:
            outcome.notifications.append(
                incident_message(
                    incident,
                    kind="reminder",
                    key=f"remind:{incident.id}:{due.isoformat()}:{receiver}",
                    receiver=receiver,
                    title=f"Update due: incident #{incident.id} {incident.title}",
                    body=f"{text}\nPost one: opsbook incident update {incident.id} MESSAGE",
                    now=now,
                )
            )
        sent = f" (sent to {who})" if receivers else " (nobody to remind: no commander)"
        outcome.entries.append(
            TimelineEntry(incident.id, now, EventKind.REMINDER, "opsbook", text + sent)
        )
        outcome.incident = outcome.incident.evolve(next_reminder_at=next_at)


def incident_message(
    incident: Incident,
    *,
    kind: str,
    key: str,
    receiver: str,
    title: str,
    body: str,
    now: datetime,
    resolved: bool = False,
) -> Notification:
    """A notification about an incident (page, reminder, status update): grouped by the
    incident, carrying its text rather than alerts."""
    return Notification(
        idempotency_key=key,
        receiver=receiver,
        group_key=f"incident:{incident.id}",
        group_labels={"incident": str(incident.id)},
        status="resolved" if resolved else "firing",
        alerts=(),
        created_at=now,
        kind=kind,
        title=title,
        body=body,
    )
