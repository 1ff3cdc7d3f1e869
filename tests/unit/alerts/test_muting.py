"""Matchers, silences, maintenance windows, inhibition and flapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from opsbook.alerts.flapping import FlapPolicy, judge, record_flip
from opsbook.alerts.inhibit import dependents, inhibitions
from opsbook.alerts.maintenance import MaintenanceWindow, services_under_maintenance
from opsbook.alerts.matchers import parse_matcher
from opsbook.alerts.model import AlertState, Level
from opsbook.alerts.silences import Silence
from tests.unit.alerts.factory import at, make_alert


@pytest.mark.parametrize(
    "text,labels,expected",
    [
        ('service="api"', {"service": "api"}, True),
        ('service="api"', {"service": "web"}, False),
        ('service!="api"', {"service": "web"}, True),
        ('severity=~"P0|P1"', {"severity": "P1"}, True),
        ('severity=~"P0|P1"', {"severity": "P10"}, False),  # anchored
        ('service=~"api"', {"service": "api-gateway"}, False),
        ('service!~"data.*"', {"service": "database"}, False),
        ('service!~"db.*"', {"service": "database"}, True),
        ('team=""', {"service": "api"}, True),  # missing label equals empty
        ("service=api", {"service": "api"}, True),  # unquoted value
        ('summary="say \\"hi\\""', {"summary": 'say "hi"'}, True),
    ],
)
def test_matchers(text: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_matcher(text).matches(labels) is expected


@pytest.mark.parametrize("bad", ["service", "=api", 'service~"x"', 'service=~"("', "1abc=x", 5])
def test_bad_matchers(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_matcher(bad)


def test_matcher_round_trip() -> None:
    for text in ['service="api"', 'severity=~"P0|P1"', 'x!="a\\"b"']:
        assert parse_matcher(str(parse_matcher(text))) == parse_matcher(text)


def test_silence_active_range_and_match() -> None:
    silence = Silence(
        id="s1",
        matchers=(parse_matcher('service="api"'), parse_matcher('severity=~"P2|P3"')),
        starts_at=at(0),
        ends_at=at(3600),
        created_by="alice",
        comment="deploying",
    )
    assert silence.active(at(0)) and not silence.active(at(3600)) and not silence.active(at(-1))
    assert silence.matches({"service": "api", "severity": "P2"})
    assert not silence.matches({"service": "api", "severity": "P1"})
    assert silence.status_at(at(-5)) == "pending" and silence.status_at(at(4000)) == "expired"


def test_recurring_maintenance_window_in_its_timezone() -> None:
    # review-engine: weekly maintenance "Run Sunday 2 AM UTC" — here Sunday 02:00 Berlin, 2h.
    window = MaintenanceWindow(
        name="weekly",
        services=["database"],
        schedule="0 2 * * 0",
        duration="2h",
        timezone="Europe/Berlin",
    )
    sunday_0230_berlin = datetime(2026, 11, 29, 1, 30, tzinfo=UTC)  # 02:30 CET
    assert window.current(sunday_0230_berlin) is not None
    assert window.current(sunday_0230_berlin + timedelta(hours=2)) is None
    assert window.current(datetime(2026, 11, 29, 1, 0, tzinfo=UTC)) is not None  # exactly 02:00 CET
    assert window.current(datetime(2026, 11, 29, 0, 59, tzinfo=UTC)) is None
    assert services_under_maintenance([window], sunday_0230_berlin) == {"database"}
    assert window.next_start(datetime(2026, 11, 23, tzinfo=UTC)) == datetime(
        2026, 11, 29, 1, 0, tzinfo=UTC
    )


def test_recurring_window_across_dst_change() -> None:
    window = MaintenanceWindow(
        name="daily",
        services=["api"],
        schedule="0 3 * * *",
        duration="1h",
        timezone="Europe/Berlin",
    )
    # 2026-10-25: Berlin falls back from CEST to CET; 03:00 CET is 02:00 UTC.
    assert window.current(datetime(2026, 10, 25, 2, 30, tzinfo=UTC)) is not None
    assert window.current(datetime(2026, 10, 24, 1, 30, tzinfo=UTC)) is not None  # 03:30 CEST
    assert window.current(datetime(2026, 10, 24, 2, 30, tzinfo=UTC)) is None  # 04:30 CEST


def test_one_off_window() -> None:
    window = MaintenanceWindow(
        name="migration",
        matchers=['service=~"api|database"'],
        start="2026-12-01T02:00:00Z",
        end="2026-12-01T04:00:00Z",
    )
    assert window.current(datetime(2026, 12, 1, 3, tzinfo=UTC)) is not None
    assert window.current(datetime(2026, 12, 1, 4, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"services": ["a"]}, r"either schedule \+ duration"),
        ({"services": ["a"], "schedule": "0 2 * * 0"}, "needs a duration"),
        ({"services": ["a"], "schedule": "61 2 * * 0", "duration": "1h"}, "invalid cron"),
        (
            {"services": ["a"], "start": "2026-12-01T04:00:00Z", "end": "2026-12-01T02:00:00Z"},
            "later end",
        ),
        ({"schedule": "0 2 * * 0", "duration": "1h"}, "needs services or matchers"),
        (
            {"services": ["a"], "schedule": "0 2 * * 0", "duration": "1h", "timezone": "Mars/X"},
            "unknown timezone",
        ),
    ],
)
def test_bad_windows(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MaintenanceWindow(name="w", **fields)


DEPENDS = {"api": ["database", "cache"], "web": ["api"], "database": [], "cache": []}


def test_dependents_are_transitive() -> None:
    assert dependents(DEPENDS)["database"] == {"api", "web"}
    assert dependents(DEPENDS)["api"] == {"web"}


def test_database_down_inhibits_api_and_web_but_not_itself() -> None:
    db_down = make_alert("postgres-down", service="database")
    api_errors = make_alert("api-errors", service="api")
    web_slow = make_alert("web-slow", Level.WARNING, service="web", severity="P2")
    cache_warn = make_alert("cache-hit-rate", Level.WARNING, service="cache", severity="P3")
    reasons = inhibitions([db_down, api_errors, web_slow, cache_warn], DEPENDS)
    assert set(reasons) == {api_errors.fingerprint, web_slow.fingerprint}
    assert "database is down (postgres-down)" in reasons[api_errors.fingerprint]


def test_only_firing_critical_alerts_inhibit() -> None:
    pending = make_alert("postgres-down", service="database", state=AlertState.PENDING)
    warning = make_alert("postgres-conn", Level.WARNING, service="database", severity="P2")
    api = make_alert("api-errors", service="api")
    assert inhibitions([pending, warning, api], DEPENDS) == {}


def test_critical_inhibits_its_own_warning_only() -> None:
    critical = make_alert("api-latency", Level.CRITICAL, severity="P1")
    warning = make_alert("api-latency", Level.WARNING, severity="P2")
    other_warning = make_alert("api-errors", Level.WARNING, severity="P2")
    reasons = inhibitions([critical, warning, other_warning], DEPENDS)
    assert reasons == {warning.fingerprint: "inhibited: the critical level of this alert is firing"}


def test_flapping_starts_at_n_flips_and_stops_after_a_quiet_window() -> None:
    policy = FlapPolicy(window=timedelta(minutes=10), flips=4)
    alert = make_alert()
    for minute in (0, 1, 2):
        alert = record_flip(alert, at(minute * 60), policy)
    assert not alert.flapping
    alert = record_flip(alert, at(180), policy)
    assert alert.flapping
    assert judge(alert, at(180 + 9 * 60), policy).flapping  # a flip within the window
    assert not judge(alert, at(180 + 10 * 60 + 1), policy).flapping


def test_slow_flips_never_flap() -> None:
    policy = FlapPolicy(window=timedelta(minutes=10), flips=4)
    alert = make_alert()
    for minute in range(0, 200, 5):
        alert = record_flip(alert, at(minute * 60), policy)
        assert not alert.flapping
