"""Which alerts open incidents, which incident an alert joins, and what it is called. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from opsbook.alerts.model import Alert
from opsbook.incidents.settings import IncidentSettings


def open_threshold(settings: IncidentSettings, severities: Sequence[str]) -> str | None:
    """The least severe severity that still opens an incident (None: never automatic)."""
    if not settings.auto_open or not severities:
        return None
    if settings.open_at is not None:
        return settings.open_at
    return severities[1] if len(severities) > 1 else severities[0]


def opens_incident(alert: Alert, threshold: str | None, severities: Sequence[str]) -> bool:
    """At or above the threshold on the severity table (most severe first). Alerts with
    no severity, or one the table does not know, never open an incident on their own."""
    if threshold is None or alert.severity not in severities or threshold not in severities:
        return False
    return severities.index(alert.severity) <= severities.index(threshold)


def open_key(alert: Alert, group_by: Sequence[str]) -> str:
    """Alerts with equal values of the group_by labels join one open incident."""
    if not group_by:
        return f"alert:{alert.fingerprint}"
    return "labels:" + ",".join(f"{name}={alert.labels.get(name, '')}" for name in group_by)


def title_for(alert: Alert) -> str:
    summary = alert.annotations.get("summary", "").strip()
    if summary:
        return summary[:300]
    name = alert.labels.get("alertname", alert.rule)
    return f"{name} on {alert.service}" if alert.service else name


def more_severe(a: str, b: str, severities: Sequence[str]) -> bool:
    """True when `a` ranks above `b` on the table (unknown names rank lowest)."""
    rank = {name: i for i, name in enumerate(severities)}
    return rank.get(a, len(rank)) < rank.get(b, len(rank))
