"""`sql`: one statement on a PostgreSQL connection, e.g. the content-service deploy's
"No missing users (v_user_sync_missing returns 0 rows)" or practice-app's "Kill
long-running queries" (``SELECT pg_terminate_backend(pid) FROM pg_stat_activity …``).

Values reach the statement only as bind parameters (``%(name)s``); the query text takes
no templates. A step reads unless it says `write: true`: it runs in a ``READ ONLY``
transaction, so an ``UPDATE`` fails instead of changing data. The statement is sent as a
prepared statement, which PostgreSQL accepts only as a single command, so ``SELECT 1;
COMMIT; DELETE …`` cannot step out of that transaction. A ``statement_timeout`` equal to
the step's time limit stops the query on the server, not just the wait for it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import Field, field_validator, model_validator

from opsbook.config.base import Name, Section
from opsbook.config.types import format_duration
from opsbook.playbooks.steps.base import StepContext, StepKind, StepResult, StepStatus, clip
from opsbook.playbooks.steps.expect import VarName
from opsbook.playbooks.templating import TemplateError, TemplateText, forbid_template

DEFAULT_TIMEOUT = dt.timedelta(minutes=1)
MAX_ROWS_SHOWN = 50
MAX_CELL = 80
FETCH_BATCH = 500
# The server's statement_timeout fires first; this only covers a server that hangs.
BACKSTOP_S = 5.0
APPLICATION_NAME = "opsbook-playbook"
_PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\)s|(?P<percent>%)|(?P<other>.?))", re.DOTALL)
_BIND_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def bind_names(query: str) -> set[str]:
    """The `%(name)s` parameters of a query; ValueError for any other use of `%`."""
    names: set[str] = set()
    for match in _PLACEHOLDER.finditer(query):
        if match.group("name") is not None:
            if not _BIND_NAME.match(match.group("name")):
                raise ValueError(f"bad bind parameter name %({match.group('name')})s")
            names.add(match.group("name"))
        elif match.group("percent") is None:
            raise ValueError(
                "a literal % is written %% (e.g. LIKE 'SELECT pg_sleep%%'); values are "
                "passed as %(name)s with the value under params:"
            )
    return names


class SqlExpect(Section):
    rows: int | None = Field(default=None, ge=0, description="Exactly this many rows.")
    max_rows: int | None = Field(default=None, ge=0, description="At most this many rows.")
    min_rows: int | None = Field(default=None, ge=0, description="At least this many rows.")
    value: TemplateText | int | float | bool | None = Field(
        default=None,
        description="The first column of the first row equals this (null: SQL NULL).",
    )

    def failures(self, count: int, first: Any, has_row: bool, ctx: StepContext) -> list[str]:
        problems = []
        if self.rows is not None and count != self.rows:
            problems.append(f"{count} rows, expected {self.rows}")
        if self.max_rows is not None and count > self.max_rows:
            problems.append(f"{count} rows, expected at most {self.max_rows}")
        if self.min_rows is not None and count < self.min_rows:
            problems.append(f"{count} rows, expected at least {self.min_rows}")
        if "value" in self.model_fields_set:
            wanted = ctx.render(self.value) if isinstance(self.value, str) else self.value
            if not has_row:
                problems.append(f"no row, expected the value {_literal(wanted)}")
            elif not _same(first, wanted):
                problems.append(f"value is {_literal(first)}, expected {_literal(wanted)}")
        return problems


class SqlConfig(Section):
    connection: Name = Field(description="A `connections:` entry with postgres: {dsn}.")
    query: str = Field(
        min_length=1,
        description="One statement; values as %(name)s bind parameters, a literal % as %%.",
    )
    params: dict[str, TemplateText] = Field(
        default_factory=dict, description="Bind parameter values (templates allowed)."
    )
    write: bool = Field(
        default=False, description="Allow changes (default: a READ ONLY transaction)."
    )
    expect: SqlExpect | None = Field(
        default=None, description="rows, max_rows, min_rows or value the result must show."
    )
    save: dict[VarName, str] = Field(
        default_factory=dict, description="Variables from the first row: NAME: column."
    )

    @field_validator("query")
    @classmethod
    def _plain_sql(cls, value: str) -> str:
        forbid_template(
            value,
            "query",
            "write %(name)s in the query and give the value under params: "
            "(name: '{{ params.x }}'); it is sent as a bind parameter, never as SQL",
        )
        if not value.strip():
            raise ValueError("query is empty")
        bind_names(value)
        return value

    @model_validator(mode="after")
    def _params_match(self) -> SqlConfig:
        used = bind_names(self.query)
        missing = sorted(used - set(self.params))
        unused = sorted(set(self.params) - used)
        if missing:
            raise ValueError(f"the query uses %({missing[0]})s but params: has no {missing[0]}")
        if unused:
            raise ValueError(f"params: {unused[0]} is not used in the query as %({unused[0]})s")
        return self


def _same(actual: Any, wanted: Any) -> bool:
    numbers = (int, float, Decimal)
    if isinstance(actual, bool) or isinstance(wanted, bool):
        return actual is wanted or str(actual).lower() == str(wanted).lower()
    if isinstance(actual, numbers) and isinstance(wanted, numbers):
        return float(actual) == float(wanted)
    if actual is None or wanted is None:
        return actual is wanted
    return str(actual) == str(wanted)


def _literal(value: Any) -> str:
    return "NULL" if value is None else repr(_plain(value))


def _plain(value: Any) -> Any:
    """A value fit for a variable (text, a number, a boolean) from a database value."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return str(value)


def _cell(value: Any) -> str:
    text = "NULL" if value is None else str(_plain(value))
    text = " ".join(text.split()) if "\n" in text or "\t" in text else text
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def render_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], count: int) -> str:
    """The rows as psql prints them, the first MAX_ROWS_SHOWN of `count`."""
    cells = [[_cell(v) for v in row] for row in rows[:MAX_ROWS_SHOWN]]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [
        " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    footer = f"({count} row{'' if count == 1 else 's'}"
    if count > len(cells):
        footer += f", first {len(cells)} shown"
    return "\n".join([*lines, footer + ")"])


def _dsn(spec: SqlConfig, ctx: StepContext) -> str:
    connection = ctx.config.connection(spec.connection)
    if connection is None or connection.postgres is None:
        raise LookupError(f"connection {spec.connection!r} is not a postgres connection")
    return connection.postgres.dsn


def describe(spec: SqlConfig, ctx: StepContext) -> str:
    mode = "read-write" if spec.write else "read only"
    lines = [f"sql on {spec.connection} ({mode}): {spec.query.strip()}"]
    lines += [f"  {name} = {ctx.render(value)!r}" for name, value in spec.params.items()]
    return ctx.redactor("\n".join(lines))


def _failed(summary: str, output: str = "") -> StepResult:
    return StepResult(StepStatus.FAILED, summary, output, error=summary)


async def _execute(
    spec: SqlConfig, dsn: str, binds: dict[str, str], limit: dt.timedelta
) -> tuple[list[str], list[tuple[Any, ...]], int, str]:
    """Column names, the first rows, the row count and the command tag."""
    import psycopg  # loaded when a step runs, not with the config

    async with await psycopg.AsyncConnection.connect(
        dsn, autocommit=False, application_name=APPLICATION_NAME
    ) as conn:
        async with conn.cursor() as cur:
            if not spec.write:
                await cur.execute("SET TRANSACTION READ ONLY")
            milliseconds = str(max(1, int(limit.total_seconds() * 1000)))
            await cur.execute("SELECT set_config('statement_timeout', %s, true)", [milliseconds])
            await cur.execute(spec.query, binds, prepare=True)
            columns = [c.name for c in cur.description or ()]
            kept: list[tuple[Any, ...]] = []
            count = 0
            if cur.description is not None:
                while batch := await cur.fetchmany(FETCH_BATCH):
                    kept += batch[: MAX_ROWS_SHOWN - len(kept)]
                    count += len(batch)
            else:
                count = max(cur.rowcount, 0)
            tag = cur.statusmessage or ""
        if spec.write:
            await conn.commit()
        else:
            await conn.rollback()
    return columns, kept, count, tag


async def run(spec: SqlConfig, ctx: StepContext) -> StepResult:
    import psycopg

    try:
        binds = {name: ctx.render(value) for name, value in spec.params.items()}
        dsn = _dsn(spec, ctx)
    except (TemplateError, LookupError) as exc:
        return _failed(str(exc))
    try:
        async with asyncio.timeout(ctx.timeout.total_seconds() + BACKSTOP_S):
            columns, rows, count, tag = await _execute(spec, dsn, binds, ctx.timeout)
    except TimeoutError:
        return _failed(f"timed out after {format_duration(ctx.timeout)}")
    except psycopg.errors.ReadOnlySqlTransaction as exc:
        reason = exc.diag.message_primary or str(exc)
        return _failed(
            ctx.redactor(
                f"{reason}; this step is read only: set write: true for a step that changes data"
            )
        )
    except psycopg.errors.QueryCanceled:
        limit = format_duration(ctx.timeout)
        return _failed(f"statement timeout: stopped by the server after {limit}")
    except psycopg.Error as exc:
        return _failed(ctx.redactor(f"{type(exc).__name__}: {str(exc).strip()}"))
    output = clip(ctx.redactor(render_table(columns, rows, count) if columns else tag))
    for line in output.splitlines():
        ctx.on_output(line)
    return _judge(spec, ctx, columns, rows, count, tag, output)


def _judge(
    spec: SqlConfig,
    ctx: StepContext,
    columns: list[str],
    rows: list[tuple[Any, ...]],
    count: int,
    tag: str,
    output: str,
) -> StepResult:
    summary = f"{tag}: {count} row{'' if count == 1 else 's'}" if columns else tag
    first = rows[0][0] if rows and rows[0] else None
    problems: list[str] = []
    if spec.expect is not None:
        try:
            problems += spec.expect.failures(count, first, bool(rows), ctx)
        except TemplateError as exc:
            problems.append(str(exc))
    saved: dict[str, Any] = {}
    for var, column in spec.save.items():
        if column not in columns:
            problems.append(f"cannot save {var}: no column {column!r} (got {', '.join(columns)})")
        elif not rows:
            problems.append(f"cannot save {var}: the query returned no rows")
        else:
            saved[var] = _plain(rows[0][columns.index(column)])
    if problems:
        return _failed(ctx.redactor(f"{summary}: {'; '.join(problems)}"), output)
    return StepResult(StepStatus.OK, summary, output, vars=saved)


def _default_timeout(_spec: SqlConfig) -> dt.timedelta:
    return DEFAULT_TIMEOUT


KIND = StepKind(
    "sql",
    SqlConfig,
    run,
    describe,
    "Run one SQL statement (read only unless write: true); check rows or a value.",
    default_timeout=_default_timeout,
)
