"""Evaluate a rule at one instant: pure, the clock and the data passed in.

The rule's compiled tree is walked once per evaluation. Missing data anywhere in it
(an empty window, a stale `last`, a check that never ran), a division by zero or a
non-finite result makes the value None: "no data", which `no_data:` decides about.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from opsbook.alerts.model import Level
from opsbook.rules.model import Rule
from opsbook.rules.nodes import Aggregate, Expr, Failures, Negate, Number


class SeriesSource(Protocol):
    """Where rule evaluation reads samples from (`MemorySeries`, or a store)."""

    def aggregate(
        self, check: str, sample: str, fn: str, start: datetime, end: datetime
    ) -> float | None: ...

    def consecutive_failures(self, check: str, at: datetime) -> int | None: ...


@dataclass(frozen=True, slots=True)
class RuleValue:
    """What a rule evaluated to: its value (None: no data) and the worst level breached."""

    value: float | None
    level: Level

    @property
    def no_data(self) -> bool:
        return self.value is None


def _apply(op: str, left: float, right: float) -> float | None:
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if right == 0:
        return None
    return left / right


def compute(node: Expr, source: SeriesSource, now: datetime, staleness: timedelta) -> float | None:
    """The value of an expression tree at `now`; None when any part has no data."""
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Aggregate):
        end = now - node.offset
        start = end - (node.window if node.window is not None else staleness)
        return source.aggregate(node.check, node.sample, node.fn, start, end)
    if isinstance(node, Failures):
        count = source.consecutive_failures(node.check, now)
        return None if count is None else float(count)
    if isinstance(node, Negate):
        inner = compute(node.operand, source, now, staleness)
        return None if inner is None else -inner
    left = compute(node.left, source, now, staleness)
    if left is None:
        return None
    right = compute(node.right, source, now, staleness)
    if right is None:
        return None
    return _apply(node.op, left, right)


def level_of(rule: Rule, value: float | None) -> Level:
    """CRITICAL if the critical bound is breached, else WARNING if the warning one is."""
    if value is None:
        return Level.OK
    worst = Level.OK
    for level in rule.compiled.levels:  # warning first, so critical wins
        if level.bound.breached_by(value):
            worst = level.level
    return worst


def evaluate(rule: Rule, source: SeriesSource, now: datetime) -> RuleValue:
    compiled = rule.compiled
    value = compute(compiled.expression, source, now, compiled.staleness)
    if value is not None and not math.isfinite(value):
        value = None
    return RuleValue(value, level_of(rule, value))
