"""Pure parts of the postgres check: config validation, DSN handling, custom query results."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsbook.checks.postgres import (
    BUILTIN_SAMPLES,
    KIND,
    PostgresCheck,
    check_dsn,
    describe_target,
    query_value,
    statement_timeout_ms,
)
from opsbook.config.loader import load_config_text
from opsbook.errors import ConfigError
from tests.checkutil import make_check

DOC = Path(__file__).parents[3] / "docs" / "checks" / "postgres.md"

HEAD = "project:\n  name: content-service\nchecks:\n  - name: users-db\n"
QUERIES = "    postgres: {{dsn: 'postgresql://h/db', queries: [{}]}}\n"
ENV = {"DATABASE_URL": "postgresql://app:s3cr3t-pw@db.internal:5432/redcube_users"}


def load(check_body: str, environ: dict[str, str] | None = None) -> PostgresCheck:
    config = load_config_text(HEAD + check_body, environ=ENV if environ is None else environ)
    spec = config.checks[0].spec
    assert isinstance(spec, PostgresCheck)
    return spec


def issues(check_body: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(check_body, environ)
    return [f"{i.path}: {i.message}" for i in caught.value.issues]


def test_runbook_config_loads_and_keeps_dsn_secret() -> None:
    spec = load(
        "    postgres:\n"
        "      dsn: ${ENV:DATABASE_URL}\n"
        "      timeout: 5s\n"
        "      queries:\n"
        "        - name: sync_missing\n"
        '          sql: "SELECT count(*) FROM v_user_sync_missing"\n'
        "    thresholds:\n"
        '      sync_missing: {critical: "> 0"}\n'
        '      connections_used_pct: {warning: "> 70"}\n'
    )
    assert spec.dsn.get_secret_value() == ENV["DATABASE_URL"]
    assert "s3cr3t" not in repr(spec) and "s3cr3t" not in str(spec.model_dump())
    assert [q.name for q in spec.queries] == ["sync_missing"]
    assert spec.timeout.total_seconds() == 5


def test_samples_are_the_builtins_plus_each_query() -> None:
    check = make_check(
        "postgres",
        {"dsn": "postgresql://h/db", "queries": [{"name": "sync_missing", "sql": "SELECT 0"}]},
    )
    assert KIND.samples(check.spec) == frozenset(BUILTIN_SAMPLES) | {"sync_missing"}
    plain = make_check("postgres", {"dsn": "postgres://h/db"})
    assert "replication_lag_s" in KIND.samples(plain.spec)  # type: ignore[operator]


def test_connection_pool_defaults_follow_the_runbook() -> None:
    """practice-app: "Connection Pool: Warning > 80% used, Critical > 95% used"."""
    check = make_check("postgres", {"dsn": "postgresql://h/db"})
    bounds = check.effective_thresholds()["connections_used_pct"]
    assert (str(bounds.warning), str(bounds.critical)) == ("> 80", "> 95")
    own = make_check(
        "postgres", {"dsn": "postgresql://h/db"}, thresholds={"connections_used_pct": {}}
    )
    off = own.effective_thresholds()["connections_used_pct"]
    assert off.warning is None and off.critical is None


def test_threshold_on_unknown_sample_suggests_the_right_one() -> None:
    found = issues(
        "    postgres: {dsn: 'postgresql://h/db'}\n"
        "    thresholds:\n"
        '      conections_used_pct: {warning: "> 80"}\n'
    )
    assert found == [
        "checks[0].thresholds.conections_used_pct: unknown sample of a postgres check "
        "'conections_used_pct'; did you mean 'connections_used_pct'?"
    ]


def test_threshold_on_a_query_name_is_accepted_only_when_the_query_exists() -> None:
    body = (
        "    postgres:\n"
        "      dsn: postgresql://h/db\n"
        "      queries: [{name: sync_missing, sql: 'SELECT 0'}]\n"
        "    thresholds:\n"
        '      sync_mising: {critical: "> 0"}\n'
    )
    assert issues(body) == [
        "checks[0].thresholds.sync_mising: unknown sample of a postgres check "
        "'sync_mising'; did you mean 'sync_missing'?"
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "    postgres: {dsn: 'mysql://root:hunter2@h/db'}\n",
            "checks[0].postgres.dsn: expected a postgresql:// URL (got scheme 'mysql')",
        ),
        (
            "    postgres: {dsn: 'db.internal:5432'}\n",
            "checks[0].postgres.dsn: expected a postgresql:// URL (got scheme none)",
        ),
        (
            "    postgres: {dsn: 'postgresql://app:hun/ter2@h/db'}\n",
            "checks[0].postgres.dsn: the URL's user or password contains '/', '?' or '#': "
            "percent-encode them (e.g. '/' as %2F)",
        ),
        (
            "    postgres: {dsn: 'postgresql://app:hunter2@h:port/db'}\n",
            "checks[0].postgres.dsn: the URL's host part must be host[:port] (several separated "
            "by commas); percent-encode special characters in the user or password",
        ),
        ("    postgres: {}\n", "checks[0].postgres.dsn: missing required key 'dsn'"),
        (
            "    postgres: {dsn: 'postgresql://h/db', timeout: 5}\n",
            "checks[0].postgres.timeout: expected a duration like '5s', got the number 5: "
            "add a unit",
        ),
        (
            "    postgres: {dsn: 'postgresql://h/db', queries: 'SELECT 1'}\n",
            "checks[0].postgres.queries: expected a list, got a string 'SELECT 1'",
        ),
        (
            QUERIES.format("{name: Sync-Missing, sql: 'SELECT 1'}"),
            "checks[0].postgres.queries[0].name: query name 'Sync-Missing' is not a valid sample "
            "name: use lowercase letters, digits and '_', starting with a letter",
        ),
        (
            QUERIES.format("{name: blocked_locks, sql: 'SELECT 1'}"),
            "checks[0].postgres.queries[0].name: query name 'blocked_locks' is a built-in sample "
            "of the postgres check",
        ),
        (
            "    postgres: {dsn: 'postgresql://h/db', queries: [{name: a, sql: '  '}]}\n",
            "checks[0].postgres.queries[0].sql: sql is empty",
        ),
        (
            "    postgres: {dsn: 'postgresql://h/db', queries: [{name: a}]}\n",
            "checks[0].postgres.queries[0].sql: missing required key 'sql'",
        ),
        (
            "    postgres: {dsn: 'postgresql://h/db', queries: [{name: a, sql: 'SELECT 1', "
            "timeout: 1s}]}\n",
            "checks[0].postgres.queries[0].timeout: unknown key 'timeout'",
        ),
        (
            "    postgres:\n      dsn: postgresql://h/db\n      queries:\n"
            "        - {name: a, sql: 'SELECT 1'}\n        - {name: a, sql: 'SELECT 2'}\n",
            "checks[0].postgres.queries: two queries are named 'a'",
        ),
    ],
)
def test_bad_config_gets_a_clear_located_message(body: str, expected: str) -> None:
    found = issues(body)
    assert any(message.startswith(expected) for message in found), found
    assert not any("hunter2" in message for message in found)


def test_dsn_from_environment_is_never_echoed_in_errors() -> None:
    found = issues(
        "    postgres: {dsn: '${ENV:DATABASE_URL}'}\n",
        environ={"DATABASE_URL": "mysql://app:top-secret-9@db/app"},
    )
    assert found == ["checks[0].postgres.dsn: expected a postgresql:// URL (got scheme 'mysql')"]


@pytest.mark.parametrize(
    ("dsn", "target"),
    [
        ("postgresql://app:pw@db.internal:5432/app", "db.internal:5432"),
        ("postgres://db.internal/app", "db.internal"),
        (
            "postgresql://app:pw@h1:5432,h2:5433/app?target_session_attrs=read-write",
            "h1:5432,h2:5433",
        ),
        ("postgresql://app:pw@[::1]:5432/app", "[::1]:5432"),
        ("postgresql:///app?host=/var/run/postgresql", "/var/run/postgresql"),
        ("postgresql:///app", "the local socket"),
    ],
)
def test_target_description(dsn: str, target: str) -> None:
    check_dsn(dsn)
    assert describe_target(dsn) == target


@given(
    user=st.text(min_size=1, max_size=20),
    password=st.text(min_size=6, max_size=30),
    host=st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True),
)
def test_target_never_shows_user_or_password(user: str, password: str, host: str) -> None:
    dsn = f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:5432/app"
    check_dsn(dsn)
    target = describe_target(dsn)
    assert target == f"{host}:5432"


@pytest.mark.parametrize(
    ("rows", "value"),
    [([(0,)], 0.0), ([(42,)], 42.0), ([(Decimal("0.25"),)], 0.25), ([(1.5,)], 1.5)],
)
def test_query_value_accepts_one_number(rows: list[tuple[object, ...]], value: float) -> None:
    assert query_value(rows) == value


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ([], "returned no rows"),
        ([(1,), (2,)], "returned more than one row (count them: SELECT count(*) FROM ...)"),
        ([(1, 2)], "returned 2 columns, expected one"),
        ([(None,)], "returned NULL"),
        ([(True,)], "returned a boolean"),
        ([("12",)], "returned text"),
        ([(float("inf"),)], "returned inf, expected a finite number"),
        ([(Decimal("NaN"),)], "returned nan"),
        ([(b"\x00",)], "returned a bytes"),
    ],
)
def test_query_value_says_what_is_wrong(rows: list[tuple[object, ...]], reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        query_value(rows)
    assert str(caught.value).startswith(reason)


@given(
    timeout=st.floats(min_value=0.01, max_value=3600),
    used=st.floats(min_value=0, max_value=1),
)
def test_statement_timeout_leaves_a_margin_within_the_budget(timeout: float, used: float) -> None:
    remaining = timeout * (1 - used)
    ms = statement_timeout_ms(remaining, timeout)
    assert ms >= 1
    assert ms <= max(1, remaining * 1000)
    if remaining - min(0.5, timeout * 0.1) > 0.002:
        assert ms < remaining * 1000  # the server gives up before the runner does


def test_documented_example_validates() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert len(blocks) == 1
    config = load_config_text(blocks[0], environ={})
    assert [c.kind for c in config.checks] == ["postgres"] * 2
