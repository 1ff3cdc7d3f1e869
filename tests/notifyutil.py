"""Build alerts, notifications and receivers for notification tests in one line.

The alerts quote the memoapp and practice-app runbooks: "High Error Rate: > 5% error
rate for 5 minutes", "p95 > 200ms for 10 minutes", "SSL Certificate Expiring: < 7 days".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from opsbook.alerts.model import Alert, AlertState, Level, fingerprint
from opsbook.notify.model import Notification
from opsbook.notify.receivers import Receiver, ReceiverBase

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def make_alert(
    name: str = "high-error-rate",
    state: AlertState = AlertState.FIRING,
    severity: str = "P1",
    service: str | None = "memoapp",
    value: float | None = 6.2,
    fired_at: datetime | None = T0,
    resolved_at: datetime | None = None,
    labels: dict[str, str] | None = None,
    **annotations: str,
) -> Alert:
    all_labels = {"alertname": name, "severity": severity, **(labels or {})}
    if service is not None:
        all_labels["service"] = service
    if state is AlertState.RESOLVED and resolved_at is None:
        resolved_at = (fired_at or T0) + timedelta(minutes=12)
    return Alert(
        fingerprint=fingerprint(all_labels),
        rule=name,
        level=Level.CRITICAL,
        labels=all_labels,
        annotations=annotations,
        state=state,
        active_since=fired_at,
        fired_at=fired_at,
        resolved_at=resolved_at,
        value=value,
        fired_value=value,
    )


def make_notification(
    *alerts: Alert,
    key: str = "route:{service=memoapp}@2026-11-23T09:00:00+00:00#1",
    receiver: str = "team",
    status: str | None = None,
    created_at: datetime = T0 + timedelta(minutes=5),
    group_labels: dict[str, str] | None = None,
    group_key: str = "route:{service=memoapp}",
    **fields: Any,
) -> Notification:
    alerts = alerts or (make_alert(),)
    if status is None:
        status = "firing" if any(a.state is AlertState.FIRING for a in alerts) else "resolved"
    return Notification(
        idempotency_key=key,
        receiver=receiver,
        group_key=group_key,
        group_labels=group_labels if group_labels is not None else {"service": "memoapp"},
        status=status,
        alerts=tuple(alerts),
        created_at=created_at,
        **fields,
    )


def make_receiver(name: str = "team", **spec: Any) -> ReceiverBase:
    return Receiver.model_validate({"name": name, **spec})
