"""`/api/v1/checks`: the configured checks with their current status, one check's
definition and recent results, and running a check now.

A check's current status is its newest stored result ("pending" before the first). The
definition is shown without secrets: secret fields are masked by their models, every
string passes the config's redactor (values that came from the environment, passwords in
URLs), and values under keys that name credentials are masked as well.

No ``from __future__ import annotations`` here: FastAPI reads the route signatures at
run time, and the role dependencies are local aliases it must be able to resolve.
"""

import asyncio
import re
from collections import defaultdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query

from opsbook.checks.base import CheckResult
from opsbook.checks.runner import run_check
from opsbook.checks.spec import CheckBase
from opsbook.config.redact import MASK, Redactor
from opsbook.config.types import format_duration
from opsbook.engine.core import Engine
from opsbook.store.api_tokens import Role
from opsbook.web.api._fields import Filter, Limit, Name, Offset, page, stamp
from opsbook.web.auth import Principal, requires

CheckStatus = Literal["ok", "warning", "critical", "unknown", "pending"]
CREDENTIAL_KEY = re.compile(r"authorization|cookie|token|secret|password|passwd|api[-_]?key", re.I)


def _masked(value: Any, redactor: Redactor) -> Any:
    """`value` (JSON data) with every string redacted and credential-named keys masked."""
    if isinstance(value, str):
        return redactor(value)
    if isinstance(value, list):
        return [_masked(item, redactor) for item in value]
    if isinstance(value, dict):
        return {key: _field(key, item, redactor) for key, item in value.items()}
    return value


def _field(key: str, value: Any, redactor: Redactor) -> Any:
    if CREDENTIAL_KEY.search(key) and value not in (None, "", [], {}):
        return MASK
    return _masked(value, redactor)


def result_json(result: CheckResult) -> dict[str, Any]:
    return {
        "status": result.status.label,
        "message": result.message,
        "started_at": result.started_at.isoformat(),
        "duration_ms": round(result.duration_s * 1000, 3),
        "samples": dict(result.samples),
    }


def summary_json(check: CheckBase, latest: CheckResult | None) -> dict[str, Any]:
    return {
        "name": check.name,
        "service": check.service,
        "kind": check.kind,
        "description": check.description,
        "interval": format_duration(check.interval),
        "enabled": check.enabled,
        "labels": dict(check.labels),
        "status": latest.status.label if latest else "pending",
        "last_run_at": stamp(latest.started_at) if latest else None,
        "message": latest.message if latest else None,
        "duration_ms": round(latest.duration_s * 1000, 3) if latest else None,
    }


def definition_json(check: CheckBase, redactor: Redactor) -> dict[str, Any]:
    data = {
        "description": check.description,
        "labels": dict(check.labels),
        "thresholds": {k: t.model_dump(mode="json") for k, t in check.thresholds.items()},
        check.kind: check.spec.model_dump(mode="json"),
    }
    masked: dict[str, Any] = _masked(data, redactor)
    return masked


def samples_json(history: list[CheckResult]) -> dict[str, list[dict[str, Any]]]:
    """Each sample's values over the results in `history` (newest first), oldest first."""
    series: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for result in reversed(history):
        for name, value in result.samples.items():
            series[name].append({"at": result.started_at.isoformat(), "value": value})
    return dict(series)


def checks_router(engine: Engine) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["checks"])
    viewer = Annotated[Principal, Depends(requires(engine, Role.VIEWER))]
    responder = Annotated[Principal, Depends(requires(engine, Role.RESPONDER))]
    configured = {c.name: c for c in engine.config.checks}

    def require(name: str) -> CheckBase:
        check = configured.get(name)
        if check is None:
            raise HTTPException(404, f"no check {name!r}")
        return check

    @router.get("/checks")
    async def list_checks(
        _: viewer,
        service: Filter = None,
        kind: Filter = None,
        status: Annotated[CheckStatus | None, Query()] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """Configured checks in config order with the status of their newest result."""
        chosen = [
            c
            for c in configured.values()
            if (service is None or c.service == service) and (kind is None or c.kind == kind)
        ]

        def work() -> dict[str, Any]:
            if status is None:  # only the page needs its results
                shown = chosen[offset : offset + limit]
                latest = engine.store.results.latest([c.name for c in shown])
                items = [summary_json(c, latest.get(c.name)) for c in shown]
                return {"items": items, "total": len(chosen), "limit": limit, "offset": offset}
            latest = engine.store.results.latest([c.name for c in chosen])
            matching = [
                c
                for c in chosen
                if (latest[c.name].status.label if c.name in latest else "pending") == status
            ]
            return page(matching, limit, offset, lambda c: summary_json(c, latest.get(c.name)))

        return await asyncio.to_thread(work)

    @router.get("/checks/{name}")
    async def get_check(
        name: Name,
        _: viewer,
        results: Annotated[int, Query(ge=1, le=500, description="Recent results shown.")] = 20,
    ) -> dict[str, Any]:
        """The definition (without secrets), recent results with their messages (newest
        first) and the samples they carried (oldest first)."""
        check = require(name)
        history = await asyncio.to_thread(engine.store.results.history, name, results)
        return {
            **summary_json(check, history[0] if history else None),
            "definition": definition_json(check, engine.config.redactor),
            "results": [result_json(r) for r in history],
            "samples": samples_json(history),
        }

    @router.post("/checks/{name}/run")
    async def run_now(name: Name, _: responder) -> dict[str, Any]:
        """Run the check now, as the scheduler would: the result is stored and fed to the
        rules that read the check; its scheduled runs go on as before."""
        check = require(name)
        if name not in engine.checks:
            raise HTTPException(409, f"check {name!r} is disabled (enabled: false)")
        # The engine's own probe context: shared HTTP sessions and probe state.
        result = await run_check(check, engine._ctx)
        await asyncio.to_thread(engine.store.results.record, [result])
        engine.metrics.checks_run.labels(check.kind, result.status.label).inc()
        engine._observe(result)
        return {"check": name, **result_json(result)}

    return router
