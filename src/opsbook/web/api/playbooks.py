"""`/api/v1/playbooks`: the configured playbooks with their parameters, and starting a
run (or showing its plan: `dry_run`).

A run started here goes on in the background; the answer (202) names it, and
`/api/v1/runs/{id}` and its `events` stream follow it. Steps marked dangerous wait for
an approval (`POST /api/v1/runs/{id}/approve`, admin role) however the run was started.

No ``from __future__ import annotations`` here: FastAPI reads the route signatures at
run time, and the role dependencies are local aliases it must be able to resolve.
"""

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from opsbook.config.types import format_duration
from opsbook.engine.core import Engine
from opsbook.playbooks.model import Playbook
from opsbook.playbooks.params import MAX_VALUE_LENGTH, Param
from opsbook.playbooks.runner import PlannedStep, PlaybookError, RunRequest
from opsbook.store.api_tokens import Role
from opsbook.store.runs import RunLockedError
from opsbook.web.api._background import BackgroundRuns
from opsbook.web.api._fields import MAX_ID, Limit, Name, Offset, page
from opsbook.web.auth import Principal, actor, requires

ParamName = Annotated[str, Field(min_length=1, max_length=100)]
ParamText = Annotated[str, Field(max_length=MAX_VALUE_LENGTH)]
ParamNumber = Annotated[int, Field(ge=-(10**18), le=10**18)]


class StartRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    params: dict[ParamName, ParamText | ParamNumber | bool] = Field(
        default_factory=dict, max_length=50, description="Parameter values by name."
    )
    dry_run: bool = Field(default=False, description="Answer with the plan; run nothing.")
    incident: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Put every step on this incident's timeline."
    )


def param_json(param: Param) -> dict[str, Any]:
    return {
        "name": param.name,
        "type": param.type,
        "description": param.description,
        "required": param.required,
        "default": param.default,
        "pattern": param.pattern,
        "choices": list(param.choices),
        "min": param.min,
        "max": param.max,
        "secret": param.secret,
    }


def playbook_json(playbook: Playbook) -> dict[str, Any]:
    return {
        "name": playbook.name,
        "description": playbook.description,
        "params": [param_json(p) for p in playbook.params],
        "steps": [
            {
                "name": step.name,
                "title": step.title,
                "kind": step.kind,
                "dangerous": step.dangerous,
                "when": step.when,
            }
            for step in playbook.steps
        ],
        "timeout": format_duration(playbook.timeout),
        "lock": playbook.lock,
        "concurrent": playbook.concurrent,
    }


def planned_json(position: int, planned: PlannedStep) -> dict[str, Any]:
    return {
        "position": position + 1,
        "name": planned.step.name,
        "title": planned.step.title,
        "kind": planned.step.kind,
        "dangerous": planned.step.dangerous,
        "condition": planned.condition,
        "rendered": planned.rendered,
    }


def _as_text(value: str | int | bool) -> str:
    """A parameter as the runner takes it: text, as on the command line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def playbooks_router(engine: Engine, background: BackgroundRuns) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["playbooks"])
    viewer = Annotated[Principal, Depends(requires(engine, Role.VIEWER))]
    responder = Annotated[Principal, Depends(requires(engine, Role.RESPONDER))]

    @router.get("/playbooks")
    async def list_playbooks(_: viewer, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
        """Playbooks in config order, with their parameter declarations and steps."""
        return page(engine.config.playbooks, limit, offset, playbook_json)

    @router.post(
        "/playbooks/{name}/runs",
        status_code=202,
        responses={200: {"description": "The plan of a dry run: nothing was run."}},
    )
    async def start_run(name: Name, body: StartRun, caller: responder) -> JSONResponse:
        """Start a run in the background (202, with its number and where to follow it),
        or with `dry_run` answer with exactly what it would run (200)."""
        playbook = engine.config.playbook(name)
        if playbook is None:
            raise HTTPException(404, f"no playbook {name!r}")
        if body.incident is not None:
            found = await asyncio.to_thread(engine.store.incidents.get, body.incident)
            if found is None:
                raise HTTPException(422, f"incident: no incident #{body.incident}")
        request = RunRequest(
            playbook.name,
            {key: _as_text(value) for key, value in body.params.items()},
            actor(caller),
            dry_run=body.dry_run,
            incident_id=body.incident,
        )
        try:
            if body.dry_run:
                plan = await asyncio.to_thread(engine.playbooks.plan, request)
                steps = [planned_json(i, p) for i, p in enumerate(plan)]
                return JSONResponse({"playbook": playbook.name, "dry_run": True, "steps": steps})
            run_id = await background.start(request)
        except PlaybookError as exc:
            raise HTTPException(422, engine.config.redactor(str(exc))) from None
        except RunLockedError as exc:
            raise HTTPException(409, str(exc)) from None
        where = f"/api/v1/runs/{run_id}"
        return JSONResponse(
            {"id": run_id, "status_url": where, "events_url": f"{where}/events"},
            status_code=202,
            headers={"Location": where},
        )

    return router
