"""Windows and aggregations of `MemorySeries`, checked against a naive reference."""

from __future__ import annotations

import itertools
import math
import random
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsbook.rules.aggregate import counter_growth, quantile
from opsbook.rules.nodes import QUANTILES
from opsbook.rules.series import MemorySeries
from opsbook.status import Status

T0 = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def reference(fn: str, points: list[tuple[int, float]], start: int, end: int) -> float | None:
    """The definition, written the slow and obvious way."""
    inside = sorted((p for p in points if start <= p[0] <= end), key=lambda p: p[0])
    values = [v for _, v in inside]
    if fn == "count":
        return float(len(values))
    if not values:
        return None
    if fn == "last":
        return values[-1]
    if fn == "avg":
        return sum(values) / len(values)
    if fn == "sum":
        return sum(values)
    if fn == "min":
        return min(values)
    if fn == "max":
        return max(values)
    if fn in QUANTILES:
        ordered = sorted(values)
        rank = QUANTILES[fn] * (len(ordered) - 1)
        below, above = ordered[math.floor(rank)], ordered[math.ceil(rank)]
        return below + (above - below) * (rank - math.floor(rank))
    growth = 0.0
    for (_, before), (_, after) in itertools.pairwise(inside):
        growth += after - before if after >= before else after
    span = inside[-1][0] - inside[0][0]
    if len(inside) < 2 or span == 0:
        return None
    return growth / span if fn == "rate" else growth / span * (end - start)


FUNCTIONS = [
    "last",
    "avg",
    "sum",
    "min",
    "max",
    "count",
    "p50",
    "p90",
    "p95",
    "p99",
    "rate",
    "increase",
]
_points = st.lists(
    st.tuples(st.integers(0, 600), st.floats(-1e6, 1e6, allow_nan=False)), max_size=40
)


@given(_points, st.integers(0, 600), st.integers(0, 600), st.sampled_from(FUNCTIONS), st.randoms())
def test_aggregates_match_the_reference_whatever_the_arrival_order(
    points: list[tuple[int, float]], a: int, b: int, fn: str, rnd: random.Random
) -> None:
    start, end = min(a, b), max(a, b)
    # Distinct timestamps: with ties, the order of equal-time points is arrival order.
    points = list({t: (t, v) for t, v in points}.values())
    shuffled = points[:]
    rnd.shuffle(shuffled)
    series = MemorySeries()
    for t, v in shuffled:
        series.add("api", "latency_ms", at(t), v)
    got = series.aggregate("api", "latency_ms", fn, at(start), at(end))
    want = reference(fn, points, start, end)
    if want is None:
        assert got is None
    else:
        assert got is not None
        assert got == pytest.approx(want, rel=1e-9, abs=1e-6)


def test_window_bounds_are_inclusive() -> None:
    series = MemorySeries()
    for t in (0, 60, 120, 180):
        series.add("c", "s", at(t), float(t))
    assert series.aggregate("c", "s", "count", at(60), at(120)) == 2
    assert series.aggregate("c", "s", "sum", at(60), at(120)) == 180
    assert series.aggregate("c", "s", "last", at(0), at(119.999)) == 60
    assert series.aggregate("c", "s", "avg", at(181), at(300)) is None


def test_empty_windows_have_no_value_except_count() -> None:
    series = MemorySeries()
    for fn in FUNCTIONS:
        value = series.aggregate("never", "ran", fn, at(0), at(60))
        assert value == (0.0 if fn == "count" else None), fn


@given(st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=1, max_size=50))
def test_percentiles_lie_between_min_and_max_and_grow_with_q(values: list[float]) -> None:
    results = [quantile(values, q) for q in (0.0, 0.5, 0.9, 0.95, 0.99, 1.0)]
    assert results[0] == min(values) and results[-1] == max(values)
    for lower, higher in itertools.pairwise(results):
        assert lower is not None and higher is not None
        assert lower <= higher + 1e-9 * max(1.0, abs(higher))


@given(st.floats(-1e9, 1e9, allow_nan=False), st.integers(1, 30))
def test_percentiles_of_a_constant_are_the_constant(value: float, n: int) -> None:
    assert all(quantile([value] * n, q) == value for q in QUANTILES.values())


def test_percentiles_interpolate_like_quantile_over_time() -> None:
    values = [float(v) for v in range(1, 11)]  # 1..10
    assert quantile(values, 0.5) == pytest.approx(5.5)
    assert quantile(values, 0.9) == pytest.approx(9.1)
    assert quantile(values, 0.95) == pytest.approx(9.55)
    assert quantile([100, 300], 0.95) == pytest.approx(290)


@given(
    st.floats(0, 1e6, allow_nan=False),
    st.lists(st.tuples(st.floats(0, 1e4, allow_nan=False), st.booleans()), min_size=1, max_size=40),
)
def test_rate_counts_a_reset_as_growth_from_zero(
    start: float, steps: list[tuple[float, bool]]
) -> None:
    """A counter that grows by `inc` each step, sometimes restarting (process restart):
    after a restart it reads `inc` (it counted from zero). The growth is the sum of incs."""
    values = [start]
    for inc, reset in steps:
        values.append(inc if reset and inc < values[-1] else values[-1] + inc)
    true_growth = math.fsum(inc for inc, _ in steps)
    assert counter_growth(values) == pytest.approx(true_growth, rel=1e-9, abs=1e-6)
    series = MemorySeries()
    for i, value in enumerate(values):
        series.add("db", "deadlocks", at(60 * i), value)
    end = 60 * (len(values) - 1)
    rate = series.aggregate("db", "deadlocks", "rate", at(0), at(end))
    assert rate == pytest.approx(true_growth / end, rel=1e-9, abs=1e-9)
    increase = series.aggregate("db", "deadlocks", "increase", at(0), at(end))
    assert increase == pytest.approx(true_growth, rel=1e-9, abs=1e-6)


def test_increase_scales_the_observed_rate_to_the_window() -> None:
    """practice-app "Deadlocks: Warning > 5 per hour": points every 10 minutes, 6 deadlocks
    between the first and last point 50 minutes apart, over a 1h window: 7.2 per hour."""
    series = MemorySeries()
    for i, total in enumerate([10, 11, 12, 14, 15, 16]):
        series.add("pg", "deadlocks", at(600 * i + 60), float(total))
    assert series.aggregate("pg", "deadlocks", "increase", at(0), at(3600)) == pytest.approx(7.2)
    assert series.aggregate("pg", "deadlocks", "rate", at(0), at(3600)) == pytest.approx(6 / 3000)


def test_rate_needs_two_points_at_different_times() -> None:
    series = MemorySeries()
    series.add("c", "s", at(10), 5.0)
    assert series.aggregate("c", "s", "rate", at(0), at(60)) is None
    series.add("c", "s", at(10), 7.0)
    assert series.aggregate("c", "s", "rate", at(0), at(60)) is None


def test_results_feed_status_up_and_consecutive_failures() -> None:
    series = MemorySeries()
    statuses = [
        Status.OK,
        Status.CRITICAL,
        Status.WARNING,
        Status.OK,
        Status.CRITICAL,
        Status.UNKNOWN,
        Status.CRITICAL,
    ]
    for i, status in enumerate(statuses):
        series.add_result("api", status, at(10 * i))
    assert series.aggregate("api", "status", "last", at(0), at(60)) == 2
    assert series.aggregate("api", "up", "sum", at(0), at(60)) == 2
    assert series.aggregate("api", "up", "avg", at(0), at(30)) == 0.5
    assert series.consecutive_failures("api", at(60)) == 3
    assert series.consecutive_failures("api", at(35)) == 0
    assert series.consecutive_failures("api", at(25)) == 2
    assert series.consecutive_failures("api", at(-1)) is None
    assert series.consecutive_failures("other", at(60)) is None


def test_a_late_result_recounts_the_runs_after_it() -> None:
    series = MemorySeries()
    for t in (0, 20, 30):
        series.add_result("api", Status.CRITICAL, at(t))
    assert series.consecutive_failures("api", at(30)) == 3
    series.add_result("api", Status.OK, at(10))  # arrives late, breaks the run
    assert series.consecutive_failures("api", at(30)) == 2
    assert series.consecutive_failures("api", at(15)) == 0


@given(st.lists(st.tuples(st.integers(0, 100), st.booleans()), max_size=30), st.integers(0, 100))
def test_consecutive_failures_match_a_reference(results: list[tuple[int, bool]], when: int) -> None:
    results = list({t: (t, ok) for t, ok in results}.values())
    series = MemorySeries()
    for t, ok in results:
        series.add_result("c", Status.OK if ok else Status.CRITICAL, at(t))
    seen = [ok for t, ok in sorted(results) if t <= when]
    want = None if not seen else next((i for i, ok in enumerate(reversed(seen)) if ok), len(seen))
    assert series.consecutive_failures("c", at(when)) == want


def test_prune_forgets_old_points_but_not_the_failure_run() -> None:
    series = MemorySeries()
    for i in range(10):
        series.add("c", "s", at(i), float(i))
        series.add_result("c", Status.CRITICAL, at(i))
    before = len(series)
    series.prune(at(5))
    assert len(series) == before - 5 * 3  # s, status and up
    assert series.aggregate("c", "s", "count", at(0), at(10)) == 5
    assert series.aggregate("c", "s", "min", at(0), at(10)) == 5
    assert series.consecutive_failures("c", at(9)) == 10
    series.prune(at(100))
    assert len(series) == 0
    assert series.consecutive_failures("c", at(200)) is None


def test_nan_is_dropped_and_naive_times_are_refused() -> None:
    series = MemorySeries()
    series.add("c", "s", at(0), math.nan)
    assert series.aggregate("c", "s", "count", at(0), at(1)) == 0
    with pytest.raises(ValueError, match="timezone-aware"):
        series.add("c", "s", datetime(2026, 1, 1), 1.0)


def test_a_large_series_stays_fast_to_query() -> None:
    """100k points a minute apart; 1000 window queries touch only their window."""
    series = MemorySeries()
    for i in range(100_000):
        series.add("c", "s", at(60 * i), float(i % 100))
    started = time.perf_counter()
    for i in range(1000):
        end = at(60 * (50_000 + i))
        series.aggregate("c", "s", "p95", end - timedelta(minutes=5), end)
        series.aggregate("c", "s", "last", end - timedelta(minutes=5), end)
    assert time.perf_counter() - started < 2.0  # about 10 ms; generous for busy machines
