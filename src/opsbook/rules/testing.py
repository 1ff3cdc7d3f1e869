"""`opsbook test rules`: unit tests for alert rules, in the format of `promtool test rules`.

A test file names a config, feeds made-up sample series through its rules on a simulated
clock and states which alerts must be firing at given times. Time 0 is 1970-01-01 UTC;
the rules are evaluated every `evaluation_interval` from 0 until the last `eval_time`,
each evaluation seeing the input points stamped at or before it. At an `eval_time` the
firing alerts of `alertname` (after the last evaluation at or before that time) must be
exactly the expected ones, in any order: each expected alert's labels are a subset of
one firing alert's labels, and its annotations, when given, equal that alert's (key by
key). `alertname` is implied.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationError,
    field_validator,
)

from opsbook.alerts.model import Alert
from opsbook.config.base import Name, Section
from opsbook.config.issues import translate
from opsbook.config.loader import load_config
from opsbook.config.models import Config
from opsbook.config.redact import Redactor
from opsbook.config.semantics import unknown_message
from opsbook.config.types import Duration, format_duration
from opsbook.config.yaml_source import Path_, SourceMap, parse_yaml
from opsbook.errors import ConfigError, ConfigIssue
from opsbook.rules.alerting import advance
from opsbook.rules.evaluate import evaluate
from opsbook.rules.nodes import PSEUDO_SAMPLES
from opsbook.rules.notation import parse_values
from opsbook.rules.series import MemorySeries
from opsbook.status import Status

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_STEPS = 1_000_000

_SERIES = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\.[a-z_][a-z0-9_]{0,99}$")


def _series_name(value: str) -> str:
    if not _SERIES.match(value):
        raise ValueError(f"expected check.sample (like api-health.latency_ms), got {value!r}")
    return value


SeriesName = Annotated[str, AfterValidator(_series_name)]
Values = Annotated[list[float | None], BeforeValidator(parse_values)]


def _positive(value: timedelta | None) -> timedelta | None:
    if value is not None and value <= timedelta(0):
        raise ValueError("must be longer than 0s")
    return value


class InputSeries(Section):
    series: SeriesName = Field(description="check.sample, e.g. api-health.latency_ms")
    values: Values = Field(description="'100x10 300+10x5 _ 7' or a list of numbers")


class ExpectedAlert(Section):
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] | None = None


class AlertRuleTest(Section):
    eval_time: Duration
    alertname: Name
    exp_alerts: list[ExpectedAlert] = Field(default_factory=list)


class RulesTestCase(Section):
    name: str = ""
    interval: Duration | None = Field(
        default=None, description="Spacing of input values; default: evaluation_interval."
    )
    input_series: list[InputSeries] = Field(default_factory=list)
    alert_rule_test: list[AlertRuleTest] = Field(default_factory=list)

    _interval_positive = field_validator("interval")(_positive)


class RulesTestFile(Section):
    config: str = Field(min_length=1, description="The opsbook.yaml, relative to this file.")
    evaluation_interval: Duration = timedelta(minutes=1)
    tests: list[RulesTestCase] = Field(min_length=1)

    _evaluation_interval_positive = field_validator("evaluation_interval")(_positive)


@dataclass(frozen=True, slots=True)
class LoadedTests:
    path: Path
    spec: RulesTestFile
    config: Config


def _read(path: Path) -> str:
    display = str(path)
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ConfigError([ConfigIssue(display, None, None, "", "file not found")]) from None
    except OSError as exc:
        message = f"cannot read: {exc.strerror}"
        raise ConfigError([ConfigIssue(display, None, None, "", message)]) from None
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (byte {exc.start})"
        raise ConfigError([ConfigIssue(display, None, None, "", message)]) from None


def load_rules_tests(path: Path) -> LoadedTests:
    """Read and check a test file and its config; `ConfigError` lists every located issue."""
    data, source, issues = parse_yaml(_read(path), str(path))
    if issues:
        raise ConfigError(issues)
    if not isinstance(data, dict):
        raise ConfigError([source.issue((), "expected a mapping with `config:` and `tests:`")])
    try:
        spec = RulesTestFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(translate(exc, RulesTestFile, data, source, Redactor())) from None
    config_path = path.parent / spec.config
    if not config_path.is_file():
        raise ConfigError([source.issue(("config",), f"config file not found: {config_path}")])
    config = load_config(config_path)
    issues = list(_issues(spec, config, source))
    if issues:
        raise ConfigError(sorted(issues, key=lambda i: (i.line or 0, i.column or 0)))
    return LoadedTests(path, spec, config)


def _series_issues(
    case: RulesTestCase, config: Config, source: SourceMap, at: Path_
) -> Iterable[ConfigIssue]:
    checks = {c.name: c for c in config.checks}
    seen: dict[str, int] = {}
    result_sample: dict[str, str] = {}
    for j, given in enumerate(case.input_series):
        path: Path_ = (*at, "input_series", j)
        name, _, sample = given.series.rpartition(".")
        if given.series in seen:
            first = seen[given.series]
            message = f"series {given.series!r} given twice (first at input_series[{first}])"
            yield source.issue((*path, "series"), message)
        seen.setdefault(given.series, j)
        check = checks.get(name)
        if check is None:
            yield source.issue((*path, "series"), unknown_message("check", name, checks))
            continue
        known = check.kind_info.samples(check.spec)
        if known is not None and sample not in known | PSEUDO_SAMPLES:
            kind = f"sample of a {check.kind} check"
            message = unknown_message(kind, sample, sorted(known | PSEUDO_SAMPLES))
            yield source.issue((*path, "series"), message)
        if sample in PSEUDO_SAMPLES:
            other = result_sample.setdefault(name, sample)
            if other != sample:
                message = f"give {name}.status or {name}.up, not both: each is a check result"
                yield source.issue((*path, "series"), message)
            allowed = {0.0, 1.0, 2.0, 3.0} if sample == "status" else {0.0, 1.0}
            bad = next((v for v in given.values if v is not None and v not in allowed), None)
            if bad is not None:
                expected = "0..3 (ok, warning, critical, unknown)" if sample == "status" else "0/1"
                yield source.issue(
                    (*path, "values"), f"{sample} values are {expected}, got {bad:g}"
                )


def _issues(spec: RulesTestFile, config: Config, source: SourceMap) -> Iterable[ConfigIssue]:
    rules = [r.name for r in config.rules]
    for i, case in enumerate(spec.tests):
        yield from _series_issues(case, config, source, ("tests", i))
        for k, test in enumerate(case.alert_rule_test):
            path: Path_ = ("tests", i, "alert_rule_test", k)
            if test.alertname not in rules:
                yield source.issue(
                    (*path, "alertname"), unknown_message("rule", test.alertname, rules)
                )
            if test.eval_time / spec.evaluation_interval > MAX_STEPS:
                yield source.issue(
                    (*path, "eval_time"),
                    f"more than {MAX_STEPS} evaluations; raise evaluation_interval",
                )


# -- running -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One `alert_rule_test` entry whose firing alerts differ from the expected ones."""

    eval_time: timedelta
    alertname: str
    expected: tuple[ExpectedAlert, ...]
    got: tuple[Alert, ...]
    missing: tuple[ExpectedAlert, ...]
    unexpected: tuple[Alert, ...]


@dataclass(slots=True)
class CaseResult:
    index: int
    name: str
    checked: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.mismatches


def _matches(expected: ExpectedAlert, alert: Alert) -> bool:
    if any(alert.labels.get(key) != value for key, value in expected.labels.items()):
        return False
    if expected.annotations is None:
        return True
    return all(alert.annotations.get(k) == v for k, v in expected.annotations.items())


def _pair(
    expected: Sequence[ExpectedAlert], got: Sequence[Alert]
) -> tuple[list[ExpectedAlert], list[Alert]]:
    """A maximum matching (Kuhn's augmenting paths); returns what stayed unmatched."""
    owner: dict[int, int] = {}  # got index -> expected index

    def place(e: int, seen: set[int]) -> bool:
        for g, alert in enumerate(got):
            if g in seen or not _matches(expected[e], alert):
                continue
            seen.add(g)
            if g not in owner or place(owner[g], seen):
                owner[g] = e
                return True
        return False

    unmatched = [expected[e] for e in range(len(expected)) if not place(e, set())]
    extra = [alert for g, alert in enumerate(got) if g not in owner]
    return unmatched, extra


def _feed_events(
    case: RulesTestCase, interval: timedelta
) -> list[tuple[timedelta, str, str, float]]:
    events = []
    for given in case.input_series:
        check, _, sample = given.series.rpartition(".")
        for i, value in enumerate(given.values):
            if value is not None:
                events.append((i * interval, check, sample, value))
    events.sort(key=lambda e: e[0])
    return events


def _feed(series: MemorySeries, offset: timedelta, check: str, sample: str, value: float) -> None:
    at = EPOCH + offset
    if sample == "status":
        series.add_result(check, Status(int(value)), at)
    elif sample == "up":
        series.add_result(check, Status.OK if value == 1 else Status.CRITICAL, at)
    else:
        series.add(check, sample, at, value)


def run_case(config: Config, case: RulesTestCase, index: int, every: timedelta) -> CaseResult:
    """Replay one test case; `every` is the evaluation interval."""
    result = CaseResult(index, case.name)
    events = _feed_events(case, case.interval or every)
    pending = sorted(case.alert_rule_test, key=lambda t: t.eval_time)
    series = MemorySeries()
    alerts: dict[str, Alert] = {}
    fed = 0
    step = 0
    while pending:
        offset = step * every
        now = EPOCH + offset
        while fed < len(events) and events[fed][0] <= offset:
            _feed(series, *events[fed])
            fed += 1
        for rule in config.rules:
            for alert, _ in advance(rule, evaluate(rule, series, now), alerts, now):
                alerts[alert.fingerprint] = alert
        step += 1
        while pending and pending[0].eval_time < step * every:
            _compare(result, pending.pop(0), alerts)
    return result


def _compare(result: CaseResult, test: AlertRuleTest, alerts: Mapping[str, Alert]) -> None:
    result.checked += 1
    firing = sorted(
        (a for a in alerts.values() if a.rule == test.alertname and a.is_firing),
        key=lambda a: sorted(a.labels.items()),
    )
    missing, unexpected = _pair(test.exp_alerts, firing)
    if missing or unexpected:
        result.mismatches.append(
            Mismatch(
                test.eval_time,
                test.alertname,
                tuple(test.exp_alerts),
                tuple(firing),
                tuple(missing),
                tuple(unexpected),
            )
        )


def run_tests(loaded: LoadedTests) -> list[CaseResult]:
    every = loaded.spec.evaluation_interval
    return [run_case(loaded.config, case, i, every) for i, case in enumerate(loaded.spec.tests)]


# -- reporting -----------------------------------------------------------------------------


def _mapping(values: Mapping[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{values[k]}"' for k in sorted(values)) + "}"


def _expected_text(expected: ExpectedAlert) -> str:
    text = f"labels {_mapping(expected.labels)}"
    if expected.annotations is not None:
        text += f" annotations {_mapping(expected.annotations)}"
    return text


def _alert_text(alert: Alert) -> str:
    text = f"labels {_mapping(alert.labels)}"
    if alert.annotations:
        text += f" annotations {_mapping(alert.annotations)}"
    return text


def _differences(expected: ExpectedAlert, alert: Alert) -> list[str]:
    out = []
    for key, want in sorted(expected.labels.items()):
        have = alert.labels.get(key)
        if have != want:
            out.append(f"label {key}: expected {want!r}, got {have!r}")
    for key, want in sorted((expected.annotations or {}).items()):
        have = alert.annotations.get(key)
        if have != want:
            out.append(f"annotation {key}: expected {want!r}, got {have!r}")
    return out


def _closest(expected: ExpectedAlert, candidates: Sequence[Alert]) -> Alert | None:
    """The alert that differs from `expected` in the fewest labels and annotations."""
    return min(candidates, key=lambda a: len(_differences(expected, a)), default=None)


def case_title(result: CaseResult) -> str:
    return f"tests[{result.index}]" + (f" {result.name!r}" if result.name else "")


def format_mismatch(mismatch: Mismatch) -> list[str]:
    """A readable diff: what was expected, what fired, and how the closest alert differs."""
    when = format_duration(mismatch.eval_time)
    lines = [f"  alertname {mismatch.alertname} at eval_time {when}:"]
    lines.append(f"    expected {len(mismatch.expected)} firing:")
    lines += [f"      {_expected_text(e)}" for e in mismatch.expected] or ["      (none)"]
    lines.append(f"    got {len(mismatch.got)} firing:")
    lines += [f"      {_alert_text(a)}" for a in mismatch.got] or ["      (none)"]
    for expected in mismatch.missing:
        lines.append(f"    - expected, not firing: {_expected_text(expected)}")
        closest = _closest(expected, mismatch.unexpected)
        if closest is not None:
            lines += [f"        {difference}" for difference in _differences(expected, closest)]
    lines += [f"    + firing, not expected: {_alert_text(a)}" for a in mismatch.unexpected]
    return lines
