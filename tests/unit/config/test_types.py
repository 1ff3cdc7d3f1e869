"""Durations, sizes and threshold bounds: the small text forms users type most."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsbook.config.types import Bound, format_duration, parse_bound, parse_duration, parse_size


@pytest.mark.parametrize(
    "text,seconds",
    [
        ("500ms", 0.5),
        ("30s", 30),
        ("5m", 300),
        ("1h", 3600),
        ("7d", 604800),
        ("2w", 1209600),
        ("1h30m", 5400),
        ("1.5h", 5400),
        (" 10s ", 10),
        ("0s", 0),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("bad", ["", "5", "5 minutes", "m5", "5x", "-5s", "5s5", "1h 30 m x", "∞s"])
def test_bad_durations_name_the_expected_form(bad: str) -> None:
    with pytest.raises(ValueError, match="expected a duration like '5s'"):
        parse_duration(bad)


@pytest.mark.parametrize("bad", [5, 2.5, True, None, [1]])
def test_numbers_and_other_types_are_not_durations(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


@given(st.integers(min_value=0, max_value=10**10))
def test_format_round_trips(ms: int) -> None:
    value = timedelta(milliseconds=ms)
    assert parse_duration(format_duration(value)) == value


@pytest.mark.parametrize(
    "text,size",
    [
        (1024, 1024),
        ("10KB", 10_000),
        ("1.5MiB", int(1.5 * 1024**2)),
        ("2GB", 2 * 10**9),
        ("7", 7),
        ("3 B", 3),
    ],
)
def test_sizes(text: object, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["ten", "-1", -1, "5 parsecs", True, 1.5])
def test_bad_sizes(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_size(bad)


@pytest.mark.parametrize(
    "text,bound",
    [
        (200, Bound(">", 200)),
        ("> 80", Bound(">", 80)),
        ("<14", Bound("<", 14)),
        ("== 0", Bound("==", 0)),
        (">= 1.5", Bound(">=", 1.5)),
        ("!= 0", Bound("!=", 0)),
        ("-3", Bound(">", -3)),
        ("< 1e3", Bound("<", 1000)),
    ],
)
def test_bounds(text: object, bound: Bound) -> None:
    assert parse_bound(text) == bound


@pytest.mark.parametrize("bad", ["about 3", "> ", "=> 5", True, None, ">> 1"])
def test_bad_bounds(bad: object) -> None:
    with pytest.raises(ValueError, match="expected a bound"):
        parse_bound(bad)


@given(
    st.sampled_from([">", ">=", "<", "<=", "==", "!="]), st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)
)
def test_bound_breach_matches_python_comparison(op: str, limit: float, value: float) -> None:
    expected = {
        ">": value > limit,
        ">=": value >= limit,
        "<": value < limit,
        "<=": value <= limit,
        "==": value == limit,
        "!=": value != limit,
    }[op]
    assert Bound(op, limit).breached_by(value) is expected


def test_nan_never_breaches() -> None:
    assert not Bound("!=", 0).breached_by(float("nan"))
