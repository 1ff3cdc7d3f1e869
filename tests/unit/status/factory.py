"""A status page built in one call, for the renderers' tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from opsbook.incidents.model import IncidentStatus
from opsbook.statuspage.model import (
    Component,
    ComponentStatus,
    Maintenance,
    PublicIncident,
    PublicUpdate,
    StatusPage,
)
from opsbook.statuspage.uptime import daily_uptime

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TODAY = date(2026, 11, 23)


def component(
    name: str = "web",
    status: ComponentStatus = ComponentStatus.OPERATIONAL,
    description: str = "The shop",
    slo: float | None = 99.9,
) -> Component:
    counts = {TODAY: (99, 100), TODAY - timedelta(days=1): (10, 10)}
    return Component(name, description, status, slo, daily_uptime(counts, TODAY, 90, slo))


def incident(
    number: int = 1, title: str = "Checkout errors", resolved: bool = False, text: str = "Fixing."
) -> PublicIncident:
    status = IncidentStatus.RESOLVED if resolved else IncidentStatus.INVESTIGATING
    updates = (PublicUpdate(T0 + timedelta(minutes=5), IncidentStatus.INVESTIGATING, text),)
    return PublicIncident(
        id=number,
        title=title,
        status=status,
        components=("web",),
        started_at=T0,
        resolved_at=T0 + timedelta(hours=1) if resolved else None,
        updates=updates,
    )


def page(
    components: tuple[Component, ...] = (),
    active: tuple[PublicIncident, ...] = (),
    past: tuple[PublicIncident, ...] = (),
    name: str = "shop",
) -> StatusPage:
    components = components or (component(),)
    return StatusPage(
        name=name,
        timezone="Europe/Berlin",
        status=max((c.status for c in components), key=lambda s: s.rank),
        components=components,
        active_incidents=active,
        past_incidents=past,
        maintenance_now=(),
        maintenance_scheduled=(
            Maintenance("vacuum", "Weekly vacuum", ("web",), T0, T0 + timedelta(hours=1), True),
        ),
        uptime_days=90,
        generated_at=T0 + timedelta(days=1),
    )
