"""The store contract: the same tests on SQLite and PostgreSQL (the `store_url` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from opsbook.checks.base import CheckResult
from opsbook.status import Status
from opsbook.store import Store
from opsbook.store.migrate import current_revision, head_revision
from opsbook.store.tables import metadata

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def result(check: str, minutes: int, status: Status = Status.OK, **samples: float) -> CheckResult:
    return CheckResult(
        check=check,
        service="api",
        status=status,
        message=f"{check} at {minutes}",
        started_at=T0 + timedelta(minutes=minutes),
        duration_s=0.012,
        samples=samples,
    )


@pytest.fixture
def store(store_url: str) -> Store:
    with Store.open(store_url) as opened:
        yield opened


def test_migrations_from_empty_reach_head_and_match_the_models(store_url: str) -> None:
    with Store.open(store_url) as store, store.engine.connect() as conn:
        assert current_revision(conn) == head_revision()
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == [], f"migrations and tables.py disagree: {diff}"
        assert {"check_results", "samples", "probe_state"} <= set(inspect(conn).get_table_names())


def test_opening_twice_is_idempotent(store_url: str) -> None:
    Store.open(store_url).close()
    with Store.open(store_url) as store, store.engine.connect() as conn:
        assert current_revision(conn) == head_revision()


def test_record_and_read_back_exactly(store: Store) -> None:
    store.results.record(
        [
            result("api", 0, latency_ms=12.5, status_code=200),
            result("api", 1, Status.CRITICAL, latency_ms=612.0),
            result("db", 1, connections_used_pct=81.5),
        ]
    )
    latest = store.results.latest()
    assert set(latest) == {"api", "db"}
    assert latest["api"].status is Status.CRITICAL
    assert latest["api"].started_at == T0 + timedelta(minutes=1)
    assert latest["api"].started_at.tzinfo is UTC
    assert latest["api"].samples == {"latency_ms": 612.0}
    assert latest["db"].samples == {"connections_used_pct": 81.5}
    assert store.results.latest(["db"]).keys() == {"db"}
    history = store.results.history("api")
    assert [r.message for r in history] == ["api at 1", "api at 0"]
    assert history[1].samples == {"latency_ms": 12.5, "status_code": 200.0}
    assert history[1].duration_s == pytest.approx(0.012)


def test_series_is_ordered_and_bounded_by_time(store: Store) -> None:
    store.results.record([result("api", m, latency_ms=float(m)) for m in range(10)])
    series = store.results.series(
        "api", "latency_ms", T0 + timedelta(minutes=3), T0 + timedelta(minutes=6)
    )
    assert [v for _, v in series] == [3.0, 4.0, 5.0, 6.0]
    assert series[0][0] == T0 + timedelta(minutes=3)


def test_large_batch_in_one_call(store: Store) -> None:
    batch = [
        result(f"c{i % 50}", i % 60, latency_ms=float(i), status_code=200.0) for i in range(2000)
    ]
    store.results.record(batch)
    assert store.results.count() == 2000
    assert len(store.results.latest()) == 50


def test_nan_samples_are_skipped_not_stored(store: Store) -> None:
    store.results.record([result("api", 0, latency_ms=float("nan"), status_code=200.0)])
    assert store.results.latest()["api"].samples == {"status_code": 200.0}


def test_empty_batch_is_a_no_op(store: Store) -> None:
    store.results.record([])
    assert store.results.count() == 0


def test_naive_datetimes_are_refused(store: Store) -> None:
    naive = CheckResult("api", None, Status.OK, "", datetime(2026, 1, 1), 0.0, {})
    with pytest.raises(Exception, match="naive"):
        store.results.record([naive])
    assert store.results.count() == 0


def test_probe_state_round_trip_and_overwrite(store: Store) -> None:
    assert store.probe_state.load("log:/var/log/app.log") is None
    store.probe_state.save("log:/var/log/app.log", {"offset": 10, "inode": 5})
    store.probe_state.save("log:/var/log/app.log", {"offset": 99, "inode": 5})
    assert store.probe_state.load("log:/var/log/app.log") == {"offset": 99, "inode": 5}
