"""The alert record every stage after rule evaluation works on."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any


class Level(StrEnum):
    """How bad a rule's value is right now; each non-OK level is its own alert."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertState(StrEnum):
    INACTIVE = "inactive"  # condition false (never true, or true for less than nothing)
    PENDING = "pending"  # condition true, waiting out `for:`
    FIRING = "firing"
    RESOLVED = "resolved"  # was firing, condition false (past keep_firing_for)


def fingerprint(labels: Mapping[str, str]) -> str:
    """Stable identity of an alert: a hash of its sorted labels (Alertmanager's idea)."""
    digest = hashlib.sha256()
    for key in sorted(labels):
        digest.update(key.encode())
        digest.update(b"\x00")
        digest.update(labels[key].encode())
        digest.update(b"\x01")
    return digest.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert (a rule at one level, or an inbound event) and its lifecycle timestamps.

    `flips` keeps the recent times the alert started or stopped firing, so flapping can
    be judged from the record alone, without a side table.
    """

    fingerprint: str
    rule: str
    level: Level
    labels: Mapping[str, str]
    annotations: Mapping[str, str] = field(default_factory=dict)
    state: AlertState = AlertState.INACTIVE
    active_since: datetime | None = None  # condition became true (start of pending)
    fired_at: datetime | None = None
    resolved_at: datetime | None = None
    last_true_at: datetime | None = None  # last evaluation with the condition true
    value: float | None = None  # last evaluated value
    fired_value: float | None = None  # value when it started firing
    flips: tuple[datetime, ...] = ()
    flapping: bool = False
    updated_at: datetime | None = None

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")

    @property
    def service(self) -> str | None:
        return self.labels.get("service")

    @property
    def is_firing(self) -> bool:
        return self.state is AlertState.FIRING

    def evolve(self, **changes: Any) -> Alert:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        def stamp(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "fingerprint": self.fingerprint,
            "rule": self.rule,
            "level": self.level.value,
            "state": self.state.value,
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "active_since": stamp(self.active_since),
            "fired_at": stamp(self.fired_at),
            "resolved_at": stamp(self.resolved_at),
            "value": self.value,
            "fired_value": self.fired_value,
            "flapping": self.flapping,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Alert:
        """The inverse of `to_json` (timestamps it does not carry come back as None)."""

        def stamp(value: Any) -> datetime | None:
            return datetime.fromisoformat(value) if value else None

        def number(value: Any) -> float | None:
            return None if value is None else float(value)

        return cls(
            fingerprint=str(data["fingerprint"]),
            rule=str(data["rule"]),
            level=Level(data["level"]),
            labels={str(k): str(v) for k, v in dict(data.get("labels") or {}).items()},
            annotations={str(k): str(v) for k, v in dict(data.get("annotations") or {}).items()},
            state=AlertState(data.get("state", AlertState.INACTIVE.value)),
            active_since=stamp(data.get("active_since")),
            fired_at=stamp(data.get("fired_at")),
            resolved_at=stamp(data.get("resolved_at")),
            last_true_at=stamp(data.get("last_true_at")),
            value=number(data.get("value")),
            fired_value=number(data.get("fired_value")),
            flips=tuple(datetime.fromisoformat(f) for f in data.get("flips") or ()),
            flapping=bool(data.get("flapping", False)),
            updated_at=stamp(data.get("updated_at")),
        )
