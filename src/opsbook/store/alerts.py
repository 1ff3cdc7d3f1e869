"""Alerts, their transition history, silences and notification groups in the store."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, or_, select, update

from opsbook.alerts.matchers import parse_matcher
from opsbook.alerts.model import Alert, AlertState, Level
from opsbook.alerts.silences import Silence
from opsbook.notify.grouping import GroupState
from opsbook.store.tables import alert_events, alerts, notification_groups, silences
from opsbook.store.upsert import upsert


def _alert_row(alert: Alert, muted: str | None) -> dict[str, Any]:
    return {
        "fingerprint": alert.fingerprint,
        "rule": alert.rule,
        "level": alert.level.value,
        "state": alert.state.value,
        "labels": json.dumps(dict(alert.labels), sort_keys=True),
        "annotations": json.dumps(dict(alert.annotations), sort_keys=True),
        "active_since": alert.active_since,
        "fired_at": alert.fired_at,
        "resolved_at": alert.resolved_at,
        "last_true_at": alert.last_true_at,
        "value": alert.value,
        "fired_value": alert.fired_value,
        "flips": json.dumps([t.isoformat() for t in alert.flips]),
        "flapping": alert.flapping,
        "muted": muted,
        "updated_at": alert.updated_at,
    }


def _alert(row: Any) -> Alert:
    return Alert(
        fingerprint=row.fingerprint,
        rule=row.rule,
        level=Level(row.level),
        labels=json.loads(row.labels),
        annotations=json.loads(row.annotations),
        state=AlertState(row.state),
        active_since=row.active_since,
        fired_at=row.fired_at,
        resolved_at=row.resolved_at,
        last_true_at=row.last_true_at,
        value=row.value,
        fired_value=row.fired_value,
        flips=tuple(datetime.fromisoformat(t) for t in json.loads(row.flips)),
        flapping=row.flapping,
        updated_at=row.updated_at,
    )


class AlertRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def save(
        self, conn: Connection, changed: Iterable[Alert], muted: dict[str, str] | None = None
    ) -> None:
        muted = muted or {}
        upsert(
            conn,
            alerts,
            [_alert_row(a, muted.get(a.fingerprint)) for a in changed],
            ["fingerprint"],
        )

    def set_muted(self, conn: Connection, muted: dict[str, str | None]) -> None:
        for fingerprint, reason in muted.items():
            conn.execute(
                update(alerts).where(alerts.c.fingerprint == fingerprint).values(muted=reason)
            )

    def record_events(
        self, conn: Connection, events: Sequence[tuple[Alert, str, datetime]]
    ) -> None:
        if events:
            conn.execute(
                alert_events.insert(),
                [
                    {
                        "fingerprint": alert.fingerprint,
                        "rule": alert.rule,
                        "event": event,
                        "at": at,
                        "value": alert.value,
                        "labels": json.dumps(dict(alert.labels), sort_keys=True),
                    }
                    for alert, event, at in events
                ],
            )

    def load_live(self, resolved_since: datetime) -> list[Alert]:
        """Alerts the engine must keep in memory: pending, firing, or recently resolved."""
        query = select(alerts).where(
            or_(
                alerts.c.state.in_([AlertState.PENDING.value, AlertState.FIRING.value]),
                and_(
                    alerts.c.state == AlertState.RESOLVED.value,
                    alerts.c.resolved_at >= resolved_since,
                ),
            )
        )
        with self._engine.connect() as conn:
            return [_alert(row) for row in conn.execute(query)]

    def browse(self, states: Sequence[str] | None = None) -> list[tuple[Alert, str | None]]:
        """Alerts with their current mute reason (None when notifications go out)."""
        query = select(alerts).order_by(alerts.c.fired_at.desc(), alerts.c.rule)
        if states:
            query = query.where(alerts.c.state.in_(list(states)))
        with self._engine.connect() as conn:
            return [(_alert(row), row.muted) for row in conn.execute(query)]

    def events(self, fingerprint: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        query = select(alert_events).order_by(alert_events.c.id.desc()).limit(limit)
        if fingerprint is not None:
            query = query.where(alert_events.c.fingerprint == fingerprint)
        with self._engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]


def _silence(row: Any) -> Silence:
    return Silence(
        id=row.id,
        matchers=tuple(parse_matcher(m) for m in json.loads(row.matchers)),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        created_by=row.created_by,
        comment=row.comment,
        created_at=row.created_at,
    )


class SilenceRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, silence: Silence, now: datetime) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                silences.insert().values(
                    id=silence.id,
                    matchers=json.dumps([str(m) for m in silence.matchers]),
                    starts_at=silence.starts_at,
                    ends_at=silence.ends_at,
                    created_by=silence.created_by,
                    comment=silence.comment,
                    created_at=now,
                    updated_at=now,
                )
            )

    def expire(self, silence_id: str, now: datetime) -> bool:
        """End a silence now; False when no such silence is still running."""
        with self._engine.begin() as conn:
            result = conn.execute(
                update(silences)
                .where(silences.c.id == silence_id, silences.c.ends_at > now)
                .values(ends_at=now, updated_at=now)
            )
        return result.rowcount == 1

    def get(self, silence_id: str) -> Silence | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(silences).where(silences.c.id == silence_id)).first()
        return _silence(row) if row else None

    def browse(self, include_expired_since: datetime | None = None) -> list[Silence]:
        query = select(silences).order_by(silences.c.starts_at)
        if include_expired_since is not None:
            query = query.where(silences.c.ends_at > include_expired_since)
        with self._engine.connect() as conn:
            return [_silence(row) for row in conn.execute(query)]


def _group(row: Any) -> GroupState:
    return GroupState(
        key=row.key,
        route_id=row.route_id,
        receiver=row.receiver,
        labels=json.loads(row.labels),
        created_at=row.created_at,
        last_sent_at=row.last_sent_at,
        sent_firing=frozenset(json.loads(row.sent_firing)),
        sent_flapping=frozenset(json.loads(row.sent_flapping)),
        seq=row.seq,
    )


class GroupRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def load(self) -> dict[str, GroupState]:
        with self._engine.connect() as conn:
            return {row.key: _group(row) for row in conn.execute(select(notification_groups))}

    def save(self, conn: Connection, groups: Iterable[GroupState]) -> None:
        rows = [
            {
                "key": g.key,
                "route_id": g.route_id,
                "receiver": g.receiver,
                "labels": json.dumps(dict(g.labels), sort_keys=True),
                "created_at": g.created_at,
                "last_sent_at": g.last_sent_at,
                "sent_firing": json.dumps(sorted(g.sent_firing)),
                "sent_flapping": json.dumps(sorted(g.sent_flapping)),
                "seq": g.seq,
            }
            for g in groups
        ]
        upsert(conn, notification_groups, rows, ["key"])

    def delete(self, conn: Connection, keys: Iterable[str]) -> None:
        keys = list(keys)
        if keys:
            conn.execute(delete(notification_groups).where(notification_groups.c.key.in_(keys)))
