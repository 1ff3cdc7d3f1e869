"""`/incidents` and `/incidents/{id}`: the list, declaring one, an incident's header and
its live timeline (Server-Sent Events from `/incidents/{id}/timeline/stream`), every
action a responder takes (each one an `IncidentDesk` operation recorded with the
signed-in user's name), running a playbook for it, and its postmortem.
"""

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from markupsafe import Markup

from opsbook.engine.core import Engine
from opsbook.errors import OpsbookError
from opsbook.incidents.model import Incident, IncidentStatus
from opsbook.incidents.postmortem import NOTE_SECTIONS
from opsbook.incidents.service import IncidentError, Outcome
from opsbook.store.api_tokens import Role
from opsbook.web.api._background import BackgroundRuns
from opsbook.web.ui import sse
from opsbook.web.ui.access import Principal, page_user
from opsbook.web.ui.forms import Form, FormError, back_to, is_htmx, read_form
from opsbook.web.ui.rendering import PAGE_HEADERS, Pages
from opsbook.web.ui.runs import RunView, run_view, start_from_form

MAX_ID = 2**53
IncidentId = Annotated[int, Path(ge=1, le=MAX_ID)]
POLL = 0.5  # seconds between looks for new timeline entries
LIST_STATUSES = ("open", "all", *(s.value for s in IncidentStatus))
BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S)
PAGE_SIZE = 50


def related_runs(engine: Engine, incident_id: int) -> list[RunView]:
    """Playbook runs started for the incident, newest first."""
    runs = [r for r in engine.store.runs.list(limit=500) if r.incident_id == incident_id]
    views = [run_view(engine, r.id) for r in runs]
    return [v for v in views if v is not None]


def incident_data(engine: Engine, incident_id: int) -> dict[str, Any] | None:
    store = engine.store
    incident = store.incidents.get(incident_id)
    if incident is None:
        return None
    return {
        "incident": incident,
        "timeline": store.incidents.timeline(incident_id),
        "actions": store.incidents.actions(incident_id),
        "runs": related_runs(engine, incident_id),
    }


def postmortem_body(document: str) -> Markup:
    """The inside of the rendered postmortem's <body>: the document is autoescaped by
    its template, and its own <head> (title, style) gives way to the layout's."""
    found = BODY.search(document)
    return Markup(found.group(1) if found else document)  # noqa: S704 - escaped by its template


def incidents_router(engine: Engine, pages: Pages, background: BackgroundRuns) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    desk = engine.incidents
    viewer = Annotated[Principal, Depends(page_user(engine, Role.VIEWER))]
    responder = Annotated[Principal, Depends(page_user(engine, Role.RESPONDER))]

    def choices() -> dict[str, Any]:
        config = engine.config
        return {
            "severities": [s.name for s in config.severities],
            "statuses": [s.value for s in IncidentStatus],
            "people": [p.name for p in config.people],
            "service_names": [s.name for s in config.services],
            "sections": NOTE_SECTIONS,
            "playbooks": config.playbooks,
        }

    # -- the list -------------------------------------------------------------------

    def listing(status: str, offset: int) -> dict[str, Any]:
        repo = engine.store.incidents
        wanted = None if status == "all" else status
        return {
            "incidents": repo.list(status=wanted, limit=PAGE_SIZE, offset=offset),
            "total": repo.count(status=wanted),
            "shown": status,
            "offset": offset,
            "page_size": PAGE_SIZE,
            "list_statuses": LIST_STATUSES,
            **choices(),
        }

    @router.get("/incidents", response_class=HTMLResponse)
    async def incidents(
        request: Request,
        principal: viewer,
        status: Annotated[str, Query(max_length=20)] = "open",
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> HTMLResponse:
        status = status if status in LIST_STATUSES else "open"
        data = await asyncio.to_thread(listing, status, offset)
        return pages.page(request, principal, "incidents.html", **data)

    @router.post("/incidents", response_class=HTMLResponse)
    async def declare(request: Request, principal: responder) -> Response:
        try:
            form = await read_form(request)
            outcome = await asyncio.to_thread(
                lambda: desk.declare(
                    title=form.get("title"),
                    severity=form.get("severity"),
                    services=[s for s in form.all("services") if s],
                    actor=principal.actor,
                    impact=form.get("impact"),
                    commander=form.get("commander") or None,
                )
            )
        except (FormError, IncidentError) as exc:
            data = await asyncio.to_thread(listing, "open", 0)
            status = exc.status if isinstance(exc, IncidentError) else 413
            return pages.page(request, principal, "incidents.html", status, error=str(exc), **data)
        engine.deliverer.wakeup.set()
        return back_to(f"/incidents/{outcome.incident.id}")

    # -- one incident ---------------------------------------------------------------

    def head(principal: Principal, incident: Incident, message: str = "", error: str = "") -> str:
        return pages.fragment(
            "_incident_head.html", principal, incident=incident, message=message, error=error
        )

    @router.get("/incidents/{incident_id}", response_class=HTMLResponse)
    async def incident_page(
        request: Request, principal: viewer, incident_id: IncidentId
    ) -> HTMLResponse:
        data = await asyncio.to_thread(incident_data, engine, incident_id)
        if data is None:
            return pages.not_found(request, principal, f"There is no incident #{incident_id}.")
        return pages.page(request, principal, "incident.html", **data, **choices())

    async def timeline_events(
        request: Request, principal: Principal, incident_id: int, after: int
    ) -> AsyncIterator[str]:
        """New timeline entries as they are written (each event's id is the entry's, so
        a reconnecting browser continues after the last one it got); with them the
        header and the runs, which the same changes update."""
        stream = sse.Stream(request)
        while await stream.open():
            entries = await asyncio.to_thread(engine.store.incidents.timeline, incident_id, after)
            if entries:
                for entry in entries:
                    html = pages.fragment("_timeline_entry.html", principal, entry=entry)
                    yield sse.append("timeline", html, entry.id)
                    after = entry.id or after
                data = await asyncio.to_thread(incident_data, engine, incident_id)
                if data is not None:
                    yield sse.replace(head(principal, data["incident"]))
                    runs = pages.fragment(
                        "_incident_runs.html", principal, back=f"/incidents/{incident_id}", **data
                    )
                    yield sse.replace(runs)
                stream.sent()
            elif (comment := stream.keepalive()) is not None:
                yield comment
            await stream.pause(POLL)

    @router.get("/incidents/{incident_id}/timeline/stream")
    async def timeline_stream(
        request: Request,
        principal: viewer,
        incident_id: IncidentId,
        after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    ) -> Response:
        if await asyncio.to_thread(engine.store.incidents.get, incident_id) is None:
            return pages.not_found(request, principal, f"There is no incident #{incident_id}.")
        start = sse.last_event_id(request, after)
        return sse.respond(timeline_events(request, principal, incident_id, start))

    async def act(
        request: Request,
        principal: Principal,
        incident_id: int,
        work: Callable[[Form], Outcome],
    ) -> Response:
        """Run one desk operation from a form; answer htmx with the new header (and the
        outcome or the refusal), a plain form with a redirect back to the page."""
        status, message, error = 200, "", ""
        try:
            form = await read_form(request)
            outcome = await asyncio.to_thread(work, form)
            message = outcome.message
            engine.deliverer.wakeup.set()
        except FormError as exc:
            status, error = 413, str(exc)
        except IncidentError as exc:
            status, error = exc.status, str(exc)
        if is_htmx(request):
            incident = await asyncio.to_thread(engine.store.incidents.get, incident_id)
            if incident is None:
                return pages.not_found(request, principal, f"There is no incident #{incident_id}.")
            body = head(principal, incident, message, error)
            return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)
        if error:
            data = await asyncio.to_thread(incident_data, engine, incident_id)
            if data is None:
                return pages.not_found(request, principal, f"There is no incident #{incident_id}.")
            return pages.page(
                request, principal, "incident.html", status, error=error, **data, **choices()
            )
        return back_to(f"/incidents/{incident_id}")

    def action(path: str, work: Callable[[int, Form, str], Outcome]) -> None:
        async def route(
            request: Request, principal: responder, incident_id: IncidentId
        ) -> Response:
            return await act(
                request, principal, incident_id, lambda f: work(incident_id, f, principal.actor)
            )

        router.add_api_route(
            f"/incidents/{{incident_id}}/{path}",
            route,
            methods=["POST"],
            response_class=HTMLResponse,
            name=f"incident_{path}",
        )

    def set_status(i: int, f: Form, who: str) -> Outcome:
        value = f.get("status")
        if value not in {s.value for s in IncidentStatus}:
            raise IncidentError(f"unknown status {value!r}", 422)
        return desk.set_status(i, IncidentStatus(value), who)

    action("ack", lambda i, f, who: desk.acknowledge(i, who, via="web"))
    action("resolve", lambda i, f, who: desk.resolve(i, who, f.get("message")))
    action("status", set_status)
    action("severity", lambda i, f, who: desk.set_severity(i, f.get("severity"), who))
    action("assign", lambda i, f, who: desk.assign(i, "commander", f.get("person"), who))
    action("notes", lambda i, f, who: desk.note(i, f.get("text"), who, f.get("section") or None))
    action(
        "updates",
        lambda i, f, who: desk.post_update(i, f.get("message"), who, public=f.checked("public")),
    )

    @router.post("/incidents/{incident_id}/runs", response_class=HTMLResponse)
    async def run_playbook(
        request: Request, principal: responder, incident_id: IncidentId
    ) -> Response:
        try:
            form = await read_form(request)
            await asyncio.to_thread(desk.require, incident_id)
            run_id = await start_from_form(engine, background, form, principal, incident_id)
        except IncidentError as exc:
            return pages.not_found(request, principal, str(exc))
        except (FormError, OpsbookError) as exc:
            data = await asyncio.to_thread(incident_data, engine, incident_id)
            if data is None:
                return pages.not_found(request, principal, f"There is no incident #{incident_id}.")
            return pages.page(
                request, principal, "incident.html", 422, error=str(exc), **data, **choices()
            )
        return back_to(f"/runs/{run_id}")

    # -- the postmortem -------------------------------------------------------------

    @router.get("/incidents/{incident_id}/postmortem", response_class=HTMLResponse)
    async def postmortem(
        request: Request, principal: viewer, incident_id: IncidentId
    ) -> HTMLResponse:
        try:
            document = await asyncio.to_thread(desk.postmortem, incident_id, "html")
        except IncidentError as exc:
            return pages.not_found(request, principal, str(exc))
        incident = await asyncio.to_thread(engine.store.incidents.get, incident_id)
        return pages.page(
            request,
            principal,
            "postmortem.html",
            incident=incident,
            body=postmortem_body(document),
        )

    @router.get("/incidents/{incident_id}/postmortem.md")
    async def postmortem_markdown(principal: viewer, incident_id: IncidentId) -> Response:
        try:
            text = await asyncio.to_thread(desk.postmortem, incident_id, "markdown")
        except IncidentError as exc:
            return PlainTextResponse(str(exc), status_code=exc.status)
        return PlainTextResponse(
            text,
            media_type="text/markdown; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="postmortem-{incident_id}.md"',
                "Cache-Control": "no-store",
            },
        )

    return router
