"""Build rules the way the config does, for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from opsbook.rules.model import Rule

T0 = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def rule(**fields: Any) -> Rule:
    """A rule from keyword fields; `for_` stands for the `for` key."""
    data: dict[str, Any] = {"name": fields.pop("name", "r"), **fields}
    if "for_" in data:
        data["for"] = data.pop("for_")
    return Rule.model_validate(data)
