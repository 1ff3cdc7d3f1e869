"""`manual`: an instruction a person carries out and confirms ("Monitor for 10 minutes",
"Notify team via Slack/Discord"). The run waits until someone confirms; who and when is
recorded."""

from __future__ import annotations

from pydantic import Field

from opsbook.config.base import Section
from opsbook.playbooks.steps.base import StepContext, StepKind, StepResult, StepStatus
from opsbook.playbooks.templating import TemplateText


class ManualConfig(Section):
    instruction: TemplateText = Field(min_length=1, max_length=5000, description="What to do.")


def describe(spec: ManualConfig, ctx: StepContext) -> str:
    return f"ask a person to confirm: {ctx.render(spec.instruction)}"


async def run(spec: ManualConfig, ctx: StepContext) -> StepResult:
    confirmed = ctx.services.get("confirmed_by")
    if confirmed:
        return StepResult(StepStatus.OK, f"confirmed by {confirmed}", vars={"by": confirmed})
    return StepResult(StepStatus.WAITING, f"waiting for a person: {ctx.render(spec.instruction)}")


KIND = StepKind("manual", ManualConfig, run, describe, "An instruction a person confirms.", True)
