"""A public service's status from its checks, its firing alerts and maintenance. Pure.

The rule, in order:

1. an active maintenance window that lists the service: **under maintenance** (failures
   during planned work are expected, and the page says why);
2. anything critical (a check whose latest result is CRITICAL, or a firing critical
   alert): **major outage** when every check of the service is CRITICAL (a service
   without checks: when a critical alert fires), else **partial outage**;
3. anything doubtful (a WARNING or UNKNOWN check, or a firing warning alert):
   **degraded performance**;
4. otherwise **operational**.
"""

from __future__ import annotations

from collections.abc import Iterable

from opsbook.alerts.model import Level
from opsbook.status import Status
from opsbook.statuspage.model import ComponentStatus


def component_status(
    checks: Iterable[Status], alerts: Iterable[Level], under_maintenance: bool
) -> ComponentStatus:
    """`checks`: the latest status of each of the service's checks that has run;
    `alerts`: the levels of the service's firing alerts."""
    if under_maintenance:
        return ComponentStatus.MAINTENANCE
    statuses = list(checks)
    levels = list(alerts)
    if Status.CRITICAL in statuses or Level.CRITICAL in levels:
        if all(s is Status.CRITICAL for s in statuses):
            return ComponentStatus.MAJOR_OUTAGE
        return ComponentStatus.PARTIAL_OUTAGE
    if Status.WARNING in statuses or Status.UNKNOWN in statuses or Level.WARNING in levels:
        return ComponentStatus.DEGRADED
    return ComponentStatus.OPERATIONAL


def overall_status(statuses: Iterable[ComponentStatus]) -> ComponentStatus:
    """The worst of the components' statuses; operational for none."""
    return max(statuses, key=lambda s: s.rank, default=ComponentStatus.OPERATIONAL)


HEADLINES = {
    ComponentStatus.OPERATIONAL: "All systems operational",
    ComponentStatus.MAINTENANCE: "Maintenance in progress",
    ComponentStatus.DEGRADED: "Degraded performance",
    ComponentStatus.PARTIAL_OUTAGE: "Partial outage",
    ComponentStatus.MAJOR_OUTAGE: "Major outage",
}


def headline(status: ComponentStatus) -> str:
    """The sentence at the top of the page for the overall status."""
    return HEADLINES[status]
