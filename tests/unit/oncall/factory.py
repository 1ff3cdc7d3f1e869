"""Schedules and policies for the on-call tests, built the way opsbook.yaml spells them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from opsbook.oncall.escalation import EscalationPolicy
from opsbook.oncall.schedules import Schedule


def layer(
    name: str = "primary",
    rotation: str = "weekly",
    start: str = "2026-01-05",
    participants: tuple[str, ...] = ("alice", "bob", "carol"),
    **extra: Any,
) -> dict[str, Any]:
    return {
        "name": name,
        "rotation": rotation,
        "start": start,
        "participants": list(participants),
        **extra,
    }


def schedule(
    *layers: dict[str, Any],
    timezone: str = "Europe/Berlin",
    overrides: tuple[dict[str, Any], ...] = (),
    name: str = "backend",
) -> Schedule:
    return Schedule.model_validate(
        {
            "name": name,
            "timezone": timezone,
            "layers": list(layers) or [layer()],
            "overrides": list(overrides),
        }
    )


def policy(*levels: dict[str, Any], repeat: int = 0, **extra: Any) -> EscalationPolicy:
    return EscalationPolicy.model_validate(
        {"name": "default", "levels": list(levels), "repeat": repeat, **extra}
    )


def local(text: str, zone: str = "Europe/Berlin") -> datetime:
    """A wall-clock time in `zone` ('2026-03-29 09:00'), as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
