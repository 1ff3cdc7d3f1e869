"""`notify`: send a message through a configured receiver ("Notify team via
Slack/Discord"). Queued in the outbox like every notification, so it is delivered even if
the run stops right after."""

from __future__ import annotations

from pydantic import Field

from opsbook.config.base import Name, Section
from opsbook.playbooks.steps.base import StepContext, StepKind, StepResult, StepStatus
from opsbook.playbooks.templating import TemplateText


class NotifyConfig(Section):
    receiver: Name
    title: TemplateText = Field(max_length=300, description="Templates allowed.")
    message: TemplateText = Field(default="", max_length=10_000, description="Templates allowed.")


def describe(spec: NotifyConfig, ctx: StepContext) -> str:
    return f"notify {spec.receiver}: {ctx.render(spec.title)}"


async def run(spec: NotifyConfig, ctx: StepContext) -> StepResult:
    send = ctx.services["notify"]
    title, body = ctx.render(spec.title), ctx.render(spec.message)
    await send(spec.receiver, title, body)
    return StepResult(StepStatus.OK, f"notified {spec.receiver}: {title}")


KIND = StepKind("notify", NotifyConfig, run, describe, "Send a message through a receiver.")
