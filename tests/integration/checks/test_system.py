"""The system kind on this machine, checked against psutil and os directly."""

from __future__ import annotations

import asyncio
import os
import time

import psutil
import pytest

from opsbook.status import Status
from tests.checkutil import run

RELAXED = {
    "cpu_pct": {"warning": "> 100", "critical": "> 100"},
    "memory_used_pct": {"warning": "> 100", "critical": "> 100"},
}


async def test_plausible_values() -> None:
    result = await run("system", {"cpu_sample": "200ms"}, thresholds=RELAXED)
    samples = result.samples
    assert result.status is Status.OK, result.message
    assert 0 <= samples["cpu_pct"] <= 100
    assert 0 < samples["memory_used_pct"] < 100
    assert samples["memory_used_pct"] == pytest.approx(psutil.virtual_memory().percent, abs=5)
    assert samples["load15"] == pytest.approx(os.getloadavg()[2], abs=1)
    assert samples["load1_per_cpu"] == pytest.approx(samples["load1"] / (psutil.cpu_count() or 1))
    if psutil.swap_memory().total:
        assert 0 <= samples["swap_used_pct"] <= 100
    else:
        assert "swap_used_pct" not in samples
        assert "swap none" in result.message
    assert result.message.startswith(f"cpu {samples['cpu_pct']:.0f}%, memory ")


async def test_cpu_is_measured_over_cpu_sample() -> None:
    started = time.perf_counter()
    await run("system", {"cpu_sample": "300ms"}, thresholds=RELAXED)
    assert time.perf_counter() - started >= 0.29


async def test_measurement_does_not_block_the_event_loop() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    await run("system", {"cpu_sample": "300ms"}, thresholds=RELAXED)
    task.cancel()
    assert ticks >= 5  # a blocked loop would tick once


async def test_thresholds_are_wired() -> None:
    warning = await run(
        "system",
        {"cpu_sample": "100ms"},
        thresholds={**RELAXED, "memory_used_pct": {"warning": "> 0", "critical": "> 100"}},
    )
    critical = await run(
        "system", {"cpu_sample": "100ms"}, thresholds={**RELAXED, "cpu_pct": {"critical": ">= 0"}}
    )
    load = await run(
        "system", {"cpu_sample": "100ms"}, thresholds={**RELAXED, "load1": {"warning": ">= 0"}}
    )
    assert warning.status is Status.WARNING and warning.message.startswith("memory_used_pct ")
    assert critical.status is Status.CRITICAL and critical.message.startswith("cpu_pct ")
    assert load.status is Status.WARNING and load.message.startswith("load1 ")


async def test_default_thresholds_apply_to_real_values() -> None:
    result = await run("system", {"cpu_sample": "100ms"})
    cpu, memory = result.samples["cpu_pct"], result.samples["memory_used_pct"]
    if cpu > 85 or memory > 90:
        expected = Status.CRITICAL
    elif cpu > 70 or memory > 80:
        expected = Status.WARNING
    else:
        expected = Status.OK
    assert result.status is expected, result.message
