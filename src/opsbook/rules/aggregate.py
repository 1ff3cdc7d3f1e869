"""Aggregations over the points of one series in a window: pure functions on lists.

Semantics (Prometheus' ``*_over_time`` where one exists):

- ``avg``, ``min``, ``max``, ``sum``: over the points in the window; no points → None.
- ``count``: the number of points; 0 for an empty window (a count is never missing,
  so ``count(backup.up, 25h) == 0`` can say "no result for 25 hours").
- ``p50`` .. ``p99``: like ``quantile_over_time``: sort, rank = q·(n−1), interpolate
  linearly between the two closest ranks.
- ``last``: the newest point (the caller narrows the window to the staleness limit).
- ``rate``: per-second growth of a counter. Between consecutive points a drop is a
  counter reset, and the value after the reset counts as growth from zero (Prometheus'
  rule). The growth is divided by the time between the first and last point in the
  window; there is no extrapolation to the window's edges. Fewer than two points, or
  all at one instant → None.
- ``increase``: rate × the window's length in seconds: the counter's growth over the
  window, scaled up when the points cover less than the whole window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from opsbook.rules.nodes import QUANTILES


def quantile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0 ≤ q ≤ 1) with linear interpolation between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    weight = rank - low
    return ordered[low] + (ordered[high] - ordered[low]) * weight


def counter_growth(values: Sequence[float]) -> float:
    """How much a counter grew across `values`, a reset counting as growth from zero."""
    growth = 0.0
    previous = values[0]
    for value in values[1:]:
        growth += value - previous if value >= previous else value
        previous = value
    return growth


def rate(times: Sequence[float], values: Sequence[float]) -> float | None:
    if len(values) < 2:
        return None
    span = times[-1] - times[0]
    if span <= 0:
        return None
    return counter_growth(values) / span


def aggregate(
    fn: str, times: Sequence[float], values: Sequence[float], window_s: float
) -> float | None:
    """`fn` over the points (`times` in seconds, ascending) already cut to the window."""
    if fn == "count":
        return float(len(values))
    if not values:
        return None
    if fn == "last":
        return values[-1]
    if fn == "avg":
        return math.fsum(values) / len(values)
    if fn == "sum":
        return math.fsum(values)
    if fn == "min":
        return min(values)
    if fn == "max":
        return max(values)
    if fn in QUANTILES:
        return quantile(values, QUANTILES[fn])
    if fn == "rate":
        return rate(times, values)
    if fn == "increase":
        per_second = rate(times, values)
        return None if per_second is None else per_second * window_s
    raise ValueError(f"unknown aggregate {fn!r}")
