"""`approval`: a gate before dangerous steps. The run waits until enough different
people approved (optionally only from a list); each approval is recorded."""

from __future__ import annotations

from pydantic import Field

from opsbook.config.base import Name, Section
from opsbook.playbooks.steps.base import StepContext, StepKind, StepResult, StepStatus


class ApprovalConfig(Section):
    approvers: int = Field(default=1, ge=1, le=10, description="How many distinct people.")
    allowed: list[Name] = Field(
        default_factory=list, description="Only these people may approve (default: anyone)."
    )
    reason: str = Field(default="", max_length=2000, description="Shown to the approvers.")


def describe(spec: ApprovalConfig, ctx: StepContext) -> str:
    who = f" from {', '.join(spec.allowed)}" if spec.allowed else ""
    return f"wait for {spec.approvers} approval(s){who}" + (
        f": {spec.reason}" if spec.reason else ""
    )


async def run(spec: ApprovalConfig, ctx: StepContext) -> StepResult:
    given: list[str] = list(ctx.services.get("approvals", ()))
    valid = sorted({a for a in given if not spec.allowed or a in spec.allowed})
    if len(valid) >= spec.approvers:
        return StepResult(
            StepStatus.OK, f"approved by {', '.join(valid)}", vars={"approved_by": ",".join(valid)}
        )
    return StepResult(
        StepStatus.WAITING,
        f"waiting for approval: {len(valid)} of {spec.approvers}"
        + (f" (allowed: {', '.join(spec.allowed)})" if spec.allowed else ""),
    )


KIND = StepKind("approval", ApprovalConfig, run, describe, "A gate that needs N approvers.", True)
