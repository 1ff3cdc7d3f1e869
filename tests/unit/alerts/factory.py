"""Build alerts for tests in one line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsbook.alerts.model import Alert, AlertState, Level, fingerprint

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_alert(
    rule: str = "api-errors",
    level: Level = Level.CRITICAL,
    state: AlertState = AlertState.FIRING,
    service: str | None = "api",
    severity: str = "P1",
    **labels: str,
) -> Alert:
    all_labels = {"alertname": rule, "level": level.value, "severity": severity, **labels}
    if service is not None:
        all_labels["service"] = service
    return Alert(
        fingerprint=fingerprint(all_labels),
        rule=rule,
        level=level,
        labels=all_labels,
        state=state,
        fired_at=T0 if state is AlertState.FIRING else None,
    )
