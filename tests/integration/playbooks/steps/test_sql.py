"""The sql step against a real PostgreSQL: read-only by default, bind parameters only,
the server's statement timeout, and killing a real long-running query."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any, LiteralString

import psycopg
import pytest

from opsbook.config.models import Config
from opsbook.playbooks.steps.base import StepContext, StepResult, StepStatus
from tests.unit.playbooks.steps.stepctx import config, context, run

# content-service-deploy "Phase 1": the user sync view that must return 0 rows
SCHEMA = """
CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);
CREATE TABLE synced_users (id int PRIMARY KEY);
CREATE VIEW v_user_sync_missing AS
  SELECT u.id, u.email FROM users u LEFT JOIN synced_users s ON s.id = u.id
  WHERE s.id IS NULL;
INSERT INTO users VALUES (1, 'alice@example.com'), (2, 'bob@example.com');
INSERT INTO synced_users VALUES (1), (2);
"""


@pytest.fixture
def database(pg_database: str) -> str:
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(SCHEMA)
    return pg_database


def cfg(url: str, environ: dict[str, str] | None = None) -> Config:
    return config(f'connections:\n  - name: users\n    postgres: {{dsn: "{url}"}}\n', environ)


def ctx_for(url: str, **kwargs: Any) -> StepContext:
    return context(cfg(url), **kwargs)


def scalar(url: str, query: LiteralString) -> Any:
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()
        return row[0] if row else None


async def sync_check(url: str) -> StepResult:
    block = {"connection": "users", "query": "SELECT * FROM v_user_sync_missing",
             "expect": {"rows": 0}}  # fmt: skip
    return await run("sql", block, ctx_for(url))


async def test_v_user_sync_missing_returns_0_rows(database: str) -> None:
    healthy = await sync_check(database)
    assert healthy.status is StepStatus.OK, healthy.summary
    assert healthy.summary == "SELECT 0: 0 rows"
    assert healthy.output == "id | email\n---+------\n(0 rows)"
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("INSERT INTO users VALUES (3, 'carol@example.com')")
    broken = await sync_check(database)
    assert broken.status is StepStatus.FAILED
    assert broken.summary == "SELECT 1: 1 row: 1 rows, expected 0"
    assert broken.output == ("id | email\n---+------------------\n3  | carol@example.com\n(1 row)")


async def test_a_read_only_step_cannot_write(database: str) -> None:
    lines: list[str] = []
    result = await run("sql", {"connection": "users", "query": "DELETE FROM users"},
                       ctx_for(database, lines=lines))  # fmt: skip
    assert result.status is StepStatus.FAILED
    assert result.summary == (
        "cannot execute DELETE in a read-only transaction; this step is read only: set "
        "write: true for a step that changes data"
    )
    assert scalar(database, "SELECT count(*) FROM users") == 2


async def test_a_statement_cannot_leave_the_read_only_transaction(database: str) -> None:
    sneaky = "SELECT 1; COMMIT; DELETE FROM users"
    result = await run("sql", {"connection": "users", "query": sneaky}, ctx_for(database))
    assert result.status is StepStatus.FAILED
    assert "cannot insert multiple commands into a prepared statement" in result.summary
    assert scalar(database, "SELECT count(*) FROM users") == 2


async def test_write_true_commits(database: str) -> None:
    block = {"connection": "users", "write": True,
             "query": "INSERT INTO synced_users SELECT id FROM v_user_sync_missing"}  # fmt: skip
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("INSERT INTO users VALUES (3, 'carol@example.com')")
    result = await run("sql", block, ctx_for(database))
    assert result.status is StepStatus.OK, result.summary
    assert result.summary == "INSERT 0 1"
    assert result.output == "INSERT 0 1"
    assert (await sync_check(database)).status is StepStatus.OK


async def test_hostile_parameters_are_bind_values(database: str) -> None:
    hostile = "x'; DROP TABLE users; --"
    block = {"connection": "users", "query": "SELECT id FROM users WHERE email = %(email)s",
             "params": {"email": "{{ params.email }}"}, "expect": {"rows": 0}}  # fmt: skip
    result = await run("sql", block, ctx_for(database, params={"email": hostile}))
    assert result.status is StepStatus.OK, result.summary
    assert scalar(database, "SELECT count(*) FROM users") == 2


async def test_value_expectation_and_saved_columns(database: str) -> None:
    block: dict[str, Any] = {
        "connection": "users",
        "query": "SELECT count(*) AS users, max(email) AS last, now()::date AS today "
                 "FROM users WHERE id >= %(from_id)s",
        "params": {"from_id": "{{ params.from_id }}"},
        "expect": {"value": 2, "min_rows": 1, "max_rows": 1},
        "save": {"user_count": "users", "last_email": "last"},
    }  # fmt: skip
    result = await run("sql", block, ctx_for(database, params={"from_id": 1}))
    assert result.status is StepStatus.OK, result.summary
    assert result.vars == {"user_count": 2, "last_email": "bob@example.com"}
    wrong = await run("sql", {**block, "expect": {"value": "{{ params.want }}"}, "save": {}},
                      ctx_for(database, params={"from_id": 2, "want": "2"}))  # fmt: skip
    assert wrong.status is StepStatus.FAILED
    assert wrong.summary == "SELECT 1: 1 row: value is 1, expected '2'"
    missing = await run("sql", {**block, "expect": None, "save": {"x": "nope"}},
                        ctx_for(database, params={"from_id": 1}))  # fmt: skip
    assert missing.summary.endswith("cannot save x: no column 'nope' (got users, last, today)")


async def test_statement_timeout_stops_the_query_on_the_server(database: str) -> None:
    started = time.monotonic()
    ctx = ctx_for(database, timeout=timedelta(milliseconds=300))
    result = await run("sql", {"connection": "users", "query": "SELECT pg_sleep(30)"}, ctx)
    assert time.monotonic() - started < 5
    assert result.status is StepStatus.FAILED
    assert result.summary == "statement timeout: stopped by the server after 300ms"
    active = (
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE query = 'SELECT pg_sleep(30)' AND datname = current_database()"
    )
    assert scalar(database, active) == 0


async def test_kill_long_running_queries(database: str) -> None:
    # practice-app "High Database CPU" → "Immediate: Kill long-running queries". The
    # datname filter keeps the step to this test's own database on a shared server.
    blocked = await psycopg.AsyncConnection.connect(database, autocommit=True)
    sleeper = asyncio.create_task(blocked.execute("SELECT pg_sleep(60)"))
    probe = (
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE query = 'SELECT pg_sleep(60)' AND datname = current_database()"
    )
    deadline = time.monotonic() + 10
    while scalar(database, probe) != 1 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    block = {
        "connection": "users",
        "write": True,
        "query": "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                 "WHERE state = 'active' AND query LIKE 'SELECT pg_sleep%%' "
                 "AND pid <> pg_backend_pid() AND datname = current_database()",
        "expect": {"rows": 1, "value": True},
    }  # fmt: skip
    try:
        result = await run("sql", block, ctx_for(database))
        assert result.status is StepStatus.OK, result.summary
        assert result.output == "pg_terminate_backend\n--------------------\nTrue\n(1 row)"
        with pytest.raises(psycopg.OperationalError, match="terminating connection"):
            async with asyncio.timeout(10):
                await sleeper
    finally:
        sleeper.cancel()
        await blocked.close()


async def test_many_rows_are_counted_but_only_the_first_are_kept(database: str) -> None:
    block = {"connection": "users", "query": "SELECT g AS n FROM generate_series(1, 20000) g",
             "expect": {"min_rows": 20000}}  # fmt: skip
    result = await run("sql", block, ctx_for(database))
    assert result.status is StepStatus.OK, result.summary
    assert result.summary == "SELECT 20000: 20000 rows"
    assert result.output.endswith("50\n(20000 rows, first 50 shown)")


async def test_errors_fail_the_step_with_the_server_message(database: str) -> None:
    result = await run("sql", {"connection": "users", "query": "SELECT * FROM v_user_sync"},
                       ctx_for(database))  # fmt: skip
    assert result.status is StepStatus.FAILED
    assert result.summary.startswith('UndefinedTable: relation "v_user_sync" does not exist')


async def test_an_unreachable_server_fails_without_showing_the_password() -> None:
    url = "postgresql://app:pg-pass-123456@127.0.0.1:1/users"
    result = await run("sql", {"connection": "users", "query": "SELECT 1"}, ctx_for(url))
    assert result.status is StepStatus.FAILED
    assert "pg-pass-123456" not in result.summary
    assert result.summary.startswith("OperationalError: connection failed")
