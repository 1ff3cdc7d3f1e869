"""`/runs` and `/runs/{id}`: playbook runs, their steps with status, duration and
output (streamed live while this server runs them), starting a run, and the buttons a
waiting run needs: confirm a manual step (responder), approve a step (admin).

Every action is a `PlaybookRunner` operation recorded with the signed-in user's name;
after a confirmation or an approval the run continues here, in the background.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response

from opsbook.engine.core import Engine
from opsbook.errors import OpsbookError
from opsbook.playbooks.model import Playbook
from opsbook.playbooks.records import RunRecord, StepRecord
from opsbook.playbooks.runner import RunRequest
from opsbook.store.api_tokens import Role
from opsbook.web.api._background import BackgroundRuns
from opsbook.web.sessions import safe_next
from opsbook.web.ui import sse
from opsbook.web.ui.access import Principal, page_user
from opsbook.web.ui.forms import Form, FormError, back_to, read_form
from opsbook.web.ui.rendering import Pages
from opsbook.web.ui.run_feed import RunFeed

MAX_ID = 2**53
RunId = Annotated[int, Path(ge=1, le=MAX_ID)]
REFRESH = 1.0  # seconds between looks at the store while a run's page is open
PARAM_PREFIX = "param."


@dataclass(frozen=True, slots=True)
class StepView:
    """A playbook step as declared, with its record once it has run."""

    position: int
    name: str
    title: str
    kind: str
    dangerous: bool
    record: StepRecord | None

    @property
    def status(self) -> str:
        return self.record.status if self.record else "pending"

    @property
    def signature(self) -> tuple[Any, ...]:
        """What the step's element shows, apart from output that is still streaming."""
        r = self.record
        if r is None:
            return (self.position, "pending")
        return (r.status, r.attempts, r.started_at, r.finished_at, r.exit_code, r.error,
                r.confirmed_by, r.rendered, r.output if r.finished_at else "")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Waiting:
    """What a waiting run needs from a person: `confirm` (a manual step) or `approve`."""

    run: RunRecord
    step: StepView
    needs: str
    approvals: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RunView:
    run: RunRecord
    steps: tuple[StepView, ...]
    waiting: Waiting | None

    @property
    def signature(self) -> tuple[Any, ...]:
        """What the run's header shows."""
        r, w = self.run, self.waiting
        held = (w.step.position, w.needs, w.approvals) if w else None
        return (r.status, r.error, r.finished_at, held)


def step_views(playbook: Playbook | None, records: list[StepRecord]) -> tuple[StepView, ...]:
    by_position = {r.position: r for r in records}
    if playbook is None:  # no longer in the config: what the record says
        return tuple(StepView(r.position, r.name, r.name, r.kind, False, r) for r in records)
    return tuple(
        StepView(i, s.name, s.label, s.kind, s.dangerous, by_position.get(i))
        for i, s in enumerate(playbook.steps)
    )


def run_view(engine: Engine, run_id: int) -> RunView | None:
    store = engine.store
    run = store.runs.get(run_id)
    if run is None:
        return None
    steps = step_views(engine.config.playbook(run.playbook), store.runs.steps(run_id))
    waiting = None
    held = next((s for s in steps if s.status == "waiting"), None)
    if held is not None and run.status.value == "waiting":
        needs = "confirm" if held.kind == "manual" else "approve"
        approvals = tuple(store.runs.approvals(run_id, held.name))
        waiting = Waiting(run, held, needs, approvals)
    return RunView(run, steps, waiting)


def params_of(form: Form, playbook: Playbook) -> dict[str, str]:
    """The form's `param.NAME` fields the playbook declares; empty ones are left out so
    that defaults apply."""
    given = {}
    for param in playbook.params:
        value = form.get(PARAM_PREFIX + param.name)
        if value != "":
            given[param.name] = value
    return given


async def start_from_form(
    engine: Engine,
    background: BackgroundRuns,
    form: Form,
    principal: Principal,
    incident_id: int | None,
) -> int:
    """Start the playbook the form names with its parameters; the run's id. Raises
    OpsbookError (unknown playbook, bad parameters, locked) with the reason."""
    playbook = engine.config.playbook(form.get("playbook"))
    if playbook is None:
        raise OpsbookError(f"no playbook {form.get('playbook')!r}")
    request = RunRequest(
        playbook.name, params_of(form, playbook), principal.actor, incident_id=incident_id
    )
    return await background.start(request)


def runs_router(
    engine: Engine, pages: Pages, feed: RunFeed, background: BackgroundRuns
) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    runner = engine.playbooks
    viewer = Annotated[Principal, Depends(page_user(engine, Role.VIEWER))]
    responder = Annotated[Principal, Depends(page_user(engine, Role.RESPONDER))]
    admin = Annotated[Principal, Depends(page_user(engine, Role.ADMIN))]

    def listing() -> dict[str, Any]:
        return {"runs": engine.store.runs.list(limit=100), "playbooks": engine.config.playbooks}

    @router.get("/runs", response_class=HTMLResponse)
    async def runs(request: Request, principal: viewer) -> HTMLResponse:
        data = await asyncio.to_thread(listing)
        return pages.page(request, principal, "runs.html", **data)

    @router.post("/runs", response_class=HTMLResponse)
    async def start(request: Request, principal: responder) -> Response:
        try:
            form = await read_form(request)
            run_id = await start_from_form(engine, background, form, principal, None)
        except (FormError, OpsbookError) as exc:
            data = await asyncio.to_thread(listing)
            return pages.page(request, principal, "runs.html", 422, error=str(exc), **data)
        return back_to(f"/runs/{run_id}")

    def fragments(principal: Principal, view: RunView) -> dict[str, str]:
        """Element id → HTML of the run's header and each step."""
        shown = {"run-head": pages.fragment("_run_head.html", principal, view=view)}
        for step in view.steps:
            live = feed.output_so_far(view.run.id, step.position)
            shown[f"step-{step.position}"] = pages.fragment(
                "_run_step.html", principal, view=view, step=step, live=live
            )
        return shown

    @router.get("/runs/{run_id}", response_class=HTMLResponse)
    async def run_page(request: Request, principal: viewer, run_id: RunId) -> HTMLResponse:
        view = await asyncio.to_thread(run_view, engine, run_id)
        if view is None:
            return pages.not_found(request, principal, f"There is no run #{run_id}.")
        live = {s.position: feed.output_so_far(run_id, s.position) for s in view.steps}
        return pages.page(request, principal, "run.html", view=view, live_lines=live)

    async def run_events(request: Request, principal: Principal, run_id: int) -> AsyncIterator[str]:
        """The run's header and steps, then output lines as they are printed and any
        element whose content changed. Every output line has a number: a step rendered
        when the feed was at number N already shows the lines up to N."""
        stream = sse.Stream(request)
        with feed.watch(run_id) as watch:
            view = await asyncio.to_thread(run_view, engine, run_id)
            if view is None:
                yield sse.end()
                return
            shown: dict[int, int] = {}  # step → number of the last line it shows
            signatures: dict[int, tuple[Any, ...]] = {}
            head: tuple[Any, ...] | None = None
            everything = True
            while True:
                mark = feed.seq
                html = fragments(principal, view)
                if everything or head != view.signature:
                    yield sse.replace(html["run-head"])
                    head = view.signature
                for step in view.steps:
                    if everything or signatures.get(step.position) != step.signature:
                        yield sse.replace(html[f"step-{step.position}"])
                        signatures[step.position] = step.signature
                        shown[step.position] = mark
                everything = watch.lost = False
                stream.sent()
                if view.run.status.finished:
                    yield sse.end()
                    return
                while await stream.open():
                    try:
                        seq, event = await asyncio.wait_for(watch.queue.get(), REFRESH)
                    except TimeoutError:
                        break
                    if watch.lost:
                        everything = True
                        break
                    if event.kind != "output":
                        break
                    if seq > shown.get(event.position, 0):
                        yield sse.text(f"out-{event.position}", event.text)
                        stream.sent()
                else:
                    return
                fresh = await asyncio.to_thread(run_view, engine, run_id)
                if fresh is None:
                    return
                view = fresh

    @router.get("/runs/{run_id}/stream")
    async def run_stream(request: Request, principal: viewer, run_id: RunId) -> Response:
        return sse.respond(run_events(request, principal, run_id))

    async def act(request: Request, principal: Principal, run_id: int, verb: str) -> Response:
        try:
            form = await read_form(request)
            target = safe_next(form.get("next"), f"/runs/{run_id}")
            if verb == "confirm":
                await asyncio.to_thread(runner.confirm, run_id, principal.actor)
            else:
                await asyncio.to_thread(runner.approve, run_id, principal.actor)
            await background.resume(run_id, principal.actor)
        except (FormError, OpsbookError) as exc:
            view = await asyncio.to_thread(run_view, engine, run_id)
            if view is None:
                return pages.not_found(request, principal, f"There is no run #{run_id}.")
            live = {s.position: feed.output_so_far(run_id, s.position) for s in view.steps}
            return pages.page(
                request, principal, "run.html", 409, view=view, live_lines=live, error=str(exc)
            )
        return back_to(target)

    @router.post("/runs/{run_id}/confirm", response_class=HTMLResponse)
    async def confirm(request: Request, principal: responder, run_id: RunId) -> Response:
        return await act(request, principal, run_id, "confirm")

    @router.post("/runs/{run_id}/approve", response_class=HTMLResponse)
    async def approve(request: Request, principal: admin, run_id: RunId) -> Response:
        return await act(request, principal, run_id, "approve")

    return router
