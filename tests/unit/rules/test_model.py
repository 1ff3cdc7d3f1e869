"""`rules:` in opsbook.yaml: both forms compile to one tree; every mistake is located."""

from __future__ import annotations

from datetime import timedelta

import pytest

from opsbook.alerts.model import Level
from opsbook.config.loader import load_config_text
from opsbook.config.models import Config
from opsbook.config.types import Bound
from opsbook.errors import ConfigError
from opsbook.rules.expr import parse_expr
from opsbook.rules.model import Rule
from opsbook.rules.nodes import Aggregate, BinaryOp, Failures, Number

HEAD = """\
project: {name: shop}
services:
  - name: api
  - name: database
checks:
  - name: api-health
    service: api
    interval: 30s
    http: {url: "http://127.0.0.1:8081/health"}
  - name: app-log
    interval: 1m
    log: {path: app.log, format: json, matches: {errors: '"status": 5'}}
  - name: pg
    service: database
    interval: 1m
    postgres:
      dsn: postgresql://postgres@127.0.0.1/postgres
      queries:
        - {name: deadlocks, sql: "SELECT sum(deadlocks) FROM pg_stat_database"}
  - name: backup
    interval: 1h
    file_age: {path: "/var/backups/*.sql.gz", max_age: 25h}
rules:
"""


def load(rules: str, head: str = HEAD) -> Config:
    return load_config_text(head + rules)


def errors(rules: str, head: str = HEAD) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(rules, head)
    return [str(issue) for issue in caught.value.issues]


def one_rule(rules: str) -> Rule:
    config = load(rules)
    assert len(config.rules) == 1
    return config.rules[0]


M5 = timedelta(minutes=5)


@pytest.mark.parametrize(
    "structured,text",
    [
        (
            "value: {check: api-health, sample: latency_ms, aggregate: p95, window: 5m}",
            "p95(api-health.latency_ms, 5m)",
        ),
        ("value: {check: api-health, sample: up}", "last(api-health.up)"),
        ("value: {check: api-health, sample: status}", "status(api-health)"),
        ("value: {consecutive_failures: api-health}", "failures(api-health)"),
        (
            "value: {check: pg, sample: deadlocks, aggregate: increase, window: 1h, offset: 1d}",
            "increase(pg.deadlocks, 1h, offset=1d)",
        ),
        (
            "value:\n      ratio:\n        numerator: {check: app-log, sample: errors, aggregate: sum, window: 5m}\n"
            "        denominator: {check: app-log, sample: lines, aggregate: sum, window: 5m}\n"
            "      scale: 100",
            "sum(app-log.errors, 5m) / sum(app-log.lines, 5m) * 100",
        ),
        (
            "value: {check: api-health, sample: latency_ms, aggregate: avg, window: 1h, baseline: {offset: 7d}}",
            "avg(api-health.latency_ms, 1h) / avg(api-health.latency_ms, 1h, offset=7d)",
        ),
        (
            "value: {check: api-health, sample: latency_ms, aggregate: avg, window: 1d, offset: 1h,"
            " baseline: {window: 7d}, scale: 100}",
            "avg(api-health.latency_ms, 1d, offset=1h) / avg(api-health.latency_ms, 7d, offset=1d1h) * 100",
        ),
    ],
)
def test_structured_and_text_forms_compile_to_the_same_tree(structured: str, text: str) -> None:
    a = one_rule(f"  - name: a\n    {structured}\n    critical: 1\n")
    b = one_rule(f'  - name: b\n    expr: "{text}"\n    critical: 1\n')
    assert a.expression == b.expression == parse_expr(text).expr


def test_the_canonical_example() -> None:
    rule = one_rule(
        """\
  - name: api-latency
    service: api
    value:
      check: api-health
      sample: latency_ms
      aggregate: p95
      window: 5m
    warning: "> 200"
    critical: {when: "> 500", severity: P0}
    for: 10m
    keep_firing_for: 5m
    no_data: ok
    labels: {team: backend}
    annotations:
      summary: "API p95 latency {{ value | round(0) }} ms"
      runbook: https://wiki/api-latency
      playbook: restart-api
"""
    )
    assert rule.expression == Aggregate("p95", "api-health", "latency_ms", M5)
    assert [(lv.level, lv.bound, lv.severity) for lv in rule.levels] == [
        (Level.WARNING, Bound(">", 200), "P2"),
        (Level.CRITICAL, Bound(">", 500), "P0"),
    ]
    assert rule.timing.for_ == timedelta(minutes=10)
    assert rule.timing.keep_firing_for == M5
    assert rule.no_data == "ok"
    assert rule.labels == {"team": "backend"}


def test_rules_are_found_by_name() -> None:
    config = load('  - name: one\n    expr: "failures(pg)"\n    critical: 1\n')
    assert config.rule("one") is config.rules[0]
    assert config.rule("two") is None


def test_expr_comparison_is_the_critical_bound() -> None:
    rule = one_rule(
        '  - name: errors\n    expr: "sum(app-log.errors, 5m) / sum(app-log.lines, 5m) * 100 > 5"\n'
        '    warning: "> 1"\n'
    )
    assert rule.critical_bound == Bound(">", 5)
    assert [lv.level for lv in rule.levels] == [Level.WARNING, Level.CRITICAL]


def test_default_severities_follow_the_configured_scale() -> None:
    rules = (
        '  - name: r\n    expr: "last(api-health.latency_ms)"\n    warning: 1\n    critical: 2\n'
    )
    assert [lv.severity for lv in one_rule(rules).levels] == ["P2", "P1"]
    sev = "severities:\n" + "".join(
        f"  - {{name: {n}, response_time: 1h}}\n" for n in ("SEV1", "SEV2", "SEV3", "SEV4")
    )
    config = load(rules, HEAD.replace("rules:\n", sev + "rules:\n"))
    assert [lv.severity for lv in config.rules[0].levels] == ["SEV3", "SEV2"]
    two = "severities:\n  - {name: high, response_time: 5m}\n  - {name: low, response_time: 1h}\n"
    config = load(rules, HEAD.replace("rules:\n", two + "rules:\n"))
    assert [lv.severity for lv in config.rules[0].levels] == ["low", "low"]  # clamped
    one = "severities:\n  - {name: only, response_time: 5m}\n"
    config = load(rules, HEAD.replace("rules:\n", one + "rules:\n"))
    assert [lv.severity for lv in config.rules[0].levels] == ["only", "only"]


def test_service_defaults_to_the_first_referenced_check_with_one() -> None:
    rule = one_rule(
        '  - name: r\n    expr: "last(app-log.lines) + failures(pg)"\n    critical: 1\n'
    )
    assert rule.effective_service == "database"
    rule = one_rule('  - name: r\n    expr: "last(app-log.lines)"\n    critical: 1\n')
    assert rule.effective_service is None
    rule = one_rule('  - name: r\n    service: api\n    expr: "failures(pg)"\n    critical: 1\n')
    assert rule.effective_service == "api"


def test_staleness_defaults_to_five_minutes_or_twice_the_slowest_check() -> None:
    fast = one_rule('  - name: r\n    expr: "last(api-health.up)"\n    critical: "== 0"\n')
    assert fast.effective_staleness == M5
    slow = one_rule('  - name: r\n    expr: "last(backup.age_s)"\n    critical: 90000\n')
    assert slow.effective_staleness == timedelta(hours=2)
    windowed = one_rule('  - name: r\n    expr: "max(backup.age_s, 1d)"\n    critical: 90000\n')
    assert windowed.effective_staleness == M5  # only `last` reads need it
    explicit = one_rule(
        '  - name: r\n    expr: "last(api-health.up)"\n    staleness: 90s\n    critical: "== 0"\n'
    )
    assert explicit.effective_staleness == timedelta(seconds=90)


def test_a_rule_built_in_code_uses_the_default_scale() -> None:
    rule = Rule.model_validate(
        {"name": "r", "value": {"consecutive_failures": "api"}, "critical": "> 3"}
    )
    assert rule.expression == Failures("api")
    assert rule.levels[0].severity == "P1"
    assert rule.effective_service is None


def test_scale_multiplies_any_form() -> None:
    rule = one_rule(
        "  - name: r\n    value: {consecutive_failures: pg, scale: 2}\n    critical: 1\n"
    )
    assert rule.expression == BinaryOp("*", Failures("pg"), Number(2))


# -- located errors ------------------------------------------------------------------------

LINE = HEAD.count("\n") + 1  # the first rule's line


@pytest.mark.parametrize(
    "rules,expected",
    [
        (
            '  - name: r\n    expr: "p95(api-health.latency_ms, 5m"\n    critical: 1\n',
            f"opsbook.yaml:{LINE + 1}:11 rules[0].expr: expected ',' or ')' at column 30",
        ),
        (
            '  - name: r\n    expr: "p95(api-helth.latency_ms, 5m)"\n    critical: 1\n',
            f"opsbook.yaml:{LINE + 1}:11 rules[0].expr: unknown check 'api-helth' at column 1; "
            "did you mean 'api-health'?",
        ),
        (
            '  - name: r\n    expr: "1 + p95(api-health.latncy_ms, 5m)"\n    critical: 1\n',
            f"opsbook.yaml:{LINE + 1}:11 rules[0].expr: unknown sample of a http check "
            "'latncy_ms' at column 5; did you mean 'latency_ms'?",
        ),
        (
            "  - name: r\n    value: {check: api-health, sample: latency_ms, aggregate: p95}\n"
            "    critical: 1\n",
            f"opsbook.yaml:{LINE + 1}:12 rules[0].value.window: aggregate 'p95' needs a window, "
            "e.g. window: 5m",
        ),
        (
            "  - name: r\n    value: {check: pg, sample: deadlocks, aggregate: rate}\n    critical: 1\n",
            f"opsbook.yaml:{LINE + 1}:12 rules[0].value.window: aggregate 'rate' needs a window "
            "to measure the counter's growth over, e.g. window: 1h",
        ),
        (
            "  - name: r\n    value: {check: pg, sample: deadlocks, aggregate: increase, window: 90s}\n"
            "    critical: 1\n",
            f"opsbook.yaml:{LINE + 1}:72 rules[0].value.window: increase over 1m30s of check 'pg', "
            "which runs every 1m, sees fewer than two points; use a window of at least 2m",
        ),
        (
            "  - name: r\n    value: {check: api-health, sample: up, window: 5m}\n    critical: 1\n",
            f"opsbook.yaml:{LINE + 1}:52 rules[0].value.window: aggregate 'last' takes no window",
        ),
        (
            "  - name: r\n    value: {check: api-health, sample: latency_ms, aggregate: median, window: 5m}\n"
            "    critical: 1\n",
            f"opsbook.yaml:{LINE + 1}:63 rules[0].value.aggregate: should be 'last', 'avg'",
        ),
        (
            "  - name: r\n    value: {check: api-helth, sample: up}\n    critical: 1\n",
            f"opsbook.yaml:{LINE + 1}:20 rules[0].value.check: unknown check 'api-helth'; "
            "did you mean 'api-health'?",
        ),
        (
            "  - name: r\n    value: {check: api-health, sample: latency}\n    critical: 1\n",
            f"opsbook.yaml:{LINE + 1}:40 rules[0].value.sample: unknown sample of a http check "
            "'latency'; did you mean 'latency_ms'?",
        ),
        (
            "  - name: r\n    value: {check: api-health, sample: Latency}\n    critical: 1\n",
            f"opsbook.yaml:{LINE + 1}:40 rules[0].value.sample: invalid sample name 'Latency': "
            "lowercase letters, digits and '_'",
        ),
        (
            "  - name: r\n    value:\n      ratio:\n        numerator: {check: app-log, sample: error}\n"
            "        denominator: {check: app-log, sample: lines}\n    critical: 1\n",
            f"opsbook.yaml:{LINE + 3}:45 rules[0].value.ratio.numerator.sample: unknown sample "
            "of a log check 'error'; did you mean 'errors'?",
        ),
        (
            "  - name: r\n    value: {consecutive_failures: pgg}\n    critical: 1\n",
            f"opsbook.yaml:{LINE + 1}:35 rules[0].value.consecutive_failures: unknown check 'pgg'; "
            "did you mean 'pg'?",
        ),
        (
            "  - name: r\n    value: {check: api-health, sample: up}\n    critical: {when: 1, severity: P7}\n",
            f"opsbook.yaml:{LINE + 2}:35 rules[0].critical.severity: unknown severity 'P7'; "
            "defined: P0, P1, P2, P3, P4",
        ),
        (
            "  - name: r\n    service: apii\n    value: {check: api-health, sample: up}\n    critical: 1\n",
            f"opsbook.yaml:{LINE + 1}:14 rules[0].service: unknown service 'apii'; did you mean 'api'?",
        ),
        (
            "  - name: r\n    value: {check: api-health, sample: up}\n    critical: 1\n"
            "  - name: r\n    value: {check: api-health, sample: up}\n    critical: 1\n",
            f"opsbook.yaml:{LINE + 3}:11 rules[1].name: duplicate rule name 'r' (first at line {LINE})",
        ),
        (
            '  - name: r\n    expr: "last(api-health.up) == 0"\n    critical: "== 0"\n',
            f"opsbook.yaml:{LINE + 2}:15 rules[0].critical: the comparison in expr already sets the "
            "critical bound (== 0); remove one of them",
        ),
        (
            '  - name: r\n    expr: "last(api-health.up)"\n    value: {check: api-health, sample: up}\n'
            "    critical: 1\n",
            f"opsbook.yaml:{LINE}:5 rules[0]: a rule has either `value` (structured) or `expr` "
            "(text), not both",
        ),
        (
            "  - name: r\n    critical: 1\n",
            f"opsbook.yaml:{LINE}:5 rules[0]: a rule has either `value` (structured) or `expr` "
            "(text); it has neither",
        ),
        (
            '  - name: r\n    expr: "last(api-health.up)"\n',
            f"opsbook.yaml:{LINE}:5 rules[0]: a rule needs a `warning` or `critical` bound",
        ),
        (
            '  - name: r\n    expr: "last(api-health.up)"\n    warning: 1\n    no_data: critical\n',
            f"opsbook.yaml:{LINE}:5 rules[0]: no_data: critical needs a critical bound to raise",
        ),
        (
            '  - name: r\n    expr: "last(api-health.up)"\n    critical: 1\n    no_data: alert\n',
            f"opsbook.yaml:{LINE + 3}:14 rules[0].no_data: should be 'keep', 'ok' or 'critical', "
            "got a string 'alert'",
        ),
        (
            '  - name: r\n    expr: "last(api-health.up)"\n    critical: "over 9000"\n',
            f"opsbook.yaml:{LINE + 2}:15 rules[0].critical: expected a bound like '> 80'",
        ),
        (
            '  - name: r\n    expr: "last(api-health.up)"\n    critical: 1\n    for: 10\n',
            f"opsbook.yaml:{LINE + 3}:10 rules[0].for: expected a duration like '5s', got the "
            "number 10: add a unit",
        ),
        (
            '  - name: r\n    expr: "last(api-health.up)"\n    critical: 1\n    fro: 10m\n',
            f"opsbook.yaml:{LINE + 3}:5 rules[0].fro: unknown key 'fro'; did you mean 'for'?",
        ),
        (
            '  - name: r\n    expr: "last(api-health.up)"\n    critical: 1\n    labels: {service: x}\n',
            f"opsbook.yaml:{LINE + 3}:13 rules[0].labels: label 'service' is set by opsbook",
        ),
        (
            '  - name: r\n    expr: "last(api-health.up)"\n    critical: 1\n'
            "    annotations: {summary: '{{ value '}\n",
            f"opsbook.yaml:{LINE + 3}:28 rules[0].annotations.summary: template error on line 1",
        ),
        (
            '  - name: r\n    expr: "last(backup.age_s)"\n    critical: 1\n    staleness: 1h\n',
            f"opsbook.yaml:{LINE + 3}:16 rules[0].staleness: staleness 1h is not longer than the "
            "interval of check 'backup' (1h)",
        ),
        (
            "  - name: r\n    value: {check: api-health, sample: latency_ms, baseline: {window: 7d}}\n"
            "    critical: 1\n",
            f"opsbook.yaml:{LINE + 1}:12 rules[0].value: baseline.window needs an aggregate with a "
            "window",
        ),
        (
            "  - name: r\n    value: {check: api-health, sample: latency_ms, aggregate: avg, window: 5m,"
            " baseline: {window: 7d, offset: 7d}}\n    critical: 1\n",
            f"opsbook.yaml:{LINE + 1}:90 rules[0].value.baseline: a baseline has either `offset` "
            "(7d) or `window` (7d), not both",
        ),
        (
            "  - name: r\n    value: {consecutive_failures: pg, window: 5m}\n    critical: 1\n",
            f"opsbook.yaml:{LINE + 1}:12 rules[0].value: 'window' does not apply to "
            "consecutive_failures",
        ),
        (
            "  - name: r\n    value: {check: pg, consecutive_failures: pg}\n    critical: 1\n",
            f"opsbook.yaml:{LINE + 1}:12 rules[0].value: a value has exactly one form, found check "
            "and consecutive_failures",
        ),
        (
            "  - name: r\n    value: {check: pg}\n    critical: 1\n",
            f"opsbook.yaml:{LINE + 1}:12 rules[0].value: missing required key 'sample'",
        ),
        (
            "  - name: r\n    value: {consecutive_failures: pg, scale: 0}\n    critical: 1\n",
            f"opsbook.yaml:{LINE + 1}:46 rules[0].value.scale: should be greater than 0",
        ),
    ],
)
def test_mistakes_are_reported_where_they_are(rules: str, expected: str) -> None:
    found = errors(rules)
    assert any(e.startswith(expected) for e in found), found


def test_every_problem_is_reported_at_once() -> None:
    found = errors(
        '  - name: a\n    expr: "avg(nope.x, 5m) + failures(nada)"\n    critical: 1\n'
        "  - name: b\n    service: nowhere\n    value: {check: api-health, sample: up}\n"
        "    warning: {when: 1, severity: P9}\n"
    )
    assert len(found) == 4, found
    assert "unknown check 'nope' at column 1" in found[0]
    assert "unknown check 'nada' at column 19" in found[1]


def test_a_problem_shared_by_two_reads_is_reported_once() -> None:
    found = errors(
        '  - name: a\n    expr: "last(backup.age_s) / last(backup.size_bytes)"\n'
        "    staleness: 30m\n    critical: 1\n"
    )
    assert len(found) == 1 and "staleness 30m is not longer" in found[0], found
