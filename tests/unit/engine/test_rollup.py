"""Roll-up summaries: exact count/sum/min/max, percentiles within the bucket error."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from opsbook.engine.rollup import GAMMA, bucket_of, bucket_value, from_row, merged, summarise

values = st.lists(
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=300,
)


def nearest_rank(sorted_values: list[float], q: float) -> float:
    return sorted_values[max(1, math.ceil(q * len(sorted_values))) - 1]


@given(values)
def test_exact_aggregates(data: list[float]) -> None:
    summary = summarise(data)
    assert summary.count == len(data)
    assert math.isclose(summary.total, math.fsum(data), rel_tol=1e-9, abs_tol=1e-6)
    assert summary.low == min(data) and summary.high == max(data)


@given(values, st.sampled_from([0.5, 0.9, 0.95, 0.99]))
def test_percentile_within_bucket_error(data: list[float], q: float) -> None:
    got = summarise(data).quantile(q)
    want = nearest_rank(sorted(data), q)
    assert got is not None
    # A bucket spans a factor of GAMMA; its midpoint is within sqrt(GAMMA) of any member.
    tolerance = abs(want) * (math.sqrt(GAMMA) - 1) + 1e-12
    assert abs(got - want) <= tolerance, (got, want)


@given(st.lists(values, min_size=1, max_size=5))
def test_merging_equals_summarising_everything(parts: list[list[float]]) -> None:
    whole = summarise([v for part in parts for v in part])
    combined = merged(summarise(part) for part in parts)
    assert combined.count == whole.count and combined.histogram == whole.histogram
    assert combined.low == whole.low and combined.high == whole.high


def test_row_round_trip_and_buckets() -> None:
    summary = summarise([0.0, 1.0, 250.0, -3.0, 250.0])
    again = from_row(
        summary.count, summary.total, summary.low, summary.high, summary.histogram_json()
    )
    assert again == summary
    assert bucket_of(0.0) == "z" and bucket_value("z") == 0.0
    assert bucket_value(bucket_of(250.0)) == summary.quantile(0.9)
    assert summarise([]).quantile(0.95) is None
    assert summarise([float("nan"), float("inf"), 5.0]).count == 1
