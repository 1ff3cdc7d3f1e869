"""`wait`: let time pass, or wait for something to become true, e.g. the review-engine
deploy's "Monitor for 10 minutes" or "wait until the health check is OK again" after a
restart.

`duration` sleeps. `until` re-evaluates a condition (the `when:` language) over the run's
values, which the runner may update while the step waits (an alert resolving, say);
`until_check` runs a configured check until it reports OK. Both poll every `interval` and
fail when the step's time limit passes first.

A wait does not run in a dry run: it touches nothing, but it would only spend the time,
and the conditions it waits for read steps that a dry run does not execute.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pydantic import Field, field_validator, model_validator

from opsbook.config.base import Name, Section
from opsbook.config.types import Duration, format_duration
from opsbook.playbooks.conditions import ConditionText, parse_condition
from opsbook.playbooks.steps.base import StepContext, StepKind, StepResult, StepStatus, clip
from opsbook.playbooks.steps.check import find_check, observe, probe_context

DEFAULT_POLL_TIMEOUT = timedelta(minutes=10)
# A `duration` wait gets this much beyond its duration before the runner stops it.
DURATION_MARGIN = timedelta(minutes=1)


class WaitConfig(Section):
    duration: Duration | None = Field(default=None, description="Sleep this long, e.g. 10m.")
    until: ConditionText | None = Field(
        default=None,
        description='Wait until this condition holds, e.g. alert.status == "resolved".',
    )
    until_check: Name | None = Field(default=None, description="Wait until this check is OK.")
    interval: Duration = Field(
        default=timedelta(seconds=10), description="How often `until`/`until_check` is tested."
    )

    @field_validator("duration", "interval")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("must be longer than 0s")
        return value

    @model_validator(mode="after")
    def _one_way(self) -> WaitConfig:
        given = [k for k in ("duration", "until", "until_check") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a wait has exactly one of duration:, until: or until_check:")
        if self.duration is not None and "interval" in self.model_fields_set:
            raise ValueError("interval applies to until: and until_check: only")
        return self


def describe(spec: WaitConfig, ctx: StepContext) -> str:
    if spec.duration is not None:
        return f"wait {format_duration(spec.duration)}"
    limit = f"every {format_duration(spec.interval)}, at most {format_duration(ctx.timeout)}"
    if spec.until is not None:
        return f"wait until {spec.until} ({limit})"
    return f"wait until check {spec.until_check} is OK ({limit})"


def _failed(summary: str, output: str = "") -> StepResult:
    return StepResult(StepStatus.FAILED, summary, output, error=summary)


async def _sleep(spec: WaitConfig, ctx: StepContext) -> StepResult:
    assert spec.duration is not None
    if spec.duration > ctx.timeout:
        return _failed(
            f"the wait of {format_duration(spec.duration)} is longer than the step's time "
            f"limit of {format_duration(ctx.timeout)}; raise the step's timeout:"
        )
    await asyncio.sleep(spec.duration.total_seconds())
    return StepResult(StepStatus.OK, f"waited {format_duration(spec.duration)}")


async def _until(spec: WaitConfig, ctx: StepContext) -> StepResult:
    assert spec.until is not None
    condition = parse_condition(spec.until)
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + ctx.timeout.total_seconds()
    while True:
        if condition.holds(ctx.values):
            return StepResult(StepStatus.OK, f"{spec.until} after {loop.time() - started:.1f}s")
        remaining = deadline - loop.time()
        if remaining <= 0:
            return _failed(f"{spec.until} still false after {format_duration(ctx.timeout)}")
        await asyncio.sleep(min(spec.interval.total_seconds(), remaining))


async def _until_check(spec: WaitConfig, ctx: StepContext) -> StepResult:
    assert spec.until_check is not None
    try:
        check = find_check(ctx, spec.until_check)
    except LookupError as exc:
        return _failed(str(exc))
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + ctx.timeout.total_seconds()
    lines: list[str] = []
    last = "no result"
    async with probe_context(ctx) as probes:
        while (remaining := deadline - loop.time()) > 0:
            try:
                async with asyncio.timeout(remaining):
                    result = await observe(check, probes)
            except TimeoutError:
                break
            last = f"{result.status.name}: {result.message}"
            line = f"{loop.time() - started:.1f}s {spec.until_check} is {last}"
            ctx.on_output(line)
            lines.append(line)
            if result.status.label == "ok":
                elapsed = loop.time() - started
                return StepResult(
                    StepStatus.OK,
                    f"{spec.until_check} is OK after {elapsed:.1f}s",
                    clip("\n".join(lines[-100:])),
                )
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await asyncio.sleep(min(spec.interval.total_seconds(), remaining))
    return _failed(
        f"{spec.until_check} not OK after {format_duration(ctx.timeout)} (last: {last})",
        clip("\n".join(lines[-100:])),
    )


async def run(spec: WaitConfig, ctx: StepContext) -> StepResult:
    if spec.duration is not None:
        return await _sleep(spec, ctx)
    if spec.until is not None:
        return await _until(spec, ctx)
    return await _until_check(spec, ctx)


def _default_timeout(spec: WaitConfig) -> timedelta:
    if spec.duration is not None:
        return spec.duration + DURATION_MARGIN
    return DEFAULT_POLL_TIMEOUT


KIND = StepKind(
    "wait",
    WaitConfig,
    run,
    describe,
    "Wait a duration, or until a condition holds or a check is OK.",
    default_timeout=_default_timeout,
)
