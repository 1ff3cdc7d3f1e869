"""`opsbook test rules`: the series notation, the replay, the diff, the exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from opsbook.cli import app
from opsbook.rules.notation import MAX_REPEAT, expand_values, parse_values

CONFIG = """\
project: {name: shop}
services: [{name: api}]
checks:
  - name: api-health
    service: api
    interval: 1m
    http: {url: "http://127.0.0.1:8081/health"}
rules:
  - name: api-latency
    value: {check: api-health, sample: latency_ms, aggregate: p95, window: 5m}
    warning: "> 200"
    critical: "> 500"
    for: 10m
    annotations:
      summary: "API p95 latency {{ value | round(0) | int }} ms"
  - name: api-down
    value: {check: api-health, sample: up}
    critical: "== 0"
    for: 2m
"""

PASSING = """\
config: opsbook.yaml
evaluation_interval: 1m
tests:
  - name: latency warning then critical
    interval: 1m
    input_series:
      - series: api-health.latency_ms
        values: "100x10 300x20 700x20"
      - series: api-health.status
        values: "0x50"
    alert_rule_test:
      - eval_time: 15m
        alertname: api-latency
        exp_alerts: []
      - eval_time: 21m
        alertname: api-latency
        exp_alerts:
          - labels: {level: warning, severity: P2, service: api}
            annotations: {summary: "API p95 latency 300 ms"}
      - eval_time: 45m
        alertname: api-latency
        exp_alerts:
          - labels: {level: critical}
          - labels: {level: warning}
      - eval_time: 45m
        alertname: api-down
        exp_alerts: []
  - name: health check fails for 2 minutes
    interval: 1m
    input_series:
      - series: api-health.up
        values: [1, 1, 0, 0, null, 0, 1]
    alert_rule_test:
      - eval_time: 3m
        alertname: api-down
        exp_alerts: []
      - eval_time: 4m30s
        alertname: api-down
        exp_alerts:
          - labels: {alertname: api-down, level: critical, severity: P1}
      - eval_time: 6m
        alertname: api-down
        exp_alerts: []
"""


def run(tmp_path: Path, tests: str, config: str = CONFIG, *extra: str) -> tuple[int, str]:
    (tmp_path / "opsbook.yaml").write_text(config)
    path = tmp_path / "rules.test.yaml"
    path.write_text(tests)
    result = CliRunner().invoke(app, ["test", "rules", str(path), *extra])
    return result.exit_code, result.output


def test_passing_tests_exit_0(tmp_path: Path) -> None:
    code, output = run(tmp_path, PASSING)
    assert code == 0, output
    assert "PASS" in output and "'latency warning then critical'" in output
    assert "2 tests, 0 failed" in output


def test_a_wrong_expectation_exits_1_with_a_readable_diff(tmp_path: Path) -> None:
    wrong = PASSING.replace(
        "          - labels: {level: warning, severity: P2, service: api}\n"
        '            annotations: {summary: "API p95 latency 300 ms"}',
        "          - labels: {level: warning, severity: P1, service: api}\n"
        '            annotations: {summary: "API p95 latency 251 ms"}',
    )
    code, output = run(tmp_path, wrong)
    assert code == 1, output
    assert "FAIL" in output and "tests[0] 'latency warning then critical'" in output
    assert "alertname api-latency at eval_time 21m:" in output
    assert (
        'expected 1 firing:\n      labels {level="warning", service="api", severity="P1"}' in output
    )
    assert (
        '    got 1 firing:\n      labels {alertname="api-latency", level="warning", '
        'service="api", severity="P2"} annotations {summary="API p95 latency 300 ms"}'
    ) in output
    assert "    - expected, not firing:" in output
    assert "        label severity: expected 'P1', got 'P2'" in output
    assert (
        "        annotation summary: expected 'API p95 latency 251 ms', got 'API p95 latency 300 ms'"
        in output
    )
    assert "    + firing, not expected:" in output
    assert "PASS" in output  # the other test still ran and passed
    assert "2 tests, 1 failed" in output


def test_missing_and_extra_alerts_are_failures(tmp_path: Path) -> None:
    early = PASSING.replace("      - eval_time: 15m\n", "      - eval_time: 25m\n", 1)
    code, output = run(tmp_path, early)
    assert code == 1
    assert "alertname api-latency at eval_time 25m:\n    expected 0 firing:\n      (none)" in output
    assert '    + firing, not expected: labels {alertname="api-latency", level="warning"' in output
    late = PASSING.replace("      - eval_time: 4m30s\n", "      - eval_time: 3m30s\n")
    code, output = run(tmp_path, late)
    assert code == 1
    assert "got 0 firing:\n      (none)" in output
    assert '    - expected, not firing: labels {alertname="api-down", level="critical"' in output


def test_eval_time_between_evaluations_sees_the_last_evaluation(tmp_path: Path) -> None:
    """With a 2m evaluation interval, 4m30s is judged by the evaluation at 4m."""
    slower = PASSING.replace("evaluation_interval: 1m", "evaluation_interval: 2m")
    slower = slower.replace("      - eval_time: 21m\n", "      - eval_time: 22m\n")
    code, output = run(tmp_path, slower)
    assert code == 0, output


@pytest.mark.parametrize(
    "change,message",
    [
        (
            ("api-health.latency_ms", "api-helth.latency_ms"),
            "rules.test.yaml:7:17 tests[0].input_series[0].series: unknown check 'api-helth'; "
            "did you mean 'api-health'?",
        ),
        (
            ("api-health.latency_ms", "api-health.latency"),
            "rules.test.yaml:7:17 tests[0].input_series[0].series: unknown sample of a http check "
            "'latency'; did you mean 'latency_ms'?",
        ),
        (
            ("api-health.latency_ms", "latency_ms"),
            "rules.test.yaml:7:17 tests[0].input_series[0].series: expected check.sample (like "
            "api-health.latency_ms), got 'latency_ms'",
        ),
        (
            ('"100x10 300x20 700x20"', '"100x10 3OOx20"'),
            "rules.test.yaml:8:17 tests[0].input_series[0].values: value 2 '3OOx20': expected a "
            "number, '_', 'a+bxN', 'a-bxN', 'axN' or '_xN'",
        ),
        (
            ('values: "0x50"', 'values: "0x10 4"'),
            "rules.test.yaml:10:17 tests[0].input_series[1].values: status values are 0..3 (ok, "
            "warning, critical, unknown), got 4",
        ),
        (
            ("[1, 1, 0, 0, null, 0, 1]", "[1, 2]"),
            "rules.test.yaml:32:17 tests[1].input_series[0].values: up values are 0/1, got 2",
        ),
        (
            ("[1, 1, 0, 0, null, 0, 1]", "[1, high]"),
            "rules.test.yaml:32:17 tests[1].input_series[0].values: value 2 'high': expected a "
            "number, null or '_'",
        ),
        (
            (
                "        alertname: api-down\n        exp_alerts: []\n  - name",
                "        alertname: api-dwn\n        exp_alerts: []\n  - name",
            ),
            "rules.test.yaml:26:20 tests[0].alert_rule_test[3].alertname: unknown rule 'api-dwn'; "
            "did you mean 'api-down'?",
        ),
        (
            ("eval_time: 15m", "eval_time: 15"),
            "rules.test.yaml:12:20 tests[0].alert_rule_test[0].eval_time: expected a duration like "
            "'5s', got the number 15: add a unit",
        ),
        (
            ("exp_alerts: []", "exp_alert: []"),
            "rules.test.yaml:14:9 tests[0].alert_rule_test[0].exp_alert: unknown key 'exp_alert'; "
            "did you mean 'exp_alerts'?",
        ),
        (
            ("evaluation_interval: 1m", "evaluation_interval: 0s"),
            "rules.test.yaml:2:22 evaluation_interval: must be longer than 0s",
        ),
        (
            ("config: opsbook.yaml", "config: missing.yaml"),
            "rules.test.yaml:1:9 config: config file not found:",
        ),
        (("tests:", "tests: [\n"), "rules.test.yaml:"),
    ],
)
def test_a_malformed_file_exits_2_with_located_errors(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    assert change[0] in PASSING
    code, output = run(tmp_path, PASSING.replace(change[0], change[1], 1))
    assert code == 2, output
    assert str(tmp_path / message) in output or message in output, output


def test_both_status_and_up_for_one_check_is_an_error(tmp_path: Path) -> None:
    both = PASSING.replace(
        '        values: "0x50"\n',
        '        values: "0x50"\n      - series: api-health.up\n        values: "1x50"\n',
    )
    code, output = run(tmp_path, both)
    assert code == 2
    assert "give api-health.status or api-health.up, not both" in output


def test_a_broken_config_is_reported_in_the_config_file(tmp_path: Path) -> None:
    code, output = run(tmp_path, PASSING, CONFIG.replace("aggregate: p95, ", "aggregate: p95x, "))
    assert code == 2
    assert "opsbook.yaml:10:" in output and "rules[0].value.aggregate" in output


def test_several_files_and_the_worst_exit_code(tmp_path: Path) -> None:
    code, _ = run(tmp_path, PASSING)
    assert code == 0
    (tmp_path / "broken.test.yaml").write_text("config: opsbook.yaml\ntests: []\n")
    result = CliRunner().invoke(
        app,
        ["test", "rules", str(tmp_path / "rules.test.yaml"), str(tmp_path / "broken.test.yaml")],
    )
    assert result.exit_code == 2
    assert "PASS" in result.output and "broken.test.yaml:2:8 tests:" in result.output


def test_a_missing_test_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["test", "rules", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "nope.yaml file not found" in result.output


# -- the notation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,values",
    [
        ("-2+4x3", [-2, 2, 6, 10]),
        (" 1-2x4", [1, -1, -3, -5, -7]),
        ("1x4", [1, 1, 1, 1, 1]),
        ("1 _x3 2", [1, None, None, None, 2]),
        ("_ 5 _", [None, 5, None]),
        ("0.5+0.25x2 1e3", [0.5, 0.75, 1.0, 1000]),
        ("", []),
    ],
)
def test_promtool_notation(text: str, values: list[float | None]) -> None:
    assert expand_values(text) == values


@pytest.mark.parametrize("bad", ["abc", "1x", "_x", "stale", "1+x3", "1e400", "1,2", "x3"])
def test_bad_notation_names_the_value(bad: str) -> None:
    with pytest.raises(ValueError, match="value 1"):
        expand_values(bad)


def test_repeat_counts_are_capped() -> None:
    with pytest.raises(ValueError, match=f"over {MAX_REPEAT}"):
        expand_values(f"1x{MAX_REPEAT + 1}")


@given(
    st.integers(-1000, 1000),
    st.integers(-50, 50),
    st.integers(0, 200),
)
def test_expansion_has_n_plus_one_values_stepping_by_b(a: int, b: int, n: int) -> None:
    sign = "+" if b >= 0 else "-"
    values = expand_values(f"{a}{sign}{abs(b)}x{n}")
    assert values == [float(a + i * b) for i in range(n + 1)]


def test_lists_accept_numbers_null_and_underscore() -> None:
    assert parse_values([1, 2.5, None, "_"]) == [1.0, 2.5, None, None]
    with pytest.raises(ValueError, match="expected a string like"):
        parse_values(5)


def test_a_file_that_is_not_a_test_file(tmp_path: Path) -> None:
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00")
    (tmp_path / "list.yaml").write_text("- config: opsbook.yaml\n")
    for name, message in (("binary.yaml", "not UTF-8 text"), ("list.yaml", "expected a mapping")):
        result = CliRunner().invoke(app, ["test", "rules", str(tmp_path / name)])
        assert result.exit_code == 2
        assert message in result.output
