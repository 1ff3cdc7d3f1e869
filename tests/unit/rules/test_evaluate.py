"""Evaluating a rule at an instant: windows, offsets, staleness, no data, levels."""

from __future__ import annotations

import pytest

from opsbook.alerts.model import Level
from opsbook.rules.evaluate import RuleValue, evaluate
from opsbook.rules.series import MemorySeries
from opsbook.status import Status
from tests.unit.rules.rulesutil import at, rule


def latency_series(values: list[float], every_minutes: float = 1) -> MemorySeries:
    series = MemorySeries()
    for i, value in enumerate(values):
        series.add("api-health", "latency_ms", at(i * every_minutes), value)
    return series


P95 = {"expr": "p95(api-health.latency_ms, 5m)", "warning": "> 200", "critical": "> 500"}


def test_levels_follow_the_practice_app_response_time_thresholds() -> None:
    """practice-app: "Response Time: Warning: > 200ms (p95), Critical: > 500ms (p95)"."""
    r = rule(**P95)
    assert evaluate(r, latency_series([100] * 10), at(9)) == RuleValue(100, Level.OK)
    assert evaluate(r, latency_series([250] * 10), at(9)) == RuleValue(250, Level.WARNING)
    assert evaluate(r, latency_series([700] * 10), at(9)) == RuleValue(700, Level.CRITICAL)
    # One slow request in six is above the p95 line: 100..100, 1000 -> p95 = 775.
    assert evaluate(r, latency_series([100] * 9 + [1000]), at(9)).level is Level.CRITICAL


def test_the_window_ends_offset_ago_and_includes_both_edges() -> None:
    series = latency_series([float(i) for i in range(60)])  # value = minute
    window = rule(expr="sum(api-health.latency_ms, 5m)", critical=1)
    assert evaluate(window, series, at(30)).value == sum(range(25, 31))
    shifted = rule(expr="sum(api-health.latency_ms, 5m, offset=10m)", critical=1)
    assert evaluate(shifted, series, at(30)).value == sum(range(15, 21))


def test_last_reads_the_newest_point_until_it_is_stale() -> None:
    series = latency_series([120, 130])  # minutes 0 and 1
    r = rule(expr="last(api-health.latency_ms)", critical=500)
    assert evaluate(r, series, at(1)).value == 130
    assert evaluate(r, series, at(6)).value == 130  # exactly 5m old: still fresh
    assert evaluate(r, series, at(6.01)) == RuleValue(None, Level.OK)
    assert evaluate(r, series, at(0.5)).value == 120  # nothing from the future
    longer = rule(expr="last(api-health.latency_ms)", critical=500, staleness="1h")
    assert evaluate(longer, series, at(60)).value == 130


def test_missing_data_and_division_by_zero_are_no_data() -> None:
    series = MemorySeries()
    for i in range(6):
        series.add("log", "errors", at(i), 0.0)
        series.add("log", "lines", at(i), 0.0)
    ratio = rule(expr="sum(log.errors, 5m) / sum(log.lines, 5m) * 100", critical=5)
    assert evaluate(ratio, series, at(5)) == RuleValue(None, Level.OK)
    nothing = rule(expr="avg(log.never, 5m) + 1", critical=5)
    assert evaluate(nothing, series, at(5)).no_data
    counted = rule(expr="count(log.never, 5m)", critical="== 0")
    assert evaluate(counted, series, at(5)) == RuleValue(0, Level.CRITICAL)


def test_error_rate_as_a_ratio() -> None:
    """practice-app: "Error Rate: Warning: > 1%, Critical: > 5%"."""
    series = MemorySeries()
    for i in range(6):
        series.add("log", "errors", at(i), 3.0)
        series.add("log", "lines", at(i), 100.0)
    r = rule(
        value={
            "ratio": {
                "numerator": {
                    "check": "log",
                    "sample": "errors",
                    "aggregate": "sum",
                    "window": "5m",
                },
                "denominator": {
                    "check": "log",
                    "sample": "lines",
                    "aggregate": "sum",
                    "window": "5m",
                },
            },
            "scale": 100,
        },
        warning="> 1",
        critical="> 5",
    )
    assert evaluate(r, series, at(5)) == RuleValue(pytest.approx(3.0), Level.WARNING)


def test_baselines_compare_with_the_past() -> None:
    """practice-app "Request Rate: Warning > 2x normal, Critical > 10x normal" (same time
    last week) and review-engine "daily_active_users: < 80% of average" (preceding days)."""
    series = MemorySeries()
    week = 7 * 24 * 60
    for minute in range(0, 60, 1):
        series.add("api", "requests", at(minute - week), 1000.0 + 50 * minute)  # 50/min
        series.add("api", "requests", at(minute), 5000.0 + 150 * minute)  # 150/min
    spike = rule(
        value={
            "check": "api",
            "sample": "requests",
            "aggregate": "rate",
            "window": "10m",
            "baseline": {"offset": "7d"},
        },
        warning="> 2",
        critical="> 10",
    )
    assert evaluate(spike, series, at(59)) == RuleValue(pytest.approx(3.0), Level.WARNING)

    users = MemorySeries()
    for day in range(1, 8):
        users.add("dau", "users", at(-day * 1440 - 60), 1000.0)  # one count a day
    users.add("dau", "users", at(-60), 700.0)
    dau = rule(
        value={
            "check": "dau",
            "sample": "users",
            "aggregate": "avg",
            "window": "1d",
            "baseline": {"window": "7d"},
            "scale": 100,
        },
        warning={"when": "< 80", "severity": "P2"},
    )
    assert evaluate(dau, users, at(0)) == RuleValue(pytest.approx(70.0), Level.WARNING)


def test_consecutive_failures_and_status() -> None:
    """review-engine automatic rollback trigger: "Health check failures > 3"."""
    series = MemorySeries()
    statuses = [Status.OK] + [Status.CRITICAL] * 4
    for i, status in enumerate(statuses):
        series.add_result("api-health", status, at(i))
    failures = rule(value={"consecutive_failures": "api-health"}, critical="> 3")
    assert evaluate(failures, series, at(3)) == RuleValue(3, Level.OK)
    assert evaluate(failures, series, at(4)) == RuleValue(4, Level.CRITICAL)
    status = rule(expr="status(api-health)", warning=">= 1", critical=">= 2")
    assert evaluate(status, series, at(4)) == RuleValue(2, Level.CRITICAL)
    assert evaluate(failures, MemorySeries(), at(4)).no_data


def test_lower_bounds_and_negation() -> None:
    """review-engine "cache_hit_rate: threshold: < 90%"."""
    series = MemorySeries()
    series.add("redis", "hit_rate_pct", at(0), 85.0)
    r = rule(expr="last(redis.hit_rate_pct)", warning="< 90", critical="< 50")
    assert evaluate(r, series, at(1)) == RuleValue(85, Level.WARNING)
    negated = rule(expr="-last(redis.hit_rate_pct) + 100", critical="> 10")
    assert evaluate(negated, series, at(1)) == RuleValue(15, Level.CRITICAL)


def test_non_finite_results_are_no_data() -> None:
    series = MemorySeries()
    series.add("c", "s", at(0), 1e308)
    r = rule(expr="last(c.s) * 10", critical=1)
    assert evaluate(r, series, at(0)).no_data


def test_an_offset_last_reads_the_past() -> None:
    series = latency_series([10, 20, 30, 40], every_minutes=60)
    r = rule(
        expr="last(api-health.latency_ms) - last(api-health.latency_ms, offset=2h)", critical=1
    )
    assert evaluate(r, series, at(180)).value == 20
    assert evaluate(r, series, at(180 + 6)).no_data  # both stale by then
