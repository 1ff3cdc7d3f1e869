"""Incidents, their linked alerts, timeline and action items in the store.

Every write method takes the caller's connection: an incident change, its timeline
entries and the notifications it causes commit together or not at all.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, func, insert, or_, select, update

from opsbook.incidents.model import (
    ActionItem,
    EventKind,
    Incident,
    IncidentStatus,
    TimelineEntry,
)
from opsbook.store.tables import (
    alerts,
    incident_actions,
    incident_alerts,
    incident_events,
    incidents,
)

OPEN_STATUSES = tuple(s.value for s in IncidentStatus if s is not IncidentStatus.RESOLVED)


def _row(incident: Incident, now: datetime) -> dict[str, Any]:
    return {
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status.value,
        "opened_at": incident.opened_at,
        "detected_at": incident.detected_at,
        "acknowledged_at": incident.acknowledged_at,
        "acknowledged_by": incident.acknowledged_by,
        "resolved_at": incident.resolved_at,
        "services": json.dumps(list(incident.services)),
        "roles": json.dumps(dict(incident.roles), sort_keys=True),
        "impact": incident.impact,
        "summary": incident.summary,
        "open_key": incident.open_key if incident.is_open else None,
        "deploys": json.dumps(list(incident.deploys)),
        "escalation_policy": incident.escalation_policy,
        "escalation_round": incident.escalation_round,
        "escalation_level": incident.escalation_level,
        "next_escalation_at": incident.next_escalation_at,
        "ack_expires_at": incident.ack_expires_at,
        "last_update_at": incident.last_update_at,
        "next_reminder_at": incident.next_reminder_at,
        "created_by": incident.created_by,
        "updated_at": now,
    }


def _incident(row: Any, linked: Sequence[str] = ()) -> Incident:
    return Incident(
        id=row.id,
        title=row.title,
        severity=row.severity,
        status=IncidentStatus(row.status),
        opened_at=row.opened_at,
        detected_at=row.detected_at,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        resolved_at=row.resolved_at,
        services=tuple(json.loads(row.services)),
        roles=json.loads(row.roles),
        impact=row.impact,
        summary=row.summary,
        open_key=row.open_key,
        alerts=tuple(linked),
        deploys=tuple(json.loads(row.deploys)),
        escalation_policy=row.escalation_policy,
        escalation_round=row.escalation_round,
        escalation_level=row.escalation_level,
        next_escalation_at=row.next_escalation_at,
        ack_expires_at=row.ack_expires_at,
        last_update_at=row.last_update_at,
        next_reminder_at=row.next_reminder_at,
        created_by=row.created_by,
    )


def _entry(row: Any) -> TimelineEntry:
    return TimelineEntry(
        incident_id=row.incident_id,
        at=row.at,
        kind=EventKind(row.kind),
        actor=row.actor,
        text=row.text,
        data=json.loads(row.data),
        public=row.public,
        id=row.id,
    )


def _action(row: Any) -> ActionItem:
    return ActionItem(
        incident_id=row.incident_id,
        id=row.id,
        text=row.text,
        owner=row.owner,
        created_at=row.created_at,
        done_at=row.done_at,
    )


class IncidentRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- reading -------------------------------------------------------------------------

    @staticmethod
    def _linked(conn: Connection, ids: Sequence[int]) -> dict[int, builtins.list[str]]:
        linked: dict[int, builtins.list[str]] = {i: [] for i in ids}
        if ids:
            rows = conn.execute(
                select(incident_alerts.c.incident_id, incident_alerts.c.fingerprint)
                .where(incident_alerts.c.incident_id.in_(ids))
                .order_by(incident_alerts.c.linked_at, incident_alerts.c.fingerprint)
            )
            for row in rows:
                linked[row.incident_id].append(row.fingerprint)
        return linked

    def _load(self, conn: Connection, query: Select[Any]) -> builtins.list[Incident]:
        rows = conn.execute(query).all()
        linked = self._linked(conn, [r.id for r in rows])
        return [_incident(r, linked[r.id]) for r in rows]

    def get(self, incident_id: int, conn: Connection | None = None) -> Incident | None:
        query = select(incidents).where(incidents.c.id == incident_id)
        if conn is not None:
            found = self._load(conn, query)
        else:
            with self._engine.connect() as own:
                found = self._load(own, query)
        return found[0] if found else None

    def lock(self, conn: Connection, incident_id: int) -> Incident | None:
        """The incident, row-locked until the caller's transaction ends (PostgreSQL; on
        SQLite the caller's BEGIN IMMEDIATE already serialises writers)."""
        query = select(incidents).where(incidents.c.id == incident_id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        found = self._load(conn, query)
        return found[0] if found else None

    @staticmethod
    def _filtered(
        query: Select[Any], status: str | None, severity: str | None, service: str | None
    ) -> Select[Any]:
        if status == "open":
            query = query.where(incidents.c.status.in_(OPEN_STATUSES))
        elif status:
            query = query.where(incidents.c.status == status)
        if severity:
            query = query.where(incidents.c.severity == severity)
        if service:
            # services is a JSON list of names; names are [A-Za-z0-9_.-], so the quoted
            # form cannot appear inside another name.
            query = query.where(incidents.c.services.contains(json.dumps(service)))
        return query

    def list(
        self,
        *,
        status: str | None = None,
        severity: str | None = None,
        service: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> builtins.list[Incident]:
        """Newest first. `status` is a status name, or "open" for every unresolved one."""
        query = self._filtered(
            select(incidents).order_by(incidents.c.id.desc()), status, severity, service
        )
        with self._engine.connect() as conn:
            return self._load(conn, query.limit(limit).offset(offset))

    def count(
        self, *, status: str | None = None, severity: str | None = None, service: str | None = None
    ) -> int:
        query = self._filtered(
            select(func.count()).select_from(incidents), status, severity, service
        )
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def open_by_key(self, conn: Connection, key: str) -> Incident | None:
        found = self._load(conn, select(incidents).where(incidents.c.open_key == key))
        return found[0] if found else None

    def open_for_alert(self, conn: Connection, fingerprint: str) -> builtins.list[Incident]:
        query = (
            select(incidents)
            .join(incident_alerts, incident_alerts.c.incident_id == incidents.c.id)
            .where(
                incident_alerts.c.fingerprint == fingerprint,
                incidents.c.status.in_(OPEN_STATUSES),
            )
        )
        return self._load(conn, query)

    def alert_states(self, conn: Connection, incident_id: int) -> dict[str, str]:
        """fingerprint → alert state ("firing", "resolved", …) of the linked alerts."""
        query = (
            select(incident_alerts.c.fingerprint, alerts.c.state)
            .select_from(incident_alerts)
            .outerjoin(alerts, alerts.c.fingerprint == incident_alerts.c.fingerprint)
            .where(incident_alerts.c.incident_id == incident_id)
        )
        return {r.fingerprint: r.state or "resolved" for r in conn.execute(query)}

    def due(self, conn: Connection, now: datetime, limit: int = 100) -> builtins.list[Incident]:
        """Open incidents with an escalation, an ack expiry or a reminder due, claimed
        for this transaction (SKIP LOCKED: another node takes the others)."""
        query = (
            select(incidents)
            .where(
                incidents.c.status.in_(OPEN_STATUSES),
                or_(
                    incidents.c.next_escalation_at <= now,
                    incidents.c.ack_expires_at <= now,
                    incidents.c.next_reminder_at <= now,
                ),
            )
            .order_by(incidents.c.id)
            .limit(limit)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=incidents)
        return self._load(conn, query)

    def next_due_at(self) -> datetime | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(
                    func.min(incidents.c.next_escalation_at),
                    func.min(incidents.c.ack_expires_at),
                    func.min(incidents.c.next_reminder_at),
                ).where(incidents.c.status.in_(OPEN_STATUSES))
            ).one()
        times = [t for t in row if t is not None]
        return min(times) if times else None

    def timeline(
        self, incident_id: int, after_id: int = 0, conn: Connection | None = None
    ) -> builtins.list[TimelineEntry]:
        query = (
            select(incident_events)
            .where(incident_events.c.incident_id == incident_id, incident_events.c.id > after_id)
            .order_by(incident_events.c.id)
        )
        if conn is not None:
            return [_entry(r) for r in conn.execute(query)]
        with self._engine.connect() as own:
            return [_entry(r) for r in own.execute(query)]

    def actions(self, incident_id: int) -> builtins.list[ActionItem]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(incident_actions)
                .where(incident_actions.c.incident_id == incident_id)
                .order_by(incident_actions.c.id)
            )
            return [_action(r) for r in rows]

    # -- writing (in the caller's transaction) -------------------------------------------

    def create(self, conn: Connection, incident: Incident, now: datetime) -> Incident:
        new_id = conn.execute(
            insert(incidents).values(**_row(incident, now)).returning(incidents.c.id)
        ).scalar_one()
        created = incident.evolve(id=int(new_id))
        for fingerprint in incident.alerts:
            self.link(conn, created.id, fingerprint, now)
        return created

    def save(self, conn: Connection, incident: Incident, now: datetime) -> None:
        conn.execute(
            update(incidents).where(incidents.c.id == incident.id).values(**_row(incident, now))
        )

    def link(self, conn: Connection, incident_id: int, fingerprint: str, now: datetime) -> bool:
        """Link an alert; False if it was linked already."""
        exists = conn.execute(
            select(incident_alerts.c.fingerprint).where(
                incident_alerts.c.incident_id == incident_id,
                incident_alerts.c.fingerprint == fingerprint,
            )
        ).first()
        if exists:
            return False
        conn.execute(
            insert(incident_alerts).values(
                incident_id=incident_id, fingerprint=fingerprint, linked_at=now
            )
        )
        return True

    def append(self, conn: Connection, entries: Iterable[TimelineEntry]) -> None:
        rows = [
            {
                "incident_id": e.incident_id,
                "at": e.at,
                "kind": e.kind.value,
                "actor": e.actor[:200],
                "text": e.text,
                "data": json.dumps(dict(e.data), sort_keys=True, default=str),
                "public": e.public,
            }
            for e in entries
        ]
        if rows:
            conn.execute(insert(incident_events), rows)

    def add_action(
        self, conn: Connection, incident_id: int, text: str, owner: str | None, now: datetime
    ) -> ActionItem:
        new_id = conn.execute(
            insert(incident_actions)
            .values(incident_id=incident_id, text=text, owner=owner, created_at=now)
            .returning(incident_actions.c.id)
        ).scalar_one()
        return ActionItem(incident_id, int(new_id), text, owner, now)

    def finish_action(
        self, conn: Connection, incident_id: int, action_id: int, now: datetime
    ) -> tuple[ActionItem, bool] | None:
        """Mark an action item done, once: a second call keeps the first time. Returns
        the item and whether this call finished it; None if there is no such item."""
        row = conn.execute(
            select(incident_actions).where(
                incident_actions.c.id == action_id, incident_actions.c.incident_id == incident_id
            )
        ).first()
        if row is None:
            return None
        item = _action(row)
        if item.done:
            return item, False
        conn.execute(
            update(incident_actions).where(incident_actions.c.id == action_id).values(done_at=now)
        )
        return replace(item, done_at=now), True
