"""Inhibition: a firing alert that explains others mutes their notifications.

Two rules, both from the runbooks' experience of alert storms:
- dependency: a firing critical alert on a service mutes the alerts of every service that
  depends on it, directly or transitively ("database down" hides the API's error rate);
- level: a firing critical alert of a rule mutes the same rule's warning alert with the
  same labels, so one problem pages once, at its worst level.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from opsbook.alerts.model import Alert, Level

_IGNORED_FOR_LEVEL = frozenset({"level", "severity"})


def dependents(depends_on: Mapping[str, Sequence[str]]) -> dict[str, set[str]]:
    """For each service, every service that depends on it (transitively)."""
    direct: dict[str, set[str]] = {}
    for service, needs in depends_on.items():
        for need in needs:
            direct.setdefault(need, set()).add(service)
    closure: dict[str, set[str]] = {}
    for root in {*depends_on, *direct}:
        seen: set[str] = set()
        stack = list(direct.get(root, ()))
        while stack:
            current = stack.pop()
            if current in seen or current == root:
                continue
            seen.add(current)
            stack.extend(direct.get(current, ()))
        closure[root] = seen
    return closure


def _level_key(alert: Alert) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in alert.labels.items() if k not in _IGNORED_FOR_LEVEL))


def inhibitions(alerts: Iterable[Alert], depends_on: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """fingerprint → reason, for every alert muted by another firing alert."""
    alerts = list(alerts)
    firing_critical = [a for a in alerts if a.is_firing and a.level is Level.CRITICAL]
    if not firing_critical:
        return {}
    downstream = dependents(depends_on)
    cause_by_service: dict[str, Alert] = {}
    for source in firing_critical:
        if source.service is None:
            continue
        for service in downstream.get(source.service, ()):
            cause_by_service.setdefault(service, source)
    critical_keys = {_level_key(a): a for a in firing_critical}
    reasons: dict[str, str] = {}
    for alert in alerts:
        cause = cause_by_service.get(alert.service or "")
        if cause is not None:
            reasons[alert.fingerprint] = (
                f"inhibited: {cause.service} is down ({cause.labels.get('alertname', cause.rule)})"
            )
            continue
        if alert.level is Level.WARNING:
            critical = critical_keys.get(_level_key(alert))
            if critical is not None:
                reasons[alert.fingerprint] = "inhibited: the critical level of this alert is firing"
    return reasons
