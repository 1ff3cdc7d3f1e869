"""The http step against a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from aiohttp import web

from opsbook.playbooks.steps.base import StepStatus
from tests.integration.httpserver import Handler, serve, stopped_port_url
from tests.unit.playbooks.steps.stepctx import config, context, run

# api-backend "Rollback Cloud Run Deployment", step 4: curl .../api/v1/health
HEALTH = {"status": "ok", "revision": "guesslyfe-backend-00042-abc",
          "components": {"database": {"status": "up"}, "redis": {"status": "up"}}}  # fmt: skip
received: list[dict[str, Any]] = []


async def health(_: web.Request) -> web.Response:
    return web.json_response(HEALTH)


async def traffic(request: web.Request) -> web.Response:
    received.append({
        "method": request.method, "path": request.path, "query": dict(request.query),
        "headers": dict(request.headers), "json": await request.json(),
    })  # fmt: skip
    return web.json_response({"accepted": True, "token": request.headers.get("X-Token")})


async def broken(_: web.Request) -> web.Response:
    return web.Response(status=503, text="upstream connect error")


async def slow(_: web.Request) -> web.Response:
    await asyncio.sleep(1)
    return web.json_response(HEALTH)


ROUTES: dict[str, Handler] = {"/api/v1/health": health, "/traffic/{service}": traffic, "/broken": broken,
          "/slow": slow}  # fmt: skip


async def test_health_check_with_json_assertions_and_saved_revision() -> None:
    async with serve(ROUTES) as base:
        result = await run("http", {
            "url": f"{base}/api/v1/health",
            "expect": {"status": 200, "json": ['$.status == "ok"',
                                               '$.components.database.status == "up"']},
            "save": {"revision": "$.revision"},
        })  # fmt: skip
    assert result.status is StepStatus.OK, result.summary
    assert result.summary.startswith("HTTP 200 in ")
    assert result.vars == {"revision": "guesslyfe-backend-00042-abc"}
    assert '"status": "ok"' in result.output


async def test_templates_fill_path_query_headers_and_json_as_values_only() -> None:
    received.clear()
    hostile = 'x"; rm -rf / #\n'
    ctx = context(params={"service": "guesslyfe backend/../admin", "revision": hostile})
    async with serve(ROUTES) as base:
        result = await run("http", {
            "method": "POST",
            "url": base + "/traffic/{{ params.service }}?to={{ params.revision }}&by=me",
            "headers": {"X-Reason": "rollback to {{ params.service }}"},
            "json": {"revision": "{{ params.revision }}", "percent": 100},
            "expect": {"json": "$.accepted == true"},
        }, ctx)  # fmt: skip
    assert result.status is StepStatus.OK, result.summary
    [request] = received
    assert request["method"] == "POST"
    assert request["path"] == "/traffic/guesslyfe backend/../admin"  # one segment, decoded
    assert request["query"] == {"to": hostile, "by": "me"}
    assert request["headers"]["X-Reason"] == "rollback to guesslyfe backend/../admin"
    assert request["json"] == {"revision": hostile, "percent": 100}


async def test_unexpected_status_fails_with_the_body_kept() -> None:
    async with serve(ROUTES) as base:
        result = await run("http", {"url": f"{base}/broken"})
    assert result.status is StepStatus.FAILED
    assert result.summary.startswith("HTTP 503 in ")
    assert result.summary.endswith("(expected 200-299)")
    assert result.output == "upstream connect error"


async def test_body_expectations_and_missing_saved_values_fail() -> None:
    async with serve(ROUTES) as base:
        lacks = await run("http", {"url": f"{base}/api/v1/health",
                                   "expect": {"contains": "degraded"}})  # fmt: skip
        absent = await run("http", {"url": f"{base}/api/v1/health",
                                    "save": {"image": "$.image"}})  # fmt: skip
    assert lacks.status is StepStatus.FAILED
    assert lacks.summary.endswith("output lacks 'degraded'")
    assert absent.summary.endswith("cannot save image: $.image not found")


async def test_timeout_and_refused_connection_fail_with_the_reason() -> None:
    async with serve(ROUTES) as base:
        slow_result = await run("http", {"url": f"{base}/slow"},
                                context(timeout=timedelta(milliseconds=300)))  # fmt: skip
    assert slow_result.status is StepStatus.FAILED
    assert slow_result.summary == "timed out after 300ms"
    refused = await run("http", {"url": await stopped_port_url() + "/api/v1/health"})
    assert refused.status is StepStatus.FAILED
    assert refused.summary.startswith("cannot connect to 127.0.0.1:")


async def test_a_secret_echoed_by_the_server_is_masked() -> None:
    async with serve(ROUTES) as base:
        cfg = config(
            f"""
            playbooks:
              - name: traffic
                steps:
                  - name: shift
                    http:
                      method: PUT
                      url: {base}/traffic/api
                      headers: {{X-Token: "${{ENV:DEPLOY_TOKEN}}"}}
                      json: {{percent: 100}}
            """,
            environ={"DEPLOY_TOKEN": "dt-5e6f7a8b9c"},
        )
        step = cfg.playbooks[0].steps[0]
        lines: list[str] = []
        result = await step.kind_info.run(step.spec, context(cfg, lines=lines))
    assert result.status is StepStatus.OK, result.summary
    assert received[-1]["headers"]["X-Token"] == "dt-5e6f7a8b9c"
    assert result.output == '{"accepted": true, "token": "***"}'
    assert lines == [result.output]
