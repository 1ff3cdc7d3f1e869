"""SQL blocks as single statements, and which of them write."""

from __future__ import annotations

import pytest

from opsbook.playbooks.importer.sqltext import (
    danger,
    escape_percent,
    needs_own_transaction,
    split_statements,
    strip_terminator,
    tidy,
    writes,
)

# practice-app-ops.md, "Database Monitoring"
BLOCK = """\
-- Enable pg_stat_statements
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;

-- View slow queries
SELECT query, calls
FROM pg_stat_statements
WHERE query NOT LIKE '%;%'
ORDER BY mean_time DESC
LIMIT 20;

-- 3. Active connections
-- (only the busy ones)
SELECT pid FROM pg_stat_activity WHERE state != 'idle';
-- Afterwards: compare with yesterday
"""


def test_statements_titles_and_lines() -> None:
    statements = split_statements(BLOCK, 223)
    assert [(s.title, s.line) for s in statements] == [
        ("Enable pg_stat_statements", 224),
        ("View slow queries", 227),
        ("Active connections — (only the busy ones)", 235),
        ("Afterwards: compare with yesterday", 236),
    ]
    assert statements[1].text.startswith("SELECT query, calls\n")
    assert statements[1].text.endswith("LIMIT 20;")
    assert statements[3].text == ""  # a comment after the last statement: an instruction


def test_semicolons_in_strings_comments_and_dollar_quotes_do_not_split() -> None:
    text = "SELECT ';' -- ; here\n, $$a;b$$, $tag$c;d$tag$, \"we;ird\";\nSELECT 2;"
    assert [s.text for s in split_statements(text, 1)] == [
        "SELECT ';' -- ; here\n, $$a;b$$, $tag$c;d$tag$, \"we;ird\";",
        "SELECT 2;",
    ]


@pytest.mark.parametrize(
    ("query", "write"),
    [
        ("SELECT * FROM pg_stat_activity", False),
        ("select count(*) from users where note = 'DELETE FROM x'", False),
        ("EXPLAIN SELECT 1", False),
        ("SHOW work_mem", False),
        ("WITH t AS (SELECT 1) SELECT * FROM t", False),
        ("INSERT INTO t VALUES (1)", True),
        ("update t set a = 1 where id = 2", True),
        ("DELETE FROM t WHERE id = 1", True),
        ("DROP TABLE t", True),
        ("ALTER TABLE t ADD COLUMN c int", True),
        ("TRUNCATE t", True),
        ("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", True),
        ("GRANT SELECT ON t TO r", True),
        ("VACUUM ANALYZE t", True),
        ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity", True),
        ("SELECT pg_cancel_backend(123)", True),
        ("SELECT setval('s', 1)", True),
        ("SELECT * INTO copy FROM t", True),
        ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", True),
        ("-- note\nSELECT 1", False),
    ],
)
def test_write_detection(query: str, write: bool) -> None:
    assert writes(query) is write


@pytest.mark.parametrize(
    ("query", "reasons"),
    [
        ("DROP TABLE sessions", ["drops a database object (DROP)"]),
        ("TRUNCATE audit_log", ["empties a table (TRUNCATE)"]),
        ("DELETE FROM users WHERE id = 1", ["deletes rows (DELETE)"]),
        ("ALTER TABLE t DROP COLUMN c", ["drops a column or constraint (ALTER TABLE … DROP)"]),
        ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
         ["ends other sessions (pg_terminate_backend)"]),
        ("UPDATE users SET active = false", ["changes every row of a table (UPDATE without WHERE)"]),
        ("UPDATE users SET active = false WHERE id = 1", []),
        ("INSERT INTO t VALUES (1)", []),
        ("SELECT 'DROP TABLE x'", []),
        ("CREATE INDEX i ON t (c)", []),
    ],
)  # fmt: skip
def test_danger(query: str, reasons: list[str]) -> None:
    assert danger(query) == reasons


def test_terminator_percent_and_transactions() -> None:
    assert strip_terminator("SELECT ';';  ") == "SELECT ';'"
    assert strip_terminator("SELECT 1 -- done;") == "SELECT 1 -- done;"
    assert escape_percent("LIKE 'a%'") == "LIKE 'a%%'"
    assert needs_own_transaction("VACUUM ANALYZE t")
    assert needs_own_transaction("CREATE INDEX CONCURRENTLY i ON t (c)")
    assert not needs_own_transaction("SELECT 'VACUUM'")


def test_tidy_strips_line_ends_outside_literals() -> None:
    assert tidy("SELECT a  \nFROM t \nWHERE x = 'multi  \nline'  ") == (
        "SELECT a\nFROM t\nWHERE x = 'multi  \nline'  "
    )
