"""Run checks: timeout, timing, thresholds, and error translation around each probe.

A probe that raises, times out or is cancelled by its own bug never takes the run down:
it becomes a result with a reason, so one broken check cannot hide the others.

This is the hot path of every check run (thousands per second for HTTP): per check it
builds no pydantic model and starts no task of its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from opsbook.checks.base import CheckResult, Observation, ProbeFailure
from opsbook.checks.thresholds import apply_thresholds
from opsbook.status import Status

if TYPE_CHECKING:  # importing the CLI must not load every kind's client library
    from opsbook.checks.context import ProbeContext
    from opsbook.checks.spec import CheckBase

MAX_MESSAGE = 500
DEFAULT_CONCURRENCY = 256


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 1] + "…"


async def _observe(check: CheckBase, ctx: ProbeContext) -> Observation:
    kind = check.kind_info
    spec = check.spec
    timeout = spec.timeout.total_seconds()
    try:
        async with asyncio.timeout(timeout):
            return await kind.probe(spec, ctx)
    except ProbeFailure as failure:
        return Observation(failure.status, failure.message, failure.samples)
    except TimeoutError:
        return Observation(Status.CRITICAL, f"timed out after {timeout:g}s")
    except OSError as exc:
        return Observation(Status.CRITICAL, f"{type(exc).__name__}: {exc.strerror or exc}")
    except Exception as exc:  # a bug in a probe must not stop the other checks
        return Observation(Status.UNKNOWN, f"probe error: {type(exc).__name__}: {exc}")


async def run_check(check: CheckBase, ctx: ProbeContext) -> CheckResult:
    started_at = ctx.now()
    started = time.perf_counter()
    observation = await _observe(check, ctx)
    duration = time.perf_counter() - started
    observation = apply_thresholds(observation, check.effective_thresholds())
    return CheckResult(
        check=check.name,
        service=check.service,
        status=observation.status,
        message=_one_line(ctx.redactor(observation.message)),
        started_at=started_at,
        duration_s=duration,
        samples=observation.samples,
    )


async def run_checks(
    checks: Iterable[CheckBase], ctx: ProbeContext, concurrency: int = DEFAULT_CONCURRENCY
) -> list[CheckResult]:
    """Run checks concurrently (at most `concurrency` at once); results in input order.

    At most `concurrency` worker tasks take the next check as soon as they finish one, in
    input order, instead of one task per check queued on a semaphore: thousands of checks
    then cost no more scheduling than the probes themselves need.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    todo = list(checks)
    results: list[CheckResult | None] = [None] * len(todo)
    queue = iter(enumerate(todo))

    async def worker() -> None:
        for index, check in queue:  # shared iterator: each check is taken exactly once
            results[index] = await run_check(check, ctx)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(todo)))))
    return cast(list[CheckResult], results)  # every worker ran to the end: all filled
