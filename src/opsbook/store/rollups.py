"""Roll raw samples into 1-minute and 1-hour summaries, and delete what retention allows.

Raw samples (and results) are kept for a short period (default 48 h); roll-ups keep the
long view (default 30 d of minutes, 400 d of hours). Each pass handles a bounded slice of
time after a watermark kept in `probe_state`, so a restart continues where it stopped and
a long outage is caught up in steps, never in one huge query. A check's availability
(`up`: 1 for an ok result, else 0) is rolled up with its samples, for uptime history.
The summarising itself is SQL (see `rollup_sql`): no raw row is read into Python.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, select

from opsbook.engine.rollup import Summary, from_row
from opsbook.store import rollup_sql
from opsbook.store.probe_state import ProbeStateRepository
from opsbook.store.tables import check_results, sample_rollups, samples

MINUTE = 60
HOUR = 3600
ONE_MINUTE = timedelta(seconds=MINUTE)
# Checks per hourly-merge transaction. A statement holds SQLite's write lock while it
# runs; with 10,000 checks a whole hour in one statement would hold it for ~15 s, longer
# than the result writer waits (busy_timeout 10 s). One minute of raw data, or an hour of
# 500 checks, takes well under a second.
HOUR_CHUNK = 500
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def floor_to(at: datetime, seconds: int) -> datetime:
    offset = (at - EPOCH).total_seconds()
    return EPOCH + timedelta(seconds=offset - offset % seconds)


def _summary(row: Any) -> Summary:
    values = row._mapping  # `row.count` would be the tuple method, not the column
    return from_row(
        values["count"], values["sum"], values["min"], values["max"], values["histogram"]
    )


class RollupRepository:
    def __init__(self, engine: Engine, state: ProbeStateRepository) -> None:
        self._engine = engine
        self._state = state
        self._minutes = rollup_sql.minutes_statement(engine.dialect.name)
        self._hours = rollup_sql.hours_statement(engine.dialect.name)

    def _watermark(self, resolution: int) -> datetime | None:
        saved = self._state.load(f"rollup:{resolution}")
        return datetime.fromisoformat(saved["until"]) if saved else None

    def _set_watermark(self, resolution: int, until: datetime) -> None:
        self._state.save(f"rollup:{resolution}", {"until": until.isoformat()})

    def _oldest_raw(self) -> datetime | None:
        with self._engine.connect() as conn:
            first = conn.execute(
                select(check_results.c.started_at).order_by(check_results.c.id).limit(1)
            ).scalar()
        return first

    def roll_minutes(
        self,
        now: datetime,
        max_span: timedelta = timedelta(hours=1),
        lag: timedelta = timedelta(minutes=5),
    ) -> int:
        """Summarise complete minutes after the watermark (at most `max_span` per call),
        one minute per transaction so that catching up never holds the write lock long.

        Minutes younger than `lag` are left for later: a slow probe's result is written
        after its minute ended, and a minute is rolled up once only."""
        start = self._watermark(MINUTE) or self._oldest_raw()
        if start is None:
            return 0
        start = floor_to(start, MINUTE)
        end = min(floor_to(now - lag, MINUTE), start + max_span)
        if end <= start:
            return 0
        written = 0
        for step in range(int((end - start).total_seconds()) // MINUTE):
            first = start + timedelta(minutes=step)
            with self._engine.begin() as conn:
                written += rollup_sql.run(conn, self._minutes, start=first, end=first + ONE_MINUTE)
            self._set_watermark(MINUTE, first + ONE_MINUTE)
        return written

    def roll_hours(self, now: datetime) -> int:
        """Merge complete hours of minute roll-ups into hour roll-ups."""
        minutes_done = self._watermark(MINUTE)
        if minutes_done is None:
            return 0
        start = self._watermark(HOUR)
        if start is None:
            with self._engine.connect() as conn:
                start = conn.execute(
                    select(sample_rollups.c.bucket)
                    .where(sample_rollups.c.resolution == MINUTE)
                    .order_by(sample_rollups.c.bucket)
                    .limit(1)
                ).scalar()
            if start is None:
                return 0
        start = floor_to(start, HOUR)
        end = min(floor_to(minutes_done, HOUR), floor_to(now, HOUR), start + timedelta(days=1))
        if end <= start:
            return 0
        with self._engine.connect() as conn:
            names = (
                conn.execute(
                    select(sample_rollups.c.check_name)
                    .where(
                        sample_rollups.c.resolution == MINUTE,
                        sample_rollups.c.bucket >= start,
                        sample_rollups.c.bucket < end,
                    )
                    .distinct()
                    .order_by(sample_rollups.c.check_name)
                )
                .scalars()
                .all()
            )
            chunks = [
                (names[i], names[min(i + HOUR_CHUNK, len(names)) - 1])
                for i in range(0, len(names), HOUR_CHUNK)
            ]
        written = 0
        for first, last in chunks:
            with self._engine.begin() as conn:
                written += rollup_sql.run(
                    conn, self._hours, start=start, end=end, first=first, last=last
                )
        self._set_watermark(HOUR, end)
        return written

    def prune(self, raw_before: datetime, minutes_before: datetime, hours_before: datetime) -> int:
        """Delete raw results/samples and roll-ups past retention; returns rows deleted.

        Raw data is only deleted once it has been rolled up, so a stalled roll-up never
        loses history."""
        rolled = self._watermark(MINUTE)
        deleted = 0
        with self._engine.begin() as conn:
            if rolled is not None:
                raw_before = min(raw_before, rolled)
                deleted += conn.execute(delete(samples).where(samples.c.ts < raw_before)).rowcount
                deleted += conn.execute(
                    delete(check_results).where(check_results.c.started_at < raw_before)
                ).rowcount
            for resolution, before in ((MINUTE, minutes_before), (HOUR, hours_before)):
                deleted += conn.execute(
                    delete(sample_rollups).where(
                        sample_rollups.c.resolution == resolution, sample_rollups.c.bucket < before
                    )
                ).rowcount
        return deleted

    def summaries(
        self, check: str, name: str, resolution: int, start: datetime, end: datetime
    ) -> list[tuple[datetime, Summary]]:
        query = (
            select(sample_rollups)
            .where(
                sample_rollups.c.check_name == check,
                sample_rollups.c.name == name,
                sample_rollups.c.resolution == resolution,
                sample_rollups.c.bucket >= start,
                sample_rollups.c.bucket < end,
            )
            .order_by(sample_rollups.c.bucket)
        )
        with self._engine.connect() as conn:
            return [(row.bucket, _summary(row)) for row in conn.execute(query)]
