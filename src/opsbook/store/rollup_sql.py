"""The roll-up statements: raw samples to minute summaries, minutes to hours, in SQL.

Summarising in the database instead of in Python matters at scale: 10,000 checks produce
~40,000 samples a minute, and reading them into Python, bucketing them and writing the
summaries back held the interpreter (and so the engine's event loop) for seconds per
minute. As one INSERT ... SELECT the work runs inside SQLite's C code with the GIL
released, or on the PostgreSQL server, and no row crosses into Python.

The histogram key of a value is the one `opsbook.engine.rollup.bucket_of` computes:
``z`` for zero, else the sign and ``ceil(ln|v| / ln γ)``; both databases use the C
library's ``log`` as Python does (SQLite builds without math functions get Python's, see
`store.engine`) and ln γ is written as the exact double Python uses, so the keys agree.
The statements differ per dialect only in how a timestamp is truncated and how a JSON
object is aggregated and read.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, String, TextClause, bindparam, text
from sqlalchemy.sql.elements import BindParameter

from opsbook.engine.rollup import LOG_GAMMA, ZERO
from opsbook.status import Status
from opsbook.store.tables import UTCDateTime

# Finite values only, as `Summary.add` does: NaN and ±inf fail this test on both backends.
_FINITE = "abs(value) <= 1.7976931348623157e308"


def _key(value: str) -> str:
    return (
        f"CASE WHEN {value} = 0 THEN '{ZERO}' "
        f"ELSE (CASE WHEN {value} < 0 THEN '-' ELSE '+' END) || "
        f"CAST(CAST(ceil(ln(abs({value})) / {LOG_GAMMA!r}) AS INTEGER) AS TEXT) END"
    )


def _floor(column: str, unit: str, dialect: str) -> str:
    """`column` truncated to the minute or hour, in the column's own storage format."""
    if dialect == "postgresql":
        return f"date_trunc('{unit}', {column})"
    # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff'. (The colons are
    # escaped for `text()`, which would read ':00' as a bound parameter.)
    if unit == "minute":
        return f"substr({column}, 1, 16) || '\\:00.000000'"
    return f"substr({column}, 1, 13) || '\\:00\\:00.000000'"


def _json_object(key: str, value: str, dialect: str) -> str:
    if dialect == "postgresql":
        return f"CAST(json_object_agg({key}, {value}) AS TEXT)"
    return f"json_group_object({key}, {value})"


def _json_entries(column: str, dialect: str) -> str:
    """A table function yielding (key, value) for each entry of a JSON object column."""
    if dialect == "postgresql":
        return f"json_each_text(CAST({column} AS JSON)) AS entry(key, value)"
    return f"json_each({column}) AS entry"


_UPSERT = """
ON CONFLICT (check_name, name, resolution, bucket) DO UPDATE SET
    "count" = excluded."count", "sum" = excluded."sum", "min" = excluded."min",
    "max" = excluded."max", histogram = excluded.histogram
"""

_COLUMNS = 'check_name, name, resolution, bucket, "count", "sum", "min", "max", histogram'


def minutes_statement(dialect: str) -> TextClause:
    """Summaries of every (check, sample, minute) with raw data in [:start, :end), plus
    `up` (1 for an OK result, else 0) from the results themselves."""
    bucket = _floor("ts", "minute", dialect)
    # Only this module's constants are interpolated; the values are bound parameters.
    sql = f"""
INSERT INTO sample_rollups ({_COLUMNS})
SELECT check_name, name, 60, bucket, sum(n), sum(s), min(lo), max(hi),
       {_json_object("hkey", "n", dialect)}
FROM (
    SELECT check_name, name, {bucket} AS bucket, {_key("value")} AS hkey,
           count(*) AS n, sum(value) AS s, min(value) AS lo, max(value) AS hi
    FROM (
        SELECT check_name, name, ts, value FROM samples
        WHERE ts >= :start AND ts < :end AND {_FINITE}
        UNION ALL
        SELECT check_name, 'up', started_at,
               CASE WHEN status = {int(Status.OK)} THEN 1.0 ELSE 0.0 END
        FROM check_results
        WHERE started_at >= :start AND started_at < :end
    ) AS raw
    GROUP BY 1, 2, 3, 4
) AS per_key
GROUP BY 1, 2, 4
{_UPSERT}
"""  # noqa: S608
    return _typed(sql)


def hours_statement(dialect: str) -> TextClause:
    """Hour summaries merged from the minute summaries in [:start, :end) of the checks
    named :first to :last: counts, sums and extremes add up; histograms merge by adding
    the counts of equal keys."""
    hour = _floor("bucket", "hour", dialect)
    # One chunk of check names is a range of the primary key (check_name, name, ...). In
    # SQLite the unary + keeps the planner off the (resolution, bucket) index, which would
    # make every chunk scan the whole hour of every check.
    plus = "+" if dialect == "sqlite" else ""
    window = (
        f"check_name >= :first AND check_name <= :last AND {plus}resolution = 60"
        f" AND {plus}bucket >= :start AND {plus}bucket < :end"
    )
    sql = f"""
INSERT INTO sample_rollups ({_COLUMNS})
SELECT totals.check_name, totals.name, 3600, totals.bucket,
       totals.n, totals.s, totals.lo, totals.hi, merged.histogram
FROM (
    SELECT check_name, name, {hour} AS bucket,
           sum("count") AS n, sum("sum") AS s, min("min") AS lo, max("max") AS hi
    FROM sample_rollups
    WHERE {window}
    GROUP BY 1, 2, 3
) AS totals
JOIN (
    SELECT check_name, name, bucket, {_json_object("hkey", "n", dialect)} AS histogram
    FROM (
        SELECT check_name, name, {hour} AS bucket, entry.key AS hkey,
               sum(CAST(entry.value AS BIGINT)) AS n
        FROM sample_rollups, {_json_entries("histogram", dialect)}
        WHERE {window}
        GROUP BY 1, 2, 3, 4
    ) AS per_key
    GROUP BY 1, 2, 3
) AS merged
  ON merged.check_name = totals.check_name AND merged.name = totals.name
 AND merged.bucket = totals.bucket
WHERE true
{_UPSERT}
"""  # noqa: S608
    return _typed(sql)


def _typed(sql: str) -> TextClause:
    """The statement with its parameters typed: timestamps stored as the tables store
    them, check names as strings (the hours' chunk bounds)."""
    params: list[BindParameter[Any]] = [
        bindparam("start", type_=UTCDateTime),
        bindparam("end", type_=UTCDateTime),
    ]
    if ":first" in sql:
        params += [bindparam("first", type_=String), bindparam("last", type_=String)]
    return text(sql).bindparams(*params)


def run(conn: Connection, statement: TextClause, **params: object) -> int:
    """Execute a roll-up statement (start, end, and first/last check name for the
    hours); the number of summaries written."""
    return max(conn.execute(statement, params).rowcount, 0)
