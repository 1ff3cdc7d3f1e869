"""`/api/v1/maintenance`: the configured maintenance windows, each with the occurrence
it is in now (if any) and the next one.

No ``from __future__ import annotations`` here: FastAPI reads the route signatures at
run time, and the role dependencies are local aliases it must be able to resolve.
"""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from opsbook.alerts.maintenance import MaintenanceWindow
from opsbook.config.types import format_duration
from opsbook.engine.core import Engine
from opsbook.store.api_tokens import Role
from opsbook.web.api._fields import Limit, Offset, page, stamp
from opsbook.web.auth import Principal, requires


def _occurrence(start: datetime | None, end: datetime | None) -> dict[str, Any] | None:
    return {"start": stamp(start), "end": stamp(end)} if start is not None else None


def window_json(window: MaintenanceWindow, now: datetime, zone: str) -> dict[str, Any]:
    current = window.current(now, zone)
    upcoming = window.next_start(now, zone)
    length = window.duration if window.schedule else None
    if upcoming is not None and length is not None:
        upcoming_end: datetime | None = upcoming + length
    else:
        upcoming_end = window.end if upcoming is not None else None
    return {
        "name": window.name,
        "description": window.description,
        "services": list(window.services),
        "matchers": [str(m) for m in window.matchers],
        "schedule": window.schedule,
        "duration": format_duration(length) if length is not None else None,
        "timezone": (window.timezone or zone) if window.schedule else None,
        "start": stamp(window.start),
        "end": stamp(window.end),
        "active": current is not None,
        "current": _occurrence(*current) if current else None,
        "next": _occurrence(upcoming, upcoming_end),
    }


def maintenance_router(engine: Engine) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["maintenance"])
    viewer = Annotated[Principal, Depends(requires(engine, Role.VIEWER))]
    zone = engine.config.project.timezone

    @router.get("/maintenance")
    async def list_windows(
        _: viewer,
        active: Annotated[bool | None, Query(description="Only windows in progress now.")] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """Windows in config order; `current` is the occurrence in progress (null when
        none), `next` the next one to begin (null for a one-off window already begun)."""
        now = engine.clock()
        windows = [
            w
            for w in engine.config.maintenance
            if active is None or (w.current(now, zone) is not None) == active
        ]
        return page(windows, limit, offset, lambda w: window_json(w, now, zone))

    return router
