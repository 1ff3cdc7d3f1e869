"""Escalation policies: who is paged first, and who next when nobody acknowledges.

The runbooks' path "Primary On-Call (immediate) → no response in 15 minutes →
Secondary → not resolved in 30 minutes → Engineering Manager → > 1 hour → CTO" is one
policy of four levels. The math here is pure: where an escalation stands is an
`EscalationPosition`, and `begin`/`advance` compute the next one from the clock the
caller passes. Each due time is computed from the previous due time, not from `now`, so
an engine that was down catches up on the original schedule by calling `advance` until
it returns None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator

from opsbook.config.base import Name, Section
from opsbook.config.types import Duration
from opsbook.oncall.localtime import require_aware
from opsbook.oncall.people import Person
from opsbook.oncall.rotation import on_call
from opsbook.oncall.schedules import Schedule
from opsbook.oncall.targets import PersonTarget, ReceiverTarget, ScheduleTarget, TargetField

MAX_REPEAT = 10


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than 0s")
    return value


PositiveDuration = Annotated[Duration, AfterValidator(_positive)]


class EscalationLevel(Section):
    targets: list[TargetField] = Field(
        description="person:<name>, schedule:<name> (its first layer), "
        "schedule:<name>/<layer>, receiver:<name>.",
        json_schema_extra={"minItems": 1},
    )
    escalate_after: PositiveDuration | None = Field(
        default=None,
        description="Page the next level when nobody acknowledged this long after this "
        "level was paged. Default: the incident severity's response_time.",
    )

    @field_validator("targets")
    @classmethod
    def _some_targets(cls, value: list[TargetField]) -> list[TargetField]:
        if not value:
            raise ValueError("a level needs at least one target")
        return value


class EscalationPolicy(Section):
    name: Name
    description: str = ""
    levels: list[EscalationLevel] = Field(
        description="Paged in order until someone acknowledges.",
        json_schema_extra={"minItems": 1},
    )
    repeat: int = Field(
        default=0,
        ge=0,
        le=MAX_REPEAT,
        description="Run the whole policy again this many times if nobody acknowledges.",
    )
    ack_timeout: PositiveDuration | None = Field(
        default=None,
        description="An acknowledgement expires after this long and escalation starts over "
        "from the first level. Default: it never expires.",
    )

    @field_validator("levels")
    @classmethod
    def _some_levels(cls, value: list[EscalationLevel]) -> list[EscalationLevel]:
        if not value:
            raise ValueError("an escalation policy needs at least one level")
        return value

    @property
    def pages(self) -> int:
        """How many levels are paged, in all, when nobody ever acknowledges."""
        return len(self.levels) * (self.repeat + 1)


@dataclass(frozen=True, slots=True)
class EscalationPosition:
    """Where an unacknowledged escalation stands.

    `level` was paged (or, for the exhausted position, was the last one paged) in
    repetition `round`; the next level is due at `due_at`.
    """

    round: int
    level: int
    due_at: datetime | None
    exhausted: bool = False


def level_delay(policy: EscalationPolicy, level: int, response_time: timedelta) -> timedelta:
    """How long `level` waits for an acknowledgement before the next one is paged."""
    after = policy.levels[level].escalate_after
    return after if after is not None else response_time


def begin(policy: EscalationPolicy, now: datetime, response_time: timedelta) -> EscalationPosition:
    """The first level is paged at `now`."""
    if response_time <= timedelta(0):
        raise ValueError("response_time must be longer than 0s")
    now = require_aware(now, "now")
    return EscalationPosition(0, 0, now + level_delay(policy, 0, response_time))


def advance(
    policy: EscalationPolicy,
    position: EscalationPosition,
    now: datetime,
    response_time: timedelta,
) -> EscalationPosition | None:
    """The next position if one is due at `now`, else None. After the last level the
    policy starts over (round + 1) while `repeat` allows, then the position is
    `exhausted` (due_at None) and nothing more is due."""
    now = require_aware(now, "now")
    if position.exhausted or position.due_at is None or now < position.due_at:
        return None
    level, round_ = position.level + 1, position.round
    # `>=`: a position stored by an engine may outlive a config that dropped levels.
    if level >= len(policy.levels):
        if round_ >= policy.repeat:
            return EscalationPosition(round_, position.level, None, exhausted=True)
        level, round_ = 0, round_ + 1
    due = position.due_at + level_delay(policy, level, response_time)
    return EscalationPosition(round_, level, due)


def due_steps(
    policy: EscalationPolicy,
    position: EscalationPosition,
    now: datetime,
    response_time: timedelta,
) -> list[EscalationPosition]:
    """Every position due by `now`, in order: what an engine that was down has missed."""
    steps: list[EscalationPosition] = []
    while (step := advance(policy, position, now, response_time)) is not None:
        steps.append(step)
        position = step
    return steps


def ack_expires_at(policy: EscalationPolicy, acked_at: datetime) -> datetime | None:
    """When an acknowledgement given at `acked_at` lapses; None if it never does."""
    if policy.ack_timeout is None:
        return None
    return require_aware(acked_at, "acked_at") + policy.ack_timeout


def restart_after_ack(
    policy: EscalationPolicy, acked_at: datetime, now: datetime, response_time: timedelta
) -> EscalationPosition | None:
    """None while the acknowledgement holds; once it has lapsed, the position of the
    escalation that started over at the moment it lapsed (feed it to `advance` to catch
    up on the levels due since)."""
    expires = ack_expires_at(policy, acked_at)
    if expires is None or require_aware(now, "now") < expires:
        return None
    return begin(policy, expires, response_time)


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """A target as it stands at one instant. `name` is None when it reaches nobody,
    with the `reason` to put on the incident timeline."""

    kind: Literal["person", "receiver"]
    name: str | None
    via: str
    reason: str = ""


def resolve_targets(
    level: EscalationLevel, at: datetime, schedules: Mapping[str, Schedule]
) -> list[ResolvedTarget]:
    """The people and receivers a level pages at `at`; schedules resolve to whoever is
    on call then (overrides included)."""
    resolved: list[ResolvedTarget] = []
    for target in level.targets:
        if isinstance(target, PersonTarget):
            resolved.append(ResolvedTarget("person", target.person, f"person {target.person}"))
        elif isinstance(target, ReceiverTarget):
            via = f"receiver {target.receiver}"
            resolved.append(ResolvedTarget("receiver", target.receiver, via))
        else:
            resolved.append(_resolve_schedule(target, at, schedules))
    return resolved


def _resolve_schedule(
    target: ScheduleTarget, at: datetime, schedules: Mapping[str, Schedule]
) -> ResolvedTarget:
    schedule = schedules.get(target.schedule)
    if schedule is None:
        via = f"schedule {target.schedule}"
        return ResolvedTarget("person", None, via, f"unknown schedule {target.schedule!r}")
    layer = schedule.layer(target.layer)
    if layer is None:
        via = f"schedule {target.schedule}/{target.layer}"
        return ResolvedTarget("person", None, via, f"unknown layer {target.layer!r}")
    via = f"schedule {schedule.name}/{layer.name}"
    person = on_call(schedule, at, layer.name)
    if person is None:
        return ResolvedTarget(
            "person", None, via, f"nobody on call for {schedule.name}/{layer.name}"
        )
    return ResolvedTarget("person", person, via)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What paging a level comes down to: receiver names to notify (each once), and why
    some targets reach nobody."""

    receivers: tuple[str, ...]
    problems: tuple[str, ...]


def reach(target: ResolvedTarget, people: Mapping[str, Person]) -> tuple[list[str], str | None]:
    """The receiver names one resolved target comes down to (a person's contact receivers,
    ``person.<name>.<index>``, or a receiver as named), or why it reaches nobody."""
    if target.name is None:
        return [], f"{target.reason} ({target.via})"
    if target.kind == "receiver":
        return [target.name], None
    person = people.get(target.name)
    if person is None:
        return [], f"unknown person {target.name!r} ({target.via})"
    if not person.reachable:
        return [], f"{target.name} has no contacts: nothing delivered ({target.via})"
    return [receiver.name for receiver in person.receivers()], None


def plan_delivery(targets: Sequence[ResolvedTarget], people: Mapping[str, Person]) -> Delivery:
    """Turn resolved targets into receiver names, each once, and the reasons some
    targets reach nobody."""
    receivers: list[str] = []
    problems: list[str] = []
    for target in targets:
        names, problem = reach(target, people)
        if problem is not None:
            problems.append(problem)
        receivers.extend(name for name in names if name not in receivers)
    return Delivery(tuple(receivers), tuple(problems))
