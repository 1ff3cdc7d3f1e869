"""`/api/v1/heartbeats`: each configured heartbeat, what its pings said, and its status
now (the verdict the engine alerts on).

The heartbeat's id is the secret part of its ping URL, so it is never shown here.

No ``from __future__ import annotations`` here: FastAPI reads the route signatures at
run time, and the role dependencies are local aliases it must be able to resolve.
"""

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from opsbook.config.types import format_duration
from opsbook.engine.core import Engine
from opsbook.inbound.heartbeats import Heartbeat, HeartbeatState, HeartbeatStatus, judge
from opsbook.store.api_tokens import Role
from opsbook.web.api._fields import Limit, Offset, page, stamp
from opsbook.web.auth import Principal, requires


def heartbeat_json(
    beat: Heartbeat, state: HeartbeatState, since: datetime, now: datetime, zone: str
) -> dict[str, Any]:
    verdict = judge(beat, state, now, since, default_zone=zone)
    return {
        "name": beat.name,
        "service": beat.service,
        "severity": beat.severity,
        "description": beat.description,
        "expectation": beat.expectation(zone),
        "period": format_duration(beat.period) if beat.period else None,
        "schedule": beat.schedule,
        "timezone": (beat.timezone or zone) if beat.schedule else None,
        "grace": format_duration(beat.grace),
        "max_runtime": format_duration(beat.max_runtime) if beat.max_runtime else None,
        "watched_since": since.isoformat(),
        "state": {
            "last_ping_at": stamp(state.last_ping_at),
            "last_start_at": stamp(state.last_start_at),
            "last_outcome": state.last_outcome,
            "last_exit_code": state.last_exit_code,
            "last_failure_at": stamp(state.last_failure_at),
            "running": state.running,
        },
        "status": verdict.status.value,
        "reason": verdict.reason,
        "due_at": stamp(verdict.due_at),
        "changes_at": stamp(verdict.changes_at),
    }


def heartbeats_router(engine: Engine) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["heartbeats"])
    viewer = Annotated[Principal, Depends(requires(engine, Role.VIEWER))]
    zone = engine.config.project.timezone

    @router.get("/heartbeats")
    async def list_heartbeats(
        _: viewer,
        status: Annotated[HeartbeatStatus | None, Query()] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """Heartbeats in config order; `status` is new, up, late, down, running or failed."""
        states = await asyncio.to_thread(engine.store.heartbeats.load)
        now = engine.clock()
        rows = [
            heartbeat_json(beat, *states.get(beat.name, (HeartbeatState(), now)), now, zone)
            for beat in engine.config.heartbeats
        ]
        chosen = [row for row in rows if status is None or row["status"] == status.value]
        return page(chosen, limit, offset, lambda row: row)

    return router
