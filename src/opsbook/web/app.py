"""The FastAPI application served next to the engine."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from opsbook import __version__
from opsbook.engine.core import Engine
from opsbook.web.api import api_routers
from opsbook.web.auth import ApiGuard, PageAccessError, page_denied
from opsbook.web.inbound import inbound_router
from opsbook.web.incidents_api import incidents_router
from opsbook.web.links import links_router
from opsbook.web.login import login_router
from opsbook.web.problems import problem
from opsbook.web.status_page import status_router
from opsbook.web.ui import ui_routers

# The engine is not ready when its evaluator has not run for this long (it runs every
# evaluation_interval, 1s by default): a stuck loop shows as not ready.
STALE_EVALUATION = timedelta(seconds=30)


def create_app(engine: Engine) -> FastAPI:
    app = FastAPI(
        title="opsbook",
        version=__version__,
        description="opsbook engine: health, metrics, incidents, inbound events and pings.",
        # The interactive docs pages load their scripts from a CDN; the schema is enough.
        docs_url=None,
        redoc_url=None,
    )

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(engine.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz() -> JSONResponse:
        """Readiness with component detail, like the api-backend runbook's /health/detailed."""
        components: dict[str, Any] = {}
        ready = True
        try:
            depth = engine.store.outbox.depth()
            components["store"] = {"status": "up", "dialect": engine.store.dialect}
            components["outbox"] = {"status": "ok", "depth": depth}
        except Exception as exc:
            ready = False
            components["store"] = {"status": "down", "error": type(exc).__name__}
        last = engine.last_evaluation
        fresh = last is not None and engine.clock() - last <= STALE_EVALUATION
        components["evaluator"] = {
            "status": "ok" if fresh else "stalled" if engine.started.is_set() else "starting",
            "last_evaluation": last.isoformat() if last else None,
        }
        components["scheduler"] = {"status": "ok", "checks": len(engine.schedule)}
        ready = ready and fresh
        body = {"status": "ok" if ready else "unavailable", "components": components}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.exception_handler(StarletteHTTPException)
    async def http_problem(_: Request, exc: StarletteHTTPException) -> Response:
        response = problem(exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_problem(_: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return problem(
            422, f"{where}: {first.get('msg', 'invalid request')}", errors=len(exc.errors())
        )

    app.add_exception_handler(PageAccessError, page_denied)
    app.add_middleware(ApiGuard, engine=engine)
    app.include_router(inbound_router(engine))
    app.include_router(links_router(engine))
    app.include_router(incidents_router(engine))
    for router in ui_routers(engine):
        app.include_router(router)
    app.mount("/static", StaticFiles(packages=[("opsbook.web", "static")]), name="static")
    for router in api_routers(engine):
        app.include_router(router)
    app.include_router(status_router(engine))
    app.include_router(login_router(engine))
    return app
