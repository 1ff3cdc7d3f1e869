"""`/api/v1/runs`: playbook runs, their audit record, the people steps (approve, confirm,
resume) and a live stream of a run's steps.

`GET /runs/{id}/events` is Server-Sent Events: the run's record and each step record
(with its output) as they are stored, read from the store every half second, so it
follows runs of any process (the engine, the CLI, another node). The stream ends once
the run is finished (succeeded, failed or abandoned).

Approving the step a run waits at needs the admin role when that step is marked
dangerous; an approval gate needs a responder, like confirming a manual step.

No ``from __future__ import annotations`` here: FastAPI reads the route signatures at
run time, and the role dependencies are local aliases it must be able to resolve.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse, StreamingResponse

from opsbook.engine.core import Engine
from opsbook.playbooks.records import RunRecord, RunStatus, StepRecord
from opsbook.playbooks.runner import PlaybookError
from opsbook.store.api_tokens import Role
from opsbook.web.api._background import BackgroundRuns
from opsbook.web.api._fields import MAX_OFFSET, Limit, NameFilter, Offset, RowId, page, stamp
from opsbook.web.auth import Principal, actor, requires

POLL = 0.5  # seconds between looks at the store while streaming a run
KEEP_ALIVE = 15.0  # seconds of silence after which the stream sends a comment line
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def run_json(record: RunRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "playbook": record.playbook,
        "status": record.status.value,
        "params": dict(record.params),
        "started_by": record.started_by,
        "started_at": record.started_at.isoformat(),
        "heartbeat_at": record.heartbeat_at.isoformat(),
        "finished_at": stamp(record.finished_at),
        "incident": record.incident_id,
        "alert": record.alert,
        "parent": record.parent_id,
        "error": record.error,
    }


def step_json(step: StepRecord) -> dict[str, Any]:
    return {
        "position": step.position + 1,
        "name": step.name,
        "kind": step.kind,
        "status": step.status,
        "rendered": step.rendered,
        "output": step.output,
        "exit_code": step.exit_code,
        "vars": dict(step.vars),
        "attempts": step.attempts,
        "started_at": stamp(step.started_at),
        "finished_at": stamp(step.finished_at),
        "duration_s": step.duration_s,
        "error": step.error,
        "confirmed_by": step.confirmed_by,
    }


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def runs_router(engine: Engine, background: BackgroundRuns) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["runs"])
    viewer = Annotated[Principal, Depends(requires(engine, Role.VIEWER))]
    responder = Annotated[Principal, Depends(requires(engine, Role.RESPONDER))]
    runs = engine.store.runs

    def require(run_id: int) -> RunRecord:
        record = runs.get(run_id)
        if record is None:
            raise HTTPException(404, f"no run #{run_id}")
        return record

    def waiting_for(record: RunRecord, steps: list[StepRecord]) -> dict[str, Any] | None:
        """The step a waiting run waits at, and what it needs: a confirmation (manual),
        an approval, or an approval by an admin (a dangerous step)."""
        waiting = next((s for s in steps if s.status == "waiting"), None)
        if record.status is not RunStatus.WAITING or waiting is None:
            return None
        playbook = engine.config.playbook(record.playbook)
        step = playbook.step(waiting.name) if playbook else None
        if waiting.kind == "manual":
            needs = "confirmation"
        elif step is not None and step.dangerous:
            needs = "admin approval"
        else:
            needs = "approval"
        return {
            "position": waiting.position + 1,
            "step": waiting.name,
            "needs": needs,
            "approvals": runs.approvals(record.id, waiting.name),
        }

    def detail(run_id: int) -> dict[str, Any]:
        record = require(run_id)
        steps = runs.steps(run_id)
        return {
            **run_json(record),
            "waiting_for": waiting_for(record, steps),
            "steps": [step_json(s) for s in steps],
        }

    @router.get("/runs")
    async def list_runs(
        _: viewer,
        playbook: NameFilter = None,
        status: Annotated[RunStatus | None, Query()] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """Newest first."""

        def work() -> dict[str, Any]:
            found = runs.list(
                playbook=playbook, status=status.value if status else None, limit=MAX_OFFSET
            )
            return page(found, limit, offset, run_json)

        return await asyncio.to_thread(work)

    @router.get("/runs/{run_id}")
    async def get_run(run_id: RowId, _: viewer) -> dict[str, Any]:
        """The audit record: who, when, parameters, and each step's command, output,
        exit code; `waiting_for` says what a waiting run needs."""
        return await asyncio.to_thread(detail, run_id)

    @router.post("/runs/{run_id}/approve")
    async def approve(run_id: RowId, caller: responder) -> dict[str, Any]:
        """Approve the step the run waits at (an approval gate, or a dangerous step: that
        needs the admin role). Resume the run afterwards."""

        def work() -> dict[str, Any]:
            record = require(run_id)
            needs = waiting_for(record, runs.steps(run_id))
            if needs is None or needs["needs"] == "confirmation":
                raise HTTPException(409, f"run #{run_id} is not waiting for an approval")
            if needs["needs"] == "admin approval" and not caller.role.allows(Role.ADMIN):
                raise HTTPException(
                    403,
                    f"step {needs['step']} is dangerous: approving it needs the admin role; "
                    f"{caller.name} has the {caller.role.value} role",
                )
            try:
                step = engine.playbooks.approve(run_id, actor(caller))
            except PlaybookError as exc:
                raise HTTPException(409, str(exc)) from None
            return {**detail(run_id), "message": f"{step} approved by {actor(caller)}"}

        return await asyncio.to_thread(work)

    @router.post("/runs/{run_id}/confirm")
    async def confirm(run_id: RowId, caller: responder) -> dict[str, Any]:
        """Say the manual step the run waits at is done. Resume the run afterwards."""

        def work() -> dict[str, Any]:
            record = require(run_id)
            if record.status is not RunStatus.WAITING:
                raise HTTPException(409, f"run #{run_id} is {record.status.value}, not waiting")
            try:
                step = engine.playbooks.confirm(run_id, actor(caller))
            except PlaybookError as exc:
                raise HTTPException(409, str(exc)) from None
            return {**detail(run_id), "message": f"{step} confirmed by {actor(caller)}"}

        return await asyncio.to_thread(work)

    @router.post("/runs/{run_id}/resume", status_code=202)
    async def resume(run_id: RowId, caller: responder) -> JSONResponse:
        """Continue a waiting or interrupted run from its first unfinished step, in the
        background (202)."""
        record = await asyncio.to_thread(require, run_id)
        if record.status not in (RunStatus.WAITING, RunStatus.INTERRUPTED):
            raise HTTPException(
                409,
                f"run #{run_id} is {record.status.value}; only waiting or interrupted runs resume",
            )
        try:
            await background.resume(run_id, actor(caller))
        except PlaybookError as exc:
            raise HTTPException(409, engine.config.redactor(str(exc))) from None
        where = f"/api/v1/runs/{run_id}"
        return JSONResponse(
            {"id": run_id, "status_url": where, "events_url": f"{where}/events"},
            status_code=202,
            headers={"Location": where},
        )

    @router.get(
        "/runs/{run_id}/events",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def events(run_id: RowId, _: viewer) -> StreamingResponse:
        """Server-Sent Events: `run` (the run record, on connect and on every change),
        `step` (a step record with its output, whenever it is stored anew) and `end`
        (the finished run; the stream then closes). Comment lines keep a quiet stream
        open."""
        await asyncio.to_thread(require, run_id)
        return StreamingResponse(
            _stream(run_id), media_type="text/event-stream", headers=SSE_HEADERS
        )

    async def _stream(run_id: int) -> AsyncIterator[str]:
        sent_run: dict[str, Any] | None = None
        sent_steps: dict[int, dict[str, Any]] = {}
        quiet_since = time.monotonic()
        while True:
            record, steps = await asyncio.to_thread(lambda: (runs.get(run_id), runs.steps(run_id)))
            if record is None:
                return
            changes = []
            current = run_json(record)
            if current != sent_run:
                changes.append(_event("run", current))
                sent_run = current
            for step in steps:
                shown = step_json(step)
                if sent_steps.get(step.position) != shown:
                    changes.append(_event("step", shown))
                    sent_steps[step.position] = shown
            if record.status.finished:
                changes.append(_event("end", current))
            for change in changes:
                yield change
            if record.status.finished:
                return
            if changes:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= KEEP_ALIVE:
                yield ": still running\n\n"
                quiet_since = time.monotonic()
            await asyncio.sleep(POLL)

    return router
