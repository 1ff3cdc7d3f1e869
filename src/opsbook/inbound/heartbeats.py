"""Heartbeats, in the style of Healthchecks.io: a job pings a secret URL when it runs,
and silence is the alert.

A probe can see a service that is down; only a heartbeat can see a cron job that never
started (the runbooks' nightly backups, "Backup Failed: Backup job failed"). The
monitor cannot ask the job, so it judges from the pings alone: what arrived, when the
next was due, how long the grace is. Everything here is pure; the route records pings
with `apply_ping`, the engine calls `judge` and `heartbeat_alerts` with its clock.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from croniter import CroniterError, croniter
from pydantic import Field, field_validator, model_validator

from opsbook.alerts.model import Alert, AlertState, Level, fingerprint
from opsbook.config.base import Name, Section
from opsbook.config.types import Duration, Timezone, format_duration
from opsbook.inbound.limits import InboundError

MISSING = "HeartbeatMissing"
FAILED = "HeartbeatFailed"
MAX_PING_PATH = 100
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NUMBER = re.compile(r"[+-]?[0-9]+")


class Heartbeat(Section):
    name: Name
    id: UUID = Field(description="Secret part of the ping URL /ping/<id>; generate with uuidgen.")
    period: Duration | None = Field(
        default=None, description="Expected time between two pings, e.g. 1d."
    )
    schedule: str | None = Field(
        default=None,
        description="Instead of period: the job's cron expression, e.g. '0 2 * * *'.",
    )
    timezone: Timezone | None = Field(
        default=None, description="Timezone of schedule; default: project.timezone."
    )
    grace: Duration = Field(
        default=timedelta(hours=1),
        description="How late a ping may be before the heartbeat is down and alerts.",
    )
    service: Name | None = Field(default=None, description="The service label of its alerts.")
    severity: Name = Field(description="Severity of its alerts, e.g. P2.")
    description: str = ""
    max_runtime: Duration | None = Field(
        default=None,
        description="A run (a /start ping) not followed by success or failure within this is down.",
    )

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not croniter.is_valid(value):
            raise ValueError(f"invalid cron expression {value!r}; expected like '0 2 * * *'")
        try:
            croniter(value, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
        except CroniterError:
            raise ValueError(f"cron expression {value!r} never fires") from None
        return value

    @model_validator(mode="after")
    def _one_expectation(self) -> Heartbeat:
        if (self.period is None) == (self.schedule is None):
            raise ValueError("give either period (e.g. 1d) or schedule (a cron expression)")
        if self.timezone is not None and self.schedule is None:
            raise ValueError("timezone applies to schedule only; a period has no timezone")
        if self.period is not None and self.period < timedelta(minutes=1):
            raise ValueError("period must be at least 1m")
        if self.grace < timedelta(0):
            raise ValueError("grace cannot be negative")
        if self.max_runtime is not None and self.max_runtime <= timedelta(0):
            raise ValueError("max_runtime must be longer than 0s")
        return self

    def expectation(self, default_zone: str = "UTC") -> str:
        """How often it should ping, as a person would say it."""
        grace = format_duration(self.grace)
        if self.period is not None:
            return f"every {format_duration(self.period)} (+{grace} grace)"
        return f"at '{self.schedule}' {self.timezone or default_zone} (+{grace} grace)"


def find_heartbeat(heartbeats: Sequence[Heartbeat], heartbeat_id: UUID) -> Heartbeat:
    """The heartbeat a ping URL names; 404 for an id nobody configured."""
    found = next((h for h in heartbeats if h.id == heartbeat_id), None)
    if found is None:
        raise InboundError(404, "no heartbeat with this id")
    return found


class PingKind(StrEnum):
    SUCCESS = "success"
    START = "start"
    FAIL = "fail"
    EXIT_CODE = "exit_code"


@dataclass(frozen=True, slots=True)
class Ping:
    id: UUID
    kind: PingKind
    exit_code: int | None = None

    @property
    def failed(self) -> bool:
        return self.kind is PingKind.FAIL or (
            self.kind is PingKind.EXIT_CODE and self.exit_code != 0
        )


def parse_ping(suffix: str) -> Ping:
    """What the part of a ping URL after ``/ping/`` says.

    ``<uuid>`` success, ``<uuid>/start``, ``<uuid>/fail``, ``<uuid>/<0-255>`` (the
    shell's ``$?``: 0 success, anything else failure). An unknown shape is 404 (no such
    URL); an exit status out of 0..255 is 400 (a URL that exists, called wrongly).
    """
    if len(suffix) > MAX_PING_PATH:
        raise InboundError(404, "not a ping URL")
    parts = suffix.split("/")
    if len(parts) > 2 or not _UUID.fullmatch(parts[0]):
        raise InboundError(404, "not a ping URL: expected /ping/<uuid>[/start|/fail|/<0-255>]")
    heartbeat_id = UUID(parts[0])
    if len(parts) == 1:
        return Ping(heartbeat_id, PingKind.SUCCESS)
    action = parts[1]
    if action == "start":
        return Ping(heartbeat_id, PingKind.START)
    if action == "fail":
        return Ping(heartbeat_id, PingKind.FAIL)
    if _NUMBER.fullmatch(action):
        if action.isdigit() and (action == "0" or not action.startswith("0")):
            code = int(action)
            if code <= 255:
                return Ping(heartbeat_id, PingKind.EXIT_CODE, code)
        raise InboundError(400, "exit status must be an integer from 0 to 255")
    raise InboundError(404, "unknown ping action; expected start, fail or an exit status")


@dataclass(frozen=True, slots=True)
class HeartbeatState:
    """What the pings so far said. `last_ping_at` is the last finished run (success or
    failure); a start alone does not count, so a job that starts and hangs goes late."""

    last_ping_at: datetime | None = None
    last_start_at: datetime | None = None
    last_outcome: Literal["success", "fail"] | None = None
    last_exit_code: int | None = None
    last_failure_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.last_start_at is not None and (
            self.last_ping_at is None or self.last_start_at > self.last_ping_at
        )


def apply_ping(state: HeartbeatState, ping: Ping, now: datetime) -> HeartbeatState:
    if ping.kind is PingKind.START:
        return replace(state, last_start_at=now)
    if ping.failed:
        return replace(
            state,
            last_ping_at=now,
            last_outcome="fail",
            last_exit_code=ping.exit_code,
            last_failure_at=now,
        )
    return replace(state, last_ping_at=now, last_outcome="success", last_exit_code=ping.exit_code)


class HeartbeatStatus(StrEnum):
    NEW = "new"  # never pinged, first ping not due yet
    UP = "up"
    LATE = "late"  # past due, within grace: no alert yet
    DOWN = "down"  # past due + grace, or a run past max_runtime: HeartbeatMissing
    RUNNING = "running"  # started, not finished, not past its limits
    FAILED = "failed"  # the last run reported failure: HeartbeatFailed


@dataclass(frozen=True, slots=True)
class Verdict:
    """`due_at`: when the next (or the missed) ping is or was due. `changes_at`: when
    the status will change if no ping arrives, so the engine can sleep until then."""

    status: HeartbeatStatus
    due_at: datetime | None
    reason: str
    changes_at: datetime | None = None


def judge(
    heartbeat: Heartbeat,
    state: HeartbeatState,
    now: datetime,
    started_at: datetime,
    *,
    default_zone: str = "UTC",
) -> Verdict:
    """The heartbeat's status at `now`.

    `started_at` is when monitoring began: a heartbeat never pinged is due one period
    (or the first cron fire) after it, and down a grace later, instead of never.
    """
    zone = ZoneInfo(heartbeat.timezone or default_zone)

    def at(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    overrun = (
        state.last_start_at + heartbeat.max_runtime
        if state.running and state.last_start_at is not None and heartbeat.max_runtime
        else None
    )
    reference = state.last_ping_at or started_at
    due = _next_due(heartbeat, reference, zone)
    deadline = due + heartbeat.grace
    if overrun is not None and state.last_start_at is not None and now >= overrun:
        limit = format_duration(heartbeat.max_runtime or timedelta(0))
        reason = (
            f"run started {at(state.last_start_at)} has not finished within "
            f"max_runtime {limit} (by {at(overrun)})"
        )
        return Verdict(HeartbeatStatus.DOWN, overrun, reason)
    if state.last_outcome == "fail" and state.last_failure_at is not None:
        code = f" with exit status {state.last_exit_code}" if state.last_exit_code else ""
        return Verdict(
            HeartbeatStatus.FAILED, due, f"last run failed at {at(state.last_failure_at)}{code}"
        )
    since = (
        f"last ping {at(state.last_ping_at)}"
        if state.last_ping_at is not None
        else f"never pinged since monitoring began {at(started_at)}"
    )
    if now >= deadline:
        reason = f"{since}; next was due {at(due)}, grace ended {at(deadline)}"
        return Verdict(HeartbeatStatus.DOWN, due, reason)
    if now >= due:
        status = HeartbeatStatus.RUNNING if state.running else HeartbeatStatus.LATE
        reason = f"{since}; next was due {at(due)}, within grace until {at(deadline)}"
        return Verdict(status, due, reason, _earliest(deadline, overrun))
    if state.running and state.last_start_at is not None:
        reason = f"run started {at(state.last_start_at)}; {since}; next due {at(due)}"
        return Verdict(HeartbeatStatus.RUNNING, due, reason, _earliest(due, overrun))
    status = HeartbeatStatus.NEW if state.last_ping_at is None else HeartbeatStatus.UP
    return Verdict(status, due, f"{since}; next due {at(due)}", due)


def _next_due(heartbeat: Heartbeat, reference: datetime, zone: ZoneInfo) -> datetime:
    if heartbeat.period is not None:
        return reference + heartbeat.period
    assert heartbeat.schedule is not None
    fire: datetime = croniter(heartbeat.schedule, reference.astimezone(zone)).get_next(datetime)
    return fire.astimezone(UTC)


def _earliest(first: datetime, second: datetime | None) -> datetime:
    return first if second is None else min(first, second)


def heartbeat_alerts(
    heartbeat: Heartbeat,
    verdict: Verdict,
    now: datetime,
    previous: Sequence[Alert] = (),
    *,
    default_zone: str = "UTC",
) -> list[Alert]:
    """The alerts to store for this verdict: the firing `HeartbeatMissing` (down) or
    `HeartbeatFailed` (failed), continuing the previous one if it is still firing, and
    every other previously firing alert of this heartbeat resolved at `now`.

    `previous` are the heartbeat's stored alerts. Empty when nothing is or was wrong.
    """
    name = {HeartbeatStatus.DOWN: MISSING, HeartbeatStatus.FAILED: FAILED}.get(verdict.status)
    labels = {"alertname": name or "", "heartbeat": heartbeat.name, "severity": heartbeat.severity}
    if heartbeat.service is not None:
        labels["service"] = heartbeat.service
    wanted = fingerprint(labels) if name is not None else None
    result = [
        alert.evolve(state=AlertState.RESOLVED, resolved_at=now, active_since=None, updated_at=now)
        for alert in previous
        if alert.is_firing and alert.fingerprint != wanted
    ]
    if name is None or wanted is None:
        return result
    verb = "is down" if name == MISSING else "reported a failure"
    annotations = {
        "summary": f"Heartbeat {heartbeat.name} {verb}: {verdict.reason}",
        "description": "\n\n".join(
            part
            for part in (
                f"Expected to ping {heartbeat.expectation(default_zone)}.",
                heartbeat.description,
            )
            if part
        ),
    }
    if verdict.due_at is not None:
        annotations["due_at"] = verdict.due_at.isoformat()
    ongoing = next((a for a in previous if a.fingerprint == wanted and a.is_firing), None)
    if ongoing is not None:
        result.append(ongoing.evolve(annotations=annotations, last_true_at=now, updated_at=now))
        return result
    result.append(
        Alert(
            fingerprint=wanted,
            rule=f"heartbeat:{heartbeat.name}",
            level=Level.CRITICAL,
            labels=labels,
            annotations=annotations,
            state=AlertState.FIRING,
            active_since=now,
            fired_at=now,
            last_true_at=now,
            updated_at=now,
        )
    )
    return result
