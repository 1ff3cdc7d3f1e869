"""The status page as JSON (`GET /status.json`; the schema is in docs/status-page.md). Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opsbook.statuspage.components import headline
from opsbook.statuspage.model import (
    Component,
    DayUptime,
    Maintenance,
    PublicIncident,
    StatusPage,
)
from opsbook.statuspage.uptime import floor_percent


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _percent(value: float | None) -> float | None:
    return None if value is None else floor_percent(value, 4)


def day_json(day: DayUptime) -> dict[str, Any]:
    return {
        "date": day.day.isoformat(),
        "percent": _percent(day.percent),
        "ok": day.ok,
        "total": day.total,
        "level": day.level.value,
    }


def component_json(component: Component) -> dict[str, Any]:
    uptime = component.uptime
    return {
        "name": component.name,
        "description": component.description,
        "status": component.status.value,
        "status_label": component.status.label,
        "slo": component.slo,
        "uptime": {
            "percent": _percent(uptime.percent),
            "ok": uptime.ok,
            "total": uptime.total,
            "target": uptime.target,
            "meets_slo": component.meets_slo,
            "days": [day_json(d) for d in uptime.days],
        },
    }


def incident_json(incident: PublicIncident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "title": incident.title,
        "status": incident.status.value,
        "components": list(incident.components),
        "started_at": _stamp(incident.started_at),
        "resolved_at": _stamp(incident.resolved_at),
        "updated_at": _stamp(incident.updated_at),
        "updates": [
            {"at": _stamp(u.at), "status": u.status.value, "text": u.text} for u in incident.updates
        ],
    }


def maintenance_json(window: Maintenance) -> dict[str, Any]:
    return {
        "name": window.name,
        "title": window.title,
        "components": list(window.components),
        "starts_at": _stamp(window.starts_at),
        "ends_at": _stamp(window.ends_at),
        "recurring": window.recurring,
    }


def page_json(page: StatusPage) -> dict[str, Any]:
    return {
        "name": page.name,
        "status": {"indicator": page.status.value, "description": headline(page.status)},
        "uptime_days": page.uptime_days,
        "components": [component_json(c) for c in page.components],
        "incidents": {
            "active": [incident_json(i) for i in page.active_incidents],
            "past": [incident_json(i) for i in page.past_incidents],
        },
        "maintenance": {
            "in_progress": [maintenance_json(m) for m in page.maintenance_now],
            "scheduled": [maintenance_json(m) for m in page.maintenance_scheduled],
        },
    }
