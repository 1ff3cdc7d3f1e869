"""`/api/v1/oncall/{schedule}/calendar`: a schedule's shifts over some days, overrides
included (who is on call right now is `/api/v1/oncall`).

No ``from __future__ import annotations`` here: FastAPI reads the route signatures at
run time, and the role dependencies are local aliases it must be able to resolve.
"""

import asyncio
from datetime import date, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from opsbook.engine.core import Engine
from opsbook.oncall.localtime import instant
from opsbook.oncall.rotation import Shift, shifts
from opsbook.store.api_tokens import Role
from opsbook.web.api._fields import MAX_YEAR, MIN_YEAR, Name
from opsbook.web.auth import Principal, requires

MAX_DAYS = 92


def shift_json(shift: Shift) -> dict[str, Any]:
    return {
        "layer": shift.layer,
        "person": shift.person,
        "start": shift.start.isoformat(),
        "end": shift.end.isoformat(),
        "override": shift.override,
        "reason": shift.reason,
    }


def oncall_router(engine: Engine) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["oncall"])
    viewer = Annotated[Principal, Depends(requires(engine, Role.VIEWER))]

    @router.get("/oncall/{schedule}/calendar")
    async def calendar(
        schedule: Name,
        _: viewer,
        start: Annotated[
            date | None,
            Query(description="First day, in the schedule's timezone. Default: today there."),
        ] = None,
        days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = 14,
    ) -> dict[str, Any]:
        """Every shift of every layer from `start` (midnight, schedule time) for `days`
        days, clipped to that range, in layer order."""
        found = engine.config.schedule(schedule)
        if found is None:
            raise HTTPException(404, f"no schedule {schedule!r}")
        first = start or engine.clock().astimezone(found.zone).date()
        if not MIN_YEAR <= first.year <= MAX_YEAR:
            raise HTTPException(422, f"start must be between the years {MIN_YEAR} and {MAX_YEAR}")
        begin = instant(first, time(0, 0), found.zone)
        end = instant(first + timedelta(days=days), time(0, 0), found.zone)
        found_shifts = await asyncio.to_thread(shifts, found, begin, end)
        return {
            "schedule": found.name,
            "timezone": found.timezone,
            "start": begin.isoformat(),
            "end": end.isoformat(),
            "layers": [layer.name for layer in found.layers],
            "shifts": [shift_json(s) for s in found_shifts],
        }

    return router
