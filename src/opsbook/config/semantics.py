"""Checks that span several keys: uniqueness, references between sections, cycles.

These run after the models validated, on the typed config, and report each problem at
the YAML position of the offending value.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from opsbook.config.models import Config
from opsbook.config.yaml_source import Path_, SourceMap
from opsbook.errors import ConfigIssue


def _duplicates(section: str, names: Sequence[str], source: SourceMap) -> Iterable[ConfigIssue]:
    first: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in first:
            where = source.locate((section, first[name]))[0]
            at = f" (first at line {where})" if where else ""
            yield source.issue(
                (section, index, "name"), f"duplicate {section[:-1]} name {name!r}{at}"
            )
        else:
            first[name] = index


def _unknown(kind: str, name: str, known: Iterable[str]) -> str:
    known = list(known)
    hint = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if hint:
        return f"unknown {kind} {name!r}; did you mean {hint[0]!r}?"
    if known:
        return f"unknown {kind} {name!r}; defined: {', '.join(sorted(known))}"
    return f"unknown {kind} {name!r}; no {kind}s are defined"


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


def semantic_issues(config: Config, source: SourceMap) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    services = [s.name for s in config.services]
    issues += _duplicates("services", services, source)
    issues += _duplicates("severities", [s.name for s in config.severities], source)
    issues += _duplicates("checks", [c.name for c in config.checks], source)
    known_services = set(services)

    for i, service in enumerate(config.services):
        for j, dep in enumerate(service.depends_on):
            path: Path_ = ("services", i, "depends_on", j)
            if dep == service.name:
                issues.append(source.issue(path, "a service cannot depend on itself"))
            elif dep not in known_services:
                issues.append(source.issue(path, _unknown("service", dep, known_services)))
    issues += _cycles(config, source)

    for i, check in enumerate(config.checks):
        if check.service is not None and check.service not in known_services:
            issues.append(
                source.issue(
                    ("checks", i, "service"), _unknown("service", check.service, known_services)
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
                            _unknown(f"sample of a {check.kind} check", name, known),
                            key=True,
                        )
                    )
    if not config.severities:
        issues.append(source.issue(("severities",), "at least one severity is needed"))
    return issues
