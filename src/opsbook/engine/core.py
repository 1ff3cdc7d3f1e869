"""`opsbook serve`'s engine: the loop that wires checks, rules, alerts and notifications.

Tasks, all on one asyncio loop:
- the scheduler starts each check at its due time (fixed cadence, per-check phase);
- each finished probe feeds the in-memory series and asks for an evaluation at once, so a
  fault is judged the moment it is seen, not at the next evaluation tick;
- the evaluator runs the alert book and writes its changes (alert state, transitions,
  group state, outbox rows) in one transaction before waking the deliverer;
- the writer stores results in batches; housekeeping rolls up and prunes samples, reloads
  silences and watches receivers that keep failing.
Crash safety comes from the store: alert timers, groups and undelivered notifications are
all rows, loaded again on start.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import socket
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opsbook.alerts.flapping import FlapPolicy
from opsbook.alerts.model import Alert, AlertState
from opsbook.alerts.silences import Silence
from opsbook.checks.base import CheckResult
from opsbook.checks.context import ProbeContext
from opsbook.checks.runner import run_check
from opsbook.checks.spec import CheckBase
from opsbook.config.models import Config
from opsbook.engine.book import AlertBook, Changes
from opsbook.engine.metrics import EngineMetrics
from opsbook.engine.schedule import Schedule
from opsbook.errors import OpsbookError
from opsbook.inbound.heartbeats import HeartbeatState, heartbeat_alerts, judge
from opsbook.incidents.model import EventKind
from opsbook.incidents.service import IncidentDesk
from opsbook.notify.deliver import Deliverer
from opsbook.notify.routing import Route
from opsbook.playbooks.records import RunStatus
from opsbook.playbooks.remediation import Remediation, should_run
from opsbook.playbooks.runner import STALE_AFTER, PlaybookRunner, RunRequest, playbook_message
from opsbook.playbooks.templating import TemplateError, render
from opsbook.rules.model import Rule
from opsbook.rules.nodes import Failures, references
from opsbook.rules.series import MemorySeries
from opsbook.store import Store
from opsbook.store.transaction import write_transaction

log = logging.getLogger("opsbook.engine")

WRITE_INTERVAL = 0.5  # seconds between batched result writes
SILENCE_RELOAD = 2.0  # seconds: a silence added from the CLI applies within this
HOUSEKEEPING = 30.0  # seconds between roll-up / prune / receiver-health passes
STOP_GRACE = 10.0  # seconds in-flight probes get to finish on SIGTERM
HEARTBEAT_TICK = 1.0  # seconds between heartbeat judgements
INCIDENT_TICK = 1.0  # seconds between looks for due escalations, ack expiries, reminders


class StoreUnavailableError(OpsbookError):
    """The store refused a write; the sender should retry (HTTP 503)."""


def node_id(config: Config) -> str:
    """A worker id that survives restarts (so a restarted engine takes back its own claimed
    notifications at once) and differs between configs run on one host."""
    where = str(config.path or Path.cwd())
    digest = hashlib.blake2b(where.encode(), digest_size=4).hexdigest()
    return f"{socket.gethostname()}:{digest}"


class RuleIndex:
    """Which rules read which checks, and how much history each series needs."""

    def __init__(self, rules: list[Rule], longest: timedelta) -> None:
        self.rules = rules
        self.by_name = {r.name: r for r in rules}
        self.by_check: dict[str, list[Rule]] = defaultdict(list)
        self.horizon: dict[tuple[str, str], timedelta] = {}
        self.status_checks: dict[str, timedelta] = {}
        for rule in rules:
            for ref in references(rule.expression):
                if rule not in self.by_check[ref.check]:
                    self.by_check[ref.check].append(rule)
                if isinstance(ref, Failures):
                    self.status_checks[ref.check] = max(
                        self.status_checks.get(ref.check, timedelta(0)), timedelta(hours=1)
                    )
                    continue
                need = min((ref.window or rule.effective_staleness) + ref.offset, longest)
                if ref.sample in ("status", "up"):
                    self.status_checks[ref.check] = max(
                        self.status_checks.get(ref.check, timedelta(0)), need
                    )
                else:
                    key = (ref.check, ref.sample)
                    self.horizon[key] = max(self.horizon.get(key, timedelta(0)), need)

    def longest(self) -> timedelta:
        return max([*self.horizon.values(), *self.status_checks.values(), timedelta(minutes=5)])

    def wants(self, check: str, sample: str) -> bool:
        return (check, sample) in self.horizon


class Engine:
    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        clock: Callable[[], datetime] | None = None,
        metrics: EngineMetrics | None = None,
        worker: str | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock or (lambda: datetime.now(UTC))
        self.metrics = metrics or EngineMetrics()
        self.settings = config.engine
        self.worker = worker or node_id(config)
        self.checks: dict[str, CheckBase] = {c.name: c for c in config.checks if c.enabled}
        self.index = RuleIndex(list(config.rules), self.settings.retention.raw)
        self.series = MemorySeries()
        receivers = {r.name for r in config.receivers}
        route = config.route
        if route is None and len(config.receivers) == 1:
            route = Route(receiver=config.receivers[0].name)  # one receiver gets everything
        self.book = AlertBook(
            route=route,
            default_receiver=route.receiver if route is not None else None,
            fallback_receiver=self.settings.fallback_receiver,
            depends_on={s.name: list(s.depends_on) for s in config.services},
            windows=config.maintenance,
            timezone=config.project.timezone,
            flapping=FlapPolicy(self.settings.flapping.window, self.settings.flapping.flips),
        )
        self.deliverer = Deliverer.from_config(
            config,
            store.outbox,
            self.worker,
            clock=self.clock,
            on_outcome=lambda receiver, outcome: self.metrics.notifications.labels(
                receiver, outcome
            ).inc(),
        )
        self._known_receivers = receivers
        self.schedule = Schedule(self.settings.max_spread)
        self.silences: list[Silence] = []
        self._running: set[str] = set()
        self._pending_results: list[CheckResult] = []
        self._dirty: set[str] = set()
        self._evaluate_all = True
        self._wake = asyncio.Event()
        self._limit = asyncio.Semaphore(self.settings.max_concurrency)
        self._probe_tasks: set[asyncio.Task[None]] = set()
        self._unpersisted: list[Changes] = []
        self._persist_lock = asyncio.Lock()
        self._inbox: list[tuple[list[Alert], asyncio.Future[bool]]] = []
        self._draining: asyncio.Task[None] | None = None
        self._ctx = ProbeContext(config.base_dir, config.redactor, store.probe_state, self.clock)
        self.started = asyncio.Event()
        self.last_evaluation: datetime | None = None
        self.incidents = IncidentDesk(config, store, self.clock)
        self.playbooks = PlaybookRunner(
            config,
            store,
            clock=self.clock,
            timeline=lambda incident, actor, text, data: self.incidents.record(
                incident, actor, text, data, EventKind.PLAYBOOK
            ),
        )
        self._remediations: list[Alert] = []

    # -- start-up ----------------------------------------------------------------------

    def _load(self) -> None:
        """Read back everything a previous run left: alerts, groups, silences, history."""
        now = self.clock()
        self.book.load(
            self.store.alerts.load_live(now - timedelta(hours=1)), self.store.groups.load()
        )
        self.silences = self.store.silences.browse(include_expired_since=now)
        interrupted = self.store.runs.mark_interrupted(now - STALE_AFTER)
        if interrupted:
            log.warning("playbook runs interrupted by the last stop: %s", interrupted)
        for (check, sample), need in self.index.horizon.items():
            for at, value in self.store.results.series(check, sample, now - need):
                self.series.add(check, sample, at, value)
        for check, need in self.index.status_checks.items():
            for at, status in self.store.results.statuses(check, now - need):
                self.series.add_result(check, status, at)
        self.schedule.add_all(((c.name, c.interval) for c in self.checks.values()), now)

    # -- probes ------------------------------------------------------------------------

    async def _scheduler(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            now = self.clock()
            for name, due in self.schedule.pop_due(now):
                if name in self._running:
                    self.metrics.skipped_runs.inc()
                    continue
                self.metrics.scheduler_lateness.observe(max(0.0, (now - due).total_seconds()))
                self._running.add(name)
                task = asyncio.create_task(self._probe(self.checks[name]), name=f"probe-{name}")
                self._probe_tasks.add(task)
                task.add_done_callback(self._probe_tasks.discard)
            upcoming = self.schedule.next_due()
            delay = (upcoming - self.clock()).total_seconds() if upcoming else 1.0
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=min(delay, 1.0))

    async def _probe(self, check: CheckBase) -> None:
        try:
            async with self._limit:
                result = await run_check(check, self._ctx)
        finally:
            self._running.discard(check.name)
        self.metrics.checks_run.labels(check.kind, result.status.label).inc()
        self.metrics.check_duration.labels(check.kind).observe(result.duration_s)
        self._pending_results.append(result)
        self._observe(result)

    def _observe(self, result: CheckResult) -> None:
        """Feed a result to the rules that read its check, and ask for an evaluation."""
        rules = self.index.by_check.get(result.check)
        if not rules:
            return
        at = result.started_at
        if result.check in self.index.status_checks:
            self.series.add_result(result.check, result.status, at)
        for sample, value in result.samples.items():
            if self.index.wants(result.check, sample):
                self.series.add(result.check, sample, at, value)
        self._dirty.update(rule.name for rule in rules)
        self._wake.set()

    # -- evaluation --------------------------------------------------------------------

    async def _evaluator(self, stop: asyncio.Event) -> None:
        interval = self.settings.evaluation_interval.total_seconds()
        next_full = time.monotonic()
        last_silences = 0.0
        while not stop.is_set():
            if time.monotonic() - last_silences >= SILENCE_RELOAD:
                self.silences = await asyncio.to_thread(
                    self.store.silences.browse, include_expired_since=self.clock()
                )
                last_silences = time.monotonic()
            if time.monotonic() >= next_full:
                self._evaluate_all = True
                next_full = time.monotonic() + interval
            await self.evaluate_now()
            timeout = max(0.0, next_full - time.monotonic())
            due = self.book.next_due(self.index.by_name, self.clock())
            if due is not None:
                timeout = min(timeout, max(0.0, (due - self.clock()).total_seconds()))
            self._wake.clear()
            if self._dirty:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(timeout, 0.001))

    async def evaluate_now(self) -> Changes:
        """Evaluate due rules and persist the changes before anything is sent.

        If the store cannot be written, the changes are kept and written first next time
        (the book is already ahead of the store): no planned notification is ever lost.
        """
        started = time.perf_counter()
        if not await self._write_unpersisted():
            return Changes()
        now = self.clock()
        if self._evaluate_all:
            rules = self.index.rules
            self._evaluate_all = False
            self._dirty.clear()
        else:
            rules = [self.index.by_name[name] for name in self._dirty]
            self._dirty.clear()
        changes = self.book.evaluate(rules, self.series, now, self.silences)
        self.last_evaluation = now
        if changes:
            self._unpersisted.append(changes)
            await self._write_unpersisted()
        self.metrics.rule_evaluation.observe(time.perf_counter() - started)
        return changes

    async def _write_unpersisted(self) -> bool:
        async with self._persist_lock:  # in order, one writer: the evaluator or housekeeping
            while self._unpersisted:
                changes = self._unpersisted[0]
                try:
                    await asyncio.to_thread(self._persist, changes)
                except Exception:
                    log.exception("writing alert state failed; retrying before the next pass")
                    await asyncio.sleep(1.0)
                    return False
                self._unpersisted.pop(0)
                self.deliverer.wakeup.set()
        while self._remediations:
            self._start_remediation(self._remediations.pop(0))
        return True

    # -- automatic remediation -----------------------------------------------------------

    def _start_remediation(self, alert: Alert) -> None:
        rule = self.index.by_name.get(alert.rule)
        if rule is None or rule.remediation is None:
            return
        task = asyncio.create_task(self._remediate(alert, rule.remediation), name="remediation")
        self._probe_tasks.add(task)  # waited for on stop like a probe
        task.add_done_callback(self._probe_tasks.discard)

    async def _remediate(self, alert: Alert, fix: Remediation) -> None:
        now = self.clock()
        recent = await asyncio.to_thread(
            self.store.runs.recent, fix.playbook, alert.fingerprint, now - timedelta(hours=1)
        )
        name = alert.labels.get("alertname", alert.rule)
        refusal = should_run(fix, alert, self.book.muted.get(alert.fingerprint), recent)
        if refusal is not None:
            log.info("remediation %s for %s not run: %s", fix.playbook, name, refusal)
            return
        incidents = await asyncio.to_thread(self._incidents_of, alert.fingerprint)
        alert_values = {"labels": dict(alert.labels), "annotations": dict(alert.annotations)}
        try:
            params = {k: render(v, alert_values) for k, v in fix.params.items()}
        except TemplateError as exc:
            log.warning("remediation %s for %s: %s", fix.playbook, name, exc)
            return
        request = RunRequest(
            fix.playbook,
            params,
            f"opsbook (alert {name})",
            incident_id=incidents[0] if incidents else None,
            alert=alert,
        )
        await self._tell(fix, f"Automatic remediation: playbook {fix.playbook} for {name}")
        try:
            record = await self.playbooks.start(request)
        except OpsbookError as exc:
            log.warning("remediation %s for %s not started: %s", fix.playbook, name, exc)
            await self._tell(fix, f"Remediation {fix.playbook} for {name} not started: {exc}")
            return
        outcome = f"run #{record.id} {record.status.value}"
        if record.status is RunStatus.WAITING:
            outcome += f" (needs a person: opsbook runs show {record.id})"
        await self._tell(fix, f"Remediation {fix.playbook} for {name}: {outcome}")

    def _incidents_of(self, fingerprint: str) -> list[int]:
        with self.store.engine.connect() as conn:
            return [i.id for i in self.store.incidents.open_for_alert(conn, fingerprint)]

    async def _tell(self, fix: Remediation, text: str) -> None:
        receivers = list(fix.notify)
        top = self.book.tree.route(self.book.tree.root_id) if self.book.tree else None
        if not receivers and top is not None:
            receivers = [top.receiver]
        now = self.clock()
        messages = [
            playbook_message(
                f"remediation:{receiver}:{now.isoformat()}:{text}",
                receiver,
                f"remediation:{fix.playbook}",
                fix.playbook,
                text,
                text,
                now,
            )
            for receiver in receivers
        ]
        if messages:
            await asyncio.to_thread(self.store.outbox.enqueue_now, messages)
            self.deliverer.wakeup.set()

    async def ingest(self, alerts: list[Alert]) -> None:
        """Alerts judged elsewhere (inbound webhooks, events, heartbeats) enter the alert
        stage like rule transitions; returns once they are stored, so a 2xx answer to the
        sender means nothing is lost.

        Requests that arrive while a batch is being judged and written wait for the next
        batch (group commit): the alert book plans notifications over all its alerts, so
        one pass per batch instead of one per request keeps a burst of events from
        queueing behind itself.
        """
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._inbox.append((alerts, done))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain_inbox(), name="ingest")
        if not await done:
            raise StoreUnavailableError("the store could not be written; try again")

    async def _drain_inbox(self) -> None:
        while self._inbox:
            batch, self._inbox = self._inbox, []
            try:
                incoming = [alert for alerts, _ in batch for alert in alerts]
                changes = self.book.apply_external(incoming, self.clock(), self.silences)
                if changes:
                    self._unpersisted.append(changes)
                written = await self._write_unpersisted()
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(written)

    # -- heartbeats ------------------------------------------------------------------------

    async def _heartbeats(self, stop: asyncio.Event) -> None:
        """Judge every heartbeat each second; only changes (a heartbeat going down, failing
        or recovering) become alert transitions."""
        beats = self.config.heartbeats
        if not beats:
            return
        await asyncio.to_thread(self.store.heartbeats.watch, [b.name for b in beats], self.clock())
        while not stop.is_set():
            try:
                await self.judge_heartbeats()
            except Exception:
                log.exception("judging heartbeats failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=HEARTBEAT_TICK)

    async def judge_heartbeats(self) -> None:
        states = await asyncio.to_thread(self.store.heartbeats.load)
        now = self.clock()
        changed: list[Alert] = []
        zone = self.config.project.timezone
        for beat in self.config.heartbeats:
            state, since = states.get(beat.name, (HeartbeatState(), now))
            verdict = judge(beat, state, now, since, default_zone=zone)
            rule = f"heartbeat:{beat.name}"
            previous = [a for a in self.book.alerts.values() if a.rule == rule]
            for alert in heartbeat_alerts(beat, verdict, now, previous, default_zone=zone):
                known = self.book.alerts.get(alert.fingerprint)
                if known is None or known.is_firing != alert.is_firing:
                    changed.append(alert)
        if changed:
            await self.ingest(changed)

    # -- incident timers -----------------------------------------------------------------

    async def _incident_timers(self, stop: asyncio.Event) -> None:
        """Escalation steps, ack expiries and update reminders: all rows in the store,
        so a restarted engine (or another node) takes them up on time."""
        while not stop.is_set():
            try:
                if await asyncio.to_thread(self.incidents.tick):
                    self.deliverer.wakeup.set()
            except Exception:
                log.exception("incident timers failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=INCIDENT_TICK)

    def _persist(self, changes: Changes) -> None:
        """Alert state, history, groups, the incidents the alerts open or calm, and the
        outbox rows all of that causes: one transaction, or none of it."""
        with write_transaction(self.store.engine) as conn:
            self.store.alerts.save(conn, changes.alerts.values(), self.book.muted)
            mute_only = {k: v for k, v in changes.muted.items() if k not in changes.alerts}
            self.store.alerts.set_muted(conn, mute_only)
            self.store.alerts.record_events(conn, changes.events)
            self.store.groups.save(conn, changes.groups)
            self.store.groups.delete(conn, changes.removed_groups)
            self.store.outbox.enqueue(conn, changes.notifications)
            pages = self.incidents.on_alert_events(conn, changes.events, self.clock())
            self.store.outbox.enqueue(conn, pages)
        if pages:
            log.info("incident notifications queued: %d", len(pages))
        for alert, event, _ in changes.events:
            if event == "firing":
                rule = self.index.by_name.get(alert.rule)
                if rule is not None and rule.remediation is not None:
                    self._remediations.append(alert)
        for alert, event, _ in changes.events:
            log.info(
                "alert %s: %s %s",
                event,
                alert.labels.get("alertname", alert.rule),
                {k: v for k, v in alert.labels.items() if k != "alertname"},
            )
        for notification in changes.notifications:
            log.info(
                "notification queued for %s: %s (%d alerts)",
                notification.receiver,
                notification.status,
                len(notification.alerts),
            )

    # -- results, housekeeping -----------------------------------------------------------

    async def _writer(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=WRITE_INTERVAL)
            await self.flush_results()

    async def flush_results(self) -> None:
        batch, self._pending_results = self._pending_results, []
        if batch:
            await asyncio.to_thread(self.store.results.record, batch)
            self.metrics.results_written.inc(len(batch))

    async def _housekeeping(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.housekeeping_once()
            except Exception:
                log.exception("housekeeping failed; retrying in %ss", HOUSEKEEPING)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=HOUSEKEEPING)

    async def housekeeping_once(self) -> None:
        now = self.clock()
        retention = self.settings.retention
        self.series.prune(now - self.index.longest())
        await asyncio.to_thread(self.store.rollups.roll_minutes, now)
        await asyncio.to_thread(self.store.rollups.roll_hours, now)
        await asyncio.to_thread(
            self.store.rollups.prune,
            now - retention.raw,
            now - retention.minutes,
            now - retention.hours,
        )
        depth = await asyncio.to_thread(self.store.outbox.depth)
        self.metrics.outbox_depth.set(depth)
        firing: dict[str, int] = defaultdict(int)
        for alert in self.book.alerts.values():
            if alert.state is AlertState.FIRING:
                firing[alert.severity or "none"] += 1
        self.metrics.alerts_firing.clear()
        for severity, count in firing.items():
            self.metrics.alerts_firing.labels(severity).set(count)
        if self.settings.fallback_receiver:
            await self._watch_receivers(now)

    async def _watch_receivers(self, now: datetime) -> None:
        threshold = self.settings.failing_receiver_after
        failing = {}
        for name in self._known_receivers - {self.settings.fallback_receiver}:
            count = await asyncio.to_thread(self.store.outbox.consecutive_failures, name)
            if count >= threshold:
                failing[name] = count
        changes = self.book.set_failing_receivers(failing, now, self.silences)
        if changes:
            self._unpersisted.append(changes)
            await self._write_unpersisted()

    # -- the whole run -------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, then stop cleanly: no new probes, in-flight probes get
        a grace period, results and alert state are written, deliveries finish or are
        handed back (left claimed until their lease expires)."""
        await asyncio.to_thread(self._load)
        log.info(
            "engine started: %d checks, %d rules, %d receivers",
            len(self.checks),
            len(self.index.rules),
            len(self._known_receivers),
        )
        self.started.set()
        inner = asyncio.Event()
        tasks = [
            self._spawn(self._scheduler(inner), "scheduler"),
            self._spawn(self._evaluator(inner), "evaluator"),
            self._spawn(self._writer(inner), "writer"),
            self._spawn(self._housekeeping(inner), "housekeeping"),
            self._spawn(self.deliverer.run(inner), "deliverer"),
            self._spawn(self._incident_timers(inner), "incident-timers"),
            self._spawn(self._heartbeats(inner), "heartbeats"),
        ]
        await stop.wait()
        log.info("stopping: waiting for %d probes in flight", len(self._probe_tasks))
        if self._probe_tasks:
            _, late = await asyncio.wait(set(self._probe_tasks), timeout=STOP_GRACE)
            for task in late:
                task.cancel()
        inner.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.flush_results()
        await self._ctx.close()
        log.info("engine stopped")

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(_log_crash)
        return task


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("engine task %s crashed", task.get_name(), exc_info=task.exception())
