"""From rule values to alerts: labels, both levels, for/keep_firing_for, no data,
annotation templates. Timelines read like Alertmanager's acceptance tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opsbook.alerts.lifecycle import Transition
from opsbook.alerts.model import Alert, AlertState, Level, fingerprint
from opsbook.rules.alerting import advance
from opsbook.rules.evaluate import RuleValue, level_of
from opsbook.rules.model import Rule
from tests.unit.rules.rulesutil import at, rule

LATENCY: dict[str, Any] = {
    "name": "api-latency",
    "service": "api",
    "expr": "p95(api-health.latency_ms, 5m)",
    "warning": "> 200",
    "critical": "> 500",
    "labels": {"team": "backend"},
    "annotations": {
        "summary": "API p95 latency {{ value | round(0) }} ms ({{ level }}, {{ threshold }})",
        "runbook": "https://wiki/api-latency",
        "playbook": "restart-api",
    },
}


class Timeline:
    """Feeds values minute by minute and remembers every alert and transition."""

    def __init__(self, r: Rule) -> None:
        self.rule = r
        self.alerts: dict[str, Alert] = {}
        self.log: list[tuple[float, str, Transition]] = []

    def feed(self, minute: float, value: float | None) -> list[tuple[Alert, Transition | None]]:
        result = advance(
            self.rule, RuleValue(value, level_of(self.rule, value)), self.alerts, at(minute)
        )
        for alert, transition in result:
            self.alerts[alert.fingerprint] = alert
            if transition is not None:
                self.log.append((minute, alert.level.value, transition))
        return result

    def run(self, values: Sequence[float | None], start: float = 0) -> None:
        for i, value in enumerate(values):
            self.feed(start + i, value)

    def state(self, level: str) -> AlertState:
        (alert,) = [a for a in self.alerts.values() if a.level.value == level]
        return alert.state


def test_one_alert_per_level_with_the_documented_labels() -> None:
    r = rule(**LATENCY)
    result = advance(r, RuleValue(100, Level.OK), {}, at(0))
    labels = [dict(alert.labels) for alert, _ in result]
    assert labels == [
        {
            "alertname": "api-latency",
            "level": "warning",
            "severity": "P2",
            "service": "api",
            "team": "backend",
        },
        {
            "alertname": "api-latency",
            "level": "critical",
            "severity": "P1",
            "service": "api",
            "team": "backend",
        },
    ]
    assert [a.fingerprint for a, _ in result] == [fingerprint(lb) for lb in labels]
    assert all(a.state is AlertState.INACTIVE and t is None for a, t in result)
    assert [a.rule for a, _ in result] == ["api-latency", "api-latency"]


def test_a_critical_value_fires_both_levels() -> None:
    line = Timeline(rule(**LATENCY))
    line.feed(0, 700)
    assert line.log == [(0, "warning", Transition.FIRING), (0, "critical", Transition.FIRING)]
    assert {a.level: a.value for a in line.alerts.values()} == {
        Level.WARNING: 700,
        Level.CRITICAL: 700,
    }


def test_a_rule_without_a_warning_has_one_alert() -> None:
    r = rule(name="down", expr="last(api.up) == 0")
    (only,) = advance(r, RuleValue(0, Level.CRITICAL), {}, at(0))
    assert only[0].level is Level.CRITICAL and only[1] is Transition.FIRING
    assert "service" not in only[0].labels


def test_for_holds_the_alert_pending() -> None:
    """practice-app "Slow Response Time: p95 > 200ms for 10 minutes": a breach at t=0 is
    pending until t=10m, fires at t=10m; one good minute before that starts over."""
    r = rule(**{**LATENCY, "for_": "10m"})
    line = Timeline(r)
    line.run([300] * 5 + [100] + [300] * 11)
    assert line.log == [
        (0, "warning", Transition.PENDING),
        (5, "warning", Transition.CLEARED),
        (6, "warning", Transition.PENDING),
        (16, "warning", Transition.FIRING),
    ]
    assert line.state("critical") is AlertState.INACTIVE


def test_keep_firing_for_is_recovery_hysteresis() -> None:
    r = rule(**{**LATENCY, "keep_firing_for": "5m"})
    line = Timeline(r)
    line.run([300, 100, 100, 300, 100, 100, 100, 100, 100, 100])
    # fires at 0; the dip at 1-2 is shorter than 5m; last true at 3; resolves at 3 + 5 = 8
    assert line.log == [(0, "warning", Transition.FIRING), (8, "warning", Transition.RESOLVED)]


def test_no_data_keep_leaves_alerts_as_they_are() -> None:
    line = Timeline(rule(**LATENCY))
    line.run([300, None, None])
    assert line.state("warning") is AlertState.FIRING
    assert line.log == [(0, "warning", Transition.FIRING)]
    result = line.feed(3, None)
    assert all(t is None for _, t in result)
    untouched = Timeline(rule(**LATENCY))
    untouched.feed(0, None)
    assert untouched.state("warning") is AlertState.INACTIVE


def test_no_data_ok_resolves() -> None:
    line = Timeline(rule(**{**LATENCY, "no_data": "ok"}))
    line.run([300, None])
    assert line.log == [(0, "warning", Transition.FIRING), (1, "warning", Transition.RESOLVED)]


def test_no_data_critical_fires_every_level() -> None:
    """practice-app "Application Down": a health check that stops answering is down."""
    line = Timeline(rule(**{**LATENCY, "no_data": "critical", "for_": "2m"}))
    line.run([None, None, None])
    assert line.log == [
        (0, "warning", Transition.PENDING),
        (0, "critical", Transition.PENDING),
        (2, "warning", Transition.FIRING),
        (2, "critical", Transition.FIRING),
    ]
    assert all(a.value is None for a in line.alerts.values())


def test_annotations_are_rendered_while_pending_or_firing() -> None:
    line = Timeline(rule(**LATENCY))
    line.feed(0, 612.4)
    warning = next(a for a in line.alerts.values() if a.level is Level.WARNING)
    critical = next(a for a in line.alerts.values() if a.level is Level.CRITICAL)
    assert warning.annotations == {
        "summary": "API p95 latency 612.0 ms (warning, > 200)",
        "runbook": "https://wiki/api-latency",
        "playbook": "restart-api",
    }
    assert critical.annotations["summary"] == "API p95 latency 612.0 ms (critical, > 500)"
    line.feed(1, 100)  # resolved: keeps the text it fired with
    assert warning.fingerprint in line.alerts
    assert line.alerts[warning.fingerprint].annotations["summary"].startswith("API p95 latency 612")


def test_templates_see_labels_and_never_break_alerting() -> None:
    annotations = {
        "labels": "{{ labels.team }}/{{ labels.service }} {{ rule }}",
        "undefined": "[{{ nothing }}][{{ nothing.deeper.still }}]",
        "broken": "{{ value | round(0) }} ms",  # round(None) fails with no data
        "escape": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "plain": "no template here",
    }
    r = rule(**{**LATENCY, "annotations": annotations, "no_data": "critical"})
    ((warning, _), _) = advance(r, RuleValue(None, Level.OK), {}, at(0))
    assert warning.annotations == {
        "labels": "backend/api api-latency",
        "undefined": "[][]",
        "broken": "{{ value | round(0) }} ms",
        "escape": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "plain": "no template here",
    }


def test_alerts_of_other_rules_are_left_alone() -> None:
    first = rule(**LATENCY)
    other = rule(**{**LATENCY, "name": "other"})
    alerts: dict[str, Alert] = {}
    for alert, _ in advance(first, RuleValue(700, Level.CRITICAL), alerts, at(0)):
        alerts[alert.fingerprint] = alert
    result = advance(other, RuleValue(100, Level.OK), alerts, at(1))
    assert all(a.state is AlertState.INACTIVE for a, _ in result)
    assert not {a.fingerprint for a, _ in result} & set(alerts)


def test_explicit_severities_are_labels() -> None:
    r = rule(**{**LATENCY, "warning": {"when": "> 200", "severity": "P3"}})
    result = advance(r, RuleValue(300, Level.WARNING), {}, at(0))
    assert [a.severity for a, _ in result] == ["P3", "P1"]
