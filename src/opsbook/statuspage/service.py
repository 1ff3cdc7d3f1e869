"""Build the status page from the config and the store (the only I/O of this package).

What is read, and what of it is kept: the public services of the config (name,
description, slo); the latest status of their enabled checks (never a message); the
levels of their firing alerts (never labels); their maintenance windows; the daily `up`
counts of their checks (one query for the whole period); their incidents with the public
part of the timeline. Everything else stays in the store.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from opsbook.alerts.model import Level
from opsbook.incidents.model import Incident
from opsbook.status import Status
from opsbook.statuspage.components import component_status, overall_status
from opsbook.statuspage.incidents import public_incident
from opsbook.statuspage.maintenance import (
    maintenance_now,
    maintenance_scheduled,
    services_under_maintenance,
)
from opsbook.statuspage.model import Component, PublicIncident, StatusPage
from opsbook.statuspage.uptime import daily_uptime
from opsbook.store.uptime import UptimeRepository

if TYPE_CHECKING:
    from opsbook.config.models import Config
    from opsbook.store import Store


@dataclass(frozen=True)
class PageSettings:
    uptime_days: int = 90
    past_incidents: timedelta = timedelta(days=14)
    incidents_shown: int = 50  # of each kind, active and past
    incidents_read: int = 200  # newest resolved incidents looked at for the past ones


def _uptime_counts(
    config: Config, store: Store, public: set[str], first_day: date, last_day: date
) -> dict[str, dict[date, tuple[int, int]]]:
    """service → day → (OK results, all results), over every check of the service (a
    disabled check's history still counts)."""
    service_of = {c.name: c.service for c in config.checks if c.service in public}
    start = datetime.combine(first_day, time(), UTC)
    end = datetime.combine(last_day + timedelta(days=1), time(), UTC)
    counts = UptimeRepository(store.engine).daily(sorted(service_of), start, end)
    by_service: dict[str, dict[date, tuple[int, int]]] = defaultdict(dict)
    for (check, day), (ok, total) in counts.items():
        service = service_of[check]
        assert service is not None
        before = by_service[service].get(day, (0, 0))
        by_service[service][day] = (before[0] + ok, before[1] + total)
    return by_service


def _live_signals(
    config: Config, store: Store, public: set[str]
) -> tuple[dict[str, list[Status]], dict[str, list[Level]]]:
    """The latest status of each enabled check, and the levels of firing alerts, by
    public service."""
    service_of = {c.name: c.service for c in config.checks if c.enabled and c.service in public}
    checks: dict[str, list[Status]] = defaultdict(list)
    for name, result in store.results.latest(sorted(service_of)).items():
        service = service_of.get(name)
        if service is not None:
            checks[service].append(result.status)
    alerts: dict[str, list[Level]] = defaultdict(list)
    for alert, _muted in store.alerts.browse(["firing"]):
        service = alert.service
        if service is not None and service in public:
            alerts[service].append(alert.level)
    return checks, alerts


def _public_incidents(
    store: Store, incidents: Iterable[Incident], public: set[str], limit: int
) -> tuple[PublicIncident, ...]:
    shown: list[PublicIncident] = []
    for incident in incidents:
        if not any(s in public for s in incident.services):
            continue  # no need to read its timeline
        view = public_incident(incident, store.incidents.timeline(incident.id), public)
        if view is not None:
            shown.append(view)
        if len(shown) >= limit:
            break
    return tuple(shown)


def build_status_page(
    config: Config, store: Store, now: datetime, settings: PageSettings | None = None
) -> StatusPage:
    settings = settings or PageSettings()
    services = [s for s in config.services if s.public]
    public = {s.name for s in services}
    zone = config.project.timezone
    today = now.astimezone(UTC).date()
    first_day = today - timedelta(days=settings.uptime_days - 1)

    current = maintenance_now(config.maintenance, now, public, zone)
    scheduled = maintenance_scheduled(config.maintenance, now, public, zone)
    under_maintenance = services_under_maintenance(current)
    checks, alerts = _live_signals(config, store, public)
    counts = _uptime_counts(config, store, public, first_day, today)
    components = tuple(
        Component(
            name=service.name,
            description=service.description,
            status=component_status(
                checks.get(service.name, []),
                alerts.get(service.name, []),
                service.name in under_maintenance,
            ),
            slo=service.slo,
            uptime=daily_uptime(
                counts.get(service.name, {}), today, settings.uptime_days, service.slo
            ),
        )
        for service in services
    )

    active = _public_incidents(
        store,
        store.incidents.list(status="open", limit=settings.incidents_read),
        public,
        settings.incidents_shown,
    )
    since = now - settings.past_incidents
    resolved = [
        i
        for i in store.incidents.list(status="resolved", limit=settings.incidents_read)
        if i.resolved_at is not None and i.resolved_at >= since
    ]
    resolved.sort(key=lambda i: (i.resolved_at or since, i.id), reverse=True)
    past = _public_incidents(store, resolved, public, settings.incidents_shown)

    return StatusPage(
        name=config.project.name,
        timezone=zone,
        status=overall_status(c.status for c in components),
        components=components,
        active_incidents=active,
        past_incidents=past,
        maintenance_now=tuple(current),
        maintenance_scheduled=tuple(scheduled),
        uptime_days=settings.uptime_days,
        generated_at=now,
    )
