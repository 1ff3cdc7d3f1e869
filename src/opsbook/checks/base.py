"""The small protocol every check kind follows.

A kind is a pydantic config model (the block under the kind's key in a check, e.g.
``http:``) plus one async ``probe`` function that returns an `Observation`. The runner adds
timing, timeouts, thresholds and error translation, so a probe only talks to its target.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from opsbook.config.types import Duration
from opsbook.status import Status

if TYPE_CHECKING:
    from opsbook.checks.context import ProbeContext


class ProbeConfig(BaseModel):
    """Base of every kind's config block: strict (unknown keys are errors) and immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout: Duration = timedelta(seconds=10)


@dataclass(slots=True)
class Observation:
    """What a probe saw: its own verdict, a one-line message and numeric samples."""

    status: Status
    message: str
    samples: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One run of one check, after thresholds: what the store records and reports show."""

    check: str
    service: str | None
    status: Status
    message: str
    started_at: datetime
    duration_s: float
    samples: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "service": self.service,
            "status": self.status.label,
            "exit_code": int(self.status),
            "message": self.message,
            "started_at": self.started_at.isoformat(),
            "duration_ms": round(self.duration_s * 1000, 3),
            "samples": dict(self.samples),
        }


class ProbeFailure(Exception):  # noqa: N818 - it is a result, not a programming error
    """Raised by a probe for an expected failure of the target (refused, bad answer)."""

    def __init__(
        self, status: Status, message: str, samples: Mapping[str, float] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.samples = dict(samples or {})


C = TypeVar("C", bound=ProbeConfig)


@dataclass(frozen=True)
class CheckKind(Generic[C]):
    """Registration record of one kind: its config model, probe and documentation."""

    name: str
    config_model: type[C]
    probe: Callable[[C, ProbeContext], Awaitable[Observation]]
    summary: str
    # Sample names the kind emits; None where names come from the user's config or target.
    samples: Callable[[C], frozenset[str] | None] = lambda _cfg: None
    # Thresholds applied when the check sets none for that sample (e.g. TLS 14 / 7 days).
    default_thresholds: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
