"""`/`: every service's status, firing alerts by severity, open incidents, who is on
call, and what needs a look (heartbeats that stopped, playbook runs that failed or wait).

No ``from __future__ import annotations`` in the router modules: FastAPI reads the
route signatures at run time.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from opsbook.engine.core import Engine
from opsbook.inbound.heartbeats import HeartbeatStatus, judge
from opsbook.oncall.rotation import current_shift
from opsbook.playbooks.records import RunStatus
from opsbook.store.api_tokens import Role
from opsbook.web.ui.access import Principal, page_user
from opsbook.web.ui.forms import is_htmx
from opsbook.web.ui.rendering import PAGE_HEADERS, Pages
from opsbook.web.ui.services import by_severity, service_lines

NEEDS_A_LOOK = (RunStatus.FAILED, RunStatus.INTERRUPTED, RunStatus.WAITING)
RECENT_RUNS = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class OnCall:
    schedule: str
    layer: str
    person: str | None
    until: datetime | None
    override: bool


@dataclass(frozen=True, slots=True)
class Beat:
    name: str
    status: str
    reason: str


def on_call_now(engine: Engine, now: datetime) -> list[OnCall]:
    found = []
    for schedule in engine.config.schedules:
        for layer in schedule.layers:
            shift = current_shift(schedule, now, layer.name)
            found.append(
                OnCall(
                    schedule.name,
                    layer.name,
                    shift.person if shift else None,
                    shift.end if shift else None,
                    shift.override if shift else False,
                )
            )
    return found


def troubled_heartbeats(engine: Engine, now: datetime) -> list[Beat]:
    if not engine.config.heartbeats:
        return []
    states = engine.store.heartbeats.load()
    zone = engine.config.project.timezone
    found = []
    for beat in engine.config.heartbeats:
        if beat.name not in states:
            continue
        state, since = states[beat.name]
        verdict = judge(beat, state, now, since, default_zone=zone)
        if verdict.status in (HeartbeatStatus.LATE, HeartbeatStatus.DOWN, HeartbeatStatus.FAILED):
            found.append(Beat(beat.name, verdict.status.value, verdict.reason))
    return found


def overview_data(engine: Engine) -> dict[str, Any]:
    store = engine.store
    now = engine.clock()
    alerts = store.alerts.browse(["firing"])
    runs = [
        r
        for r in store.runs.list(limit=100)
        if r.status in NEEDS_A_LOOK and now - r.started_at <= RECENT_RUNS
    ]
    return {
        "services": service_lines(engine.config, store.results.latest(), alerts, now),
        "firing": by_severity(alerts, [s.name for s in engine.config.severities]),
        "firing_count": sum(1 for a, _ in alerts if a.is_firing),
        "incidents": store.incidents.list(status="open", limit=20),
        "oncall": on_call_now(engine, now),
        "heartbeats": troubled_heartbeats(engine, now),
        "runs": runs[:10],
    }


class SharedSnapshot:
    """The overview, gathered and rendered at most once per `ttl` however many people
    watch: every open dashboard refreshes itself, and during an outage that is many tabs
    asking the same question. The fragment holds nothing personal (the layout around it
    does), so one rendering serves everyone. Concurrent requests wait for one build."""

    def __init__(self, build: Callable[[], str], ttl: float = 1.0) -> None:
        self._build = build
        self._ttl = ttl
        self._value: str | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        async with self._lock:
            if self._value is None or time.monotonic() - self._at >= self._ttl:
                self._value = await asyncio.to_thread(self._build)
                self._at = time.monotonic()
            return self._value


def overview_router(engine: Engine, pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    viewer = Annotated[Principal, Depends(page_user(engine, Role.VIEWER))]
    snapshot = SharedSnapshot(
        lambda: pages.fragment("overview_body.html", None, None, **overview_data(engine))
    )

    @router.get("/", response_class=HTMLResponse)
    async def overview(request: Request, principal: viewer) -> HTMLResponse:
        body = await snapshot.get()
        if is_htmx(request):  # the page refreshing itself
            return HTMLResponse(body, headers=PAGE_HEADERS)
        return pages.page(request, principal, "overview.html", body=Markup(body))  # noqa: S704

    return router
