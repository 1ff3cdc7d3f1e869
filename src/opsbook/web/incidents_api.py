"""`/api/v1/incidents`: declare, list, read, acknowledge, resolve, update and annotate.

A thin layer: every change is an `IncidentDesk` operation (one transaction each), run in
a worker thread so a slow store never stalls the engine's loop.

No ``from __future__ import annotations`` here: FastAPI reads the route signatures at
run time, and the role dependencies are local aliases it must be able to resolve.
"""

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from opsbook.engine.core import Engine
from opsbook.incidents.model import IncidentStatus
from opsbook.incidents.postmortem import NOTE_SECTIONS
from opsbook.incidents.serialize import action_json, entry_json, incident_json
from opsbook.incidents.service import IncidentError, Outcome
from opsbook.oncall.rotation import on_call_all
from opsbook.store.api_tokens import ApiToken, Role
from opsbook.web.auth import actor, requires
from opsbook.web.problems import problem

T = TypeVar("T")

MIN_AT, MAX_AT = 1970, 9000  # rotations are computed in local time: stay clear of the ends
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"  # severities and services are Names
MAX_ID = 2**53  # past any real row; larger numbers would overflow the database's bigint
IncidentId = Annotated[int, Path(ge=1, le=MAX_ID)]
ActionId = Annotated[int, Path(ge=1, le=MAX_ID)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Declare(_Body):
    title: str = Field(min_length=1, max_length=300)
    severity: str = Field(min_length=1, max_length=100)
    services: list[str] = Field(default_factory=list, max_length=50)
    impact: str = Field(default="", max_length=5000)
    commander: str | None = Field(default=None, max_length=100)


class Text(_Body):
    text: str = Field(min_length=1, max_length=20_000)
    section: str | None = Field(
        default=None, max_length=50, description=f"Postmortem section: {', '.join(NOTE_SECTIONS)}."
    )


class Update(_Body):
    message: str = Field(min_length=1, max_length=5000)
    public: bool = True


class Resolve(_Body):
    message: str = Field(default="", max_length=5000)


class StatusChange(_Body):
    status: IncidentStatus


class SeverityChange(_Body):
    severity: str = Field(min_length=1, max_length=100)


class Assign(_Body):
    role: str = Field(default="commander", min_length=1, max_length=50)
    person: str = Field(min_length=1, max_length=100)


class Action(_Body):
    text: str = Field(min_length=1, max_length=1000)
    owner: str | None = Field(default=None, max_length=100)


def incidents_router(engine: Engine) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["incidents"])
    desk = engine.incidents
    viewer = Annotated[ApiToken, Depends(requires(engine, Role.VIEWER))]
    responder = Annotated[ApiToken, Depends(requires(engine, Role.RESPONDER))]

    async def run(work: Callable[[], T]) -> T | Response:
        try:
            result = await asyncio.to_thread(work)
        except IncidentError as exc:
            return problem(exc.status, str(exc))
        engine.deliverer.wakeup.set()
        return result

    def detail(incident_id: int) -> dict[str, Any]:
        incident = desk.require(incident_id)
        return {
            **incident_json(incident),
            "timeline": [entry_json(e) for e in engine.store.incidents.timeline(incident_id)],
            "actions": [action_json(a) for a in engine.store.incidents.actions(incident_id)],
        }

    def changed(outcome: Outcome) -> dict[str, Any]:
        return {**detail(outcome.incident.id), "message": outcome.message}

    @router.get("/incidents")
    async def list_incidents(
        _: viewer,
        status: Annotated[str | None, Query(pattern=r"^(open|[a-z]+)$", max_length=20)] = None,
        severity: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None,
        service: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> Any:
        """Newest first; `status=open` for every unresolved incident."""
        if status not in (None, "open", *(s.value for s in IncidentStatus)):
            return problem(422, f"unknown status {status!r}")

        def page() -> dict[str, Any]:
            repo = engine.store.incidents
            filters = {"status": status, "severity": severity, "service": service}
            items = repo.list(**filters, limit=limit, offset=offset)
            return {
                "items": [incident_json(i) for i in items],
                "total": repo.count(**filters),
                "limit": limit,
                "offset": offset,
            }

        return await run(page)

    @router.post("/incidents", status_code=201)
    async def declare(body: Declare, token: responder) -> Any:
        def work() -> dict[str, Any]:
            outcome = desk.declare(
                title=body.title,
                severity=body.severity,
                services=body.services,
                actor=actor(token),
                impact=body.impact,
                commander=body.commander,
            )
            return detail(outcome.incident.id)

        return await run(work)

    @router.get("/incidents/{incident_id}")
    async def get_incident(incident_id: IncidentId, _: viewer) -> Any:
        return await run(lambda: detail(incident_id))

    @router.get("/incidents/{incident_id}/timeline")
    async def timeline(
        incident_id: IncidentId, _: viewer, after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0
    ) -> Any:
        def work() -> list[dict[str, Any]]:
            desk.require(incident_id)
            return [entry_json(e) for e in engine.store.incidents.timeline(incident_id, after)]

        return await run(work)

    @router.get("/incidents/{incident_id}/postmortem")
    async def postmortem(
        incident_id: IncidentId,
        _: viewer,
        format: Annotated[Literal["markdown", "html"], Query()] = "markdown",
    ) -> Any:
        text = await run(lambda: desk.postmortem(incident_id, format))
        if isinstance(text, Response):
            return text
        if format == "html":
            return HTMLResponse(text)
        return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")

    @router.post("/incidents/{incident_id}/ack")
    async def acknowledge(incident_id: IncidentId, token: responder) -> Any:
        return await run(lambda: changed(desk.acknowledge(incident_id, actor(token), "api")))

    @router.post("/incidents/{incident_id}/resolve")
    async def resolve(
        incident_id: IncidentId, token: responder, body: Resolve | None = None
    ) -> Any:
        message = body.message if body else ""
        return await run(lambda: changed(desk.resolve(incident_id, actor(token), message)))

    @router.post("/incidents/{incident_id}/status")
    async def set_status(incident_id: IncidentId, body: StatusChange, token: responder) -> Any:
        return await run(lambda: changed(desk.set_status(incident_id, body.status, actor(token))))

    @router.post("/incidents/{incident_id}/severity")
    async def set_severity(incident_id: IncidentId, body: SeverityChange, token: responder) -> Any:
        return await run(
            lambda: changed(desk.set_severity(incident_id, body.severity, actor(token)))
        )

    @router.post("/incidents/{incident_id}/assign")
    async def assign(incident_id: IncidentId, body: Assign, token: responder) -> Any:
        return await run(
            lambda: changed(desk.assign(incident_id, body.role, body.person, actor(token)))
        )

    @router.post("/incidents/{incident_id}/notes", status_code=201)
    async def note(incident_id: IncidentId, body: Text, token: responder) -> Any:
        return await run(
            lambda: changed(desk.note(incident_id, body.text, actor(token), body.section))
        )

    @router.post("/incidents/{incident_id}/updates", status_code=201)
    async def post_update(incident_id: IncidentId, body: Update, token: responder) -> Any:
        return await run(
            lambda: changed(desk.post_update(incident_id, body.message, actor(token), body.public))
        )

    @router.post("/incidents/{incident_id}/actions", status_code=201)
    async def add_action(incident_id: IncidentId, body: Action, token: responder) -> Any:
        return await run(
            lambda: action_json(desk.add_action(incident_id, body.text, body.owner, actor(token)))
        )

    @router.post("/incidents/{incident_id}/actions/{action_id}/done")
    async def finish_action(incident_id: IncidentId, action_id: ActionId, token: responder) -> Any:
        return await run(
            lambda: action_json(desk.finish_action(incident_id, action_id, actor(token)))
        )

    @router.get("/oncall", tags=["oncall"])
    async def oncall(_: viewer, at: datetime | None = None) -> Any:
        """Who is on call in every layer of every schedule, now or at `at`."""
        moment = at or engine.clock()
        if moment.tzinfo is None:
            return problem(422, "`at` needs a UTC offset, e.g. 2026-12-24T18:00:00+01:00")
        if not MIN_AT <= moment.year <= MAX_AT:
            return problem(422, f"`at` must be between the years {MIN_AT} and {MAX_AT}")
        return {
            "at": moment.isoformat(),
            "schedules": {s.name: on_call_all(s, moment) for s in engine.config.schedules},
        }

    return router
