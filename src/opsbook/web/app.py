"""The FastAPI application served next to the engine."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from opsbook import __version__
from opsbook.engine.core import Engine

# The engine is not ready when its evaluator has not run for this long (it runs every
# evaluation_interval, 1s by default): a stuck loop shows as not ready.
STALE_EVALUATION = timedelta(seconds=30)


def create_app(engine: Engine) -> FastAPI:
    app = FastAPI(
        title="opsbook",
        version=__version__,
        description="opsbook engine: health, metrics and (later) the API.",
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

    return app
