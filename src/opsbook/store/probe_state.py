"""Durable probe state (e.g. how far a log check has read) so restarts resume, not rescan."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from opsbook.store.tables import probe_state


class ProbeStateRepository:
    """Implements `opsbook.checks.context.ProbeState` on the store."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] | None = None) -> None:
        self._engine = engine
        self._clock = clock or (lambda: datetime.now(UTC))

    def load(self, key: str) -> dict[str, Any] | None:
        with self._engine.connect() as conn:
            value = conn.execute(
                select(probe_state.c.value).where(probe_state.c.key == key)
            ).scalar_one_or_none()
        return json.loads(value) if value is not None else None

    def save(self, key: str, value: dict[str, Any]) -> None:
        row = {"key": key, "value": json.dumps(value), "updated_at": self._clock()}
        with self._engine.begin() as conn:
            updated = conn.execute(
                probe_state.update().where(probe_state.c.key == key).values(**row)
            ).rowcount
            if not updated:
                conn.execute(probe_state.insert().values(**row))
