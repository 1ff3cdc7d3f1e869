"""`/alerts`: alerts filtered by state, severity and service, the silences in force, and
silencing an alert from the list (a form prefilled with matchers from its labels; the
silence is stored exactly like `opsbook silence add` stores it).
"""

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from opsbook.alerts.matchers import Matcher, parse_matcher
from opsbook.alerts.model import Alert, AlertState
from opsbook.alerts.silences import Silence
from opsbook.config.types import parse_duration
from opsbook.engine.core import Engine
from opsbook.store.api_tokens import Role
from opsbook.web.ui.access import Principal, page_user
from opsbook.web.ui.forms import FormError, back_to, is_htmx, read_form
from opsbook.web.ui.rendering import Pages

STATES = ("active", "firing", "pending", "resolved", "all")  # active: firing or pending
SHOWN = 500  # alerts listed at most (newest first)
DURATIONS = ("30m", "1h", "2h", "4h", "8h", "1d", "3d", "7d")
MAX_SILENCE = 90 * 86_400  # seconds
Filter = Annotated[str, Query(max_length=100)]


def _states(state: str) -> list[str] | None:
    if state == "active":
        return [AlertState.FIRING.value, AlertState.PENDING.value]
    if state == "all":
        return None
    return [state]


def alert_rows(
    engine: Engine, state: str, severity: str, service: str
) -> list[tuple[Alert, str | None]]:
    rows = engine.store.alerts.browse(_states(state))
    return [
        (alert, muted)
        for alert, muted in rows
        if (not severity or alert.severity == severity)
        and (not service or (alert.service or "") == service)
    ]


def _alert(engine: Engine, fingerprint: str) -> Alert | None:
    return next((a for a, _ in engine.store.alerts.browse() if a.fingerprint == fingerprint), None)


def silence_from(form_matchers: list[str], extra: str) -> tuple[Matcher, ...]:
    """Matchers ticked in the form plus any typed one per line; ValueError names a bad
    one."""
    texts = [*form_matchers, *(line for line in extra.splitlines() if line.strip())]
    return tuple(parse_matcher(text.strip()) for text in texts)


def alerts_router(engine: Engine, pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    viewer = Annotated[Principal, Depends(page_user(engine, Role.VIEWER))]
    responder = Annotated[Principal, Depends(page_user(engine, Role.RESPONDER))]

    def listing(state: str, severity: str, service: str) -> dict[str, Any]:
        now = engine.clock()
        return {
            "rows": alert_rows(engine, state, severity, service)[:SHOWN],
            "shown": SHOWN,
            "silences": engine.store.silences.browse(include_expired_since=now),
            "filters": {"state": state, "severity": severity, "service": service},
            "states": STATES,
            "severities": [s.name for s in engine.config.severities],
            "services": sorted(
                {s.name for s in engine.config.services}
                | {c.service for c in engine.config.checks if c.service}
            ),
        }

    @router.get("/alerts", response_class=HTMLResponse)
    async def alerts(
        request: Request,
        principal: viewer,
        state: Filter = "active",
        severity: Filter = "",
        service: Filter = "",
    ) -> HTMLResponse:
        state = state if state in STATES else "active"
        data = await asyncio.to_thread(listing, state, severity, service)
        if is_htmx(request):
            return pages.answer("alerts_body.html", principal, request, **data)
        return pages.page(request, principal, "alerts.html", **data)

    def silence_form(
        request: Request,
        principal: Principal,
        alert: Alert | None,
        status: int = 200,
        error: str = "",
        values: dict[str, Any] | None = None,
    ) -> HTMLResponse:
        labels = dict(alert.labels) if alert else {}
        matchers = [str(Matcher(k, "=", v)) for k, v in sorted(labels.items())]
        defaults = {
            "matchers": matchers,
            "ticked": [m for m in matchers if not m.startswith("level=")],
            "extra": "",
            "duration": "1h",
            "comment": "",
        }
        return pages.page(
            request,
            principal,
            "silence.html",
            status,
            alert=alert,
            values={**defaults, **(values or {})},
            durations=DURATIONS,
            error=error,
        )

    @router.get("/alerts/silence", response_class=HTMLResponse)
    async def new_silence(
        request: Request,
        principal: responder,
        fingerprint: Annotated[str, Query(max_length=64)] = "",
    ) -> HTMLResponse:
        alert = await asyncio.to_thread(_alert, engine, fingerprint) if fingerprint else None
        return silence_form(request, principal, alert)

    @router.post("/alerts/silences", response_class=HTMLResponse)
    async def add_silence(request: Request, principal: responder) -> Response:
        try:
            form = await read_form(request)
        except FormError as exc:
            return silence_form(request, principal, None, 413, str(exc))
        ticked, extra = form.all("matcher"), form.get("extra")
        duration, comment = form.get("duration", "1h").strip(), form.get("comment").strip()
        values = {
            "matchers": ticked,
            "ticked": ticked,
            "extra": extra,
            "duration": duration,
            "comment": comment,
        }
        try:
            matchers = silence_from(ticked, extra)
            length = parse_duration(duration)
        except ValueError as exc:
            return silence_form(request, principal, None, 422, str(exc), values)
        problem = ""
        if not matchers:
            problem = "a silence needs at least one matcher"
        elif not comment:
            problem = "say why (the comment is shown to whoever gets paged next)"
        elif not 0 < length.total_seconds() <= MAX_SILENCE:
            problem = "the duration must be positive and at most 90 days"
        if problem:
            return silence_form(request, principal, None, 422, problem, values)
        now: datetime = engine.clock()
        silence = Silence(
            id=str(uuid.uuid4()),
            matchers=matchers,
            starts_at=now,
            ends_at=now + length,
            created_by=principal.actor,
            comment=comment[:1000],
        )
        await asyncio.to_thread(engine.store.silences.add, silence, now)
        return back_to("/alerts")

    @router.post("/alerts/silences/{silence_id}/expire", response_class=HTMLResponse)
    async def expire_silence(silence_id: str, principal: responder) -> Response:
        await asyncio.to_thread(engine.store.silences.expire, silence_id[:64], engine.clock())
        return back_to("/alerts")

    return router
