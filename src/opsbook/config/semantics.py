"""Checks that span several keys: uniqueness, references between sections, cycles.

These run after the models validated, on the typed config, and report each problem at
the YAML position of the offending value.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

from opsbook.checks.spec import CheckBase
from opsbook.config.models import Config
from opsbook.config.types import format_duration
from opsbook.config.yaml_source import Path_, SourceMap
from opsbook.errors import ConfigIssue
from opsbook.notify.routing import Route
from opsbook.oncall.validation import oncall_issues
from opsbook.playbooks.validation import playbook_issues
from opsbook.rules.model import Rule
from opsbook.rules.nodes import PSEUDO_SAMPLES, Aggregate, references
from opsbook.rules.values import SeriesSpec, ValueSpec

_SINGULAR = {
    "services": "service",
    "severities": "severity",
    "checks": "check",
    "rules": "rule",
    "receivers": "receiver",
    "maintenance": "maintenance window",
    "integrations": "integration",
    "heartbeats": "heartbeat",
}


def _duplicates(
    section: str, names: Sequence[str], source: SourceMap, key: str = "name"
) -> Iterable[ConfigIssue]:
    first: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in first:
            where = source.locate((section, first[name]))[0]
            at = f" (first at line {where})" if where else ""
            noun = _SINGULAR.get(section, section)
            yield source.issue((section, index, key), f"duplicate {noun} {key} {name!r}{at}")
        else:
            first[name] = index


def unknown_message(kind: str, name: str, known: Iterable[str], where: str = "") -> str:
    """The message for an undefined name, with the closest defined one or the list."""
    known = list(known)
    hint = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if hint:
        return f"unknown {kind} {name!r}{where}; did you mean {hint[0]!r}?"
    if known:
        return f"unknown {kind} {name!r}{where}; defined: {', '.join(sorted(known))}"
    return f"unknown {kind} {name!r}{where}; no {kind}s are defined"


def _cycles(config: Config, source: SourceMap) -> Iterable[ConfigIssue]:
    graph = {s.name: list(s.depends_on) for s in config.services}
    index = {s.name: i for i, s in enumerate(config.services)}
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    reported: set[frozenset[str]] = set()

    def visit(node: str, stack: list[str]) -> Iterable[ConfigIssue]:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    yield source.issue(
                        ("services", index[node], "depends_on"),
                        f"dependency cycle: {' -> '.join(cycle)}",
                    )
            elif nxt not in state:
                yield from visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for name in graph:
        if name not in state:
            yield from visit(name, [])


@dataclass(frozen=True, slots=True)
class _Reference:
    """A check (and sample) a rule reads, and where the rule says so."""

    check: str
    check_path: Path_
    sample: str | None = None
    sample_path: Path_ = ()
    fn: str | None = None  # the aggregate; None for consecutive failures
    window: timedelta | None = None
    window_path: Path_ = ()
    column: int | None = None  # in the expr text


def _series_reference(spec: SeriesSpec | ValueSpec, path: Path_) -> _Reference:
    assert spec.check is not None
    return _Reference(
        spec.check,
        (*path, "check"),
        spec.sample,
        (*path, "sample"),
        spec.aggregate,
        spec.window,
        (*path, "window"),
    )


def _rule_references(rule: Rule, path: Path_) -> Iterator[_Reference]:
    if rule.expr is not None:
        where = (*path, "expr")
        for node in references(rule.expression):
            if isinstance(node, Aggregate):
                yield _Reference(
                    node.check, where, node.sample, where, node.fn, node.window, where, node.column
                )
            else:
                yield _Reference(node.check, where, column=node.column)
        return
    value = rule.value
    assert value is not None
    at = (*path, "value")
    if value.consecutive_failures is not None:
        yield _Reference(value.consecutive_failures, (*at, "consecutive_failures"))
    elif value.ratio is not None:
        yield _series_reference(value.ratio.numerator, (*at, "ratio", "numerator"))
        yield _series_reference(value.ratio.denominator, (*at, "ratio", "denominator"))
    else:
        yield _series_reference(value, at)


def _rule_issues(config: Config, source: SourceMap) -> Iterable[ConfigIssue]:
    yield from _duplicates("rules", [r.name for r in config.rules], source)
    services = {s.name for s in config.services}
    severities = [s.name for s in config.severities]
    checks = {c.name: c for c in config.checks}
    for i, rule in enumerate(config.rules):
        path: Path_ = ("rules", i)
        if rule.service is not None and rule.service not in services:
            yield source.issue(
                (*path, "service"), unknown_message("service", rule.service, services)
            )
        for key, spec in (("warning", rule.warning), ("critical", rule.critical)):
            if spec is not None and spec.severity is not None and spec.severity not in severities:
                yield source.issue(
                    (*path, key, "severity"), unknown_message("severity", spec.severity, severities)
                )
        seen: set[ConfigIssue] = set()
        for ref in _rule_references(rule, path):
            for issue in _reference_issues(rule, path, ref, checks, source):
                if issue not in seen:  # a check read twice is reported once
                    seen.add(issue)
                    yield issue


def _reference_issues(
    rule: Rule, path: Path_, ref: _Reference, checks: dict[str, CheckBase], source: SourceMap
) -> Iterable[ConfigIssue]:
    where = f" at column {ref.column}" if ref.column is not None else ""
    check = checks.get(ref.check)
    if check is None:
        yield source.issue(ref.check_path, unknown_message("check", ref.check, checks, where))
        return
    known = check.kind_info.samples(check.spec)
    if ref.sample is not None and known is not None and ref.sample not in known | PSEUDO_SAMPLES:
        kind = f"sample of a {check.kind} check"
        yield source.issue(
            ref.sample_path,
            unknown_message(kind, ref.sample, sorted(known | PSEUDO_SAMPLES), where),
        )
    interval = check.interval
    if ref.fn == "last" and rule.staleness is not None and rule.staleness <= interval:
        yield source.issue(
            (*path, "staleness"),
            f"staleness {format_duration(rule.staleness)} is not longer than the interval of "
            f"check {ref.check!r} ({format_duration(interval)}): its newest value would be "
            f"missing between runs; use at least {format_duration(2 * interval)}",
        )
    window = ref.window
    if ref.fn in ("rate", "increase") and window is not None and window < 2 * interval:
        yield source.issue(
            ref.window_path,
            f"{ref.fn} over {format_duration(window)}{where} of check {ref.check!r}, which runs "
            f"every {format_duration(interval)}, sees fewer than two points; use a window of at "
            f"least {format_duration(2 * interval)}",
        )


def _route_issues(
    route: Route, path: Path_, receivers: set[str], source: SourceMap
) -> Iterable[ConfigIssue]:
    if route.receiver is not None and route.receiver not in receivers:
        yield source.issue(
            (*path, "receiver"), unknown_message("receiver", route.receiver, receivers)
        )
    for index, child in enumerate(route.routes):
        yield from _route_issues(child, (*path, "routes", index), receivers, source)


def _notification_issues(config: Config, source: SourceMap) -> Iterable[ConfigIssue]:
    receivers = {r.name for r in config.receivers}
    if config.route is not None:
        if config.route.receiver is None:
            yield source.issue(("route",), "the top route needs a receiver (the default one)")
        yield from _route_issues(config.route, ("route",), receivers, source)
    elif len(receivers) > 1:
        yield source.issue(
            ("receivers",),
            "with several receivers, add a `route:` saying which alerts go where "
            "(with one receiver, every alert goes to it)",
        )
    fallback = config.engine.fallback_receiver
    if fallback is not None and fallback not in receivers:
        yield source.issue(
            ("engine", "fallback_receiver"), unknown_message("receiver", fallback, receivers)
        )
    known_services = {s.name for s in config.services}
    names = [w.name for w in config.maintenance]
    yield from _duplicates("maintenance", names, source)
    for i, window in enumerate(config.maintenance):
        for j, service in enumerate(window.services):
            if service not in known_services:
                yield source.issue(
                    ("maintenance", i, "services", j),
                    unknown_message("service", service, known_services),
                )


def _inbound_issues(config: Config, source: SourceMap) -> Iterable[ConfigIssue]:
    severities = {s.name for s in config.severities}
    services = {s.name for s in config.services}
    yield from _duplicates("integrations", [i.name for i in config.integrations], source)
    yield from _duplicates("heartbeats", [h.name for h in config.heartbeats], source)
    yield from _duplicates("heartbeats", [str(h.id) for h in config.heartbeats], source, "id")
    owners: list[tuple[str, int, str, str | None]] = [
        ("integrations", i, x.severity, x.service) for i, x in enumerate(config.integrations)
    ] + [("heartbeats", i, x.severity, x.service) for i, x in enumerate(config.heartbeats)]
    for section, i, severity, service in owners:
        if severity not in severities:
            yield source.issue(
                (section, i, "severity"), unknown_message("severity", severity, severities)
            )
        if service is not None and services and service not in services:
            yield source.issue(
                (section, i, "service"), unknown_message("service", service, services)
            )
    for i, integration in enumerate(config.integrations):
        for sent, mapped in integration.severity_map.items():
            if mapped not in severities:
                yield source.issue(
                    ("integrations", i, "severity_map", sent),
                    unknown_message("severity", mapped, severities),
                )


def _incident_issues(config: Config, source: SourceMap) -> Iterable[ConfigIssue]:
    settings = config.incidents
    severities = {s.name for s in config.severities}
    receivers = {r.name for r in config.receivers}
    policies = {p.name for p in config.escalation_policies}
    if settings.open_at is not None and settings.open_at not in severities:
        yield source.issue(
            ("incidents", "open_at"), unknown_message("severity", settings.open_at, severities)
        )
    if settings.escalation_policy is not None and settings.escalation_policy not in policies:
        yield source.issue(
            ("incidents", "escalation_policy"),
            unknown_message("escalation policy", settings.escalation_policy, policies),
        )
    for j, receiver in enumerate(settings.updates_to):
        if receiver not in receivers:
            yield source.issue(
                ("incidents", "updates_to", j), unknown_message("receiver", receiver, receivers)
            )
    for i, service in enumerate(config.services):
        if service.escalation_policy is not None and service.escalation_policy not in policies:
            yield source.issue(
                ("services", i, "escalation_policy"),
                unknown_message("escalation policy", service.escalation_policy, policies),
            )


def semantic_issues(config: Config, source: SourceMap) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    services = [s.name for s in config.services]
    issues += _duplicates("services", services, source)
    issues += _duplicates("severities", [s.name for s in config.severities], source)
    issues += _duplicates("checks", [c.name for c in config.checks], source)
    issues += _duplicates("receivers", [r.name for r in config.receivers], source)
    known_services = set(services)

    for i, service in enumerate(config.services):
        for j, dep in enumerate(service.depends_on):
            path: Path_ = ("services", i, "depends_on", j)
            if dep == service.name:
                issues.append(source.issue(path, "a service cannot depend on itself"))
            elif dep not in known_services:
                issues.append(source.issue(path, unknown_message("service", dep, known_services)))
    issues += _cycles(config, source)

    for i, check in enumerate(config.checks):
        if check.service is not None and check.service not in known_services:
            issues.append(
                source.issue(
                    ("checks", i, "service"),
                    unknown_message("service", check.service, known_services),
                )
            )
        if check.timeout > check.interval:
            issues.append(
                source.issue(
                    ("checks", i, check.kind, "timeout"),
                    "timeout is longer than the check's interval "
                    f"({check.timeout.total_seconds():g}s > {check.interval.total_seconds():g}s)",
                )
            )
        known = check.kind_info.samples(check.spec)
        if known is not None:
            for name in check.thresholds:
                if name not in known:
                    issues.append(
                        source.issue(
                            ("checks", i, "thresholds", name),
                            unknown_message(f"sample of a {check.kind} check", name, known),
                            key=True,
                        )
                    )
    issues += _rule_issues(config, source)
    issues += _notification_issues(config, source)
    issues += oncall_issues(config, source)
    issues += _inbound_issues(config, source)
    issues += _incident_issues(config, source)
    issues += playbook_issues(config, source)
    if not config.severities:
        issues.append(source.issue(("severities",), "at least one severity is needed"))
    return issues
