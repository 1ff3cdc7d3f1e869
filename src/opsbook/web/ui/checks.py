"""`/checks/{name}`: 90 days of uptime bars, a latency chart (p50/p95, incidents of the
check's service shaded) over a chosen range, and the recent results with their messages.
"""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse

from opsbook.checks.spec import CheckBase
from opsbook.engine.core import Engine
from opsbook.statuspage.uptime import daily_uptime, format_percent
from opsbook.store.api_tokens import Role
from opsbook.web.ui.access import Principal, page_user
from opsbook.web.ui.charts import (
    Band,
    Point,
    latency_chart,
    nice_ceiling,
    time_ticks,
    uptime_bars,
    value_ticks,
)
from opsbook.web.ui.history import UP, bucketed
from opsbook.web.ui.rendering import Pages

UPTIME_DAYS = 90
LATENCY = "latency_ms"
# range → (length, bucket width): about 100 buckets each
RANGES = {
    "1h": (timedelta(hours=1), timedelta(seconds=30)),
    "24h": (timedelta(hours=24), timedelta(minutes=15)),
    "7d": (timedelta(days=7), timedelta(hours=2)),
    "30d": (timedelta(days=30), timedelta(hours=6)),
    "90d": (timedelta(days=90), timedelta(days=1)),
}
RECENT_RESULTS = 50


def _check(engine: Engine, name: str) -> CheckBase | None:
    return next((c for c in engine.config.checks if c.name == name), None)


def uptime(engine: Engine, check: CheckBase, now: datetime) -> dict[str, Any]:
    today = now.astimezone(UTC).date()
    first = datetime.combine(today - timedelta(days=UPTIME_DAYS - 1), datetime.min.time(), UTC)
    buckets = bucketed(engine.store, check.name, UP, first, now, timedelta(days=1))
    counts = {at.date(): (round(s.total), s.count) for at, s in buckets.items()}
    service = engine.config.service(check.service) if check.service else None
    result = daily_uptime(counts, today, UPTIME_DAYS, service.slo if service else None)
    shown = format_percent(result.percent, 3)
    label = f"Uptime of {check.name} per day over the last {UPTIME_DAYS} days: {shown}"
    return {
        "bars": uptime_bars(result.days, label),
        "percent": shown,
        "target": format_percent(result.target, 3),
    }


def latency(engine: Engine, check: CheckBase, now: datetime, choice: str) -> dict[str, Any]:
    length, width = RANGES[choice]
    start = now - length
    buckets = bucketed(engine.store, check.name, LATENCY, start, now, width)
    points = []
    for at in sorted(buckets):
        p50, p95 = buckets[at].quantile(0.5), buckets[at].quantile(0.95)
        if p50 is not None and p95 is not None:
            points.append(Point(at + width / 2, p50, p95))
    bands = []
    if check.service:
        for incident in engine.store.incidents.list(service=check.service, limit=200):
            end = incident.resolved_at or now
            began = incident.detected_at or incident.opened_at
            if end >= start and began <= now:
                label = f"Incident #{incident.id} {incident.severity}: {incident.title}"
                bands.append((Band(began, end, label), incident))
    top = nice_ceiling(max((p.p95 for p in points), default=1.0) * 1.05)
    label = f"p50 and p95 latency of {check.name} over the last {choice}"
    return {
        "chart": latency_chart(points, start, now, top, width, [b for b, _ in bands], label),
        "points": points,
        "x_ticks": time_ticks(start, now),
        "y_ticks": value_ticks(top),
        "bands": [i for _, i in bands],
        "ranges": list(RANGES),
        "range": choice,
    }


def check_data(engine: Engine, check: CheckBase, choice: str) -> dict[str, Any]:
    now = engine.clock()
    history = engine.store.results.history(check.name, RECENT_RESULTS)
    return {
        "check": check,
        "latest": history[0] if history else None,
        "results": history,
        "uptime": uptime(engine, check, now),
        "latency": latency(engine, check, now, choice),
    }


def checks_router(engine: Engine, pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    viewer = Annotated[Principal, Depends(page_user(engine, Role.VIEWER))]

    @router.get("/checks/{name}", response_class=HTMLResponse)
    async def check_page(
        request: Request,
        principal: viewer,
        name: Annotated[str, Path(max_length=200)],
        range: Annotated[str, Query(max_length=5)] = "24h",
    ) -> HTMLResponse:
        check = _check(engine, name)
        if check is None:
            return pages.not_found(request, principal, f"There is no check named {name!r}.")
        choice = range if range in RANGES else "24h"
        data = await asyncio.to_thread(check_data, engine, check, choice)
        return pages.page(request, principal, "check.html", **data)

    return router
