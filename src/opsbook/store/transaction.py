"""Write transactions that hold the write lock from their first statement."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """BEGIN IMMEDIATE on SQLite, so a read followed by a write cannot fail with a busy
    snapshot when another process (the CLI beside the engine) writes at the same time;
    an ordinary transaction on PostgreSQL, where row locks do that job."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as raw:
        conn = raw.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.exec_driver_sql("ROLLBACK")
            raise
        conn.exec_driver_sql("COMMIT")
