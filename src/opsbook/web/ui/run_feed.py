"""Live progress of the playbook runs this process executes, for the run page.

The runner reports progress through one callback (`PlaybookRunner.on_event`); the feed
takes that callback over (calling whatever was set before it first) and hands every
event to the pages watching that run. It keeps the output lines of steps still running,
so a page opened (or reconnected) mid-step shows what was printed so far: the store has
a step's output only once the step ends.

Runs started from the dashboard run in the background like the API's
(`opsbook.web.api._background.BackgroundRuns`), as tasks of the server's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from opsbook.playbooks.runner import PlaybookRunner, RunEvent

KEPT_LINES = 2000  # per running step; older lines are dropped from the live view only
QUEUED_EVENTS = 5000  # per watching page; a page that falls further behind resyncs


@dataclass(eq=False)  # each watch is itself, kept in a set
class Watch:
    """One page's view of one run: its events, and whether some were lost."""

    run_id: int
    queue: asyncio.Queue[tuple[int, RunEvent]] = field(
        default_factory=lambda: asyncio.Queue(QUEUED_EVENTS)
    )
    lost: bool = False


class RunFeed:
    def __init__(self, runner: PlaybookRunner) -> None:
        self.runner = runner
        self._watches: dict[int, set[Watch]] = defaultdict(set)
        self._output: dict[int, dict[int, deque[tuple[int, str]]]] = {}
        self.seq = 0  # numbers output lines: a page knows which lines it has shown
        previous = runner.on_event

        def fan_out(event: RunEvent) -> None:
            previous(event)
            self.publish(event)

        runner.on_event = fan_out

    # -- events -------------------------------------------------------------------------

    def publish(self, event: RunEvent) -> None:
        if event.kind == "output":
            self.seq += 1
            steps = self._output.setdefault(event.run_id, {})
            lines = steps.setdefault(event.position, deque(maxlen=KEPT_LINES))
            lines.append((self.seq, event.text))
        elif event.kind == "finished":
            self._output.get(event.run_id, {}).pop(event.position, None)
        elif event.kind == "run":
            self._output.pop(event.run_id, None)
        for watch in self._watches.get(event.run_id, ()):
            try:
                watch.queue.put_nowait((self.seq, event))
            except asyncio.QueueFull:
                watch.lost = True

    def output_so_far(self, run_id: int, position: int) -> list[str]:
        """Lines printed so far by a step that is still running (every line numbered up
        to `seq` is in here, or in the store once the step has ended)."""
        return [text for _, text in self._output.get(run_id, {}).get(position, ())]

    @contextlib.contextmanager
    def watch(self, run_id: int) -> Iterator[Watch]:
        watch = Watch(run_id)
        self._watches[run_id].add(watch)
        try:
            yield watch
        finally:
            self._watches[run_id].discard(watch)
            if not self._watches[run_id]:
                del self._watches[run_id]
