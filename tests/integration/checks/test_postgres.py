"""The postgres check against the real PostgreSQL on 127.0.0.1 and a private primary/replica.

Most tests use a fresh database on the shared server (`pg_database`); numbers that other
clients of that server could disturb (exact connection counts, "no other active query")
are checked on the private cluster, where the probe is alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from opsbook.status import Status
from tests.checkutil import run
from tests.integration.pgcluster import PASSWORD_ROLE, Cluster, primary_with_replica
from tests.services import free_port

SYNC_MISSING = {"name": "sync_missing", "sql": "SELECT count(*) FROM v_user_sync_missing"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with primary_with_replica() as running:
        yield running


@contextlib.asynccontextmanager
async def connected(url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(url)
    try:
        yield conn
    finally:
        await conn.close()


async def wait_until(conn: asyncpg.Connection, sql: str, *args: object) -> None:
    """Poll until `sql` returns true (another session reached the state a test needs)."""
    deadline = time.monotonic() + 10
    while not await conn.fetchval(sql, *args):
        assert time.monotonic() < deadline, f"condition never became true: {sql}"
        await asyncio.sleep(0.05)


async def test_healthy_database_is_ok_with_sane_samples(pg_database: str) -> None:
    result = await run("postgres", {"dsn": pg_database})
    assert result.status is Status.OK, result.message
    samples = result.samples
    assert result.message.startswith("SELECT 1 in ")
    assert samples["latency_ms"] > 0
    assert 1 <= samples["connections"] <= samples["max_connections"]
    expected_pct = samples["connections"] / samples["max_connections"] * 100
    assert samples["connections_used_pct"] == pytest.approx(expected_pct)
    assert samples["active_queries"] >= 0
    assert samples["longest_query_s"] >= 0
    assert samples["blocked_locks"] >= 0
    assert "replication_lag_s" not in samples  # a standalone server has no replication


async def test_alone_on_a_server_the_probe_does_not_count_itself(cluster: Cluster) -> None:
    async with connected(cluster.primary_url), connected(cluster.primary_url):
        result = await run("postgres", {"dsn": cluster.primary_url})
    assert result.status is Status.OK, result.message
    # two idle sessions plus the probe; the replica's WAL sender is not a client backend
    assert result.samples["connections"] == 3
    assert result.samples["active_queries"] == 0
    assert result.samples["longest_query_s"] == 0
    assert "no other active queries" in result.message


async def test_custom_query_threshold_decides_status(pg_database: str) -> None:
    async with connected(pg_database) as conn:
        await conn.execute(
            """
            CREATE TABLE users (id int PRIMARY KEY, synced boolean NOT NULL);
            INSERT INTO users VALUES (1, true), (2, false), (3, false);
            CREATE VIEW v_user_sync_missing AS SELECT id FROM users WHERE NOT synced;
            """
        )
        thresholds = {"sync_missing": {"critical": "> 0"}}
        missing = await run(
            "postgres", {"dsn": pg_database, "queries": [SYNC_MISSING]}, thresholds=thresholds
        )
        await conn.execute("UPDATE users SET synced = true")
        synced = await run(
            "postgres", {"dsn": pg_database, "queries": [SYNC_MISSING]}, thresholds=thresholds
        )
    assert missing.status is Status.CRITICAL
    assert missing.samples["sync_missing"] == 2
    assert missing.message.startswith("sync_missing 2 > 0")
    assert synced.status is Status.OK, synced.message
    assert synced.samples["sync_missing"] == 0
    assert "sync_missing 0" in synced.message


async def test_missing_view_is_critical_naming_the_query(pg_database: str) -> None:
    good = {"name": "one", "sql": "SELECT 1"}
    result = await run("postgres", {"dsn": pg_database, "queries": [SYNC_MISSING, good]})
    assert result.status is Status.CRITICAL
    assert result.message.startswith(
        'query sync_missing failed: relation "v_user_sync_missing" does not exist'
    )
    assert "sync_missing" not in result.samples
    assert result.samples["one"] == 1  # one broken query does not hide the others
    assert "connections" in result.samples


WRONG_SHAPES = {
    "no_rows": ("SELECT 1 WHERE false", "returned no rows, expected one row with one number"),
    "many_rows": ("SELECT * FROM generate_series(1, 3)", "returned more than one row"),
    "two_columns": ("SELECT 1, 2", "returned 2 columns, expected one"),
    "null": ("SELECT NULL::int", "returned NULL"),
    "text": ("SELECT 'many'::text", "returned text, expected a number"),
    "boolean": ("SELECT true", "returned a boolean, expected a number"),
    "nan": ("SELECT 'NaN'::float8", "returned nan, expected a finite number"),
    "two_statements": ("SELECT 1; SELECT 2", "cannot insert multiple commands"),
}


async def test_custom_queries_of_wrong_shape_are_critical_naming_the_query(
    pg_database: str,
) -> None:
    for name, (sql, reason) in WRONG_SHAPES.items():
        result = await run(
            "postgres", {"dsn": pg_database, "queries": [{"name": name, "sql": sql}]}
        )
        assert result.status is Status.CRITICAL, name
        assert result.message.startswith(f"query {name} failed: {reason}"), result.message
        assert name not in result.samples
        assert "connections" in result.samples


async def test_numeric_and_float_results_become_samples(pg_database: str) -> None:
    queries = [
        {"name": "ratio", "sql": "SELECT 0.25::numeric"},
        {"name": "lag", "sql": "SELECT 1.5::float8"},
        {"name": "big", "sql": "SELECT 9000000000::bigint"},
    ]
    result = await run("postgres", {"dsn": pg_database, "queries": queries})
    assert result.status is Status.OK, result.message
    assert (result.samples["ratio"], result.samples["lag"]) == (0.25, 1.5)
    assert result.samples["big"] == 9e9


WRITES = [
    "DELETE FROM precious",
    "CREATE TABLE intruder (id int)",
    "WITH gone AS (DELETE FROM precious RETURNING 1) SELECT count(*) FROM gone",
    "INSERT INTO precious VALUES (99) RETURNING 1",
    "SELECT count(*) FROM precious; DELETE FROM precious",
    "SELECT count(*) FROM (SELECT set_config('transaction_read_only', 'off', false)) AS s",
]


async def test_custom_queries_cannot_write(pg_database: str) -> None:
    queries = [{"name": f"write_{i}", "sql": sql} for i, sql in enumerate(WRITES)]
    async with connected(pg_database) as conn:
        await conn.execute("CREATE TABLE precious (id int); INSERT INTO precious VALUES (1), (2)")
        result = await run("postgres", {"dsn": pg_database, "queries": queries})
        rows = await conn.fetchval("SELECT count(*) FROM precious")
        intruder = await conn.fetchval("SELECT to_regclass('intruder') IS NOT NULL")
    assert result.status is Status.CRITICAL
    failures = result.message.split("; ")
    for index in range(len(WRITES)):
        assert failures[index].startswith(f"query write_{index} failed: "), failures[index]
    assert "cannot execute DELETE in a read-only transaction" in failures[0]
    assert "cannot execute CREATE TABLE in a read-only transaction" in failures[1]
    assert "multiple commands" in failures[4]
    assert "read-write mode" in failures[5]
    assert rows == 2
    assert not intruder


async def test_blocked_lock_is_counted_and_fires_threshold(pg_database: str) -> None:
    async with connected(pg_database) as holder, connected(pg_database) as waiter:
        await holder.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int)")
        await holder.execute("INSERT INTO accounts VALUES (1, 100)")
        holding = holder.transaction()
        await holding.start()
        await holder.execute("UPDATE accounts SET balance = 50 WHERE id = 1")  # row lock held
        waiter_pid = await waiter.fetchval("SELECT pg_backend_pid()")
        blocked = asyncio.create_task(
            waiter.execute("UPDATE accounts SET balance = 0 WHERE id = 1")
        )
        try:
            await wait_until(
                holder, "SELECT count(*) > 0 FROM pg_locks WHERE pid = $1 AND NOT granted",
                waiter_pid,
            )  # fmt: skip
            result = await run(
                "postgres",
                {"dsn": pg_database},
                thresholds={"blocked_locks": {"critical": "> 0"}},
            )
        finally:
            await holding.rollback()
            await blocked
    assert result.samples["blocked_locks"] >= 1
    assert result.samples["active_queries"] >= 1  # the waiting UPDATE is active
    assert result.status is Status.CRITICAL
    assert result.message.startswith("blocked_locks ")


async def test_long_running_query_is_reported(pg_database: str) -> None:
    async with connected(pg_database) as sleeper, connected(pg_database) as admin:
        pid = await sleeper.fetchval("SELECT pg_backend_pid()")
        sleeping = asyncio.create_task(sleeper.execute("SELECT pg_sleep(5)"))
        try:
            await wait_until(
                admin,
                "SELECT state = 'active' FROM pg_stat_activity WHERE pid = $1 "
                "AND query LIKE 'SELECT pg_sleep%'",
                pid,
            )
            await asyncio.sleep(1.2)
            result = await run(
                "postgres",
                {"dsn": pg_database},
                thresholds={"longest_query_s": {"warning": "> 1", "critical": "> 300"}},
            )
        finally:
            await admin.execute("SELECT pg_cancel_backend($1)", pid)
            with contextlib.suppress(asyncpg.QueryCanceledError):
                await sleeping
    assert result.samples["longest_query_s"] > 1
    assert result.samples["active_queries"] >= 1
    # the server is shared: CRITICAL only if another client runs a 5-minute query meanwhile
    assert result.status in (Status.WARNING, Status.CRITICAL)
    assert result.message.startswith("longest_query_s ")


async def test_connections_used_pct_threshold_is_wired(pg_database: str) -> None:
    result = await run(
        "postgres",
        {"dsn": pg_database},
        thresholds={"connections_used_pct": {"critical": "> 0.01"}},
    )
    value = result.samples["connections_used_pct"]
    assert 0 < value <= 100
    assert value == pytest.approx(
        result.samples["connections"] / result.samples["max_connections"] * 100
    )
    assert result.status is Status.CRITICAL
    assert result.message.startswith("connections_used_pct ")
    assert "> 0.01" in result.message


async def test_connection_count_follows_open_sessions(cluster: Cluster) -> None:
    before = await run("postgres", {"dsn": cluster.primary_url})
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(4):
            await stack.enter_async_context(connected(cluster.primary_url))
        during = await run("postgres", {"dsn": cluster.primary_url})
    assert during.samples["connections"] == before.samples["connections"] + 4
    assert during.samples["connections_used_pct"] == pytest.approx(
        during.samples["connections"] / during.samples["max_connections"] * 100
    )


async def test_stopped_server_is_critical() -> None:
    port = free_port()
    result = await run("postgres", {"dsn": f"postgresql://postgres:hunter2@127.0.0.1:{port}/x"})
    assert result.status is Status.CRITICAL
    assert result.message == f"cannot connect to 127.0.0.1:{port}: Connection refused"
    assert result.samples == {}


async def test_unknown_database_is_critical(pg_database: str) -> None:
    dsn = pg_database.rsplit("/", 1)[0] + "/opsbook_no_such_database"
    result = await run("postgres", {"dsn": dsn})
    assert result.status is Status.CRITICAL
    assert 'database "opsbook_no_such_database" does not exist' in result.message


async def test_unknown_role_is_critical_without_password(pg_database: str) -> None:
    host = pg_database.split("@", 1)[1]
    dsn = f"postgresql://opsbook_no_such_role:hunter2-secret@{host}"
    result = await run("postgres", {"dsn": dsn})
    assert result.status is Status.CRITICAL
    assert "login to " in result.message and "rejected" in result.message
    assert 'role "opsbook_no_such_role" does not exist' in result.message
    assert "hunter2" not in result.message


async def test_wrong_password_is_critical_without_echoing_it(cluster: Cluster) -> None:
    async with connected(cluster.primary_url) as admin:
        await admin.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD 'right-horse-battery'")
        try:
            wrong = await run("postgres", {"dsn": cluster.url(PASSWORD_ROLE, "wrong-staple-9")})
            right = await run(
                "postgres", {"dsn": cluster.url(PASSWORD_ROLE, "right-horse-battery")}
            )
        finally:
            await admin.execute(f"DROP ROLE {PASSWORD_ROLE}")
    assert wrong.status is Status.CRITICAL
    assert f'password authentication failed for user "{PASSWORD_ROLE}"' in wrong.message
    assert "wrong-staple" not in wrong.message
    assert right.status is Status.OK, right.message


async def test_silent_server_times_out() -> None:
    with socket.socket() as listener:  # accepts TCP connections, never speaks
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        started = time.monotonic()
        result = await run(
            "postgres", {"dsn": f"postgresql://postgres@127.0.0.1:{port}/x", "timeout": "500ms"}
        )
    assert result.status is Status.CRITICAL
    assert "0.5s" in result.message
    assert time.monotonic() - started < 3


async def test_slow_custom_query_is_cancelled_on_the_server(pg_database: str) -> None:
    slow = {"name": "slow", "sql": "SELECT count(*) FROM pg_sleep(30)"}
    after = {"name": "after", "sql": "SELECT 1"}
    started = time.monotonic()
    result = await run("postgres", {"dsn": pg_database, "timeout": "1s", "queries": [slow, after]})
    elapsed = time.monotonic() - started
    assert result.status is Status.CRITICAL
    assert result.message.startswith(
        "query slow failed: canceling statement due to statement timeout; "
        "query after skipped: the check's 1s timeout is used up; SELECT 1 in "
    )
    assert elapsed < 1.5
    database = pg_database.rsplit("/", 1)[1]
    async with connected(pg_database) as admin:
        still_sleeping = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 "
            "AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()",
            database,
        )
    assert still_sleeping == 0


async def test_replica_reports_replication_lag(cluster: Cluster) -> None:
    async with connected(cluster.primary_url) as primary, connected(cluster.replica_url) as replica:
        await primary.execute("CREATE TABLE IF NOT EXISTS ticks (at timestamptz)")
        await primary.execute("INSERT INTO ticks VALUES (now())")
        await wait_until(replica, "SELECT pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()")
        caught_up = await run("postgres", {"dsn": cluster.replica_url})
        await replica.execute("SELECT pg_wal_replay_pause()")
        try:
            await asyncio.sleep(1.5)  # the last replayed transaction ages
            await primary.execute("INSERT INTO ticks VALUES (now())")
            await wait_until(replica, "SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()")
            behind = await run(
                "postgres",
                {"dsn": cluster.replica_url},
                thresholds={"replication_lag_s": {"warning": "> 1", "critical": "> 30"}},
            )
        finally:
            await replica.execute("SELECT pg_wal_replay_resume()")
    assert caught_up.status is Status.OK, caught_up.message
    assert caught_up.samples["replication_lag_s"] == 0
    assert "replica replication lag 0.0s" in caught_up.message
    assert behind.samples["replication_lag_s"] > 1
    assert behind.status is Status.WARNING
    assert behind.message.startswith("replication_lag_s ")


async def test_primary_with_replica_reports_replication_lag(cluster: Cluster) -> None:
    async with connected(cluster.primary_url) as primary:
        await wait_until(primary, "SELECT count(*) > 0 FROM pg_stat_replication")
    result = await run("postgres", {"dsn": cluster.primary_url})
    assert result.status is Status.OK, result.message
    assert 0 <= result.samples["replication_lag_s"] < 5
    assert "primary replication lag" in result.message
