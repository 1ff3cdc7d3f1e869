"""Playbook references checked against the rest of the file, with located errors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from opsbook.config.yaml_source import Path_, SourceMap
from opsbook.errors import ConfigIssue

if TYPE_CHECKING:
    from opsbook.config.models import Config


def _unknown(kind: str, name: str, known: Iterable[str]) -> str:
    from opsbook.config.semantics import unknown_message

    return unknown_message(kind, name, set(known))


def _calls(config: Config) -> dict[str, set[str]]:
    """playbook → the playbooks its steps run (as a step or as on_failure)."""
    calls: dict[str, set[str]] = {}
    for playbook in config.playbooks:
        targets = calls.setdefault(playbook.name, set())
        for step in playbook.steps:
            if step.kind == "playbook":
                targets.add(step.spec.name)  # type: ignore[attr-defined]
            if not isinstance(step.on_failure, str):
                targets.add(step.on_failure.run)
    return calls


def _cycle(calls: dict[str, set[str]], start: str) -> list[str] | None:
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    while stack:
        node, path = stack.pop()
        for nxt in sorted(calls.get(node, ())):
            if nxt == start:
                return [*path, nxt]
            if nxt not in path:
                stack.append((nxt, [*path, nxt]))
    return None


def playbook_issues(config: Config, source: SourceMap) -> Iterable[ConfigIssue]:
    names = [p.name for p in config.playbooks]
    for index, name in enumerate(names):
        if name in names[:index]:
            yield source.issue(("playbooks", index, "name"), f"duplicate playbook name {name!r}")
    connections = {c.name: c for c in config.connections}
    receivers = {r.name for r in config.receivers}
    checks = {c.name for c in config.checks}
    people = {p.name for p in config.people}
    for i, playbook in enumerate(config.playbooks):
        for j, step in enumerate(playbook.steps):
            where: Path_ = ("playbooks", i, "steps", j)
            spec: Any = step.spec
            if step.kind in ("sql", "redis"):
                wanted = "postgres" if step.kind == "sql" else "redis"
                found = connections.get(spec.connection)
                if found is None:
                    yield source.issue(
                        (*where, step.kind, "connection"),
                        _unknown("connection", spec.connection, connections),
                    )
                elif getattr(found, wanted) is None:
                    yield source.issue(
                        (*where, step.kind, "connection"),
                        f"connection {spec.connection!r} is not a {wanted} connection",
                    )
            elif step.kind == "notify" and spec.receiver not in receivers:
                yield source.issue(
                    (*where, "notify", "receiver"), _unknown("receiver", spec.receiver, receivers)
                )
            elif step.kind == "wait" and spec.until_check and spec.until_check not in checks:
                yield source.issue(
                    (*where, "wait", "until_check"), _unknown("check", spec.until_check, checks)
                )
            elif step.kind == "check" and spec.check not in checks:
                yield source.issue(
                    (*where, "check", "check"), _unknown("check", spec.check, checks)
                )
            elif step.kind == "playbook" and spec.name not in names:
                yield source.issue(
                    (*where, "playbook", "name"), _unknown("playbook", spec.name, names)
                )
            elif step.kind == "approval":
                for k, person in enumerate(spec.allowed):
                    if person not in people:
                        yield source.issue(
                            (*where, "approval", "allowed", k), _unknown("person", person, people)
                        )
            if not isinstance(step.on_failure, str) and step.on_failure.run not in names:
                yield source.issue(
                    (*where, "on_failure", "run"),
                    _unknown("playbook", step.on_failure.run, names),
                )
    severities = {s.name for s in config.severities}
    for i, rule in enumerate(config.rules):
        fix = rule.remediation
        if fix is None:
            continue
        where = ("rules", i, "remediation")
        if fix.playbook not in names:
            yield source.issue((*where, "playbook"), _unknown("playbook", fix.playbook, names))
        for k, severity in enumerate(fix.severities):
            if severity not in severities:
                yield source.issue(
                    (*where, "severities", k), _unknown("severity", severity, severities)
                )
        for k, receiver in enumerate(fix.notify):
            if receiver not in receivers:
                yield source.issue((*where, "notify", k), _unknown("receiver", receiver, receivers))
    calls = _calls(config)
    for i, name in enumerate(names):
        cycle = _cycle(calls, name)
        if cycle is not None:
            yield source.issue(
                ("playbooks", i, "name"),
                f"playbooks call each other in a loop: {' → '.join(cycle)}",
            )
