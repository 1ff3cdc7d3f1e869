"""Running a playbook: parameters, lock, steps in order, the audit record, resume.

Every step is written to the store before it starts and after it ends, so the record says
what ran even if the process dies mid-step; such a run is found `interrupted` (its
heartbeat stopped) and `resume` continues from the first step that did not finish (steps
that finished are not repeated; the one that was running is run again). A step that needs
a person (a `manual` step, an `approval`, a `dangerous` step without `--yes`) puts the
run in `waiting`; confirming or approving and resuming continues it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from opsbook.alerts.model import Alert
from opsbook.config.redact import Redactor
from opsbook.errors import OpsbookError
from opsbook.notify.model import Notification
from opsbook.playbooks.conditions import parse_condition
from opsbook.playbooks.model import Playbook, RunPlaybook, StepBase
from opsbook.playbooks.params import ParamError, ParamValue, as_text, resolve_params
from opsbook.playbooks.records import RunRecord, RunStatus, StepRecord
from opsbook.playbooks.steps.base import StepContext, StepResult, StepStatus, clip
from opsbook.playbooks.templating import TemplateError, render

if TYPE_CHECKING:
    from opsbook.config.models import Config
    from opsbook.store import Store

log = logging.getLogger("opsbook.playbooks")

DEFAULT_STEP_TIMEOUT = timedelta(minutes=5)
HEARTBEAT = 5.0  # seconds between "still running" marks of a run
STALE_AFTER = timedelta(seconds=30)  # a run whose mark is older than this was interrupted
MAX_DEPTH = 5  # playbooks calling playbooks
TIMEOUT_GRACE = 5.0  # seconds a step gets past its timeout to stop itself cleanly


class PlaybookError(OpsbookError):
    """A run that cannot start or continue; the message says why."""


@dataclass(frozen=True)
class RunRequest:
    playbook: str
    params: dict[str, str]
    actor: str
    dry_run: bool = False
    yes: bool = False  # dangerous steps may run without an approval
    incident_id: int | None = None
    alert: Alert | None = None
    parent_id: int | None = None
    depth: int = 0


@dataclass(frozen=True)
class RunEvent:
    """Progress for a live view: kind is started, step, output, finished or run."""

    kind: str
    run_id: int
    position: int = -1
    step: StepBase | None = None
    text: str = ""
    result: StepResult | None = None
    status: RunStatus | None = None


@dataclass(frozen=True)
class PlannedStep:
    step: StepBase
    rendered: str
    condition: str | None = None  # decided at run time


@dataclass
class _Run:
    record: RunRecord
    playbook: Playbook
    request: RunRequest
    values: dict[str, Any]
    redactor: Redactor
    approved: bool = False  # an approval gate passed earlier in this run
    records: dict[int, StepRecord] = field(default_factory=dict)


def playbook_message(
    key: str, receiver: str, group: str, playbook: str, title: str, body: str, now: datetime
) -> Notification:
    """A message about a playbook (a notify step, an automatic run starting or ending)."""
    return Notification(
        idempotency_key=key,
        receiver=receiver,
        group_key=group,
        group_labels={"playbook": playbook},
        status="firing",
        alerts=(),
        created_at=now,
        kind="playbook",
        title=title,
        body=body,
    )


def step_timeout(step: StepBase) -> timedelta:
    """The step's own `timeout:`, else its kind's default for this spec, else 5m."""
    if step.timeout is not None:
        return step.timeout
    default = step.kind_info.default_timeout
    return default(step.spec) if default is not None else DEFAULT_STEP_TIMEOUT


def env_name(prefix: str, name: str) -> str:
    return f"OPSBOOK_{prefix}_" + "".join(c if c.isalnum() else "_" for c in name).upper()


class PlaybookRunner:
    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        clock: Callable[[], datetime] | None = None,
        on_event: Callable[[RunEvent], None] | None = None,
        timeline: Callable[[int, str, str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock or (lambda: datetime.now(UTC))
        self.on_event = on_event or (lambda _event: None)
        # (incident id, actor, text, data): how a step reaches an incident's timeline.
        self.timeline = timeline

    # -- preparing ------------------------------------------------------------------------

    def _playbook(self, name: str) -> Playbook:
        playbook = self.config.playbook(name)
        if playbook is None:
            known = ", ".join(p.name for p in self.config.playbooks) or "none configured"
            raise PlaybookError(f"no playbook {name!r} (known: {known})")
        return playbook

    def _values(
        self, playbook: Playbook, request: RunRequest
    ) -> tuple[dict[str, Any], Redactor, dict[str, ParamValue]]:
        try:
            params = resolve_params(playbook.params, request.params)
        except ParamError as exc:
            raise PlaybookError(str(exc)) from None
        secrets = [
            as_text(params[p.name]) for p in playbook.params if p.secret and p.name in params
        ]
        redactor = self.config.redactor.with_secrets(s for s in secrets if s)
        alert = (
            {"labels": dict(request.alert.labels), "annotations": dict(request.alert.annotations)}
            if request.alert
            else {}
        )
        values = {"params": dict(params), "vars": {}, "steps": {}, "alert": alert}
        return values, redactor, params

    def _env(self, run: _Run) -> dict[str, str]:
        env = {env_name("PARAM", k): as_text(v) for k, v in run.values["params"].items()}
        env.update({env_name("VAR", k): str(v) for k, v in run.values["vars"].items()})
        for label, value in run.values["alert"].get("labels", {}).items():
            env[env_name("ALERT", label)] = value
        return env

    def _context(self, run: _Run, step: StepBase, dry_run: bool = False) -> StepContext:
        return StepContext(
            config=self.config,
            values=run.values,
            env=self._env(run),
            redactor=run.redactor,
            clock=self.clock,
            timeout=step_timeout(step),
            run_id=run.record.id,
            actor=run.request.actor,
            dry_run=dry_run,
        )

    def _lock_key(self, playbook: Playbook, values: dict[str, Any]) -> str | None:
        if playbook.concurrent:
            return None
        target = render(playbook.lock, values) if playbook.lock else ""
        return f"{playbook.name}:{target}"[:300]

    # -- dry run ----------------------------------------------------------------------------

    def plan(self, request: RunRequest) -> list[PlannedStep]:
        """What a run would execute, rendered with these parameters, touching nothing.
        Values only earlier steps produce are shown as the templates that need them."""
        playbook = self._playbook(request.playbook)
        values, redactor, _ = self._values(playbook, request)
        record = RunRecord(0, playbook.name, RunStatus.RUNNING, {}, request.actor,
                           self.clock(), self.clock())  # fmt: skip
        run = _Run(record, playbook, request, values, redactor)
        planned = []
        for step in playbook.steps:
            ctx = self._context(run, step, dry_run=True)
            try:
                text = step.kind_info.describe(step.spec, ctx)
            except TemplateError as exc:
                text = f"(needs values from earlier steps: {exc})"
            if step.dangerous:
                text += "  [dangerous: needs --yes or an approval]"
            planned.append(PlannedStep(step, redactor(text), step.when))
        return planned

    # -- running ------------------------------------------------------------------------------

    async def start(self, request: RunRequest) -> RunRecord:
        if request.depth > MAX_DEPTH:
            raise PlaybookError(f"playbooks nested deeper than {MAX_DEPTH}")
        playbook = self._playbook(request.playbook)
        values, redactor, params = self._values(playbook, request)
        shown = {
            p.name: ("***" if p.secret else as_text(params[p.name]))
            for p in playbook.params
            if p.name in params
        }
        record = await asyncio.to_thread(
            self.store.runs.create,
            playbook.name,
            shown,
            request.actor,
            self.clock(),
            lock_key=self._lock_key(playbook, values),
            incident_id=request.incident_id,
            alert=request.alert.fingerprint if request.alert else None,
            parent_id=request.parent_id,
        )
        self._note(
            record, f"Playbook {playbook.name} started by {request.actor} (run #{record.id})"
        )
        self.on_event(RunEvent("started", record.id, text=playbook.name))
        return await self._execute(_Run(record, playbook, request, values, redactor))

    async def resume(self, run_id: int, actor: str, yes: bool = False) -> RunRecord:
        """Continue an interrupted or waiting run from its first unfinished step."""
        self.store.runs.mark_interrupted(self.clock() - STALE_AFTER)
        record = self.store.runs.get(run_id)
        if record is None:
            raise PlaybookError(f"no run #{run_id}")
        if record.status not in (RunStatus.INTERRUPTED, RunStatus.WAITING):
            raise PlaybookError(
                f"run #{run_id} is {record.status.value}; only interrupted or waiting runs resume"
            )
        playbook = self._playbook(record.playbook)
        if record.params and "***" in record.params.values():
            raise PlaybookError(f"run #{run_id} had secret parameters; start a new run instead")
        request = RunRequest(
            record.playbook,
            {k: str(v) for k, v in record.params.items()},
            actor,
            yes=yes,
            incident_id=record.incident_id,
        )
        values, redactor, _ = self._values(playbook, request)
        if not await asyncio.to_thread(self.store.runs.claim_for_resume, run_id, self.clock()):
            raise PlaybookError(f"run #{run_id} was resumed by someone else")
        run = _Run(replace(record, status=RunStatus.RUNNING), playbook, request, values, redactor)
        run.records = {s.position: s for s in self.store.runs.steps(run_id)}
        self._note(record, f"Playbook {playbook.name} run #{run_id} resumed by {actor}")
        return await self._execute(run)

    async def _execute(self, run: _Run) -> RunRecord:
        beat = asyncio.create_task(self._heartbeat(run.record.id))
        try:
            deadline = run.record.started_at + run.playbook.timeout
            remaining = max(0.0, (deadline - self.clock()).total_seconds())
            async with asyncio.timeout(remaining):
                status, error = await self._steps(run)
        except TimeoutError:
            status, error = (
                RunStatus.FAILED,
                f"the run exceeded its timeout of {run.playbook.timeout}",
            )
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
        await asyncio.to_thread(
            self.store.runs.set_status, run.record.id, status, self.clock(), error
        )
        text = f"Playbook {run.playbook.name} run #{run.record.id} {status.value}"
        self._note(run.record, text + (f": {error}" if error else ""))
        self.on_event(RunEvent("run", run.record.id, status=status, text=error or ""))
        final = self.store.runs.get(run.record.id)
        assert final is not None
        return final

    async def _heartbeat(self, run_id: int) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            await asyncio.to_thread(self.store.runs.heartbeat, run_id, self.clock())

    async def _steps(self, run: _Run) -> tuple[RunStatus, str | None]:
        for position, step in enumerate(run.playbook.steps):
            earlier = run.records.get(position)
            if earlier is not None and earlier.status in ("ok", "skipped"):
                self._remember(run, step, earlier.status, earlier.exit_code, earlier.output,
                               earlier.vars)  # fmt: skip
                if step.kind == "approval" and earlier.status == "ok":
                    run.approved = True
                continue
            result = await self._one(run, position, step, earlier)
            if result.status is StepStatus.WAITING:
                return RunStatus.WAITING, result.summary
            if result.ok:
                continue
            failure = f"step {step.name} failed: {result.error or result.summary}"
            if step.on_failure == "continue":
                continue
            if isinstance(step.on_failure, RunPlaybook):
                await self._call(run, step.on_failure.run, {})
            return RunStatus.FAILED, failure
        return RunStatus.SUCCEEDED, None

    def _remember(
        self, run: _Run, step: StepBase, status: str, exit_code: int | None, output: str,
        vars_: Any,
    ) -> None:  # fmt: skip
        run.values["steps"][step.name] = {
            "status": status,
            "exit_code": exit_code,
            "output": output,
            "vars": dict(vars_),
        }
        run.values["vars"].update(vars_)

    async def _one(
        self, run: _Run, position: int, step: StepBase, earlier: StepRecord | None
    ) -> StepResult:
        now = self.clock()
        base = StepRecord(
            run.record.id, position, step.name, step.kind, "running", started_at=now,
            confirmed_by=earlier.confirmed_by if earlier else None,
        )  # fmt: skip
        if step.when is not None and not parse_condition(step.when).holds(run.values):
            result = StepResult(StepStatus.SKIPPED, f"skipped: {step.when} is false")
            return await self._finish(run, position, step, replace(base, status="skipped"), result)
        ctx = self._context(run, step)
        approvals: list[str] = []
        if step.kind == "approval" or step.dangerous:  # only these steps read approvals
            approvals = await asyncio.to_thread(self.store.runs.approvals, run.record.id, step.name)
        ctx.services.update(
            approvals=approvals,
            confirmed_by=earlier.confirmed_by if earlier else None,
            notify=self._notify(run),
            run_playbook=lambda name, params: self._call(run, name, params),
        )
        try:
            rendered = run.redactor(step.kind_info.describe(step.spec, ctx))
        except TemplateError as exc:
            result = StepResult(StepStatus.FAILED, "cannot render the step", error=str(exc))
            return await self._finish(run, position, step, replace(base, status="failed"), result)
        base = replace(base, rendered=rendered)
        if step.dangerous and not (run.request.yes or run.approved or approvals):
            result = StepResult(
                StepStatus.WAITING,
                f"dangerous step {step.name} needs approval: "
                f"opsbook runs approve {run.record.id} (or start the run with --yes)",
            )
            return await self._finish(run, position, step, replace(base, status="waiting"), result)
        self.on_event(RunEvent("step", run.record.id, position, step, rendered))
        result = await self._attempts(run, step, ctx, base)
        if step.kind == "approval" and result.status is StepStatus.OK:
            run.approved = True
        return await self._finish(run, position, step, base, result)

    async def _attempts(
        self, run: _Run, step: StepBase, ctx: StepContext, base: StepRecord
    ) -> StepResult:
        def output(line: str) -> None:
            self.on_event(
                RunEvent("output", run.record.id, base.position, step, run.redactor(line))
            )

        ctx.on_output = output
        delay = step.retries.backoff.total_seconds()
        result = StepResult(StepStatus.FAILED, "not run")
        for attempt in range(1, step.retries.attempts + 1):
            await asyncio.to_thread(self.store.runs.record_step, replace(base, attempts=attempt))
            try:
                # The kinds stop themselves at ctx.timeout (keeping partial output and
                # saying so); this outer limit is the backstop for one that does not.
                async with asyncio.timeout(ctx.timeout.total_seconds() + TIMEOUT_GRACE):
                    result = await step.kind_info.run(step.spec, ctx)
            except TimeoutError:
                result = StepResult(StepStatus.FAILED, f"timed out after {ctx.timeout}",
                                    error="timeout")  # fmt: skip
            except (OpsbookError, OSError, ValueError) as exc:
                result = StepResult(StepStatus.FAILED, "error", error=run.redactor(str(exc)))
            if result.status is not StepStatus.FAILED or attempt == step.retries.attempts:
                break
            output(f"attempt {attempt} failed ({result.error or result.summary}); retrying")
            await asyncio.sleep(delay)
            delay *= 2
        return result

    async def _finish(
        self, run: _Run, position: int, step: StepBase, base: StepRecord, result: StepResult
    ) -> StepResult:
        output = clip(run.redactor(result.output))
        summary = run.redactor(result.summary)
        result = replace(result, output=output, summary=summary)
        record = replace(
            base,
            status=result.status.value,
            output=output,
            exit_code=result.exit_code,
            vars=dict(result.vars),
            finished_at=None if result.status is StepStatus.WAITING else self.clock(),
            error=run.redactor(result.error) if result.error else None,
            attempts=max(base.attempts, 1 if result.status is not StepStatus.SKIPPED else 0),
        )
        await asyncio.to_thread(self.store.runs.record_step, record)
        self._remember(run, step, result.status.value, result.exit_code, output, result.vars)
        self.on_event(RunEvent("finished", run.record.id, position, step, summary, result))
        if result.status is not StepStatus.SKIPPED:
            self._note(run.record, f"Step {step.label}: {result.status.value} — {summary}")
        return result

    async def _call(self, run: _Run, name: str, params: dict[str, str]) -> StepResult:
        request = RunRequest(
            name, params, run.request.actor, yes=run.request.yes,
            incident_id=run.request.incident_id, alert=run.request.alert,
            parent_id=run.record.id, depth=run.request.depth + 1,
        )  # fmt: skip
        child = await self.start(request)
        status = StepStatus.OK if child.status is RunStatus.SUCCEEDED else StepStatus.FAILED
        if child.status is RunStatus.WAITING:
            status = StepStatus.WAITING
        return StepResult(status, f"playbook {name}: run #{child.id} {child.status.value}",
                          vars={"run": child.id}, error=child.error)  # fmt: skip

    def _notify(self, run: _Run) -> Callable[[str, str, str], Any]:
        async def send(receiver: str, title: str, body: str) -> None:
            now = self.clock()
            notification = playbook_message(
                f"playbook:{run.record.id}:{receiver}:{now.isoformat()}",
                receiver,
                f"playbook:{run.record.id}",
                run.playbook.name,
                title,
                body,
                now,
            )
            await asyncio.to_thread(self.store.outbox.enqueue_now, [notification])

        return send

    def _note(self, record: RunRecord, text: str) -> None:
        log.info("%s", text)
        if self.timeline is not None and record.incident_id is not None:
            try:
                self.timeline(record.incident_id, record.started_by, text, {"run": record.id})
            except OpsbookError as exc:  # a missing incident must not stop the playbook
                log.warning("timeline of incident #%s: %s", record.incident_id, exc)

    # -- people ---------------------------------------------------------------------------

    def approve(self, run_id: int, person: str) -> str:
        """Approve the step the run waits at (an approval gate or a dangerous step)."""
        record = self.store.runs.get(run_id)
        if record is None:
            raise PlaybookError(f"no run #{run_id}")
        waiting = next((s for s in self.store.runs.steps(run_id) if s.status == "waiting"), None)
        if record.status is not RunStatus.WAITING or waiting is None:
            raise PlaybookError(f"run #{run_id} is not waiting for an approval")
        step = self._playbook(record.playbook).step(waiting.name)
        if step is None or (step.kind != "approval" and not step.dangerous):
            raise PlaybookError(f"step {waiting.name} waits for a confirmation, not an approval")
        allowed = getattr(step.spec, "allowed", [])
        if allowed and person not in allowed:
            raise PlaybookError(
                f"{person} may not approve {waiting.name} (allowed: {', '.join(allowed)})"
            )
        self.store.runs.approve(run_id, waiting.name, person, self.clock())
        return waiting.name

    def confirm(self, run_id: int, person: str) -> str:
        """Confirm the manual step the run waits at."""
        waiting = next((s for s in self.store.runs.steps(run_id) if s.status == "waiting"), None)
        if waiting is None or waiting.kind != "manual":
            raise PlaybookError(f"run #{run_id} is not waiting for a manual step")
        self.store.runs.confirm(run_id, waiting.position, person)
        return waiting.name
