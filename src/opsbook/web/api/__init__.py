"""The `/api/v1` resources beyond incidents: checks, alerts, silences, maintenance,
on-call calendars, escalation, playbooks and runs, heartbeats.

Each module is one resource with its router; `api_routers` builds them all for one
engine. Reads need a viewer token, changes a responder one (`opsbook.web.auth`); every
listing is paginated the same way (`limit`, `offset`, `total`).
"""

from fastapi import APIRouter

from opsbook.engine.core import Engine
from opsbook.web.api._background import BackgroundRuns
from opsbook.web.api.alerts import alerts_router
from opsbook.web.api.checks import checks_router
from opsbook.web.api.escalation import escalation_router
from opsbook.web.api.heartbeats import heartbeats_router
from opsbook.web.api.maintenance import maintenance_router
from opsbook.web.api.oncall import oncall_router
from opsbook.web.api.playbooks import playbooks_router
from opsbook.web.api.runs import runs_router
from opsbook.web.api.silences import silences_router


def api_routers(engine: Engine) -> list[APIRouter]:
    background = BackgroundRuns(engine.playbooks)
    return [
        checks_router(engine),
        alerts_router(engine),
        silences_router(engine),
        maintenance_router(engine),
        oncall_router(engine),
        escalation_router(engine),
        playbooks_router(engine, background),
        runs_router(engine, background),
        heartbeats_router(engine),
    ]


__all__ = ["api_routers"]
