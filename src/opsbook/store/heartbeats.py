"""What each heartbeat's pings said, and since when it is watched."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update

from opsbook.inbound.heartbeats import HeartbeatState, Ping, apply_ping
from opsbook.store.tables import heartbeat_state
from opsbook.store.transaction import write_transaction
from opsbook.store.upsert import insert_for


def _state(row: Any) -> HeartbeatState:
    return HeartbeatState(
        last_ping_at=row.last_ping_at,
        last_start_at=row.last_start_at,
        last_outcome=row.last_outcome,
        last_exit_code=row.last_exit_code,
        last_failure_at=row.last_failure_at,
    )


class HeartbeatRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def watch(self, names: Iterable[str], now: datetime) -> None:
        """Start watching heartbeats not seen before (their first ping is due one period
        from now); ones already watched keep their history."""
        rows = [{"name": n, "created_at": now, "updated_at": now} for n in names]
        if not rows:
            return
        insert = insert_for(self._engine)
        with write_transaction(self._engine) as conn:
            conn.execute(insert(heartbeat_state).on_conflict_do_nothing(), rows)

    def load(self) -> dict[str, tuple[HeartbeatState, datetime]]:
        """name → (state, watched since)."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(heartbeat_state)).all()
        return {r.name: (_state(r), r.created_at) for r in rows}

    def record(self, name: str, ping: Ping, now: datetime) -> HeartbeatState:
        with write_transaction(self._engine) as conn:
            row = conn.execute(
                select(heartbeat_state).where(heartbeat_state.c.name == name)
            ).first()
            if row is None:
                conn.execute(
                    heartbeat_state.insert().values(name=name, created_at=now, updated_at=now)
                )
                state = HeartbeatState()
            else:
                state = _state(row)
            state = apply_ping(state, ping, now)
            conn.execute(
                update(heartbeat_state)
                .where(heartbeat_state.c.name == name)
                .values(
                    last_ping_at=state.last_ping_at,
                    last_start_at=state.last_start_at,
                    last_outcome=state.last_outcome,
                    last_exit_code=state.last_exit_code,
                    last_failure_at=state.last_failure_at,
                    updated_at=now,
                )
            )
        return state
