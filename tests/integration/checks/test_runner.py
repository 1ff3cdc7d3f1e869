"""`run_checks` against a real HTTP server: order, the concurrency bound, timeouts."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiohttp import web

from opsbook.checks.context import ProbeContext
from opsbook.checks.runner import run_checks
from opsbook.status import Status
from tests.checkutil import make_check
from tests.integration.httpserver import serve


class InFlight:
    """Counts requests the server is answering at once, and the most it ever saw."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self.served: list[int] = []

    async def handle(self, request: web.Request) -> web.Response:
        index = int(request.query["i"])
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            # Earlier checks answer later, so finishing order is not input order.
            await asyncio.sleep(float(request.query.get("delay", "0")))
        finally:
            self.now -= 1
        self.served.append(index)
        return web.json_response({"status": "ok"})


async def test_results_keep_input_order_and_the_concurrency_bound() -> None:
    counter = InFlight()
    async with serve({"/health": counter.handle}) as base:
        checks = [
            make_check(
                "http", {"url": f"{base}/health?i={i}&delay={0.02 * (12 - i)}"}, name=f"c{i}"
            )
            for i in range(12)
        ]
        async with ProbeContext(Path.cwd()) as ctx:
            results = await run_checks(checks, ctx, concurrency=3)
    assert [r.check for r in results] == [f"c{i}" for i in range(12)]
    assert all(r.status is Status.OK for r in results), [r.message for r in results]
    assert counter.most == 3
    assert sorted(counter.served) == list(range(12))
    assert counter.served != list(range(12))  # they did finish out of order


async def test_a_timed_out_check_does_not_cancel_the_checks_after_it() -> None:
    counter = InFlight()
    async with serve({"/health": counter.handle}) as base:
        slow = make_check("http", {"url": f"{base}/health?i=0&delay=5", "timeout": "200ms"})
        fast = [
            make_check("http", {"url": f"{base}/health?i={i}"}, name=f"fast{i}")
            for i in range(1, 4)
        ]
        started = time.perf_counter()
        async with ProbeContext(Path.cwd()) as ctx:
            # One at a time: the checks after the timeout run in the same worker.
            results = await run_checks([slow, *fast], ctx, concurrency=1)
        elapsed = time.perf_counter() - started
    assert results[0].status is Status.CRITICAL
    assert results[0].message == "timed out after 0.2s"
    assert [r.status for r in results[1:]] == [Status.OK] * 3, [r.message for r in results]
    assert elapsed < 3


async def test_no_checks_no_results() -> None:
    async with ProbeContext(Path.cwd()) as ctx:
        assert await run_checks([], ctx) == []


async def test_concurrency_below_one_is_refused() -> None:
    check = make_check("http", {"url": "http://127.0.0.1:9/health"})
    async with ProbeContext(Path.cwd()) as ctx:
        with pytest.raises(ValueError, match="at least 1"):
            await run_checks([check], ctx, concurrency=0)
