"""`check`: run a configured check now and require a status, e.g. the api-backend
rollback's "Verify health" after ``gcloud run services update-traffic``, or "the API is
down" before restarting it.

The check runs exactly as `opsbook check NAME` runs it (same probe, timeout and
thresholds), so a playbook and the monitoring agree on what "healthy" means. A check only
observes, and the engine runs it all day anyway, so this kind also runs in a dry run: the
dry run then shows whether the playbook's preconditions hold right now.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from opsbook.config.base import Name, Section
from opsbook.config.types import format_duration
from opsbook.playbooks.steps.base import StepContext, StepKind, StepResult, StepStatus
from opsbook.status import Status

if TYPE_CHECKING:
    from opsbook.checks.base import CheckResult
    from opsbook.checks.context import ProbeContext
    from opsbook.checks.spec import CheckBase

Expectation = Literal["ok", "warning", "critical", "not_critical"]
ACCEPTED: dict[str, frozenset[Status]] = {
    "ok": frozenset({Status.OK}),
    "warning": frozenset({Status.WARNING}),
    "critical": frozenset({Status.CRITICAL}),
    # UNKNOWN means the check could not tell: that is no evidence of "not critical".
    "not_critical": frozenset({Status.OK, Status.WARNING}),
}
DEFAULT_TIMEOUT = timedelta(minutes=1)


class CheckStepConfig(Section):
    check: Name = Field(description="A check from `checks:`.")
    expect: Expectation = Field(
        default="ok",
        description="The status required: ok, warning, critical or not_critical (ok or warning).",
    )


def find_check(ctx: StepContext, name: str) -> CheckBase:
    check = next((c for c in ctx.config.checks if c.name == name), None)
    if check is None:
        raise LookupError(f"unknown check {name!r}")
    return check


def probe_context(ctx: StepContext) -> ProbeContext:
    from opsbook.checks.context import ProbeContext

    return ProbeContext(ctx.config.base_dir, ctx.redactor, clock=ctx.clock)


async def observe(check: CheckBase, probes: ProbeContext) -> CheckResult:
    from opsbook.checks.runner import run_check

    return await run_check(check, probes)


def describe(spec: CheckStepConfig, ctx: StepContext) -> str:
    try:
        kind = f" ({find_check(ctx, spec.check).kind})"
    except LookupError:
        kind = ""
    return f"run check {spec.check}{kind} and require {spec.expect.replace('_', ' ')}"


async def run(spec: CheckStepConfig, ctx: StepContext) -> StepResult:
    try:
        check = find_check(ctx, spec.check)
    except LookupError as exc:
        return StepResult(StepStatus.FAILED, str(exc), error=str(exc))
    try:
        async with asyncio.timeout(ctx.timeout.total_seconds()), probe_context(ctx) as probes:
            result = await observe(check, probes)
    except TimeoutError:
        reason = f"check {spec.check} did not finish within {format_duration(ctx.timeout)}"
        return StepResult(StepStatus.FAILED, reason, error=reason)
    label = result.status.label
    line = f"{spec.check} is {label.upper()}: {result.message}"
    ctx.on_output(line)
    variables = {"check_status": label, "check_message": result.message}
    if result.status in ACCEPTED[spec.expect]:
        return StepResult(StepStatus.OK, line, line, vars=variables)
    reason = f"{line} (required: {spec.expect.replace('_', ' ')})"
    return StepResult(StepStatus.FAILED, reason, line, vars=variables, error=reason)


def _default_timeout(_spec: CheckStepConfig) -> timedelta:
    return DEFAULT_TIMEOUT


KIND = StepKind(
    "check",
    CheckStepConfig,
    run,
    describe,
    "Run a configured check now and require a status (ok by default).",
    safe_in_dry_run=True,
    default_timeout=_default_timeout,
)
