"""Deliver what the outbox holds: claim due rows, send each through its receiver's
channel, record the outcome.

Each send is its own task, limited per receiver (`concurrency`) and bounded by the
channel's `timeout`, so a slow or hanging receiver only ever occupies its own slots:
claiming goes on, and the other receivers are served as if it did not exist. Rows are
claimed per receiver and only up to its free slots, so nothing claimed waits in a local
queue while its lease runs out. Store calls run in a thread: a busy SQLite file or a
slow PostgreSQL never stalls the event loop that other sends run on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from opsbook.config.redact import Redactor
from opsbook.config.types import format_duration
from opsbook.errors import DeliveryError
from opsbook.notify.model import Notification, Rendered
from opsbook.notify.outbox import FAILED, SKIPPED, OutboxEntry, OutboxRepository
from opsbook.notify.receivers import ReceiverBase, receiver_secrets
from opsbook.notify.templates import TemplateSettings, render_notification

if TYPE_CHECKING:
    from opsbook.config.models import Config

log = logging.getLogger(__name__)

POLL_INTERVAL = 1.0
MIN_LEASE = timedelta(seconds=60)
LEASE_MARGIN = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one delivery attempt did (returned by `deliver_now` for the CLI)."""

    ok: bool
    duration: timedelta
    error: str | None = None
    retryable: bool = False


def redactor_for(receivers: Sequence[ReceiverBase], base: Redactor | None = None) -> Redactor:
    """The config's redactor plus every secret in the receivers' channel blocks."""
    return (base or Redactor()).with_secrets(receiver_secrets(receivers))


async def send_one(
    receiver: ReceiverBase,
    notification: Notification,
    redactor: Redactor,
    settings: TemplateSettings | None = None,
) -> Outcome:
    """Render and send one notification through a receiver right now, within the
    channel's timeout. Never raises for delivery problems: they come back as an Outcome
    with a redacted message."""
    started = time.monotonic()
    safe = notification.redacted(redactor)
    rendered: Rendered = render_notification(safe, receiver.templates, redactor, settings)
    timeout = receiver.timeout
    try:
        async with asyncio.timeout(timeout.total_seconds()):
            await receiver.channel.send(receiver.config, safe, rendered)
    except DeliveryError as exc:
        error, retryable = exc.message, exc.retryable
    except TimeoutError:
        error, retryable = f"timed out after {format_duration(timeout)}", True
    except Exception as exc:  # a channel bug must not kill the worker; retry it
        log.exception("receiver %s: unexpected error", receiver.name)
        error, retryable = f"unexpected {type(exc).__name__}: {exc}", True
    else:
        return Outcome(True, timedelta(seconds=time.monotonic() - started))
    duration = timedelta(seconds=time.monotonic() - started)
    return Outcome(False, duration, redactor(error), retryable)


class Deliverer:
    """Claims and delivers notifications for one worker (one engine process)."""

    def __init__(
        self,
        outbox: OutboxRepository,
        receivers: Sequence[ReceiverBase],
        worker_id: str,
        *,
        redactor: Redactor | None = None,
        settings: TemplateSettings | None = None,
        clock: Callable[[], datetime] | None = None,
        lease: timedelta | None = None,
        grace: timedelta = timedelta(seconds=5),
        on_outcome: Callable[[str, str], None] | None = None,
    ) -> None:
        self.outbox = outbox
        self.receivers = {r.name: r for r in receivers}
        self.worker_id = worker_id
        self.redactor = redactor_for(receivers, redactor)
        self.settings = settings or TemplateSettings()
        self.clock = clock or (lambda: datetime.now(UTC))
        longest = max((r.timeout for r in receivers), default=timedelta(0))
        # A lease must outlive the slowest send, or a healthy send is taken over and
        # repeated by another worker.
        self.lease = lease or max(MIN_LEASE, 2 * longest + LEASE_MARGIN)
        self.grace = grace
        # (receiver, outcome) after each attempt: delivered, retry, failed or skipped.
        self.on_outcome = on_outcome or (lambda _receiver, _outcome: None)
        self.wakeup = asyncio.Event()
        self._in_flight: dict[str, int] = dict.fromkeys(self.receivers, 0)
        self._tasks: set[asyncio.Task[None]] = set()
        self._unknown_warned: set[str] = set()

    @classmethod
    def from_config(
        cls, config: Config, outbox: OutboxRepository, worker_id: str, **options: Any
    ) -> Deliverer:
        """A deliverer for the config's receivers, redactor, timezone and severities."""
        from opsbook.oncall.people import contact_receivers

        return cls(
            outbox,
            [*config.receivers, *contact_receivers(config.people)],
            worker_id,
            redactor=config.redactor,
            settings=TemplateSettings.from_config(config),
            **options,
        )

    # -- one round ---------------------------------------------------------------------

    def free_slots(self) -> dict[str, int]:
        return {
            name: receiver.concurrency - self._in_flight[name]
            for name, receiver in self.receivers.items()
            if receiver.concurrency > self._in_flight[name]
        }

    async def run_once(self, now: datetime | None = None) -> list[asyncio.Task[None]]:
        """Claim what is due for receivers with free slots and start sending it.
        Returns the started tasks (without waiting for them)."""
        now = now or self.clock()
        due = await asyncio.to_thread(self.outbox.due_receivers, now)
        self._warn_unknown(due)
        started: list[asyncio.Task[None]] = []
        for name, free in self.free_slots().items():
            if name not in due:
                continue
            claimed = await asyncio.to_thread(
                self.outbox.claim_due, now, self.worker_id, free, self.lease, (name,)
            )
            for entry in claimed:
                started.append(self._start(entry))
        return started

    def _warn_unknown(self, due: set[str]) -> None:
        for name in sorted(due - self.receivers.keys() - self._unknown_warned):
            # Left pending, not failed: another node (or the next config) may know it.
            log.warning("notifications for receiver %r wait: it is not in the config", name)
            self._unknown_warned.add(name)

    def _start(self, entry: OutboxEntry) -> asyncio.Task[None]:
        self._in_flight[entry.receiver] += 1
        task = asyncio.create_task(self._deliver(entry), name=f"deliver-{entry.id}")
        self._tasks.add(task)
        task.add_done_callback(functools.partial(self._finished, receiver=entry.receiver))
        return task

    def _finished(self, task: asyncio.Task[None], *, receiver: str) -> None:
        self._tasks.discard(task)
        self._in_flight[receiver] -= 1
        self.wakeup.set()  # a slot is free: claim more now rather than at the next poll
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())

    async def _deliver(self, entry: OutboxEntry) -> None:
        receiver = self.receivers[entry.receiver]
        policy = receiver.retry
        if entry.attempts > policy.max_attempts:
            # Earlier attempts ended with their worker (crash loop): stop here.
            reason = (
                f"gave up: {entry.attempts - 1} attempts ended without an outcome "
                f"(last: {entry.last_error or 'unknown'})"
            )
            await asyncio.to_thread(
                self.outbox.finish_without_sending, entry.id, self.worker_id, FAILED, reason
            )
            return
        try:
            notification = entry.notification
        except (ValueError, KeyError, TypeError) as exc:
            await asyncio.to_thread(
                self.outbox.finish_without_sending,
                entry.id,
                self.worker_id,
                FAILED,
                f"unreadable payload: {type(exc).__name__}: {exc}",
            )
            return
        if not receiver.send_resolved:
            wanted = notification.without_resolved()
            if wanted is None:
                await asyncio.to_thread(
                    self.outbox.finish_without_sending,
                    entry.id,
                    self.worker_id,
                    SKIPPED,
                    "not sent: only resolved alerts and the receiver has send_resolved: false",
                )
                return
            notification = wanted
        outcome = await send_one(receiver, notification, self.redactor, self.settings)
        now = self.clock()
        self.on_outcome(receiver.name, "delivered" if outcome.ok else "error")
        if outcome.ok:
            kept = await asyncio.to_thread(
                self.outbox.mark_delivered, entry.id, self.worker_id, now, outcome.duration
            )
        else:
            status = await asyncio.to_thread(
                self.outbox.mark_failed_attempt,
                entry.id,
                self.worker_id,
                now,
                outcome.error or "unknown error",
                outcome.retryable,
                policy,
                outcome.duration,
            )
            kept = status is not None
            log.log(
                logging.ERROR if status == FAILED else logging.WARNING,
                "receiver %s: attempt %d of %s failed (%s): %s",
                receiver.name,
                entry.attempts,
                entry.idempotency_key,
                "gave up" if status == FAILED else "will retry",
                outcome.error,
            )
        if not kept:
            log.warning(
                "receiver %s: lease on %s expired before the outcome was recorded; "
                "another worker owns it now",
                receiver.name,
                entry.idempotency_key,
            )

    # -- the loop ----------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def wait_idle(self) -> None:
        """Wait until every started send has finished (tests, one-shot commands)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set. Wakes when `wakeup` is set (the engine does so
        after enqueueing), when a send finishes, or every second. On stop, in-flight sends
        get `grace` to finish; the rest are abandoned and stay claimed until their lease
        expires, when another worker sends them again, or until a worker with the same id
        starts (a restarted node), which takes them back at once."""
        if not self._tasks:  # claims left by an earlier run under this id: take them back
            released = await asyncio.to_thread(
                self.outbox.release_claims, self.worker_id, self.clock()
            )
            if released:
                log.warning("took back %d notification(s) claimed by a previous run", released)
        try:
            while not stop.is_set():
                self.wakeup.clear()
                try:
                    await self.run_once()
                except Exception:  # the store may be briefly unavailable: keep going
                    log.exception("claiming notifications failed; retrying")
                await self._sleep(stop)
        finally:  # also when the task running this loop is cancelled
            await self.shutdown()

    async def _sleep(self, stop: asyncio.Event) -> None:
        """Until `stop` or `wakeup` is set, the next retry is due, or the poll interval has
        passed (the poll finds rows other nodes enqueued without waking this one)."""
        timeout = POLL_INTERVAL
        try:
            due = await asyncio.to_thread(self.outbox.next_due_at)
        except Exception:  # the store may be briefly unavailable: poll again later
            due = None
        wait = (due - self.clock()).total_seconds() if due is not None else timeout
        if wait > 0:  # due already: the round just tried it; a freed slot sets `wakeup`
            timeout = min(timeout, wait)
        stop_wait = asyncio.ensure_future(stop.wait())
        wake_wait = asyncio.ensure_future(self.wakeup.wait())
        try:
            await asyncio.wait(
                {stop_wait, wake_wait}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in (stop_wait, wake_wait):
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiter

    async def shutdown(self) -> None:
        if not self._tasks:
            return
        pending = set(self._tasks)
        _, unfinished = await asyncio.wait(pending, timeout=self.grace.total_seconds())
        for task in unfinished:
            task.cancel()
        if unfinished:
            log.warning(
                "abandoned %d in-flight notification(s); they are retried after their lease",
                len(unfinished),
            )
            await asyncio.gather(*unfinished, return_exceptions=True)
