"""Maintenance the public sees: in progress now, and the next start within 7 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsbook.alerts.maintenance import MaintenanceWindow
from opsbook.statuspage.maintenance import (
    maintenance_now,
    maintenance_scheduled,
    services_under_maintenance,
)

NOW = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)  # a Monday
PUBLIC = {"web", "api"}


def window(**fields: object) -> MaintenanceWindow:
    return MaintenanceWindow.model_validate({"name": "w", **fields})


def test_a_one_off_window_in_progress_names_only_public_services() -> None:
    upgrade = window(
        description="Database upgrade",
        services=["web", "ledger"],
        start=NOW - timedelta(hours=1),
        end=NOW + timedelta(hours=1),
    )
    [now] = maintenance_now([upgrade], NOW, PUBLIC)
    assert (now.title, now.components, now.recurring) == ("Database upgrade", ("web",), False)
    assert (now.starts_at, now.ends_at) == (NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    assert services_under_maintenance([now]) == {"web"}
    assert maintenance_scheduled([upgrade], NOW, PUBLIC) == []


def test_windows_of_private_services_or_matchers_only_are_not_shown() -> None:
    private = window(services=["ledger"], start=NOW, end=NOW + timedelta(hours=1))
    matchers = window(matchers=["alertname=DiskFull"], start=NOW, end=NOW + timedelta(hours=1))
    assert maintenance_now([private, matchers], NOW, PUBLIC) == []


def test_upcoming_one_off_windows_within_seven_days() -> None:
    soon = window(
        name="soon",
        services=["api"],
        start=NOW + timedelta(days=2),
        end=NOW + timedelta(days=2, hours=2),
    )
    later = window(
        name="later", services=["api"], start=NOW + timedelta(days=8), end=NOW + timedelta(days=9)
    )
    [scheduled] = maintenance_scheduled([later, soon], NOW, PUBLIC)
    assert scheduled.name == "soon" and scheduled.title == "soon"  # no description: the name
    assert scheduled.ends_at - scheduled.starts_at == timedelta(hours=2)


def test_the_next_occurrence_of_a_cron_window_in_its_timezone() -> None:
    weekly = window(
        name="vacuum",
        services=["web"],
        schedule="0 2 * * 0",  # Sundays 02:00
        duration="1h",
        timezone="Europe/Berlin",
    )
    [next_run] = maintenance_scheduled([weekly], NOW, PUBLIC)
    assert next_run.starts_at == datetime(2026, 11, 29, 1, 0, tzinfo=UTC)  # 02:00 CET
    assert next_run.ends_at == datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    assert next_run.recurring
    during = datetime(2026, 11, 29, 1, 30, tzinfo=UTC)
    [current] = maintenance_now([weekly], during, PUBLIC)
    assert current.starts_at == next_run.starts_at
    monthly = window(name="monthly", services=["web"], schedule="0 3 1 * *", duration="1h")
    assert maintenance_scheduled([monthly], NOW, PUBLIC) == []  # 1 December: 8 days away
