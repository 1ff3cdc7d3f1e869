"""`/oncall`: a week of every schedule as a calendar (a row per day, a column per layer),
in the schedule's own timezone, overrides marked; earlier and later weeks by `week=`.
"""

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from opsbook.engine.core import Engine
from opsbook.oncall.localtime import instant
from opsbook.oncall.rotation import Shift, on_call_all, shifts
from opsbook.oncall.schedules import Schedule
from opsbook.store.api_tokens import Role
from opsbook.web.ui.access import Principal, page_user
from opsbook.web.ui.rendering import Pages

MAX_WEEKS = 520  # how far from this week the calendar goes, either way


@dataclass(frozen=True, slots=True)
class Cell:
    """One person's stretch within one day of one layer, in the schedule's local time."""

    person: str
    start: str  # HH:MM local
    end: str  # HH:MM local, 24:00 for midnight
    override: bool
    reason: str
    now: bool  # the stretch someone is on call in right now


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    today: bool
    cells: dict[str, list[Cell]]  # layer → stretches


@dataclass(frozen=True, slots=True)
class Week:
    schedule: Schedule
    days: list[Day]
    now: dict[str, str | None]  # layer → who is on call now


def _local(at: datetime, zone: ZoneInfo, day: date) -> str:
    local = at.astimezone(zone)
    if local.date() > day:
        return "24:00"
    return local.strftime("%H:%M")


def week_of(schedule: Schedule, monday: date, now: datetime) -> Week:
    zone = schedule.zone
    days = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        start = instant(day, time(0, 0), zone)
        end = instant(day + timedelta(days=1), time(0, 0), zone)
        cells: dict[str, list[Cell]] = {layer.name: [] for layer in schedule.layers}
        for shift in shifts(schedule, start, end):
            cells[shift.layer].append(_cell(shift, zone, day, now))
        days.append(Day(day, start <= now < end, cells))
    return Week(schedule, days, on_call_all(schedule, now))


def _cell(shift: Shift, zone: ZoneInfo, day: date, now: datetime) -> Cell:
    return Cell(
        person=shift.person,
        start=_local(shift.start, zone, day),
        end=_local(shift.end, zone, day),
        override=shift.override,
        reason=shift.reason,
        now=shift.start <= now < shift.end,
    )


def calendar(engine: Engine, week: int) -> dict[str, Any]:
    now = engine.clock()
    weeks = []
    for schedule in engine.config.schedules:
        today = now.astimezone(schedule.zone).date()
        monday = today - timedelta(days=today.weekday()) + timedelta(weeks=week)
        weeks.append(week_of(schedule, monday, now))
    people = {p.name: p for p in engine.config.people}
    return {"weeks": weeks, "week": week, "people": people}


def oncall_router(engine: Engine, pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    viewer = Annotated[Principal, Depends(page_user(engine, Role.VIEWER))]

    @router.get("/oncall", response_class=HTMLResponse)
    async def oncall(
        request: Request,
        principal: viewer,
        week: Annotated[int, Query(ge=-MAX_WEEKS, le=MAX_WEEKS)] = 0,
    ) -> HTMLResponse:
        data = await asyncio.to_thread(calendar, engine, week)
        return pages.page(request, principal, "oncall.html", **data)

    return router
