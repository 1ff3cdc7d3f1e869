"""`/api/v1/alerts`: every stored alert with its state and why it is muted, and one
alert with its recent transitions.

Muted alerts (silence, maintenance, inhibition) are listed like the others: they are
evaluated and stored, only not notified; `muted` says why.

No ``from __future__ import annotations`` here: FastAPI reads the route signatures at
run time, and the role dependencies are local aliases it must be able to resolve.
"""

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from opsbook.alerts.model import Alert, AlertState
from opsbook.engine.core import Engine
from opsbook.store.api_tokens import Role
from opsbook.web.api._fields import Filter, Limit, Offset, page, stamp
from opsbook.web.auth import Principal, requires

Fingerprint = Annotated[str, Path(min_length=1, max_length=64)]


def alert_json(alert: Alert, muted: str | None) -> dict[str, Any]:
    return {
        **alert.to_json(),
        "severity": alert.severity or None,
        "service": alert.service,
        "muted": muted,
        "updated_at": stamp(alert.updated_at),
    }


def event_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "event": row["event"],
        "at": stamp(row["at"]),
        "value": row["value"],
        "labels": json.loads(row["labels"]),
    }


def alerts_router(engine: Engine) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["alerts"])
    viewer = Annotated[Principal, Depends(requires(engine, Role.VIEWER))]

    @router.get("/alerts")
    async def list_alerts(
        _: viewer,
        state: Annotated[AlertState | None, Query()] = None,
        severity: Filter = None,
        service: Filter = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """Newest firing first (by `fired_at`), then the rest."""

        def work() -> dict[str, Any]:
            rows = engine.store.alerts.browse([state.value] if state else None)
            chosen = [
                (alert, muted)
                for alert, muted in rows
                if (severity is None or alert.severity == severity)
                and (service is None or alert.service == service)
            ]
            return page(chosen, limit, offset, lambda row: alert_json(*row))

        return await asyncio.to_thread(work)

    @router.get("/alerts/{fingerprint}")
    async def get_alert(
        fingerprint: Fingerprint,
        _: viewer,
        events: Annotated[int, Query(ge=0, le=500, description="Recent transitions.")] = 50,
    ) -> dict[str, Any]:
        """The alert and its recent transitions (pending, firing, resolved), newest first."""

        def work() -> dict[str, Any]:
            found = next(
                (row for row in engine.store.alerts.browse() if row[0].fingerprint == fingerprint),
                None,
            )
            if found is None:
                raise HTTPException(404, f"no alert {fingerprint!r}")
            history = engine.store.alerts.events(fingerprint, events) if events else []
            return {**alert_json(*found), "events": [event_json(row) for row in history]}

        return await asyncio.to_thread(work)

    return router
