"""JSON forms of incidents, timeline entries and action items (API and `--json`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opsbook.incidents.model import ActionItem, Incident, TimelineEntry


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def incident_json(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status.value,
        "services": list(incident.services),
        "roles": dict(incident.roles),
        "commander": incident.commander,
        "impact": incident.impact,
        "summary": incident.summary,
        "opened_at": _stamp(incident.opened_at),
        "detected_at": _stamp(incident.detected_at),
        "acknowledged_at": _stamp(incident.acknowledged_at),
        "acknowledged_by": incident.acknowledged_by,
        "resolved_at": _stamp(incident.resolved_at),
        "alerts": list(incident.alerts),
        "deploys": list(incident.deploys),
        "created_by": incident.created_by,
        "escalation": {
            "policy": incident.escalation_policy,
            "round": incident.escalation_round + 1,
            "level": incident.escalation_level + 1,
            "next_at": _stamp(incident.next_escalation_at),
            "ack_expires_at": _stamp(incident.ack_expires_at),
        },
        "last_update_at": _stamp(incident.last_update_at),
        "next_reminder_at": _stamp(incident.next_reminder_at),
    }


def entry_json(entry: TimelineEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "kind": entry.kind.value,
        "actor": entry.actor,
        "text": entry.text,
        "data": dict(entry.data),
        "public": entry.public,
    }


def action_json(action: ActionItem) -> dict[str, Any]:
    return {
        "id": action.id,
        "text": action.text,
        "owner": action.owner,
        "created_at": action.created_at.isoformat(),
        "done_at": _stamp(action.done_at),
    }
