"""`playbook`: run another playbook with parameters (a rollback from a failed deploy
step, say). Its steps are recorded in its own run, linked to this one."""

from __future__ import annotations

from pydantic import Field

from opsbook.config.base import Name, Section
from opsbook.playbooks.steps.base import StepContext, StepKind, StepResult
from opsbook.playbooks.templating import TemplateText


class PlaybookCallConfig(Section):
    name: Name = Field(description="The playbook to run.")
    params: dict[Name, TemplateText] = Field(default_factory=dict, description="Templates allowed.")


def _params(spec: PlaybookCallConfig, ctx: StepContext) -> dict[str, str]:
    return {k: ctx.render(v) for k, v in spec.params.items()}


def describe(spec: PlaybookCallConfig, ctx: StepContext) -> str:
    given = " ".join(f"{k}={v}" for k, v in _params(spec, ctx).items())
    return f"run playbook {spec.name}" + (f" with {given}" if given else "")


async def run(spec: PlaybookCallConfig, ctx: StepContext) -> StepResult:
    result: StepResult = await ctx.services["run_playbook"](spec.name, _params(spec, ctx))
    return result


KIND = StepKind("playbook", PlaybookCallConfig, run, describe, "Run another playbook.")
