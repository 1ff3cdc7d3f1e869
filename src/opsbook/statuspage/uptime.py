"""Daily uptime bars from counts of OK results. Pure.

A day's uptime is the share of the service's check results that were OK that day (the
`up` roll-up: its count is the results, its sum the OK ones). Days are UTC days, because
the hour roll-ups they come from are UTC hours. A day without results is "no data", never
0 % or 100 %.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta

from opsbook.statuspage.model import DayUptime, Uptime, UptimeLevel

DEFAULT_TARGET = 99.9
"""A day at or above this share of OK results is "up" when the service sets no `slo`."""

DOWN_BELOW = 95.0
"""Below the target a day is "degraded"; below this too, "down"."""


def uptime_level(percent: float | None, target: float) -> UptimeLevel:
    if percent is None:
        return UptimeLevel.NO_DATA
    if percent >= target:
        return UptimeLevel.UP
    if percent >= DOWN_BELOW:
        return UptimeLevel.DEGRADED
    return UptimeLevel.DOWN


def daily_uptime(
    counts: Mapping[date, tuple[int, int]], last_day: date, days: int, slo: float | None
) -> Uptime:
    """`days` consecutive days ending with `last_day` (oldest first), from `counts`: day
    → (OK results, all results). Days missing from `counts` have no data; counts outside
    the period are ignored."""
    target = slo if slo is not None else DEFAULT_TARGET
    bars = []
    for offset in range(days - 1, -1, -1):
        day = last_day - timedelta(days=offset)
        ok, total = counts.get(day, (0, 0))
        total = max(total, 0)
        ok = min(max(ok, 0), total)
        bar = DayUptime(day, ok, total, UptimeLevel.NO_DATA)
        bars.append(DayUptime(day, ok, total, uptime_level(bar.percent, target)))
    return Uptime(tuple(bars), target)


def floor_percent(percent: float, decimals: int) -> float:
    """`percent` rounded down: 99.9996 % must not be shown as 100 %."""
    scale = 10.0**decimals
    return math.floor(percent * scale + 1e-9) / scale


def format_percent(percent: float | None, decimals: int = 2) -> str:
    """'99.95%', '100%' only when nothing failed, 'no data' for None."""
    if percent is None:
        return "no data"
    shown = floor_percent(percent, decimals)
    if shown >= 100 and percent < 100:
        shown = 100 - 10**-decimals
    text = f"{shown:.{decimals}f}".rstrip("0").rstrip(".")
    return f"{text}%"
