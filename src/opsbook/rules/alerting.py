"""From a rule's value to its alerts: one alert per level, each through the lifecycle.

Each level's alert has the labels `alertname`, `level`, `severity`, `service` (when the
rule has one) and the rule's own labels; its identity is the fingerprint of those labels.

A rule with both bounds has a warning alert and a critical alert. Each level's condition
is its own bound breached, so a critical value fires both; hiding the warning while the
critical fires (inhibition) is a later stage's job. Pure: (rule, value, previous, now).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from opsbook.alerts.lifecycle import Transition, step
from opsbook.alerts.model import Alert, AlertState
from opsbook.rules.evaluate import RuleValue
from opsbook.rules.model import LevelRule, Rule
from opsbook.rules.templates import render


def render_annotations(rule: Rule, level: LevelRule, value: float | None) -> dict[str, str]:
    """The rule's annotation templates rendered for one level's alert."""
    if not rule.annotations:
        return {}
    context = {
        "value": value,
        "labels": dict(level.labels),
        "level": level.level.value,
        "threshold": str(level.bound),
        "rule": rule.name,
    }
    return {key: render(template, context) for key, template in rule.annotations.items()}


def _condition(rule: Rule, level: LevelRule, value: float | None) -> bool | None:
    """Whether the level's condition holds; None: leave the alert as it is (no data, keep)."""
    if value is not None:
        return level.bound.breached_by(value)
    if rule.no_data == "keep":
        return None
    return rule.no_data == "critical"


def advance(
    rule: Rule, rule_value: RuleValue, previous: Mapping[str, Alert], now: datetime
) -> list[tuple[Alert, Transition | None]]:
    """Each of the rule's alerts after this evaluation, and the transition it made.

    `previous` holds alerts by fingerprint (any alerts; those of other rules are ignored).
    An alert seen for the first time starts inactive.
    """
    compiled = rule.compiled
    out: list[tuple[Alert, Transition | None]] = []
    for level in compiled.levels:
        alert = previous.get(level.fingerprint)
        if alert is None:
            alert = Alert(level.fingerprint, rule.name, level.level, level.labels)
        active = _condition(rule, level, rule_value.value)
        if active is None:
            out.append((alert, None))
            continue
        updated, transition = step(alert, active, rule_value.value, now, compiled.timing)
        if updated.state in (AlertState.PENDING, AlertState.FIRING):
            annotations = render_annotations(rule, level, rule_value.value)
            updated = updated.evolve(annotations=annotations)
        out.append((updated, transition))
    return out
