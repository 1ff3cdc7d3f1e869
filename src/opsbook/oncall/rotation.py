"""Who is on call when: rotation arithmetic over a `Schedule`, pure.

Every function takes the instant(s) it is asked about; nothing reads the clock. Instants
may be in any timezone and results are in UTC (see `opsbook.oncall.localtime` for why,
and for the rule on handoff times that a DST change skips or repeats).

A layer's timeline is cut into *segments*: regular shift k (k = 0, 1, ... from the
layer's start; participant k mod n) or an override. Where overrides overlap, the one
listed later wins. After an override the rotation continues as if uninterrupted: the
person on call is always the one whose regular shift it is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from opsbook.errors import UsageError
from opsbook.oncall.localtime import instant, require_aware
from opsbook.oncall.schedules import Layer, Override, Schedule

_TICK = timedelta(microseconds=1)  # datetimes' resolution: the instant just before another


@dataclass(frozen=True, slots=True)
class Shift:
    """One person's stretch on one layer, [start, end) in UTC."""

    layer: str
    person: str
    start: datetime
    end: datetime
    override: bool = False
    reason: str = ""

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


# A segment's identity: ("shift", k) for regular shift k, ("override", i) for the i-th
# entry of `overrides`. Two instants with the same identity are in the same shift.
_Segment = tuple[str, int]


class _LayerTimeline:
    """The arithmetic of one layer: regular boundaries, overrides on top."""

    def __init__(self, schedule: Schedule, layer: Layer) -> None:
        self.layer = layer
        self.zone: ZoneInfo = schedule.zone
        self.first = layer.first_handoff(self.zone)
        self.days = layer.period_days
        self.length = layer.period
        self.overrides = schedule.overrides_of(layer.name)

    def boundary(self, k: int) -> datetime:
        """Start of regular shift k (UTC)."""
        if self.days is None:
            return self.first + k * self.length
        day = self.layer.start + timedelta(days=k * self.days)
        return instant(day, self.layer.handoff, self.zone)

    def index(self, at: datetime) -> int | None:
        """The regular shift containing `at`; None before the rotation starts."""
        if at < self.first:
            return None
        if self.days is None:
            return (at - self.first) // self.length
        local_day = at.astimezone(self.zone).date()
        k = max(0, (local_day - self.layer.start).days // self.days)
        # The local date puts k within one of the answer; zones that skip a whole day
        # (Pacific/Apia, 2011) can make a shift empty, which the loops step over.
        while k > 0 and self.boundary(k) > at:
            k -= 1
        while self.boundary(k + 1) <= at:
            k += 1
        return k

    def segment(self, at: datetime) -> _Segment | None:
        for position, override in reversed(self.overrides):
            if override.start <= at < override.end:
                return ("override", position)
        k = self.index(at)
        return None if k is None else ("shift", k)

    def override_edges(self) -> list[datetime]:
        return [edge for _, o in self.overrides for edge in (o.start, o.end)]

    def next_change(self, at: datetime) -> datetime:
        """The first instant after `at` that belongs to another segment (or a gap)."""
        current = self.segment(at)
        k = self.index(at)
        regular = self.first if k is None else self.boundary(k + 1)
        candidates = sorted({regular, *(e for e in self.override_edges() if e > at)})
        for candidate in candidates:
            if self.segment(candidate) != current:
                return candidate
        raise AssertionError("the next regular boundary always changes the segment")

    def segment_start(self, at: datetime) -> datetime:
        """Where the segment containing `at` begins (`at` must be in one)."""
        current = self.segment(at)
        k = self.index(at)
        edges = {e for e in self.override_edges() if e <= at}
        if k is not None:
            edges.add(self.boundary(k))
        for candidate in sorted(edges, reverse=True):
            if self.segment(candidate - _TICK) != current:
                return candidate
        raise AssertionError("a segment begins at a regular boundary or an override start")

    def boundaries_between(self, start: datetime, end: datetime) -> list[datetime]:
        """Regular boundaries in (start, end)."""
        k = self.index(start)
        k = 0 if k is None else k + 1
        found = []
        while (edge := self.boundary(k)) < end:
            if edge > start:
                found.append(edge)
            k += 1
        return found

    def shift(self, segment: _Segment, start: datetime, end: datetime) -> Shift:
        kind, number = segment
        if kind == "override":
            override: Override = next(o for i, o in self.overrides if i == number)
            return Shift(self.layer.name, override.person, start, end, True, override.reason)
        people = self.layer.participants
        return Shift(self.layer.name, people[number % len(people)], start, end)

    def shifts(self, start: datetime, end: datetime) -> list[Shift]:
        edges = {start, *self.boundaries_between(start, end)}
        edges |= {e for e in self.override_edges() if start < e < end}
        points = [*sorted(edges), end]
        found: list[Shift] = []
        previous: _Segment | None = None
        for begin, finish in pairwise(points):
            segment = self.segment(begin)
            if segment is None:
                previous = None
                continue
            if segment == previous:
                found[-1] = replace(found[-1], end=finish)
            else:
                found.append(self.shift(segment, begin, finish))
            previous = segment
        return found


def _timeline(schedule: Schedule, layer: str | None) -> _LayerTimeline:
    found = schedule.layer(layer)
    if found is None:
        names = ", ".join(x.name for x in schedule.layers)
        raise UsageError(f"schedule {schedule.name!r} has no layer {layer!r} (layers: {names})")
    return _LayerTimeline(schedule, found)


def on_call(schedule: Schedule, at: datetime, layer: str | None = None) -> str | None:
    """Who is on call at `at` on `layer` (default: the first layer); None before the
    rotation starts, unless an override covers `at`."""
    timeline = _timeline(schedule, layer)
    segment = timeline.segment(require_aware(at, "at"))
    if segment is None:
        return None
    return timeline.shift(segment, at, at).person


def on_call_all(schedule: Schedule, at: datetime) -> dict[str, str | None]:
    """Who is on call at `at` on every layer, in layer order."""
    return {layer.name: on_call(schedule, at, layer.name) for layer in schedule.layers}


def current_shift(schedule: Schedule, at: datetime, layer: str | None = None) -> Shift | None:
    """The whole shift containing `at` (not clipped to `at`); None if nobody is on call."""
    timeline = _timeline(schedule, layer)
    at = require_aware(at, "at")
    segment = timeline.segment(at)
    if segment is None:
        return None
    return timeline.shift(segment, timeline.segment_start(at), timeline.next_change(at))


def next_handoff(schedule: Schedule, layer: str | None, at: datetime) -> datetime:
    """The next instant after `at` at which `layer`'s shift changes: a regular handoff, an
    override starting or ending, or the rotation's first shift. A handoff to the same
    person (a one-person rotation) counts."""
    return _timeline(schedule, layer).next_change(require_aware(at, "at"))


def shifts(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """Every shift overlapping [start, end), clipped to it: per layer (in layer order)
    contiguous and without overlaps from the rotation's start (or `start`) to `end`.
    Overrides cut regular shifts; the parts of a regular shift around an override are
    separate `Shift`s of the same person."""
    start, end = require_aware(start, "start"), require_aware(end, "end")
    if end <= start:
        return []
    return [
        shift
        for layer in schedule.layers
        for shift in _LayerTimeline(schedule, layer).shifts(start, end)
    ]
