"""Daily uptime: the share of OK results per day, "no data" exactly when a day has none."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsbook.statuspage.model import UptimeLevel
from opsbook.statuspage.uptime import (
    DEFAULT_TARGET,
    daily_uptime,
    floor_percent,
    format_percent,
    uptime_level,
)

TODAY = date(2026, 11, 23)

counts = st.dictionaries(
    st.integers(min_value=-120, max_value=5).map(lambda d: TODAY + timedelta(days=d)),
    st.tuples(
        st.integers(min_value=-5, max_value=10**7), st.integers(min_value=-5, max_value=10**7)
    ),
    max_size=40,
)


@given(counts, st.integers(min_value=1, max_value=120), st.none() | st.floats(0.1, 100))
def test_every_day_is_within_0_and_100_or_has_no_data(
    data: dict[date, tuple[int, int]], days: int, slo: float | None
) -> None:
    uptime = daily_uptime(data, TODAY, days, slo)
    assert len(uptime.days) == days
    assert [d.day for d in uptime.days] == [
        TODAY - timedelta(days=days - 1 - i) for i in range(days)
    ]
    for day in uptime.days:
        assert 0 <= day.ok <= day.total
        if day.total == 0:
            assert day.percent is None and day.level is UptimeLevel.NO_DATA
        else:
            assert day.percent is not None and 0 <= day.percent <= 100
            assert day.level is not UptimeLevel.NO_DATA
    total = sum(d.total for d in uptime.days)
    assert (uptime.percent is None) == (total == 0)
    if uptime.percent is not None:
        assert 0 <= uptime.percent <= 100
        assert uptime.percent == pytest.approx(100 * sum(d.ok for d in uptime.days) / total)


@given(st.integers(min_value=1, max_value=10**6), st.data())
def test_a_day_is_its_share_of_ok_results(total: int, data: st.DataObject) -> None:
    ok = data.draw(st.integers(min_value=0, max_value=total))
    [day] = daily_uptime({TODAY: (ok, total)}, TODAY, 1, None).days
    assert day.percent == pytest.approx(100 * ok / total)
    assert (day.percent == 100) == (ok == total)


def test_days_outside_the_period_are_ignored() -> None:
    uptime = daily_uptime(
        {TODAY - timedelta(days=3): (1, 1), TODAY + timedelta(days=1): (0, 5)}, TODAY, 3, None
    )
    assert uptime.total == 0 and uptime.percent is None


def test_levels_follow_the_slo_or_the_default_target() -> None:
    assert uptime_level(None, 99.9) is UptimeLevel.NO_DATA
    assert uptime_level(100.0, DEFAULT_TARGET) is UptimeLevel.UP
    assert uptime_level(99.85, DEFAULT_TARGET) is UptimeLevel.DEGRADED
    assert uptime_level(99.85, 99.5) is UptimeLevel.UP  # a service with slo: 99.5
    assert uptime_level(94.0, DEFAULT_TARGET) is UptimeLevel.DOWN
    assert uptime_level(92.0, 90.0) is UptimeLevel.UP
    assert uptime_level(0.0, DEFAULT_TARGET) is UptimeLevel.DOWN


@given(st.floats(min_value=0, max_value=100))
def test_a_shown_percentage_never_rounds_up(percent: float) -> None:
    text = format_percent(percent)
    assert text.endswith("%")
    shown = float(text[:-1])
    assert shown <= percent + 1e-9
    assert (text == "100%") == (percent == 100)
    assert 0 <= floor_percent(percent, 4) <= percent + 1e-9


def test_formatting() -> None:
    assert format_percent(None) == "no data"
    assert format_percent(100.0) == "100%"
    assert format_percent(99.99999) == "99.99%"
    assert format_percent(75.0) == "75%"
    assert format_percent(8 / 11 * 100) == "72.72%"
    assert format_percent(0.29 * 100) == "29%"
    assert format_percent(0.0) == "0%"
