"""The http check against a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import web

from opsbook.status import Status
from tests.checkutil import run
from tests.integration.certs import self_signed
from tests.integration.httpserver import serve, stopped_port_url

DETAILED = {  # shape of the api-backend runbook's /api/v1/health/detailed
    "status": "ok",
    "components": {"database": {"status": "up"}, "redis": {"status": "up"}},
}


async def health(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def detailed(_: web.Request) -> web.Response:
    return web.json_response(DETAILED)


async def degraded(_: web.Request) -> web.Response:
    body = {"status": "degraded", "components": {"database": {"status": "down"}}}
    return web.json_response(body, status=200)


async def slow(_: web.Request) -> web.Response:
    await asyncio.sleep(0.3)
    return web.json_response({"status": "ok"})


async def error(_: web.Request) -> web.Response:
    return web.Response(status=503, text="upstream unavailable")


async def bad_json(_: web.Request) -> web.Response:
    return web.Response(text="{not json", content_type="application/json")


async def redirect(_: web.Request) -> web.Response:
    raise web.HTTPFound("/health")


async def big(_: web.Request) -> web.Response:
    return web.Response(text="x" * 300_000 + "END")  # arrives in several reads


ROUTES = {
    "/health": health,
    "/api/v1/health/detailed": detailed,
    "/degraded": degraded,
    "/slow": slow,
    "/error": error,
    "/bad-json": bad_json,
    "/redirect": redirect,
    "/big": big,
}


async def test_healthy_endpoint_is_ok_with_samples() -> None:
    async with serve(ROUTES) as base:
        result = await run("http", {"url": f"{base}/health", "json": ['$.status == "ok"']})
    assert result.status is Status.OK, result.message
    assert result.samples["status_code"] == 200
    assert result.samples["latency_ms"] > 0
    assert "cert_days_left" not in result.samples


async def test_stopped_server_is_critical_with_reason() -> None:
    result = await run("http", {"url": f"{await stopped_port_url()}/health"})
    assert result.status is Status.CRITICAL
    assert "cannot connect" in result.message


async def test_wrong_status_is_critical() -> None:
    async with serve(ROUTES) as base:
        result = await run("http", {"url": f"{base}/error"})
    assert result.status is Status.CRITICAL
    assert "HTTP 503" in result.message and "expected 200-299" in result.message


async def test_expected_status_list_and_range() -> None:
    async with serve(ROUTES) as base:
        ok = await run("http", {"url": f"{base}/error", "expect_status": [200, "500-599"]})
        wildcard = await run("http", {"url": f"{base}/error", "expect_status": "5xx"})
    assert ok.status is Status.OK
    assert wildcard.status is Status.OK


async def test_slow_response_crosses_latency_thresholds() -> None:
    async with serve(ROUTES) as base:
        warn = await run(
            "http",
            {"url": f"{base}/slow"},
            thresholds={"latency_ms": {"warning": 200, "critical": 5000}},
        )
        crit = await run(
            "http",
            {"url": f"{base}/slow"},
            thresholds={"latency_ms": {"warning": 100, "critical": 200}},
        )
    assert warn.status is Status.WARNING, warn.message
    assert crit.status is Status.CRITICAL
    assert crit.message.startswith("latency_ms ") and "> 200" in crit.message


async def test_timeout_is_critical() -> None:
    async with serve(ROUTES) as base:
        result = await run("http", {"url": f"{base}/slow", "timeout": "100ms"})
    assert result.status is Status.CRITICAL
    assert "timed out after 0.1s" in result.message


async def test_failed_json_assertion_names_path_and_value() -> None:
    async with serve(ROUTES) as base:
        result = await run(
            "http",
            {
                "url": f"{base}/degraded",
                "json": ['$.status == "ok"', '$.components.database.status == "up"'],
            },
        )
    assert result.status is Status.CRITICAL
    assert '$.status is "degraded", expected == "ok"' in result.message
    assert '$.components.database.status is "down"' in result.message


async def test_json_presence_and_operators() -> None:
    async with serve(ROUTES) as base:
        ok = await run(
            "http",
            {
                "url": f"{base}/api/v1/health/detailed",
                "json": [
                    "$.components.database.status",
                    "$.components.redis.status =~ '^up$'".replace("'", '"'),
                    '$.status != "down"',
                ],
            },
        )
        missing = await run("http", {"url": f"{base}/health", "json": ["$.components.database"]})
    assert ok.status is Status.OK, ok.message
    assert missing.status is Status.CRITICAL
    assert "$.components.database not found" in missing.message


async def test_bad_json_body() -> None:
    async with serve(ROUTES) as base:
        result = await run("http", {"url": f"{base}/bad-json", "json": ["$.status"]})
    assert result.status is Status.CRITICAL
    assert "not valid JSON" in result.message


async def test_body_substring_and_regex() -> None:
    async with serve(ROUTES) as base:
        ok = await run(
            "http", {"url": f"{base}/health", "body_contains": ['"ok"'], "body_regex": "status"}
        )
        bad = await run("http", {"url": f"{base}/health", "body_contains": ["healthy"]})
    assert ok.status is Status.OK
    assert bad.status is Status.CRITICAL and "body lacks 'healthy'" in bad.message


async def test_large_body_is_read_whole_up_to_max_body() -> None:
    async with serve(ROUTES) as base:
        whole = await run("http", {"url": f"{base}/big", "body_contains": ["END"]})
        capped = await run(
            "http", {"url": f"{base}/big", "body_contains": ["END"], "max_body": "100KB"}
        )
    assert whole.status is Status.OK, whole.message
    assert whole.samples["body_bytes"] == 300_003
    assert capped.status is Status.CRITICAL and "body lacks 'END'" in capped.message
    assert capped.samples["body_bytes"] == 100_000


async def test_redirects_followed_or_not() -> None:
    async with serve(ROUTES) as base:
        followed = await run("http", {"url": f"{base}/redirect"})
        not_followed = await run("http", {"url": f"{base}/redirect", "follow_redirects": False})
    assert followed.status is Status.OK
    assert not_followed.status is Status.CRITICAL
    assert not_followed.samples["status_code"] == 302


async def test_keepalive_session_works() -> None:
    async with serve(ROUTES) as base:
        result = await run("http", {"url": f"{base}/health", "keepalive": True})
    assert result.status is Status.OK


async def test_https_cert_days_left_and_verification(tmp_path: Path) -> None:
    near = self_signed(tmp_path, days_valid=5)
    async with serve(ROUTES, near.server_context()) as base:
        verified = await run("http", {"url": f"{base}/health"})
        unverified = await run("http", {"url": f"{base}/health", "verify_tls": False})
    assert verified.status is Status.CRITICAL
    assert "certificate" in verified.message.lower()
    # 5 days left crosses the default critical bound (< 7) from the runbooks.
    assert unverified.status is Status.CRITICAL
    assert 4.9 < unverified.samples["cert_days_left"] < 5.1
    assert "cert_days_left 5" in unverified.message


@pytest.mark.parametrize(
    "days,expected", [(60, Status.OK), (10, Status.WARNING), (-1, Status.CRITICAL)]
)
async def test_https_expiry_levels(tmp_path: Path, days: float, expected: Status) -> None:
    cert = self_signed(tmp_path, days_valid=days)
    async with serve(ROUTES, cert.server_context()) as base:
        result = await run("http", {"url": f"{base}/health", "verify_tls": False})
    assert result.status is expected, result.message
