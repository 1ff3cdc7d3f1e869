"""Roll-ups and retention on both stores: raw data becomes minute and hour summaries and is
deleted only once summarised; long history stays bounded."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsbook.checks.base import CheckResult
from opsbook.engine.rollup import summarise
from opsbook.status import Status
from opsbook.store import Store, rollups
from opsbook.store import engine as store_engine
from opsbook.store.rollups import HOUR, MINUTE, floor_to

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def store(store_url: str) -> Store:
    with Store.open(store_url) as opened:
        yield opened


def record_hours(store: Store, hours: int, every: int = 30) -> int:
    results = []
    for second in range(0, hours * 3600, every):
        status = Status.CRITICAL if second % 600 == 0 else Status.OK
        results.append(
            CheckResult(
                "api",
                "api",
                status,
                "",
                T0 + timedelta(seconds=second),
                0.01,
                {"latency_ms": float(100 + second % 300)},
            )
        )
    store.results.record(results)
    return len(results)


def test_minutes_then_hours_then_pruning(store: Store) -> None:
    count = record_hours(store, 3)
    now = T0 + timedelta(hours=3, minutes=10)
    while store.rollups.roll_minutes(now):
        pass
    minutes = store.rollups.summaries("api", "latency_ms", MINUTE, T0, now)
    assert len(minutes) == 180
    assert sum(s.count for _, s in minutes) == count
    assert minutes[0][1].low == 100 and minutes[0][1].high == 130
    up = store.rollups.summaries("api", "up", MINUTE, T0, now)
    assert sum(s.total for _, s in up) == count - 18  # one failure every 10 minutes
    store.rollups.roll_hours(now)
    hours = store.rollups.summaries("api", "latency_ms", HOUR, T0, now)
    assert [b for b, _ in hours] == [T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)]
    assert hours[0][1].count == 120
    p95 = hours[0][1].quantile(0.95)
    assert p95 == pytest.approx(370, rel=0.05)  # values 100..370: exact p95 is 370
    # Keep 1 h of raw data, 2 h of minutes: older rows go, summaries of them stay.
    store.rollups.prune(
        now - timedelta(hours=1), now - timedelta(hours=2), now - timedelta(days=400)
    )
    assert store.results.count() < count
    assert store.results.series("api", "latency_ms", T0)[0][0] >= now - timedelta(hours=1)
    assert len(store.rollups.summaries("api", "latency_ms", MINUTE, T0, now)) < 180
    assert len(store.rollups.summaries("api", "latency_ms", HOUR, T0, now)) == 3


def test_raw_data_is_never_pruned_before_it_is_rolled_up(store: Store) -> None:
    count = record_hours(store, 1)
    now = T0 + timedelta(days=5)
    store.rollups.prune(
        now - timedelta(hours=48), now - timedelta(days=30), now - timedelta(days=400)
    )
    assert store.results.count() == count  # nothing summarised yet: nothing deleted


def test_recent_minutes_wait_for_late_results(store: Store) -> None:
    record_hours(store, 1)
    now = T0 + timedelta(minutes=30)
    while store.rollups.roll_minutes(now):
        pass
    buckets = [b for b, _ in store.rollups.summaries("api", "latency_ms", MINUTE, T0, now)]
    assert buckets[-1] == T0 + timedelta(minutes=24)  # the last 5 minutes are left for later


EDGE_VALUES = [0.0, -0.0, 1.0, -1.0, 1.1, 1.21, 1.1**7, 1e-9, -1e-9, 1e12, -3.5, 0.5, 1e300]


def test_summaries_match_the_pure_summary_exactly(store: Store) -> None:
    """The SQL roll-up puts every value in the bucket `bucket_of` gives it: same counts,
    extremes and histogram keys as summarising the same values in Python."""
    rng = random.Random(7)
    values = EDGE_VALUES + [rng.lognormvariate(4, 2) * rng.choice((1, -1)) for _ in range(400)]
    results, by_minute = [], defaultdict(list)
    for i, value in enumerate(values):
        at = T0 + timedelta(seconds=7 * i)
        by_minute[floor_to(at, MINUTE)].append(value)
        results.append(CheckResult("api", "api", Status.OK, "", at, 0.01, {"v": value}))
    store.results.record(results)
    now = T0 + timedelta(hours=2)
    while store.rollups.roll_minutes(now):
        pass
    got = dict(store.rollups.summaries("api", "v", MINUTE, T0, now))
    assert set(got) == set(by_minute)
    for minute, members in by_minute.items():
        want = summarise(members)
        assert (got[minute].count, got[minute].low, got[minute].high) == (
            want.count,
            want.low,
            want.high,
        )
        assert got[minute].histogram == want.histogram, minute
        assert math.isclose(got[minute].total, want.total, rel_tol=1e-12, abs_tol=1e-9)
    store.rollups.roll_hours(now)
    hours = store.rollups.summaries("api", "v", HOUR, T0, now)
    want_hour = summarise(
        v for m, vs in by_minute.items() if m < T0 + timedelta(hours=1) for v in vs
    )
    assert hours[0][0] == T0
    assert hours[0][1].histogram == want_hour.histogram
    assert hours[0][1].count == want_hour.count
    assert hours[0][1].quantile(0.95) == want_hour.quantile(0.95)


def test_rolling_a_minute_twice_replaces_it(store: Store) -> None:
    """A crash between writing summaries and saving the watermark re-runs the same span:
    the summaries are replaced, not added to."""
    record_hours(store, 1)
    now = T0 + timedelta(hours=2)
    store.rollups.roll_minutes(now)
    first = store.rollups.summaries("api", "latency_ms", MINUTE, T0, now)
    store.probe_state.save("rollup:60", {"until": T0.isoformat()})
    store.rollups.roll_minutes(now)
    assert store.rollups.summaries("api", "latency_ms", MINUTE, T0, now) == first


def test_hours_are_merged_in_chunks_of_checks(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every check gets its hour, whichever chunk of check names it falls in."""
    monkeypatch.setattr(rollups, "HOUR_CHUNK", 2)
    names = ["a", "b-1", "b-2", "c", "z"]
    results = [
        CheckResult(name, None, Status.OK, "", T0 + timedelta(seconds=s), 0.01, {"v": float(i)})
        for i, name in enumerate(names)
        for s in range(0, 3600, 60)
    ]
    store.results.record(results)
    now = T0 + timedelta(hours=2)
    while store.rollups.roll_minutes(now):
        pass
    assert store.rollups.roll_hours(now) == len(names) * 2  # v and up per check
    for i, name in enumerate(names):
        [(bucket, hour)] = store.rollups.summaries(name, "v", HOUR, T0, now)
        assert bucket == T0 and hour.count == 60 and hour.total == 60 * i


def test_sqlite_without_math_functions_gets_them_from_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Builds of SQLite without ln/ceil: the same summaries, with Python's functions."""
    monkeypatch.setattr(store_engine, "sqlite_has_math", lambda: False)
    calls = []

    def log(value: float) -> float:
        calls.append(value)
        return math_log(value)

    math_log = math.log
    monkeypatch.setattr(math, "log", log)
    values = [*EDGE_VALUES, 3.0, 250.0, -17.5]
    results = [
        CheckResult("api", "api", Status.OK, "", T0 + timedelta(seconds=i), 0.01, {"v": v})
        for i, v in enumerate(values)
    ]
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        store.results.record(results)
        store.rollups.roll_minutes(T0 + timedelta(hours=1))
        [(_, got)] = store.rollups.summaries("api", "v", MINUTE, T0, T0 + timedelta(hours=1))
    monkeypatch.undo()
    assert calls, "the Python ln was not used"
    assert got.histogram == summarise(values).histogram
