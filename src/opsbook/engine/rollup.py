"""Roll raw samples up into per-minute and per-hour summaries (pure).

A summary keeps count, sum, min and max (so avg/min/max/sum/count stay exact) and a
sparse log-bucketed histogram that answers percentiles within ±5 % of the true value:
bucket i holds values in (γ^(i-1), γ^i] with γ = 1.1, and the reported value is the
bucket's midpoint in log space. Zero and negative values get their own buckets. The
histogram has at most ~500 buckets for any realistic range (1e-9 .. 1e12), usually a
handful, so a day of one-minute roll-ups of one sample costs ~1,440 small rows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

GAMMA = 1.1
LOG_GAMMA = math.log(GAMMA)
ZERO = "z"


def bucket_of(value: float) -> str:
    if value == 0:
        return ZERO
    index = math.ceil(math.log(abs(value)) / LOG_GAMMA)
    return f"{'-' if value < 0 else '+'}{index}"


def bucket_value(key: str) -> float:
    """A representative value of a bucket (log-space midpoint): within ±5 % of members."""
    if key == ZERO:
        return 0.0
    sign = -1.0 if key[0] == "-" else 1.0
    index = int(key[1:])
    return sign * float(GAMMA ** (index - 0.5))


def _order(key: str) -> float:
    return bucket_value(key)


@dataclass
class Summary:
    count: int = 0
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf
    histogram: dict[str, int] = field(default_factory=dict)

    def add(self, value: float) -> None:
        if math.isnan(value) or math.isinf(value):
            return
        self.count += 1
        self.total += value
        self.low = min(self.low, value)
        self.high = max(self.high, value)
        key = bucket_of(value)
        self.histogram[key] = self.histogram.get(key, 0) + 1

    def merge(self, other: Summary) -> None:
        if not other.count:
            return
        self.count += other.count
        self.total += other.total
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)
        for key, count in other.histogram.items():
            self.histogram[key] = self.histogram.get(key, 0) + count

    def quantile(self, q: float) -> float | None:
        """Nearest-rank quantile from the histogram, clamped to the exact min and max."""
        if not self.count:
            return None
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for key in sorted(self.histogram, key=_order):
            seen += self.histogram[key]
            if seen >= rank:
                return min(max(bucket_value(key), self.low), self.high)
        return self.high

    def histogram_json(self) -> str:
        return json.dumps(self.histogram, separators=(",", ":"), sort_keys=True)


def summarise(values: Iterable[float]) -> Summary:
    summary = Summary()
    for value in values:
        summary.add(value)
    return summary


def from_row(count: int, total: float, low: float, high: float, histogram: str) -> Summary:
    parsed: Mapping[str, int] = json.loads(histogram)
    return Summary(count, total, low, high, dict(parsed))


def merged(summaries: Iterable[Summary]) -> Summary:
    out = Summary()
    for summary in summaries:
        out.merge(summary)
    return out
