"""Playbook runs started or resumed over the API go on in tasks of their own.

The request that starts one returns as soon as the run is under way, with its number:
`PlaybookRunner.start` records the run and only returns when the run ends, so the task
watches the runner's progress events. The first event of the run (``started`` for a new
run; any for a resumed one, which comes only after the resume was claimed) answers the
request; an error raised before that (bad parameters, the lock held by another run, a
resume someone else won) is raised to the request instead.

Which run an event belongs to is told by a context variable set in the run's own task:
events of concurrent runs never answer each other's requests.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from opsbook.playbooks.records import RunRecord
from opsbook.playbooks.runner import PlaybookRunner, RunEvent, RunRequest

log = logging.getLogger("opsbook.web")

_under_way: contextvars.ContextVar[asyncio.Future[int] | None] = contextvars.ContextVar(
    "opsbook_api_run_under_way", default=None
)


class BackgroundRuns:
    def __init__(self, runner: PlaybookRunner) -> None:
        self.runner = runner
        self.tasks: set[asyncio.Task[RunRecord]] = set()
        earlier: Callable[[RunEvent], None] = runner.on_event

        def on_event(event: RunEvent) -> None:
            earlier(event)
            waiter = _under_way.get()
            if waiter is not None and not waiter.done():
                waiter.set_result(event.run_id)

        runner.on_event = on_event

    async def start(self, request: RunRequest) -> int:
        """Start a run; its number once it is recorded."""
        return await self._launch(lambda: self.runner.start(request), request.playbook)

    async def resume(self, run_id: int, actor: str) -> int:
        """Resume a waiting or interrupted run; its number once it continues."""
        return await self._launch(lambda: self.runner.resume(run_id, actor), f"#{run_id}")

    async def _launch(self, work: Callable[[], Coroutine[Any, Any, RunRecord]], what: str) -> int:
        under_way: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def run() -> RunRecord:
            _under_way.set(under_way)
            return await work()

        task = asyncio.create_task(run(), name=f"playbook-run {what}")
        self.tasks.add(task)
        task.add_done_callback(lambda done: self._finished(done, under_way))
        either: set[asyncio.Future[Any]] = {task, under_way}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if under_way.done():
            return under_way.result()
        return task.result().id  # raises what stopped the run before it began

    def _finished(self, task: asyncio.Task[RunRecord], under_way: asyncio.Future[int]) -> None:
        self.tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and under_way.done():  # otherwise the request reported it
            log.error("playbook run %s failed", task.get_name(), exc_info=error)
