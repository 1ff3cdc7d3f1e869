"""Each service's status for the overview, from its checks' latest results, its firing
alerts and maintenance windows. Pure.

The status itself is the status page's rule (`opsbook.statuspage.components`), so the
dashboard and the public page never disagree; the dashboard adds what only responders
need: which checks and alerts caused it, and whether its alerts are muted because a
service it depends on is down (inhibited), so nobody chases the symptom.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from opsbook.alerts.model import Alert
from opsbook.checks.base import CheckResult
from opsbook.config.models import Config
from opsbook.statuspage.components import component_status
from opsbook.statuspage.model import ComponentStatus

NO_SERVICE = ""  # checks and alerts without a service are listed under this name

TONE = {
    ComponentStatus.OPERATIONAL: "ok",
    ComponentStatus.MAINTENANCE: "maint",
    ComponentStatus.DEGRADED: "warn",
    ComponentStatus.PARTIAL_OUTAGE: "bad",
    ComponentStatus.MAJOR_OUTAGE: "bad",
}


@dataclass(frozen=True, slots=True)
class CheckLine:
    name: str
    result: CheckResult | None  # None before its first run


@dataclass(frozen=True, slots=True)
class ServiceLine:
    name: str
    description: str
    status: ComponentStatus
    checks: tuple[CheckLine, ...]
    firing: tuple[Alert, ...]
    maintenance: str | None  # the window's name while one is active
    muted: str | None  # why its firing alerts are muted, when a dependency explains them

    @property
    def tone(self) -> str:
        return TONE[self.status]


def _maintenance(config: Config, service: str, now: datetime) -> str | None:
    zone = config.project.timezone
    for window in config.maintenance:
        if service in window.services and window.current(now, zone) is not None:
            return window.name
    return None


def _inhibited(firing: Sequence[Alert], muted: Mapping[str, str | None]) -> str | None:
    """The reason when every firing alert of the service is inhibited, else None."""
    reasons = [muted.get(a.fingerprint) or "" for a in firing]
    if reasons and all(r.startswith("inhibited") for r in reasons):
        return reasons[0]
    return None


def service_lines(
    config: Config,
    latest: Mapping[str, CheckResult],
    alerts: Sequence[tuple[Alert, str | None]],
    now: datetime,
) -> list[ServiceLine]:
    """Configured services in config order, then services only checks or alerts name,
    then checks and alerts without a service (under `NO_SERVICE`)."""
    firing = [(a, why) for a, why in alerts if a.is_firing]
    muted = {a.fingerprint: why for a, why in firing}
    checks_of: dict[str, list[str]] = {}
    for check in config.checks:
        if check.enabled:
            checks_of.setdefault(check.service or NO_SERVICE, []).append(check.name)
    names = [s.name for s in config.services]
    extra = {*checks_of, *((a.service or NO_SERVICE) for a, _ in firing)} - set(names)
    names += sorted(n for n in extra if n != NO_SERVICE)
    if NO_SERVICE in extra:
        names.append(NO_SERVICE)
    lines = []
    for name in names:
        service = config.service(name) if name else None
        checks = tuple(CheckLine(c, latest.get(c)) for c in checks_of.get(name, []))
        own = tuple(a for a, _ in firing if (a.service or NO_SERVICE) == name)
        window = _maintenance(config, name, now) if name else None
        status = component_status(
            (c.result.status for c in checks if c.result is not None),
            (a.level for a in own),
            window is not None,
        )
        lines.append(
            ServiceLine(
                name=name,
                description=service.description if service else "",
                status=status,
                checks=checks,
                firing=own,
                maintenance=window,
                muted=_inhibited(own, muted),
            )
        )
    return lines


def by_severity(
    alerts: Sequence[tuple[Alert, str | None]], severities: Sequence[str]
) -> list[tuple[str, list[tuple[Alert, str | None]]]]:
    """Firing alerts grouped by severity, most severe first (the config's order; unknown
    severities after the known ones)."""
    groups: dict[str, list[tuple[Alert, str | None]]] = {}
    for alert, why in alerts:
        if alert.is_firing:
            groups.setdefault(alert.severity or "none", []).append((alert, why))
    order = {name: i for i, name in enumerate(severities)}
    return sorted(groups.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))
