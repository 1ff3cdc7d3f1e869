"""Things that must take effect once (used links, replayed requests) and the store's own
generated secrets."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Connection, Engine, Table, delete, select

from opsbook.store.tables import store_settings, used_tokens
from opsbook.store.transaction import write_transaction
from opsbook.store.upsert import insert_for


def _insert_ignore(conn: Connection, table: Table, values: dict[str, object]) -> bool:
    """Insert unless the key exists; True if this call inserted. (RETURNING, not
    rowcount: drivers disagree on rowcount for INSERT … ON CONFLICT DO NOTHING.)"""
    insert = insert_for(conn)
    key = next(iter(table.primary_key.columns))
    statement = insert(table).values(**values).on_conflict_do_nothing().returning(key)
    return conn.execute(statement).first() is not None


class TokenRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @staticmethod
    def use_once(conn: Connection, key: str, outcome: str, now: datetime) -> str | None:
        """Mark `key` used. None if this is the first use; otherwise the outcome recorded
        by the first use (so a replay can say what already happened)."""
        values = {"key": key[:300], "used_at": now, "outcome": outcome}
        if _insert_ignore(conn, used_tokens, values):
            return None
        first = conn.execute(
            select(used_tokens.c.outcome).where(used_tokens.c.key == key[:300])
        ).scalar()
        return str(first) if first is not None else outcome

    def claim(self, key: str, outcome: str, now: datetime) -> str | None:
        """`use_once` in a transaction of its own."""
        with write_transaction(self._engine) as conn:
            return self.use_once(conn, key, outcome, now)

    def release(self, key: str) -> None:
        """Forget a claim whose work failed, so the same request may be sent again."""
        with write_transaction(self._engine) as conn:
            conn.execute(delete(used_tokens).where(used_tokens.c.key == key[:300]))

    def secret(self, name: str) -> bytes:
        """A random 32-byte secret generated on first use and kept in the store: every
        node sharing the store, and the CLI, sign and verify with the same key."""
        with write_transaction(self._engine) as conn:
            _insert_ignore(conn, store_settings, {"key": name, "value": secrets.token_hex(32)})
            value = conn.execute(
                select(store_settings.c.value).where(store_settings.c.key == name)
            ).scalar_one()
        return bytes.fromhex(value)
