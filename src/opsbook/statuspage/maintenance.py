"""Maintenance windows as the public sees them: in progress, and coming up. Pure.

A window concerns the status page when it lists a public service under `services`
(its extra `matchers` silence alerts but name no service, so they are not shown). Only
the public services of a window are named; its description (else its name) is the title.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, datetime, timedelta

from opsbook.alerts.maintenance import MaintenanceWindow
from opsbook.statuspage.model import Maintenance

HORIZON = timedelta(days=7)


def _occurrence(
    window: MaintenanceWindow, start: datetime, public_services: Collection[str]
) -> Maintenance | None:
    components = tuple(dict.fromkeys(s for s in window.services if s in public_services))
    if not components:
        return None
    if window.end is not None:
        end = window.end
    else:
        assert window.duration is not None  # validated: recurring windows have one
        end = start + window.duration
    return Maintenance(
        name=window.name,
        title=window.description.strip() or window.name,
        components=components,
        starts_at=start.astimezone(UTC),
        ends_at=end.astimezone(UTC),
        recurring=window.schedule is not None,
    )


def maintenance_now(
    windows: Iterable[MaintenanceWindow],
    now: datetime,
    public_services: Collection[str],
    default_zone: str = "UTC",
) -> list[Maintenance]:
    """Occurrences in progress at `now`, soonest to end first."""
    found = []
    for window in windows:
        current = window.current(now, default_zone)
        if current is not None:
            occurrence = _occurrence(window, current[0], public_services)
            if occurrence is not None:
                found.append(occurrence)
    return sorted(found, key=lambda m: (m.ends_at, m.name))


def maintenance_scheduled(
    windows: Iterable[MaintenanceWindow],
    now: datetime,
    public_services: Collection[str],
    default_zone: str = "UTC",
    horizon: timedelta = HORIZON,
) -> list[Maintenance]:
    """The next occurrence of each window starting after `now` and within `horizon`
    (one-off windows not yet begun, the next run of recurring ones), soonest first."""
    found = []
    for window in windows:
        start = window.next_start(now, default_zone)
        if start is None or start > now + horizon:
            continue
        occurrence = _occurrence(window, start, public_services)
        if occurrence is not None:
            found.append(occurrence)
    return sorted(found, key=lambda m: (m.starts_at, m.name))


def services_under_maintenance(occurrences: Iterable[Maintenance]) -> set[str]:
    return {name for m in occurrences for name in m.components}
