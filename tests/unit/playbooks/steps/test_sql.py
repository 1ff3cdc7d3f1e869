"""The sql step's config, the statement a dry run shows, and the result table."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from opsbook.errors import ConfigError
from opsbook.playbooks.steps import sql
from tests.unit.playbooks.steps.stepctx import config, context, describe, spec

# practice-app "High Database CPU", immediate fix: kill long-running queries
KILL = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE state = 'active' AND query_start < now() - %(older_than)s::interval"
)


def error(block: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        spec("sql", block)
    return str(caught.value)


def test_read_only_by_default() -> None:
    parsed = spec("sql", {"connection": "main", "query": "SELECT * FROM v_user_sync_missing"})
    assert isinstance(parsed, sql.SqlConfig)
    assert parsed.write is False


def test_templates_in_the_query_are_refused_with_the_safe_way() -> None:
    message = error({"connection": "main",
                     "query": "SELECT * FROM users WHERE id = '{{ params.user }}'"})  # fmt: skip
    assert "query cannot contain templates" in message
    assert "write %(name)s in the query and give the value under params:" in message


def test_percent_signs_must_be_placeholders_or_doubled() -> None:
    assert "a literal % is written %%" in error(
        {"connection": "main", "query": "SELECT 1 WHERE 'a' LIKE 'a%'"}
    )
    assert "a literal % is written %%" in error(
        {"connection": "main", "query": "SELECT %s", "params": {}}
    )
    spec("sql", {"connection": "main", "query": "SELECT 1 WHERE 'a' LIKE 'a%%'"})


def test_bind_parameters_and_params_must_match() -> None:
    assert "has no older_than" in error({"connection": "main", "query": KILL})
    assert "limit is not used in the query" in error(
        {"connection": "main", "query": KILL, "params": {"older_than": "5m", "limit": "1"}}
    )
    assert "bad bind parameter name" in error(
        {"connection": "main", "query": "SELECT %(a b)s", "params": {}}
    )


def test_bad_expectations_and_keys() -> None:
    assert "greater than or equal to 0" in error(
        {"connection": "main", "query": "SELECT 1", "expect": {"rows": -1}}
    )
    assert "Extra inputs are not permitted" in error(
        {"connection": "main", "query": "SELECT 1", "expect": {"row": 0}}
    )
    assert "string_pattern_mismatch" in error(
        {"connection": "main", "query": "SELECT 1", "save": {"my var": "id"}}
    )


def test_the_connection_must_exist_and_be_postgres() -> None:
    body = """
    connections:
      - name: cache
        redis: {url: "redis://127.0.0.1:6379/0"}
    playbooks:
      - name: sync
        steps:
          - name: missing
            sql: {connection: %s, query: "SELECT * FROM v_user_sync_missing"}
    """
    with pytest.raises(ConfigError, match="connection 'cache' is not a postgres connection"):
        config(body % "cache")
    with pytest.raises(ConfigError, match="unknown connection 'users'"):
        config(body % "users")


def test_describe_shows_the_statement_and_each_bind_value() -> None:
    ctx = context(params={"age": "5 minutes"})
    block = {"connection": "main", "query": KILL, "params": {"older_than": "{{ params.age }}"},
             "write": True}  # fmt: skip
    assert describe("sql", block, ctx) == (
        f"sql on main (read-write): {KILL}\n  older_than = '5 minutes'"
    )


def test_describe_of_a_read_only_check() -> None:
    block = {"connection": "users", "query": "SELECT * FROM v_user_sync_missing;\n"}
    assert describe("sql", block) == "sql on users (read only): SELECT * FROM v_user_sync_missing;"


def test_describe_masks_secret_values() -> None:
    cfg = config(environ={})
    ctx = context(cfg, params={"token": "tok-abcdef123456"})
    ctx.redactor = ctx.redactor.with_secrets(["tok-abcdef123456"])
    block = {"connection": "main", "query": "SELECT %(t)s", "params": {"t": "{{ params.token }}"}}
    assert describe("sql", block, ctx) == "sql on main (read only): SELECT %(t)s\n  t = '***'"


def test_rows_render_as_a_psql_table() -> None:
    rows = [(4211, "alice@example.com", None, date(2025, 11, 27)),
            (4212, "bob", Decimal("1.50"), date(2025, 11, 28))]  # fmt: skip
    assert sql.render_table(["id", "email", "score", "created"], rows, 2) == (
        "id   | email             | score | created\n"
        "-----+-------------------+-------+-----------\n"
        "4211 | alice@example.com | NULL  | 2025-11-27\n"
        "4212 | bob               | 1.5   | 2025-11-28\n"
        "(2 rows)"
    )


def test_long_results_show_the_first_rows_and_say_so() -> None:
    rows = [(i, "x" * 200) for i in range(sql.MAX_ROWS_SHOWN)]
    text = sql.render_table(["n", "long"], rows, 1000)
    lines = text.splitlines()
    assert len(lines) == 2 + sql.MAX_ROWS_SHOWN + 1
    assert lines[-1] == f"(1000 rows, first {sql.MAX_ROWS_SHOWN} shown)"
    assert lines[2].endswith("x" * (sql.MAX_CELL - 1) + "…")
    assert sql.render_table(["n"], [], 0) == "n\n-\n(0 rows)"
