"""The `playbooks:` and `connections:` entries of opsbook.yaml.

A step names exactly one kind block (`shell:`, `sql:`, `manual:` …), built from the kind
registry like checks and receivers, plus the control every step shares: `when`,
`on_failure`, `retries`, `timeout`, `dangerous`, `save`.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import Field, create_model, model_validator

from opsbook.config.base import Name, Section
from opsbook.config.types import Duration
from opsbook.playbooks.conditions import ConditionText, parse_condition
from opsbook.playbooks.params import Param
from opsbook.playbooks.steps import STEP_KINDS, StepKind
from opsbook.playbooks.templating import TemplateText


class Retry(Section):
    attempts: int = Field(default=1, ge=1, le=20, description="Tries in all (1: no retry).")
    backoff: Duration = Field(
        default=timedelta(seconds=5), description="Wait before the 2nd try; doubles after."
    )


class RunPlaybook(Section):
    run: Name = Field(description="A playbook to run when this step fails (a rollback).")


class StepBase(Section):
    name: Name = Field(description="Unique in the playbook; steps.NAME in conditions.")
    title: str = Field(default="", max_length=300, description="What a person reads.")
    when: ConditionText | None = Field(
        default=None, description='Run only if this holds, e.g. steps.check.status == "failed".'
    )
    on_failure: Literal["abort", "continue"] | RunPlaybook = Field(
        default="abort", description="abort (default), continue, or {run: PLAYBOOK}."
    )
    retries: Retry = Field(default_factory=Retry)
    timeout: Duration | None = Field(
        default=None, description="Per-step limit (default: the kind's own, else 5m)."
    )
    dangerous: bool = Field(
        default=False,
        description="Needs --yes, or an earlier approval step in the run, before it runs.",
    )

    @model_validator(mode="before")
    @classmethod
    def _exactly_one_kind(cls, data: Any) -> Any:
        if isinstance(data, dict):
            present = [k for k in STEP_KINDS if data.get(k) is not None]
            if len(present) > 1:
                raise ValueError(f"a step has exactly one kind, found {', '.join(present)}")
            unknown = [k for k in data if k not in cls.model_fields]
            if not present and not unknown:
                raise ValueError(f"a step needs one kind block: {', '.join(STEP_KINDS)}")
        return data

    @cached_property
    def kind(self) -> str:
        for name in STEP_KINDS:
            if getattr(self, name, None) is not None:
                return name
        raise AssertionError("validated steps always have a kind")

    @property
    def kind_info(self) -> StepKind[Any]:
        return STEP_KINDS[self.kind]

    @property
    def spec(self) -> Section:
        return cast(Section, getattr(self, self.kind))

    @property
    def label(self) -> str:
        return self.title or self.name


def _build_step_model() -> type[StepBase]:
    fields: dict[str, Any] = {
        name: (kind.config_model | None, Field(default=None, description=kind.summary))
        for name, kind in STEP_KINDS.items()
    }
    return create_model("Step", __base__=StepBase, **fields)


if TYPE_CHECKING:
    Step = StepBase
else:
    Step = _build_step_model()


class Playbook(Section):
    name: Name
    description: str = ""
    params: list[Param] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1, max_length=200)
    timeout: Duration = Field(
        default=timedelta(hours=1), description="The whole run stops after this long."
    )
    lock: TemplateText | None = Field(
        default=None,
        description="What the run works on, e.g. '{{ params.service }}': two runs of this "
        "playbook on the same target never overlap. Default: the playbook itself.",
    )
    concurrent: bool = Field(
        default=False, description="Allow runs on the same target at the same time."
    )

    @model_validator(mode="after")
    def _names(self) -> Playbook:
        seen: set[str] = set()
        for step in self.steps:
            if step.name in seen:
                raise ValueError(f"two steps are named {step.name!r}")
            seen.add(step.name)
        params = [p.name for p in self.params]
        if len(params) != len(set(params)):
            raise ValueError("parameter names must be unique")
        earlier: set[str] = set()
        for step in self.steps:
            until = getattr(step.spec, "until", None) if step.kind == "wait" else None
            for text in (t for t in (step.when, until) if t is not None):
                for ref in parse_condition(text).references():
                    if ref[0] == "steps" and len(ref) > 1 and ref[1] not in earlier:
                        raise ValueError(
                            f"step {step.name!r}: {text!r} reads steps.{ref[1]}, which is not "
                            "an earlier step"
                        )
                    if ref[0] == "params" and len(ref) > 1 and ref[1] not in params:
                        raise ValueError(f"step {step.name!r}: unknown parameter {ref[1]!r}")
            earlier.add(step.name)
        return self

    def step(self, name: str) -> StepBase | None:
        return next((s for s in self.steps if s.name == name), None)


class PostgresConnection(Section):
    dsn: str = Field(description="postgresql://user@host/db; put passwords in ${ENV:…}.")


class RedisConnection(Section):
    url: str = Field(description="redis://host:6379/0; put passwords in ${ENV:…}.")


class Connection(Section):
    """A database a playbook step may use (`sql:` and `redis:` steps name it)."""

    name: Name
    postgres: PostgresConnection | None = None
    redis: RedisConnection | None = None

    @model_validator(mode="after")
    def _one(self) -> Connection:
        if (self.postgres is None) == (self.redis is None):
            raise ValueError("a connection has exactly one of postgres: or redis:")
        return self
