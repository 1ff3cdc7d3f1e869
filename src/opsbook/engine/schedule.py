"""When each check runs next: a heap of due times, pure (the clock is passed in).

Runs keep a fixed cadence (due += interval, not finished + interval), so an interval of
5s means a probe every 5s and a fault waits at most one interval to be seen. The bounded
jitter is a per-check phase fixed from the check's name: 10,000 checks with a 30s interval
spread evenly over those 30s instead of starting together, and a restart keeps the phase.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta


def phase(name: str, interval: timedelta, max_spread: timedelta) -> timedelta:
    """A stable offset in [0, min(interval, max_spread)) derived from the check name."""
    spread = min(interval, max_spread).total_seconds()
    if spread <= 0:
        return timedelta(0)
    digest = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")
    return timedelta(seconds=(digest / 2**64) * spread)


@dataclass(order=True, slots=True)
class _Entry:
    due: datetime
    seq: int
    name: str = field(compare=False)


class Schedule:
    def __init__(self, max_spread: timedelta = timedelta(seconds=30)) -> None:
        self._heap: list[_Entry] = []
        self._intervals: dict[str, timedelta] = {}
        self._seq = 0
        self.max_spread = max_spread

    def add(self, name: str, interval: timedelta, now: datetime) -> datetime:
        """Schedule a check; the first run is `now` plus its phase. Returns that time."""
        if interval <= timedelta(0):
            raise ValueError("interval must be positive")
        self._intervals[name] = interval
        due = now + phase(name, interval, self.max_spread)
        self._push(name, due)
        return due

    def add_all(self, checks: Iterable[tuple[str, timedelta]], now: datetime) -> None:
        for name, interval in checks:
            self.add(name, interval, now)

    def _push(self, name: str, due: datetime) -> None:
        self._seq += 1
        heapq.heappush(self._heap, _Entry(due, self._seq, name))

    def next_due(self) -> datetime | None:
        return self._heap[0].due if self._heap else None

    def pop_due(self, now: datetime) -> list[tuple[str, datetime]]:
        """(check, scheduled time) for every run due at `now`; each is rescheduled.

        A check whose next time is already past (the engine stalled) skips the missed
        runs rather than firing a burst: the next due time is the first one after now.
        """
        due: list[tuple[str, datetime]] = []
        while self._heap and self._heap[0].due <= now:
            entry = heapq.heappop(self._heap)
            interval = self._intervals.get(entry.name)
            if interval is None:  # removed
                continue
            due.append((entry.name, entry.due))
            following = entry.due + interval
            if following <= now:
                missed = (now - entry.due) // interval
                following = entry.due + interval * (missed + 1)
            self._push(entry.name, following)
        return due

    def remove(self, name: str) -> None:
        self._intervals.pop(name, None)

    def __len__(self) -> int:
        return len(self._intervals)
