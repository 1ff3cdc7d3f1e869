"""Pure parts of the prometheus check: exposition selection, API answers, aggregation and
config validation."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsbook.checks.prometheus import (
    KIND,
    PrometheusCheck,
    PrometheusSeries,
    aggregate,
    api_warnings,
    parse_exposition,
    query_values,
    select,
)
from opsbook.config.loader import load_config_text
from opsbook.errors import ConfigError

EXPOSITION = """\
# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{method="GET",code="200"} 940.0
http_requests_total{method="GET",code="500"} 12.0
http_requests_total{method="POST",code="500"} 8.0
# HELP http_requests_created Requests.
# TYPE http_requests_created gauge
http_requests_created{method="GET",code="200"} 1.7e+09
# TYPE queue_depth gauge
queue_depth{queue="email"} 7.0
queue_depth{queue="sms"} 3.0
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.5",route="/a"} 3.0
http_request_duration_seconds_bucket{le="+Inf",route="/a"} 5.0
http_request_duration_seconds_count{route="/a"} 5.0
http_request_duration_seconds_sum{route="/a"} 7.25
# TYPE legacy_jobs counter
legacy_jobs 41
"""
FAMILIES = parse_exposition(EXPOSITION)


def series(metric: str, aggregate: str = "sum", **labels: str) -> PrometheusSeries:
    return PrometheusSeries.model_validate(
        {"sample": "s", "metric": metric, "labels": labels, "aggregate": aggregate}
    )


@pytest.mark.parametrize(
    ("selector", "values"),
    [
        (series("http_requests_total"), [940, 12, 8]),
        (series("http_requests_total", code="500"), [12, 8]),
        (series("http_requests_total", code="500", method="POST"), [8]),
        (series("http_requests_total", code="404"), []),
        (series("http_requests"), [940, 12, 8]),  # the counter's family name
        (series("http_requests_created"), [1.7e9]),
        (series("queue_depth", queue="sms"), [3]),
        (series("http_request_duration_seconds_bucket", le="+Inf"), [5]),
        (series("http_request_duration_seconds_sum"), [7.25]),
        (series("http_request_duration_seconds"), []),  # a histogram has no plain samples
        (series("legacy_jobs"), [41]),  # exposed without _total, parsed as legacy_jobs_total
        (series("legacy_jobs_total"), [41]),
        (series("queue_depth", missing_label="x"), []),
    ],
)
def test_select(selector: PrometheusSeries, values: list[float]) -> None:
    assert select(FAMILIES, selector) == values


def test_label_values_from_yaml_numbers_become_strings() -> None:
    selector = PrometheusSeries.model_validate(
        {"sample": "e", "metric": "m", "labels": {"code": 500, "le": 0.5}}
    )
    assert selector.labels == {"code": "500", "le": "0.5"}


@pytest.mark.parametrize(
    "text", ["<html><body>nope</body></html>", 'foo{a="b" 1\n', "foo bar\n", '{"a": 1}']
)
def test_parse_exposition_rejects_what_is_not_the_text_format(text: str) -> None:
    with pytest.raises(ValueError):
        parse_exposition(text)


label_values = st.sampled_from(["200", "404", "500", "GET", "POST", "a b", 'q"uote'])
label_sets = st.dictionaries(st.sampled_from(["code", "method", "path"]), label_values)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


@given(
    st.lists(st.tuples(label_sets, st.integers(0, 10**6)), max_size=8),
    label_sets,
)
def test_select_returns_exactly_the_series_whose_labels_include_the_wanted(
    rows: list[tuple[dict[str, str], int]], wanted: dict[str, str]
) -> None:
    unique = {tuple(sorted(labels.items())): value for labels, value in rows}
    lines = ["# TYPE jobs_total counter"]
    for labels, value in unique.items():
        text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
        lines.append(f"jobs_total{{{text}}} {value}" if text else f"jobs_total {value}")
    selected = select(
        parse_exposition("\n".join(lines) + "\n"),
        PrometheusSeries(sample="s", metric="jobs_total", labels=wanted),
    )
    expected = [v for labels, v in unique.items() if wanted.items() <= dict(labels).items()]
    assert sorted(selected) == sorted(expected)


finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)


@given(st.lists(finite, min_size=1, max_size=50))
def test_aggregate_laws(values: list[float]) -> None:
    assert aggregate(values, "count") == len(values)
    assert aggregate(values, "max") == max(values)
    assert aggregate(values, "min") == min(values)
    assert aggregate(values, "sum") == math.fsum(values)
    avg = aggregate(values, "avg")
    assert avg is not None
    assert min(values) <= avg <= max(values)
    assert avg == pytest.approx(math.fsum(values) / len(values))


@pytest.mark.parametrize("how", ["sum", "max", "min", "avg", "count"])
def test_aggregate_of_nothing_is_none(how: str) -> None:
    assert aggregate([], how) is None  # type: ignore[arg-type]


def vector(*values: str) -> dict[str, object]:
    result = [{"metric": {"i": str(i)}, "value": [1.7e9, v]} for i, v in enumerate(values)]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


def test_query_values_of_vector_and_scalar() -> None:
    assert query_values(vector("1", "0.5", "NaN"))[:2] == [1.0, 0.5]
    assert math.isnan(query_values(vector("NaN"))[0])
    assert query_values(vector("+Inf")) == [math.inf]
    assert query_values(vector()) == []
    scalar = {"status": "success", "data": {"resultType": "scalar", "result": [1.7e9, "20"]}}
    assert query_values(scalar) == [20.0]


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"status": "error", "error": "boom"}, "not a successful"),
        ([1, 2], "not a successful"),
        ({"status": "success", "data": {"resultType": "matrix", "result": []}}, "range vector"),
        ({"status": "success", "data": {"resultType": "string", "result": [1, "x"]}}, "string"),
        ({"status": "success", "data": None}, "unsupported"),
        ({"status": "success", "data": {"resultType": "vector", "result": [{}]}}, "malformed"),
        ({"status": "success", "data": {"resultType": "scalar", "result": None}}, "malformed"),
        (vector("many"), "malformed"),
    ],
)
def test_query_values_rejects_other_answers(document: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        query_values(document)


def test_api_warnings() -> None:
    assert api_warnings({"status": "success", "warnings": ["slow"]}) == ["slow"]
    assert api_warnings({"status": "success"}) == []


@given(st.lists(st.sampled_from(["0", "1", "2.5", "-3", "1e3"]), max_size=10))
def test_query_values_keeps_every_vector_value(values: list[str]) -> None:
    assert query_values(vector(*values)) == [float(v) for v in values]


# --- config ---------------------------------------------------------------------------------

HEAD = "project:\n  name: shop\nchecks:\n  - name: metrics\n    prometheus:\n"


def issues(block: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(HEAD + block)
    return [f"{i.path}: {i.message}" for i in caught.value.issues]


def test_valid_configs_and_sample_names() -> None:
    scrape = PrometheusCheck.model_validate(
        {
            "scrape": "http://127.0.0.1:9100/metrics",
            "series": [
                {
                    "sample": "errors_total",
                    "metric": "http_requests_total",
                    "labels": {"code": 500},
                },
                {"sample": "queue", "metric": "queue_depth", "aggregate": "max"},
            ],
        }
    )
    assert KIND.samples(scrape) == frozenset({"errors_total", "queue"})
    query = PrometheusCheck.model_validate(
        {"server": "http://127.0.0.1:9090", "query": "sum(up)", "sample": "targets_up"}
    )
    assert KIND.samples(query) == frozenset({"targets_up"})
    assert KIND.samples(PrometheusCheck(server="http://p:9090", query="up")) == frozenset({"value"})


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("      server: http://p:9090\n", "set exactly one of scrape"),
        (
            "      scrape: http://h/metrics\n      query: up\n      server: http://p\n",
            "set exactly one of scrape",
        ),
        ("      query: up\n", "query needs server"),
        ("      scrape: http://h/metrics\n", "scrape needs series"),
        (
            "      scrape: http://h/metrics\n      server: http://p\n"
            "      series: [{sample: a, metric: m}]\n",
            "server only apply to query mode",
        ),
        (
            "      server: http://p\n      query: up\n      series: [{sample: a, metric: m}]\n",
            "series only apply to scrape mode",
        ),
        (
            "      scrape: http://h/metrics\n"
            "      series: [{sample: a, metric: m}, {sample: a, metric: n}]\n",
            "duplicate series sample names: a",
        ),
        ("      scrape: ftp://h/metrics\n      series: [{sample: a, metric: m}]\n", "http://"),
        (
            "      scrape: http://h/metrics\n      series: [{sample: Errors, metric: m}]\n",
            "must be snake_case",
        ),
        (
            "      scrape: http://h/metrics\n      series: [{sample: a, metric: 'bad-name'}]\n",
            "not a Prometheus metric name",
        ),
        (
            "      scrape: http://h/metrics\n"
            "      series: [{sample: a, metric: m, aggregate: median}]\n",
            "series[0].aggregate",
        ),
        (
            "      scrape: http://h/metrics\n      series: [{sample: a, metric: m, lables: {}}]\n",
            "unknown key 'lables'",
        ),
        ("      server: http://p\n      query: up\n      empty: silent\n", "empty"),
        ("      server: http://p\n      query: '  '\n", "query is empty"),
        ("      server: http://p\n      query: up\n      max_body: lots\n", "expected a size"),
    ],
)
def test_config_errors_are_clear(block: str, message: str) -> None:
    found = issues(block)
    assert any(message in issue for issue in found), found


def test_threshold_on_unknown_sample_is_rejected() -> None:
    found = issues(
        "      scrape: http://h/metrics\n"
        "      series: [{sample: errors_total, metric: http_requests_total}]\n"
        "    thresholds:\n      error_total: {critical: 10}\n"
    )
    assert any("errors_total" in issue for issue in found), found


def test_documented_example_validates() -> None:
    doc = Path(__file__).parents[3] / "docs" / "checks" / "prometheus.md"
    blocks = re.findall(r"```yaml\n(.*?)```", doc.read_text(), re.DOTALL)
    assert len(blocks) == 1
    config = load_config_text(blocks[0], environ={})
    assert [c.kind for c in config.checks] == ["prometheus"] * 3
