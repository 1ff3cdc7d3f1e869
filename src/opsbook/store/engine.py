"""Open the database behind a URL: SQLite (WAL) by default, PostgreSQL when asked."""

from __future__ import annotations

import functools
import math
import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from opsbook.errors import StoreError

DB_ENV = "OPSBOOK_DB"


def resolve_url(
    explicit: str | None, config_path: Path | None, environ: Mapping[str, str] | None = None
) -> str:
    """`--db`, else `$OPSBOOK_DB`, else a SQLite file next to the config (opsbook.db)."""
    env = os.environ if environ is None else environ
    url = explicit or env.get(DB_ENV)
    if url:
        return normalise_url(url)
    base = config_path.resolve() if config_path else Path.cwd() / "opsbook.yaml"
    return f"sqlite:///{base.with_suffix('.db')}"


def normalise_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, postgresql://) and pick our drivers."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if "://" not in url:  # a bare path means a SQLite file
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Python's sqlite3 opens transactions lazily; these pragmas must run outside one.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    if not sqlite_has_math():
        # SQLite before 3.35, or built without them: the roll-up statements need ln/ceil.
        dbapi_connection.create_function("ln", 1, math.log, deterministic=True)
        dbapi_connection.create_function("ceil", 1, math.ceil, deterministic=True)


@functools.cache
def sqlite_has_math() -> bool:
    """Whether this SQLite library has the math functions (ln, ceil) built in."""
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("SELECT ln(2), ceil(1.5)")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


def open_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"invalid database URL: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=10)
    raise StoreError(
        f"unsupported database {parsed.get_backend_name()!r}; use sqlite or postgresql"
    )
