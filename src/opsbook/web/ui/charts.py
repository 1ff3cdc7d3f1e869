"""Charts drawn on the server as inline SVG. Pure: values in, markup out.

The SVGs stretch to their box (`preserveAspectRatio="none"`, strokes that do not scale),
so they fit a phone and a desktop alike; their axis labels are HTML around them (see
`ticks`), which stays readable at any width. Colours come from CSS classes, so light
and dark mode both apply, and the pages need no inline style.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from markupsafe import Markup

from opsbook.statuspage.model import DayUptime
from opsbook.statuspage.uptime import format_percent

WIDTH = 1000.0  # user units of the latency chart; it is stretched to its box
HEIGHT = 300.0
BAR = 10.0  # user units per day bar (8 drawn, 2 gap)


@dataclass(frozen=True, slots=True)
class Point:
    """Latency percentiles of one bucket (milliseconds)."""

    at: datetime
    p50: float
    p95: float


@dataclass(frozen=True, slots=True)
class Band:
    """A stretch of time to mark on a chart (an incident)."""

    start: datetime
    end: datetime
    label: str


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^n at or above `value` (at least 1)."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)


def value_ticks(top: float, unit: str = "ms") -> list[str]:
    """Labels for the horizontal grid lines, top to bottom (top, half, zero)."""
    return [f"{_number(top)} {unit}", f"{_number(top / 2)} {unit}", f"0 {unit}"]


def time_ticks(start: datetime, end: datetime, count: int = 5) -> list[str]:
    """Labels for `count` evenly spaced instants from `start` to `end` (UTC)."""
    span = end - start
    if span <= timedelta(days=1):
        fmt = "%H:%M"
    elif span <= timedelta(days=7):
        fmt = "%b %d %H:%M"
    else:
        fmt = "%b %d"
    step = span / (count - 1)
    return [(start + step * i).astimezone(UTC).strftime(fmt) for i in range(count)]


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.3g}"


def _x(at: datetime, start: datetime, end: datetime) -> float:
    total = (end - start).total_seconds() or 1.0
    return max(0.0, min(WIDTH, (at - start).total_seconds() / total * WIDTH))


def _segments(points: Sequence[Point], gap: timedelta) -> list[list[Point]]:
    """Runs of points without a hole longer than `gap` (no line across missing data)."""
    runs: list[list[Point]] = []
    for point in points:
        if runs and point.at - runs[-1][-1].at <= gap:
            runs[-1].append(point)
        else:
            runs.append([point])
    return runs


def _path(run: Sequence[tuple[float, float]]) -> str:
    if len(run) == 1:
        x, y = run[0]
        return f"M{x:.1f},{y:.1f}l0.01,0"  # a dot: round caps on a tiny line
    return "M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in run)


def latency_chart(
    points: Sequence[Point],
    start: datetime,
    end: datetime,
    top: float,
    bucket: timedelta,
    bands: Sequence[Band] = (),
    label: str = "Latency",
) -> Markup:
    """p50 and p95 lines over [start, end) on a 0..`top` ms scale, with `bands` shaded."""

    def y(value: float) -> float:
        return HEIGHT - min(value, top) / top * HEIGHT

    parts = [
        Markup(
            '<svg class="chart-plot" viewBox="0 0 {:.0f} {:.0f}" preserveAspectRatio="none" '
            'role="img" aria-label="{}">'
        ).format(WIDTH, HEIGHT, label)
    ]
    for band in bands:
        left = _x(max(band.start, start), start, end)
        right = _x(min(band.end, end), start, end)
        parts.append(
            Markup(
                '<rect class="band" x="{:.1f}" y="0" width="{:.1f}" height="{:.0f}">'
                "<title>{}</title></rect>"
            ).format(left, max(right - left, 3.0), HEIGHT, band.label)
        )
    grid = Markup(
        '<line class="grid" x1="{:.1f}" x2="{:.1f}" y1="{:.1f}" y2="{:.1f}" '
        'vector-effect="non-scaling-stroke"/>'
    )
    for fraction in (0.0, 0.5, 1.0):
        parts.append(grid.format(0, WIDTH, HEIGHT * fraction, HEIGHT * fraction))
    for fraction in (0.25, 0.5, 0.75):
        parts.append(grid.format(WIDTH * fraction, WIDTH * fraction, 0, HEIGHT))
    line = Markup('<path class="line {}" d="{}" vector-effect="non-scaling-stroke"/>')
    for series in ("p95", "p50"):
        for run in _segments(points, bucket * 1.5):
            coords = [(_x(p.at, start, end), y(getattr(p, series))) for p in run]
            parts.append(line.format(series, _path(coords)))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def uptime_bars(days: Sequence[DayUptime], label: str) -> Markup:
    """One bar per day, coloured by its uptime level; each bar's title says the day."""
    width = BAR * max(len(days), 1)
    parts = [
        Markup(
            '<svg class="uptime-bars" viewBox="0 0 {:.0f} 40" preserveAspectRatio="none" '
            'role="img" aria-label="{}">'
        ).format(width, label)
    ]
    bar = Markup(
        '<rect class="day {}" x="{:.0f}" y="0" width="{:.0f}" height="40"><title>{}</title></rect>'
    )
    for index, day in enumerate(days):
        detail = f"{day.day.isoformat()}: {format_percent(day.percent)}"
        if day.total:
            detail += f" ({day.ok} of {day.total} results OK)"
        parts.append(bar.format(day.level.value, index * BAR + 1, BAR - 2, detail))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
