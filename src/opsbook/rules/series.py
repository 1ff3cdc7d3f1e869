"""`MemorySeries`: recent check samples in memory, for the engine and `opsbook test rules`.

Each (check, sample) has two parallel lists, timestamps and values, kept in time order.
Points almost always arrive in order and are appended; a late point is inserted at its
place (bisect), never by re-sorting. A window is found with two bisections, so an
aggregation costs O(points in the window) (percentiles sort that slice).

Check results feed the pseudo-samples every check has (`status` 0..3 and `up` 1/0) and,
per result, the length of the run of not-OK results ending at it, so "how many failures in
a row at time t" is one bisection.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import datetime

from opsbook.rules.aggregate import aggregate
from opsbook.status import Status


@dataclass(slots=True)
class _Points:
    times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def add(self, at: float, value: float) -> None:
        if not self.times or at >= self.times[-1]:
            self.times.append(at)
            self.values.append(value)
            return
        index = bisect_right(self.times, at)
        self.times.insert(index, at)
        self.values.insert(index, value)

    def prune(self, before: float) -> None:
        cut = bisect_left(self.times, before)
        if cut:
            del self.times[:cut]
            del self.values[:cut]


@dataclass(slots=True)
class _Results:
    """Result times and, for each, how many not-OK results in a row end there."""

    times: list[float] = field(default_factory=list)
    failing: list[bool] = field(default_factory=list)
    runs: list[int] = field(default_factory=list)

    def add(self, at: float, failed: bool) -> None:
        if not self.times or at >= self.times[-1]:
            before = self.runs[-1] if self.runs else 0
            self.times.append(at)
            self.failing.append(failed)
            self.runs.append(before + 1 if failed else 0)
            return
        index = bisect_right(self.times, at)
        self.times.insert(index, at)
        self.failing.insert(index, failed)
        self.runs.insert(index, 0)
        for i in range(index, len(self.runs)):  # only a late result pays for this
            before = self.runs[i - 1] if i else 0
            self.runs[i] = before + 1 if self.failing[i] else 0

    def prune(self, before: float) -> None:
        # Runs keep counting results pruned away: they did happen.
        cut = bisect_left(self.times, before)
        if cut:
            del self.times[:cut]
            del self.failing[:cut]
            del self.runs[:cut]


def _seconds(at: datetime) -> float:
    if at.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return at.timestamp()


class MemorySeries:
    """An in-memory `SeriesSource` (see `opsbook.rules.evaluate`)."""

    def __init__(self) -> None:
        self._points: dict[tuple[str, str], _Points] = {}
        self._results: dict[str, _Results] = {}

    def add(self, check: str, sample: str, at: datetime, value: float) -> None:
        """Record one sample value. NaN carries no information and is dropped."""
        if math.isnan(value):
            return
        key = (check, sample)
        points = self._points.get(key)
        if points is None:
            points = self._points[key] = _Points()
        points.add(_seconds(at), float(value))

    def add_result(self, check: str, status: Status, at: datetime) -> None:
        """Record a check result: its `status` and `up` samples and the failure run."""
        seconds = _seconds(at)
        for sample, value in (("status", float(status)), ("up", float(status is Status.OK))):
            key = (check, sample)
            points = self._points.get(key)
            if points is None:
                points = self._points[key] = _Points()
            points.add(seconds, value)
        results = self._results.get(check)
        if results is None:
            results = self._results[check] = _Results()
        results.add(seconds, status is not Status.OK)

    def aggregate(
        self, check: str, sample: str, fn: str, start: datetime, end: datetime
    ) -> float | None:
        """`fn` over the points with start ≤ time ≤ end (see `opsbook.rules.aggregate`)."""
        lo_s, hi_s = _seconds(start), _seconds(end)
        points = self._points.get((check, sample))
        if points is None:
            return aggregate(fn, [], [], hi_s - lo_s)
        lo = bisect_left(points.times, lo_s)
        hi = bisect_right(points.times, hi_s)
        if fn == "last":  # no slice copy for the most common case
            return points.values[hi - 1] if hi > lo else None
        return aggregate(fn, points.times[lo:hi], points.values[lo:hi], hi_s - lo_s)

    def consecutive_failures(self, check: str, at: datetime) -> int | None:
        """Not-OK results in a row up to the newest result at or before `at`; None if none."""
        results = self._results.get(check)
        if results is None:
            return None
        index = bisect_right(results.times, _seconds(at))
        return results.runs[index - 1] if index else None

    def prune(self, before: datetime) -> None:
        """Forget points older than `before` (the engine keeps its longest window)."""
        cut = _seconds(before)
        for key in list(self._points):
            points = self._points[key]
            points.prune(cut)
            if not points.times:
                del self._points[key]
        for check in list(self._results):
            results = self._results[check]
            results.prune(cut)
            if not results.times:
                del self._results[check]

    def __len__(self) -> int:
        """The number of points held (all series)."""
        return sum(len(p.times) for p in self._points.values())
