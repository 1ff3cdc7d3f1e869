"""Checks across `people:`, `schedules:`, `escalation_policies:` and `receivers:`: names
that must exist, names that must be unique. Each problem is reported at the YAML
position of the offending value, like the rest of `opsbook validate`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from opsbook.config.yaml_source import SourceMap
from opsbook.errors import ConfigIssue
from opsbook.oncall.targets import PersonTarget, ReceiverTarget, ScheduleTarget

if TYPE_CHECKING:
    from opsbook.config.models import Config
    from opsbook.oncall.schedules import Schedule


def _duplicates(
    section: str, noun: str, names: Sequence[str], source: SourceMap
) -> Iterable[ConfigIssue]:
    first: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in first:
            line = source.locate((section, first[name]))[0]
            at = f" (first at line {line})" if line else ""
            yield source.issue((section, index, "name"), f"duplicate {noun} name {name!r}{at}")
        else:
            first.setdefault(name, index)


def oncall_issues(config: Config, source: SourceMap) -> Iterable[ConfigIssue]:
    """Every broken reference and duplicate name of the on-call sections."""
    yield from _duplicates("people", "person", [p.name for p in config.people], source)
    yield from _duplicates("schedules", "schedule", [s.name for s in config.schedules], source)
    policies = [p.name for p in config.escalation_policies]
    yield from _duplicates("escalation_policies", "escalation policy", policies, source)
    yield from _contact_issues(config, source)
    yield from _schedule_issues(config, source)
    yield from _target_issues(config, source)


def _unknown(kind: str, name: str, known: Iterable[str], where: str = "") -> str:
    # Imported here: the semantics module imports the config models, which import this
    # package, so a module-level import would be circular.
    from opsbook.config.semantics import unknown_message

    return unknown_message(kind, name, known, where)


def _contact_issues(config: Config, source: SourceMap) -> Iterable[ConfigIssue]:
    receivers = {r.name for r in config.receivers}
    for i, person in enumerate(config.people):
        for j, receiver in enumerate(person.receivers()):
            if receiver.name in receivers:
                yield source.issue(
                    ("people", i, "contacts", j),
                    f"this contact is delivered as receiver {receiver.name!r}, which is also "
                    "the name of a configured receiver; rename that receiver",
                )


def _schedule_issues(config: Config, source: SourceMap) -> Iterable[ConfigIssue]:
    people = {p.name for p in config.people}
    for i, schedule in enumerate(config.schedules):
        for j, layer in enumerate(schedule.layers):
            for k, name in enumerate(layer.participants):
                if name not in people:
                    yield source.issue(
                        ("schedules", i, "layers", j, "participants", k),
                        _unknown("person", name, people),
                    )
        for j, override in enumerate(schedule.overrides):
            if override.person not in people:
                yield source.issue(
                    ("schedules", i, "overrides", j, "person"),
                    _unknown("person", override.person, people),
                )


def _target_issues(config: Config, source: SourceMap) -> Iterable[ConfigIssue]:
    people = {p.name for p in config.people}
    receivers = {r.name for r in config.receivers}
    schedules: dict[str, Schedule] = {}
    for schedule in config.schedules:  # the first of duplicates, like Config.schedule()
        schedules.setdefault(schedule.name, schedule)
    for i, policy in enumerate(config.escalation_policies):
        for j, level in enumerate(policy.levels):
            for k, target in enumerate(level.targets):
                path = ("escalation_policies", i, "levels", j, "targets", k)
                message = None
                if isinstance(target, PersonTarget) and target.person not in people:
                    message = _unknown("person", target.person, people)
                elif isinstance(target, ReceiverTarget) and target.receiver not in receivers:
                    message = _unknown("receiver", target.receiver, receivers)
                elif isinstance(target, ScheduleTarget):
                    message = _schedule_target_problem(target, schedules)
                if message is not None:
                    yield source.issue(path, message)


def _schedule_target_problem(target: ScheduleTarget, schedules: dict[str, Schedule]) -> str | None:
    found = schedules.get(target.schedule)
    if found is None:
        return _unknown("schedule", target.schedule, schedules)
    if target.layer is not None and found.layer(target.layer) is None:
        layers = [layer.name for layer in found.layers]
        return _unknown("layer", target.layer, layers, f" in schedule {found.name!r}")
    return None
