"""The wait step with real time (short durations) and real checks."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

from opsbook.playbooks.steps.base import StepStatus
from tests.unit.playbooks.steps.stepctx import config, context, run


async def test_a_duration_waits_that_long() -> None:
    # review-engine: "Monitor for 10 minutes", shortened
    started = time.monotonic()
    result = await run("wait", {"duration": "200ms"})
    assert time.monotonic() - started >= 0.2
    assert result.status is StepStatus.OK
    assert result.summary == "waited 200ms"


async def test_a_duration_longer_than_the_time_limit_fails_at_once() -> None:
    started = time.monotonic()
    result = await run("wait", {"duration": "10m"}, context(timeout=timedelta(minutes=5)))
    assert time.monotonic() - started < 1
    assert result.status is StepStatus.FAILED
    assert result.summary == (
        "the wait of 10m is longer than the step's time limit of 5m; raise the step's timeout:"
    )


async def test_until_sees_values_the_runner_updates() -> None:
    ctx = context(alert={"labels": {"alertname": "HighErrorRate"}, "status": "firing"},
                  timeout=timedelta(seconds=5))  # fmt: skip

    async def resolve_later() -> None:
        await asyncio.sleep(0.3)
        ctx.values["alert"]["status"] = "resolved"

    updater = asyncio.create_task(resolve_later())
    started = time.monotonic()
    result = await run("wait", {"until": 'alert.status == "resolved"', "interval": "50ms"}, ctx)
    await updater
    assert result.status is StepStatus.OK, result.summary
    assert 0.3 <= time.monotonic() - started < 2


async def test_until_fails_when_the_time_limit_passes() -> None:
    ctx = context(params={"replicas": 3}, timeout=timedelta(milliseconds=300))
    started = time.monotonic()
    result = await run("wait", {"until": "params.replicas >= 10", "interval": "100ms"}, ctx)
    assert 0.3 <= time.monotonic() - started < 2
    assert result.status is StepStatus.FAILED
    assert result.summary == "params.replicas >= 10 still false after 300ms"


def file_check(path: Path) -> str:
    return f"""
    checks:
      - name: api-health
        command: {{argv: [/bin/sh, -c, 'test -e "$0" && echo up || {{ echo down; exit 2; }}', "{path}"]}}
    """


async def test_until_check_polls_until_the_check_is_ok(tmp_path: Path) -> None:
    # review-engine "API Service Down": restart, then wait for the health check
    flag = tmp_path / "up"
    lines: list[str] = []
    ctx = context(config(file_check(flag)), lines=lines, timeout=timedelta(seconds=10))

    async def come_up() -> None:
        await asyncio.sleep(0.3)
        flag.touch()

    starter = asyncio.create_task(come_up())
    result = await run("wait", {"until_check": "api-health", "interval": "50ms"}, ctx)
    await starter
    assert result.status is StepStatus.OK, result.summary
    assert result.summary.startswith("api-health is OK after ")
    assert lines[0].endswith("api-health is CRITICAL: down")
    assert lines[-1].endswith("api-health is OK: up")
    assert result.output == "\n".join(lines)


async def test_until_check_fails_with_the_last_result(tmp_path: Path) -> None:
    ctx = context(config(file_check(tmp_path / "never")), timeout=timedelta(milliseconds=400))
    result = await run("wait", {"until_check": "api-health", "interval": "100ms"}, ctx)
    assert result.status is StepStatus.FAILED
    assert result.summary == "api-health not OK after 400ms (last: CRITICAL: down)"
    assert result.output.count("api-health is CRITICAL: down") >= 2
