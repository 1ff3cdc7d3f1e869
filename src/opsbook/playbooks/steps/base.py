"""What every step kind provides, and what a step gets and gives back.

A kind is a config model plus two functions: `describe` says exactly what the step would
do with the values of this run (the dry run prints it, the audit record keeps it) and
`run` does it. Both take a `StepContext`; neither reads the clock, the environment or
the config except through it, so the runner decides what a step may touch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from opsbook.config.base import Section
from opsbook.config.redact import Redactor
from opsbook.playbooks.templating import render

if TYPE_CHECKING:
    from opsbook.config.models import Config

MAX_OUTPUT = 64 * 1024
"""Bytes of output kept per step (the rest is counted, not kept)."""


class StepStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"  # `when:` was false
    WAITING = "waiting"  # a manual step or an approval that nobody confirmed yet
    INTERRUPTED = "interrupted"  # the engine died while it ran


@dataclass(frozen=True, slots=True)
class StepResult:
    status: StepStatus
    summary: str = ""  # one line for the progress view and the timeline
    output: str = ""  # captured, capped, redacted
    exit_code: int | None = None
    vars: Mapping[str, Any] = field(default_factory=dict)  # values for later steps
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in (StepStatus.OK, StepStatus.SKIPPED)


@dataclass
class StepContext:
    """Everything a step may use. `values` holds what templates see: `params`, `vars`
    (every variable saved so far), `steps` (earlier results) and `alert` (when an alert
    started the run)."""

    config: Config
    values: dict[str, Any]
    env: dict[str, str]  # OPSBOOK_PARAM_* and OPSBOOK_VAR_*, added to commands' environment
    redactor: Redactor
    clock: Callable[[], datetime]
    timeout: timedelta
    run_id: int = 0
    actor: str = "opsbook"
    dry_run: bool = False
    on_output: Callable[[str], None] = lambda _line: None
    services: dict[str, Any] = field(default_factory=dict)  # runner hooks (run a playbook…)

    def render(self, text: str) -> str:
        return render(text, self.values)


C = TypeVar("C", bound=Section)


@dataclass(frozen=True)
class StepKind(Generic[C]):
    name: str
    config_model: type[C]
    run: Callable[[C, StepContext], Awaitable[StepResult]]
    describe: Callable[[C, StepContext], str]
    summary: str
    # Steps that touch nothing outside opsbook may run in a dry run (nothing to protect).
    safe_in_dry_run: bool = False
    default_timeout: Callable[[C], timedelta] | None = None  # else the runner's 5m


def clip(text: str, limit: int = MAX_OUTPUT) -> str:
    """At most `limit` characters, saying how much was dropped."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[… {len(text) - limit} more characters not kept]"
