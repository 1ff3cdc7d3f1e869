"""A check's history in buckets, for charts: hour roll-ups, then minute roll-ups after
the last hour, then raw results after the last minute, so the newest minutes show too.

Each source only covers time the coarser one does not (a roll-up of a bucket is written
once the bucket is complete), so nothing is counted twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from opsbook.engine.rollup import Summary
from opsbook.status import Status
from opsbook.store import Store
from opsbook.store.rollups import HOUR, MINUTE, floor_to

UP = "up"  # the roll-ups' availability sample: 1 for an OK result, else 0


def bucketed(
    store: Store, check: str, sample: str, start: datetime, end: datetime, width: timedelta
) -> dict[datetime, Summary]:
    """Summaries of `sample` of `check` per bucket of `width` in [start, end), keyed by
    the bucket's start (multiples of `width` since the epoch, so days are UTC days)."""
    seconds = int(width.total_seconds())
    buckets: dict[datetime, Summary] = {}

    def put(at: datetime, summary: Summary) -> None:
        if start <= at < end:
            buckets.setdefault(floor_to(at, seconds), Summary()).merge(summary)

    covered = start
    for resolution, step in ((HOUR, timedelta(hours=1)), (MINUTE, timedelta(minutes=1))):
        rows = store.rollups.summaries(check, sample, resolution, covered, end)
        for at, summary in rows:
            put(at, summary)
        if rows:
            covered = max(covered, rows[-1][0] + step)
    for at, value in _raw(store, check, sample, covered, end):
        single = Summary()
        single.add(value)
        put(at, single)
    return buckets


def _raw(
    store: Store, check: str, sample: str, since: datetime, until: datetime
) -> list[tuple[datetime, float]]:
    if sample == UP:
        return [
            (at, 1.0 if status is Status.OK else 0.0)
            for at, status in store.results.statuses(check, since)
            if at < until
        ]
    return store.results.series(check, sample, since, until)
