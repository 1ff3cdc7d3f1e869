"""`/api/v1/incidents/{id}/escalation`: where an incident's escalation stands and who
would be paged next, and when.

The next step is computed with the same pure functions the engine pages with
(`opsbook.oncall.escalation`), for the moment it is due: a schedule target names whoever
will be on call then, overrides included.

No ``from __future__ import annotations`` here: FastAPI reads the route signatures at
run time, and the role dependencies are local aliases it must be able to resolve.
"""

import asyncio
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException

from opsbook.config.types import format_duration
from opsbook.engine.core import Engine
from opsbook.incidents.model import Incident
from opsbook.incidents.service import IncidentError
from opsbook.oncall.escalation import (
    EscalationPolicy,
    EscalationPosition,
    advance,
    level_delay,
    plan_delivery,
    resolve_targets,
)
from opsbook.store.api_tokens import Role
from opsbook.web.api._fields import RowId, stamp
from opsbook.web.auth import Principal, requires


def policy_json(policy: EscalationPolicy, response_time: timedelta) -> dict[str, Any]:
    return {
        "name": policy.name,
        "description": policy.description,
        "repeat": policy.repeat,
        "ack_timeout": format_duration(policy.ack_timeout) if policy.ack_timeout else None,
        "levels": [
            {
                "level": index + 1,
                "targets": [str(target) for target in level.targets],
                "escalate_after": format_duration(level_delay(policy, index, response_time)),
            }
            for index, level in enumerate(policy.levels)
        ],
    }


class EscalationView:
    """The escalation of incidents under one config: pure reads of the incident record."""

    def __init__(self, engine: Engine) -> None:
        self.config = engine.config
        self.pager = engine.incidents.pager
        self.people = {p.name: p for p in engine.config.people}

    def next_position(
        self, incident: Incident, policy: EscalationPolicy, response_time: timedelta
    ) -> EscalationPosition | None:
        """The next step (level, round, due time): the first level again when an
        acknowledgement will expire, else the level after the one last paged."""
        if not incident.is_open:
            return None
        if incident.acknowledged:
            expires = incident.ack_expires_at
            return EscalationPosition(0, 0, expires) if expires is not None else None
        due = incident.next_escalation_at
        if due is None:
            return None
        current = EscalationPosition(incident.escalation_round, incident.escalation_level, due)
        return advance(policy, current, due, response_time)

    def step_json(
        self, policy: EscalationPolicy, position: EscalationPosition, at: datetime
    ) -> dict[str, Any]:
        targets = resolve_targets(policy.levels[position.level], at, self.pager.schedules)
        delivery = plan_delivery(targets, self.people)
        return {
            "at": at.isoformat(),
            "round": position.round + 1,
            "level": position.level + 1,
            "targets": [
                {"kind": t.kind, "name": t.name, "via": t.via, "reason": t.reason or None}
                for t in targets
            ],
            "receivers": list(delivery.receivers),
            "problems": list(delivery.problems),
        }

    def describe(self, incident: Incident) -> dict[str, Any]:
        policy = self.pager.policy_for(incident)
        body: dict[str, Any] = {
            "incident": incident.id,
            "status": incident.status.value,
            "acknowledged_at": stamp(incident.acknowledged_at),
            "acknowledged_by": incident.acknowledged_by,
            "policy": None,
            "round": incident.escalation_round + 1,
            "level": incident.escalation_level + 1,  # 0: nobody paged yet
            "next_at": stamp(incident.next_escalation_at),
            "ack_expires_at": stamp(incident.ack_expires_at),
            "exhausted": False,
            "exhausts_at": None,
            "next": None,
        }
        if policy is None:
            return body
        response_time = self.pager.response_time(incident)
        body["policy"] = policy_json(policy, response_time)
        body["exhausted"] = (
            incident.is_open
            and not incident.acknowledged
            and incident.escalation_level >= 0
            and incident.next_escalation_at is None
        )
        position = self.next_position(incident, policy, response_time)
        if position is None:
            return body
        if position.exhausted:
            body["exhausts_at"] = stamp(incident.next_escalation_at)
            return body
        at = incident.ack_expires_at if incident.acknowledged else incident.next_escalation_at
        assert at is not None
        body["next"] = self.step_json(policy, position, at)
        return body


def escalation_router(engine: Engine) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["incidents"])
    viewer = Annotated[Principal, Depends(requires(engine, Role.VIEWER))]
    view = EscalationView(engine)

    @router.get("/incidents/{incident_id}/escalation")
    async def escalation(incident_id: RowId, _: viewer) -> dict[str, Any]:
        """The policy, the level and round last paged, when the next step is due and
        who it would page; `exhausted` once every level (and repeat) went unanswered."""

        def work() -> dict[str, Any]:
            try:
                incident = engine.incidents.require(incident_id)
            except IncidentError as exc:
                raise HTTPException(exc.status, str(exc)) from None
            return view.describe(incident)

        return await asyncio.to_thread(work)

    return router
