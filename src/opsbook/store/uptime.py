"""Daily counts of OK check results from the `up` roll-ups, for uptime history.

Every result is rolled up with the sample `up` (1 for OK, else 0): a roll-up's `count` is
the number of results and its `sum` the OK ones. The hour roll-ups cover complete hours
only, so the hours after the newest hour roll-up are read from the minute roll-ups: the
history reaches to within the minute roll-up's lag (5 minutes), and nothing is counted
twice. One statement answers for every check and every day of the period.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, TextClause, bindparam, text

from opsbook.store.rollup_sql import _floor as floor_sql  # the roll-ups' own bucket format
from opsbook.store.rollups import HOUR, MINUTE
from opsbook.store.tables import UTCDateTime

Counts = dict[tuple[str, date], tuple[int, int]]
"""(check, UTC day) → (OK results, all results)."""


def _day(column: str, dialect: str) -> str:
    """The UTC date of a bucket as 'YYYY-MM-DD' text."""
    if dialect == "postgresql":
        return f"to_char({column}, 'YYYY-MM-DD')"
    return f"substr({column}, 1, 10)"


def daily_statement(dialect: str) -> TextClause:
    """(check_name, day, results, ok results) of the checks in :checks, for buckets in
    [:start, :end): hour roll-ups, then minute roll-ups of the hours after the newest
    hour roll-up (:before when there is none)."""
    hour_of_minute = floor_sql("bucket", "hour", dialect)
    # Only this module's constants are interpolated; the values are bound parameters.
    sql = f"""
WITH hours AS (
    SELECT check_name, bucket, "count" AS n, "sum" AS ok
    FROM sample_rollups
    WHERE check_name IN :checks AND name = 'up' AND resolution = {HOUR}
      AND bucket >= :start AND bucket < :end
), newest AS (
    SELECT coalesce(max(bucket), :before) AS hour FROM hours
), minutes AS (
    SELECT check_name, bucket, "count" AS n, "sum" AS ok
    FROM sample_rollups, newest
    WHERE check_name IN :checks AND name = 'up' AND resolution = {MINUTE}
      AND bucket >= :start AND bucket < :end
      AND bucket > newest.hour AND {hour_of_minute} > newest.hour
)
SELECT check_name, {_day("bucket", dialect)} AS day, sum(n) AS n, sum(ok) AS ok
FROM (SELECT * FROM hours UNION ALL SELECT * FROM minutes) AS up
GROUP BY 1, 2
"""  # noqa: S608
    return text(sql).bindparams(
        bindparam("checks", expanding=True),
        bindparam("start", type_=UTCDateTime),
        bindparam("end", type_=UTCDateTime),
        bindparam("before", type_=UTCDateTime),
    )


class UptimeRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._daily = daily_statement(engine.dialect.name)

    def daily(self, checks: Sequence[str], start: datetime, end: datetime) -> Counts:
        """OK and all results per check and UTC day, for [start, end) (whole hours)."""
        if not checks:
            return {}
        params: dict[str, Any] = {
            "checks": list(checks),
            "start": start,
            "end": end,
            "before": start - timedelta(hours=1),
        }
        with self._engine.connect() as conn:
            rows = conn.execute(self._daily, params).all()
        return {
            (row.check_name, date.fromisoformat(row.day)): (round(row.ok), int(row.n))
            for row in rows
        }
