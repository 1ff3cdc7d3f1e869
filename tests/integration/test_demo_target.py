"""The demo service over real HTTP: endpoints, metrics, request log, the mode switch."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from opsbook.demo.modes import MAX_MODE_BODY, Mode, ModeSettings
from opsbook.demo.target import running_target, start_target

LOG_FIELDS = {"time", "level", "method", "path", "status", "duration_ms", "trace_id"}


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as client:
        yield client


async def get(client: aiohttp.ClientSession, url: str) -> tuple[int, str, dict[str, str]]:
    async with client.get(url) as response:
        return response.status, await response.text(), dict(response.headers)


async def set_mode(client: aiohttp.ClientSession, base: str, **body: Any) -> dict[str, Any]:
    async with client.post(f"{base}/_demo/mode", data=json.dumps(body)) as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


async def test_health_endpoints(session: aiohttp.ClientSession) -> None:
    async with running_target() as base:
        for path in ("/health", "/api/v1/health"):
            status, text, _ = await get(session, base + path)
            assert (status, json.loads(text)) == (200, {"status": "ok"})
        status, text, _ = await get(session, f"{base}/api/v1/health/detailed")
    detailed = json.loads(text)
    assert status == 200
    assert detailed["status"] == "ok"
    assert detailed["uptime_s"] >= 0
    components = detailed["components"]
    assert components["database"]["status"] == "up"
    assert 0 < components["database"]["latency_ms"] < 100
    assert components["redis"]["status"] == "up"
    assert 0 <= components["memory"]["used_pct"] < 90
    assert components["memory"]["status"] == "ok"


async def test_metrics_count_requests_by_route_and_status(
    session: aiohttp.ClientSession,
) -> None:
    async with running_target() as base:
        for _ in range(3):
            await get(session, f"{base}/health")
        await get(session, f"{base}/api/v1/items/2")
        await get(session, f"{base}/api/v1/items/999")
        await get(session, f"{base}/no/such/page")
        await set_mode(session, base, mode="down")
        await get(session, f"{base}/health")
        status, text, headers = await get(session, f"{base}/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    lines = text.splitlines()
    assert 'http_requests_total{path="/health",status="200"} 3.0' in lines
    assert 'http_requests_total{path="/health",status="503"} 1.0' in lines
    # Routes, not raw paths: ids and unknown URLs cannot blow up the label set.
    assert 'http_requests_total{path="/api/v1/items/{item_id}",status="200"} 1.0' in lines
    assert 'http_requests_total{path="/api/v1/items/{item_id}",status="404"} 1.0' in lines
    assert 'http_requests_total{path="unmatched",status="404"} 1.0' in lines
    assert 'http_request_duration_seconds_count{path="/health"} 4.0' in lines
    assert 'demo_mode{mode="down"} 1.0' in lines
    assert 'demo_mode{mode="healthy"} 0.0' in lines


async def test_app_requests_write_json_log_lines(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    log = tmp_path / "logs" / "service.log"
    async with running_target(log_path=log) as base:
        _, _, first = await get(session, f"{base}/api/v1/items")
        async with session.get(
            f"{base}/api/v1/items/1", headers={"X-Trace-Id": "caller-trace-0001"}
        ) as response:
            assert response.headers["X-Trace-Id"] == "caller-trace-0001"
        await get(session, f"{base}/api/v1/items/42")
        await get(session, f"{base}/health")  # health probes are not app traffic: not logged
        await set_mode(session, base, mode="erroring", error_share=1)
        await get(session, f"{base}/api/v1/items")
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [set(r) for r in records] == [LOG_FIELDS] * 4
    assert [(r["path"], r["status"], r["level"]) for r in records] == [
        ("/api/v1/items", 200, "INFO"),
        ("/api/v1/items/1", 200, "INFO"),
        ("/api/v1/items/42", 404, "WARN"),
        ("/api/v1/items", 500, "ERROR"),
    ]
    assert records[0]["trace_id"] == first["X-Trace-Id"]
    assert len(first["X-Trace-Id"]) == 32
    assert records[1]["trace_id"] == "caller-trace-0001"
    assert all(r["method"] == "GET" and r["duration_ms"] >= 0 for r in records)
    assert all(r["time"].endswith("Z") for r in records)


async def test_log_file_is_appended_not_truncated(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    log = tmp_path / "service.log"
    log.write_text('{"earlier": true}\n')
    async with running_target(log_path=log) as base:
        await get(session, f"{base}/api/v1/items")
    assert len(log.read_text().splitlines()) == 2


async def test_mode_switch_reads_and_writes(session: aiohttp.ClientSession) -> None:
    async with running_target() as base:
        status, text, _ = await get(session, f"{base}/_demo/mode")
        current = json.loads(text)
        assert status == 200
        assert current["mode"] == "healthy"
        assert set(current["modes"]) == {m.value for m in Mode}
        changed = await set_mode(session, base, mode="slow", delay_ms=50)
        assert changed == {"mode": "slow", "delay_ms": 50, "error_share": 0.5}
        _, text, _ = await get(session, f"{base}/_demo/mode")
        assert json.loads(text)["mode"] == "slow"
        # curl -d sends form encoding; the switch reads the body as JSON regardless.
        async with session.post(
            f"{base}/_demo/mode",
            data=b'{"mode":"healthy"}',
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ) as response:
            assert response.status == 200
            assert (await response.json())["mode"] == "healthy"


async def test_mode_switch_refuses_bad_requests(session: aiohttp.ClientSession) -> None:
    async def post(data: Any, **kwargs: Any) -> tuple[int, str]:
        async with session.post(f"{base}/_demo/mode", data=data, **kwargs) as response:
            return response.status, (await response.json())["error"]

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 1024

    async with running_target() as base:
        assert await post(b"{mode: down}") == (400, 'body is not JSON; send {"mode": "down"}')
        status, reason = await post(json.dumps({"mode": "sideways"}))
        assert status == 400 and 'unknown mode "sideways"; expected one of' in reason
        assert await post(b" " * (MAX_MODE_BODY + 1)) == (
            413,
            f"body is larger than {MAX_MODE_BODY} bytes",
        )
        status, _ = await post(chunks())  # chunked: no Content-Length to trust
        assert status == 413
        async with session.put(f"{base}/_demo/mode", data=b"{}") as response:
            assert response.status == 405
        _, text, _ = await get(session, f"{base}/_demo/mode")
    assert json.loads(text)["mode"] == "healthy"  # nothing was changed by the bad requests


async def test_down_answers_503_but_metrics_and_switch_stay_up(
    session: aiohttp.ClientSession,
) -> None:
    async with running_target() as base:
        await set_mode(session, base, mode="down")
        for path in ("/health", "/api/v1/health/detailed", "/api/v1/items"):
            assert (await get(session, base + path))[0] == 503
        assert (await get(session, f"{base}/metrics"))[0] == 200
        await set_mode(session, base, mode="healthy")
        assert (await get(session, f"{base}/health"))[0] == 200


async def test_down_hard_drops_connections(session: aiohttp.ClientSession) -> None:
    async with running_target() as base:
        await set_mode(session, base, mode="down_hard")
        for path in ("/health", "/api/v1/items"):
            with pytest.raises(aiohttp.ServerDisconnectedError):
                await get(session, base + path)
        status, text, _ = await get(session, f"{base}/metrics")
        assert status == 200
        # The client may retry a dropped request once, so the count is 1 or 2.
        assert re.search(r'http_requests_total\{path="/health",status="dropped"\} [12]\.0', text)
        await set_mode(session, base, mode="healthy")
        assert (await get(session, f"{base}/health"))[0] == 200


async def test_slow_delays_service_responses_only(session: aiohttp.ClientSession) -> None:
    async with running_target() as base:
        await set_mode(session, base, mode="slow", delay_ms=400)
        started = time.perf_counter()
        status, _, _ = await get(session, f"{base}/health")
        slow = time.perf_counter() - started
        started = time.perf_counter()
        await get(session, f"{base}/metrics")
        fast = time.perf_counter() - started
    assert status == 200
    assert slow >= 0.4
    assert fast < 0.2


async def test_erroring_fails_the_configured_share(session: aiohttp.ClientSession) -> None:
    async with running_target() as base:
        await set_mode(session, base, mode="erroring", error_share=0.5)
        statuses = [(await get(session, f"{base}/api/v1/items"))[0] for _ in range(6)]
        health, text, _ = await get(session, f"{base}/health")
    assert statuses == [200, 500, 200, 500, 200, 500]
    assert (health, json.loads(text)) == (500, {"status": "error"})


async def test_bad_json_and_degraded(session: aiohttp.ClientSession) -> None:
    async with running_target() as base:
        await set_mode(session, base, mode="bad_json")
        status, text, headers = await get(session, f"{base}/health")
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        with pytest.raises(ValueError):
            json.loads(text)
        await set_mode(session, base, mode="degraded")
        status, text, _ = await get(session, f"{base}/api/v1/health/detailed")
    detailed = json.loads(text)
    assert status == 200
    assert detailed["status"] == "degraded"
    assert detailed["components"]["database"]["status"] == "down"


async def test_start_mode_and_closing_frees_the_port(session: aiohttp.ClientSession) -> None:
    running = await start_target(settings=ModeSettings(mode=Mode.DOWN))
    try:
        assert (await get(session, f"{running.base_url}/health"))[0] == 503
    finally:
        await running.close()
    with pytest.raises(aiohttp.ClientConnectorError):
        await get(session, f"{running.base_url}/health")


async def test_taken_port_raises_address_in_use() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        with pytest.raises(OSError) as caught:
            await start_target(holder.getsockname()[1])
    assert caught.value.errno == errno.EADDRINUSE


def test_module_entry_point_serves_until_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "service.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsbook.demo.target", "--port", "0", "--log", str(log)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error::RuntimeWarning"},
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("demo service listening on http://127.0.0.1:"), first
        base = first.rsplit(" ", 1)[1].strip()

        async def use() -> None:
            async with aiohttp.ClientSession() as client:
                assert (await get(client, f"{base}/api/v1/items"))[0] == 200
                await set_mode(client, base, mode="down")
                assert (await get(client, f"{base}/health"))[0] == 503

        asyncio.run(use())
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert "demo service stopped" in out
    assert err == ""
    assert json.loads(log.read_text().splitlines()[0])["path"] == "/api/v1/items"


def test_module_entry_point_refuses_bad_arguments() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "opsbook.demo.target", "--port", "70000"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "--port must be from 0 to 65535" in result.stderr


def test_module_entry_point_reports_a_taken_port() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "opsbook.demo.target", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
