"""INSERT ... ON CONFLICT for both backends, so repositories stay dialect-free."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert


def insert_for(bind: Connection | Engine) -> Any:
    """The dialect's INSERT construct (the one with ON CONFLICT) for this database."""
    return pg_insert if bind.dialect.name == "postgresql" else sqlite_insert


def upsert(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """Insert rows, replacing every non-key column of rows whose key already exists."""
    if not rows:
        return
    statement = insert_for(conn)(table)
    updates = {c: statement.excluded[c] for c in rows[0] if c not in keys}
    conn.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=updates), rows)
