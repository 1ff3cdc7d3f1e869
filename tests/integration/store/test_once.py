"""Things that must happen once, on both stores: a used link or Idempotency-Key.

(PostgreSQL drivers report no row count for INSERT … ON CONFLICT DO NOTHING, so a check
built on it would let every replay through there; these tests pin the behaviour.)"""

from __future__ import annotations

from datetime import UTC, datetime

from opsbook.store import Store
from opsbook.store.transaction import write_transaction

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_a_token_is_used_once(store_url: str) -> None:
    with Store.open(store_url) as store:
        assert store.tokens.claim("link:n1", "first", NOW) is None
        assert store.tokens.claim("link:n1", "second", NOW) == "first"
        with write_transaction(store.engine) as conn:
            assert store.tokens.use_once(conn, "link:n1", "third", NOW) == "first"
        store.tokens.release("link:n1")
        assert store.tokens.claim("link:n1", "again", NOW) is None
