"""What the public status page shows, as plain immutable values.

Everything here is safe to publish: it is built from public services and public timeline
entries only (see `opsbook.statuspage.service`), and the renderers (HTML, JSON, Atom,
badges) read nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from opsbook.incidents.model import IncidentStatus


class ComponentStatus(StrEnum):
    """A public service's status right now, from best to worst."""

    OPERATIONAL = "operational"
    MAINTENANCE = "under_maintenance"
    DEGRADED = "degraded"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"

    @property
    def rank(self) -> int:
        """Badness order; the page's overall status is the worst component's."""
        return _RANK[self]

    @property
    def label(self) -> str:
        return _LABELS[self]


_RANK = {status: i for i, status in enumerate(ComponentStatus)}
_LABELS = {
    ComponentStatus.OPERATIONAL: "Operational",
    ComponentStatus.MAINTENANCE: "Under maintenance",
    ComponentStatus.DEGRADED: "Degraded performance",
    ComponentStatus.PARTIAL_OUTAGE: "Partial outage",
    ComponentStatus.MAJOR_OUTAGE: "Major outage",
}


class UptimeLevel(StrEnum):
    """The colour of one day's bar."""

    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    NO_DATA = "no_data"


@dataclass(frozen=True, slots=True)
class DayUptime:
    """One UTC day of a component: how many check results were OK, out of how many."""

    day: date
    ok: int
    total: int
    level: UptimeLevel

    @property
    def percent(self) -> float | None:
        """Share of OK results in percent; None when the day has no results."""
        if self.total <= 0:
            return None
        return min(100.0, max(0.0, 100.0 * self.ok / self.total))


@dataclass(frozen=True, slots=True)
class Uptime:
    days: tuple[DayUptime, ...]  # oldest first, one per UTC day, the last one is today
    target: float  # percent at or above which a day counts as "up" (the SLO, or a default)

    @property
    def ok(self) -> int:
        return sum(d.ok for d in self.days)

    @property
    def total(self) -> int:
        return sum(d.total for d in self.days)

    @property
    def percent(self) -> float | None:
        """Over the whole period, every result weighing the same; None without results."""
        total = self.total
        return None if total <= 0 else min(100.0, max(0.0, 100.0 * self.ok / total))


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    description: str
    status: ComponentStatus
    slo: float | None
    uptime: Uptime

    @property
    def meets_slo(self) -> bool | None:
        """Whether the period's uptime is at or above the SLO (None: no SLO or no data)."""
        percent = self.uptime.percent
        if self.slo is None or percent is None:
            return None
        return percent >= self.slo


@dataclass(frozen=True, slots=True)
class PublicUpdate:
    """One public timeline entry, reworded so that it names nobody."""

    at: datetime
    status: IncidentStatus  # the incident's status after this entry
    text: str


@dataclass(frozen=True, slots=True)
class PublicIncident:
    id: int
    title: str
    status: IncidentStatus
    components: tuple[str, ...]  # public services only
    started_at: datetime
    resolved_at: datetime | None
    updates: tuple[PublicUpdate, ...]  # newest first

    @property
    def updated_at(self) -> datetime:
        stamps = [self.started_at, *(u.at for u in self.updates)]
        if self.resolved_at is not None:
            stamps.append(self.resolved_at)
        return max(stamps)


@dataclass(frozen=True, slots=True)
class Maintenance:
    """One occurrence of a maintenance window that touches public services."""

    name: str
    title: str  # the window's description, else its name
    components: tuple[str, ...]  # public services only
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC
    recurring: bool


@dataclass(frozen=True, slots=True)
class StatusPage:
    name: str  # the project's name
    timezone: str  # for showing times; the uptime days are UTC days
    status: ComponentStatus  # overall: the worst component's
    components: tuple[Component, ...]
    active_incidents: tuple[PublicIncident, ...]
    past_incidents: tuple[PublicIncident, ...]  # resolved in the last 14 days, newest first
    maintenance_now: tuple[Maintenance, ...]
    maintenance_scheduled: tuple[Maintenance, ...]  # starting in the next 7 days
    uptime_days: int
    generated_at: datetime  # not shown: bodies change only when what they show changes

    def component(self, name: str) -> Component | None:
        return next((c for c in self.components if c.name == name), None)
