"""The audit record of a playbook run and its steps, as plain values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class RunStatus(StrEnum):
    RUNNING = "running"
    WAITING = "waiting"  # a manual step or an approval needs a person
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # the process running it died; resumable
    ABANDONED = "abandoned"  # given up by a person after a wait or an interruption

    @property
    def finished(self) -> bool:
        return self in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.ABANDONED)


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: int
    playbook: str
    status: RunStatus
    params: Mapping[str, Any]
    started_by: str
    started_at: datetime
    heartbeat_at: datetime
    finished_at: datetime | None = None
    lock_key: str | None = None
    incident_id: int | None = None
    alert: str | None = None
    parent_id: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class StepRecord:
    run_id: int
    position: int
    name: str
    kind: str
    status: str
    rendered: str = ""
    output: str = ""
    exit_code: int | None = None
    vars: Mapping[str, Any] = field(default_factory=dict)
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    confirmed_by: str | None = None

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
