"""Inbound HTTP: Alertmanager webhooks, PagerDuty-style events, heartbeat pings.

Each request is taken whole or not at all: it is read with a size cap, authenticated,
parsed and checked completely (`opsbook.inbound`) before anything is stored, and the
answer is sent only after the engine has written what it changed, so a 2xx means the
alert is safe. A repeated ``Idempotency-Key`` is refused with 409 and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from opsbook.engine.core import Engine, StoreUnavailableError
from opsbook.inbound.alertmanager import parse_alertmanager
from opsbook.inbound.events import EventAction, build_event, read_event, response_body
from opsbook.inbound.heartbeats import find_heartbeat, parse_ping
from opsbook.inbound.integrations import WWW_AUTHENTICATE, IntegrationKind, authenticate
from opsbook.inbound.limits import MAX_BODY, InboundError
from opsbook.web.problems import problem, read_capped

log = logging.getLogger("opsbook.web.inbound")

MAX_PING_BODY = 10_000  # a ping may carry a log tail; it is read (bounded) and dropped
MAX_IDEMPOTENCY_KEY = 200


def inbound_router(engine: Engine) -> APIRouter:
    router = APIRouter(tags=["inbound"])
    config = engine.config
    severities = [s.name for s in config.severities]

    async def guarded(
        request: Request, name: str, handle: Callable[[bytes, Replay], Awaitable[Response]]
    ) -> Response:
        body = await read_capped(request, MAX_BODY)
        if body is None:
            return problem(413, f"body larger than {MAX_BODY} bytes")
        key = request.headers.get("idempotency-key")
        if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
            return problem(400, f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
        replay = Replay(engine, f"inbound:{name}:{key}" if key is not None else None)
        try:
            response = await handle(body, replay)
        except InboundError as exc:
            await replay.release()
            extra: dict[str, object] = {"path": exc.path} if exc.path else {}
            answer = problem(exc.status, exc.message, None, **extra)
            if exc.status == 401:
                answer.headers["WWW-Authenticate"] = WWW_AUTHENTICATE
            return answer
        except StoreUnavailableError as exc:
            await replay.release()
            return problem(503, str(exc), headers={"Retry-After": "1"})
        except BaseException:
            await replay.release()
            raise
        if response.status_code >= 400:
            await replay.release()
        return response

    @router.post("/api/v1/inbound/alertmanager/{name}", status_code=200)
    async def alertmanager(name: str, request: Request) -> Response:
        """Alertmanager's webhook (version 4): firing alerts open or join incidents,
        resolved ones resolve them."""

        async def handle(body: bytes, replay: Replay) -> Response:
            integration = authenticate(
                config.integrations,
                name,
                request.headers,
                request.query_params,
                kind=IntegrationKind.ALERTMANAGER,
            )
            if (refused := await replay.claim()) is not None:
                return refused
            alerts = parse_alertmanager(
                body,
                request.headers.get("content-type"),
                integration,
                engine.clock(),
                severities=severities,
            )
            await engine.ingest(alerts)
            return JSONResponse({"status": "success", "alerts": len(alerts)})

        return await guarded(request, name, handle)

    @router.post("/api/v1/inbound/events/{name}", status_code=202)
    async def events(name: str, request: Request) -> Response:
        """trigger / acknowledge / resolve with a dedup_key (PagerDuty Events API v2)."""

        async def handle(body: bytes, replay: Replay) -> Response:
            event_request = read_event(body, request.headers.get("content-type"))
            integration = authenticate(
                config.integrations,
                name,
                request.headers,
                request.query_params,
                kind=IntegrationKind.EVENTS,
                routing_key=event_request.routing_key,
            )
            if (refused := await replay.claim()) is not None:
                return refused
            event = build_event(event_request, integration, engine.clock(), severities=severities)
            if event.action is EventAction.TRIGGER and event.alert is not None:
                await engine.ingest([event.alert])
            elif event.action is EventAction.RESOLVE:
                known = engine.book.alerts.get(event.fingerprint)
                if known is not None:
                    await engine.ingest([known.evolve(state=known.state.RESOLVED)])
            else:
                await _acknowledge_alert(engine, event.fingerprint, f"integration:{name}")
            return JSONResponse(response_body(event), status_code=202)

        return await guarded(request, name, handle)

    async def ping(id_and_action: str, request: Request) -> Response:
        if await read_capped(request, MAX_PING_BODY) is None:
            return problem(413, f"ping body larger than {MAX_PING_BODY} bytes")
        try:
            parsed = parse_ping(id_and_action)
            beat = find_heartbeat(config.heartbeats, parsed.id)
        except InboundError as exc:
            return problem(exc.status, exc.message)
        await asyncio.to_thread(engine.store.heartbeats.record, beat.name, parsed, engine.clock())
        await engine.judge_heartbeats()
        return PlainTextResponse("OK\n")

    for method in ("GET", "POST", "HEAD"):
        router.add_api_route(
            "/ping/{id_and_action:path}",
            ping,
            methods=[method],
            include_in_schema=method == "POST",
            summary="Heartbeat ping: /ping/<uuid>[/start|/fail|/<exit-code>]",
        )
    return router


class Replay:
    """An Idempotency-Key, claimed once the sender is authenticated (so nobody without
    a token learns which keys were used) and atomically (an insert that only one of
    several concurrent requests wins). A request that then fails gives its key back."""

    def __init__(self, engine: Engine, key: str | None) -> None:
        self.engine = engine
        self.key = key
        self.claimed = False

    async def claim(self) -> Response | None:
        if self.key is None:
            return None
        now = self.engine.clock()
        tokens = self.engine.store.tokens
        earlier = await asyncio.to_thread(tokens.claim, self.key, now.isoformat(), now)
        if earlier is not None:
            return problem(
                409, f"replayed request: this Idempotency-Key was already used at {earlier}"
            )
        self.claimed = True
        return None

    async def release(self) -> None:
        if self.claimed and self.key is not None:
            await asyncio.to_thread(self.engine.store.tokens.release, self.key)
            self.claimed = False


async def _acknowledge_alert(engine: Engine, fingerprint: str, actor: str) -> None:
    """An event's acknowledge: every open incident the alert belongs to is acked."""

    def ack() -> None:
        with engine.store.engine.connect() as conn:
            found = engine.store.incidents.open_for_alert(conn, fingerprint)
        for incident in found:
            engine.incidents.acknowledge(incident.id, actor, via="events API")

    await asyncio.to_thread(ack)
