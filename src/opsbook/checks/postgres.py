"""`postgres`: connect, run ``SELECT 1``, and read the health numbers the runbooks watch.

Replaces the runbooks' ``psql $DATABASE_URL -c "SELECT count(*) FROM pg_stat_activity;"``,
``SELECT * FROM pg_locks WHERE NOT granted``, their "Connection Pool: Warning > 80% used,
Critical > 95% used" and "Replication Lag: Warning > 5 seconds" tables, and custom checks
such as "No missing users (v_user_sync_missing returns 0 rows)".

Each probe opens one connection and closes it afterwards, so it sees what a new client of
the application sees. Everything it runs is read-only; custom SQL runs in a ``READ ONLY``
transaction with a ``statement_timeout`` so a probe can neither write nor leave a query
running on the server.
"""

from __future__ import annotations

import math
import os
import re
import socket
import time
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from opsbook.checks.base import CheckKind, Observation, ProbeConfig, ProbeFailure
from opsbook.checks.context import ProbeContext
from opsbook.status import Status

SAMPLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
BUILTIN_SAMPLES = (
    "latency_ms",
    "connections_used_pct",
    "connections",
    "max_connections",
    "active_queries",
    "longest_query_s",
    "blocked_locks",
    "replication_lag_s",
)
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._%-]*)(:\d{1,5})?$")
APPLICATION_NAME = "opsbook"

# Client backends only: background workers and WAL senders do not take a slot of
# max_connections, and a WAL sender stays "active" for as long as a replica is attached.
_STATS_SQL = """
SELECT
  count(*) FILTER (WHERE backend_type = 'client backend') AS connections,
  current_setting('max_connections')::int AS max_connections,
  count(*) FILTER (WHERE backend_type = 'client backend' AND state = 'active'
                   AND pid <> pg_backend_pid()) AS active_queries,
  coalesce(extract(epoch FROM max(clock_timestamp() - query_start)
           FILTER (WHERE backend_type = 'client backend' AND state = 'active'
                   AND pid <> pg_backend_pid())), 0)::float8 AS longest_query_s,
  (SELECT count(*) FROM pg_locks WHERE NOT granted) AS blocked_locks,
  pg_is_in_recovery() AS in_recovery
FROM pg_stat_activity
"""
# On a replica that has replayed everything it received, the lag is zero even when the
# primary has been idle for a while (the last replayed transaction is then simply old).
_REPLICA_LAG_SQL = """
SELECT CASE
  WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
  ELSE extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())
END::float8
"""
# replay_lag is NULL once a replica has caught up and the primary is idle: that is 0.
_PRIMARY_LAG_SQL = """
SELECT count(*) AS replicas, coalesce(extract(epoch FROM max(replay_lag)), 0)::float8 AS lag
FROM pg_stat_replication
WHERE state <> 'backup'
"""


class PostgresQuery(BaseModel):
    """One custom SQL check: a single statement returning one row with one number."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        description="Sample name the value is reported as (snake_case), e.g. sync_missing."
    )
    sql: str = Field(
        min_length=1,
        description="One read-only statement returning one row with one numeric column, "
        "e.g. SELECT count(*) FROM v_user_sync_missing.",
    )

    @field_validator("name")
    @classmethod
    def _sample_name(cls, value: str) -> str:
        if not SAMPLE_NAME.match(value):
            raise ValueError(
                f"query name {value!r} is not a valid sample name: use lowercase letters, "
                "digits and '_', starting with a letter (e.g. sync_missing)"
            )
        if value in BUILTIN_SAMPLES:
            raise ValueError(f"query name {value!r} is a built-in sample of the postgres check")
        return value

    @field_validator("sql")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("sql is empty")
        return value


class PostgresCheck(ProbeConfig):
    dsn: SecretStr = Field(
        description="postgresql:// URL to connect to, usually ${ENV:DATABASE_URL}. Secret: "
        "never shown in messages."
    )
    queries: list[PostgresQuery] = Field(
        default_factory=list,
        description="Custom SQL whose single numeric result becomes a sample named after it.",
    )

    @field_validator("dsn")
    @classmethod
    def _postgres_url(cls, value: SecretStr) -> SecretStr:
        check_dsn(value.get_secret_value())
        return value

    @field_validator("queries")
    @classmethod
    def _unique_names(cls, value: list[PostgresQuery]) -> list[PostgresQuery]:
        seen: set[str] = set()
        for query in value:
            if query.name in seen:
                raise ValueError(f"two queries are named {query.name!r}")
            seen.add(query.name)
        return value


def check_dsn(dsn: str) -> None:
    """Refuse DSNs asyncpg cannot use, without ever echoing the DSN (it holds a password)."""
    scheme, sep, _ = dsn.partition("://")
    if not sep or scheme not in ("postgresql", "postgres"):
        shown = f" {scheme!r}" if sep and len(scheme) < 20 else ""
        raise ValueError(f"expected a postgresql:// URL (got scheme{shown or ' none'})")
    parts = urlsplit(dsn)
    if "@" in parts.path or "@" in parts.fragment or "@" in parts.query.split("=", 1)[0]:
        raise ValueError(
            "the URL's user or password contains '/', '?' or '#': percent-encode them "
            "(e.g. '/' as %2F)"
        )
    hosts = parts.netloc.rpartition("@")[2]
    if hosts and not all(_HOST.match(host) for host in hosts.split(",")):
        raise ValueError(
            "the URL's host part must be host[:port] (several separated by commas); "
            "percent-encode special characters in the user or password"
        )


def describe_target(dsn: str) -> str:
    """Where a DSN points (hosts or socket directory), never its user or password."""
    parts = urlsplit(dsn)
    hosts = parts.netloc.rpartition("@")[2]
    if hosts:
        return hosts
    socket_dir = parse_qs(parts.query).get("host")
    return socket_dir[0] if socket_dir else "the local socket"


def query_value(rows: list[Any]) -> float:
    """The one number a custom query must return; ValueError saying what was wrong."""
    if not rows:
        raise ValueError("returned no rows, expected one row with one number")
    if len(rows) > 1:
        raise ValueError("returned more than one row (count them: SELECT count(*) FROM ...)")
    row = rows[0]
    if len(row) != 1:
        raise ValueError(f"returned {len(row)} columns, expected one")
    value = row[0]
    if value is None:
        raise ValueError("returned NULL, expected a number")
    if isinstance(value, bool):
        raise ValueError("returned a boolean, expected a number")
    if isinstance(value, str):
        raise ValueError("returned text, expected a number")
    if not isinstance(value, int | float | Decimal):
        raise ValueError(f"returned a {type(value).__name__}, expected a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"returned {number}, expected a finite number")
    return number


def os_reason(exc: OSError) -> str:
    """'Connection refused' rather than "[Errno 111] Connect call failed ('10.0.0.5', 5432)"."""
    if isinstance(exc, socket.gaierror):
        return exc.strerror or str(exc)
    if exc.errno is not None and exc.errno > 0:
        return os.strerror(exc.errno)
    return exc.strerror or str(exc) or type(exc).__name__


def _margin(timeout_s: float) -> float:
    return min(0.5, timeout_s * 0.1)


def statement_timeout_ms(remaining_s: float, timeout_s: float) -> int:
    """Server-side limit for the next statement: what is left of the check's budget, less a
    margin so the server cancels (and the message names the query) before the runner does."""
    return max(1, int((remaining_s - _margin(timeout_s)) * 1000))


async def _connect(dsn: str, connect_timeout_s: float, where: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(
            dsn,
            timeout=connect_timeout_s,
            statement_cache_size=0,  # one connection per probe; also safe behind PgBouncer
            server_settings={"application_name": APPLICATION_NAME},
        )
    except asyncpg.InvalidAuthorizationSpecificationError as exc:  # includes bad password
        raise ProbeFailure(Status.CRITICAL, f"login to {where} rejected: {exc}") from None
    except asyncpg.TooManyConnectionsError as exc:
        raise ProbeFailure(Status.CRITICAL, f"{where} refused the connection: {exc}") from None
    except asyncpg.PostgresError as exc:  # unknown database, starting up, shutting down...
        raise ProbeFailure(Status.CRITICAL, f"{where}: {exc}") from None
    except TimeoutError:
        raise ProbeFailure(
            Status.CRITICAL, f"no answer from {where} within {connect_timeout_s:g}s"
        ) from None
    except OSError as exc:
        raise ProbeFailure(
            Status.CRITICAL, f"cannot connect to {where}: {os_reason(exc)}"
        ) from None
    except asyncpg.InterfaceError as exc:  # e.g. sslmode=require against a server without TLS
        raise ProbeFailure(Status.CRITICAL, f"cannot connect to {where}: {exc}") from None


class _Budget:
    """What is left of the check's timeout, for server-side statement timeouts."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._deadline = time.monotonic() + timeout_s

    def statement_timeout(self) -> str:
        remaining = self._deadline - time.monotonic()
        return f"{statement_timeout_ms(remaining, self.timeout_s)}ms"

    def used_up(self) -> bool:
        return self._deadline - time.monotonic() <= _margin(self.timeout_s)


async def _server_stats(conn: asyncpg.Connection, budget: _Budget) -> tuple[dict[str, float], bool]:
    """Samples from pg_stat_activity, pg_locks and replication; and whether it is a replica."""
    async with conn.transaction(readonly=True):
        await conn.execute(
            "SELECT set_config('statement_timeout', $1, true)", budget.statement_timeout()
        )
        row = await conn.fetchrow(_STATS_SQL)
        if row["in_recovery"]:
            lag = await conn.fetchval(_REPLICA_LAG_SQL)
        else:
            primary = await conn.fetchrow(_PRIMARY_LAG_SQL)
            lag = primary["lag"] if primary["replicas"] else None
    connections, max_connections = float(row["connections"]), float(row["max_connections"])
    samples = {
        "connections_used_pct": connections / max_connections * 100 if max_connections else 0.0,
        "connections": connections,
        "max_connections": max_connections,
        "active_queries": float(row["active_queries"]),
        "longest_query_s": max(0.0, float(row["longest_query_s"])),
        "blocked_locks": float(row["blocked_locks"]),
    }
    if lag is not None:
        samples["replication_lag_s"] = max(0.0, float(lag))
    return samples, bool(row["in_recovery"])


async def _custom_query(conn: asyncpg.Connection, query: PostgresQuery, budget: _Budget) -> float:
    async with conn.transaction(readonly=True):
        await conn.execute(
            "SELECT set_config('statement_timeout', $1, true)", budget.statement_timeout()
        )
        cursor = await conn.cursor(query.sql)
        rows = await cursor.fetch(2)  # two are enough to tell "more than one row"
    return query_value(rows)


def _summary(samples: dict[str, float], role: str) -> str:
    parts = [
        f"SELECT 1 in {samples['latency_ms']:.0f} ms",
        f"{samples['connections']:.0f}/{samples['max_connections']:.0f} connections "
        f"({samples['connections_used_pct']:.0f}%)",
    ]
    active = samples["active_queries"]
    if active:
        parts.append(
            f"{active:.0f} active {'query' if active == 1 else 'queries'} "
            f"(longest {samples['longest_query_s']:.1f}s)"
        )
    else:
        parts.append("no other active queries")
    parts.append(f"{samples['blocked_locks']:.0f} blocked locks")
    if "replication_lag_s" in samples:
        parts.append(f"{role} replication lag {samples['replication_lag_s']:.1f}s")
    elif role == "replica":
        parts.append("replica has replayed nothing yet")
    return "; ".join(parts)


async def _observe(
    conn: asyncpg.Connection, cfg: PostgresCheck, where: str, budget: _Budget, started: float
) -> Observation:
    samples: dict[str, float] = {}
    try:
        await conn.fetchval("SELECT 1")
        samples["latency_ms"] = (time.perf_counter() - started) * 1000
        stats, replica = await _server_stats(conn, budget)
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise ProbeFailure(Status.CRITICAL, f"{where}: query failed: {exc}", samples) from None
    samples.update(stats)
    failures = []
    for query in cfg.queries:
        if budget.used_up():
            timeout = f"{budget.timeout_s:g}s"
            failures.append(f"query {query.name} skipped: the check's {timeout} timeout is used up")
            continue
        try:
            samples[query.name] = await _custom_query(conn, query, budget)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
            failures.append(f"query {query.name} failed: {exc}")
    summary = _summary(samples, "replica" if replica else "primary")
    custom = [f"{q.name} {samples[q.name]:g}" for q in cfg.queries if q.name in samples]
    message = "; ".join([*failures, summary, *custom])
    return Observation(Status.CRITICAL if failures else Status.OK, message, samples)


async def probe(cfg: PostgresCheck, ctx: ProbeContext) -> Observation:
    dsn = cfg.dsn.get_secret_value()
    where = describe_target(dsn)
    budget = _Budget(cfg.timeout.total_seconds())
    started = time.perf_counter()
    conn = await _connect(dsn, budget.timeout_s, where)
    try:
        observation = await _observe(conn, cfg, where, budget, started)
    except BaseException:
        conn.terminate()  # cancelled or broken: do not wait for a polite goodbye
        raise
    await _close(conn)
    return observation


async def _close(conn: asyncpg.Connection) -> None:
    try:
        await conn.close(timeout=1)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        conn.terminate()


def _samples(cfg: PostgresCheck) -> frozenset[str]:
    return frozenset(BUILTIN_SAMPLES) | {q.name for q in cfg.queries}


KIND = CheckKind(
    name="postgres",
    config_model=PostgresCheck,
    probe=probe,
    summary="Connect to PostgreSQL; report connections, active and blocked queries, "
    "replication lag and custom SQL values.",
    samples=_samples,
    default_thresholds={"connections_used_pct": {"warning": "> 80", "critical": "> 95"}},
)
