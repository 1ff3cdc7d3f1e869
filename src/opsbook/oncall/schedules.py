"""The `schedules:` of opsbook.yaml: rotation layers (primary, secondary, ...) in a
timezone, and overrides that hand a stretch of one layer to someone else.

The runbooks' "Week 1: Engineer A (Primary), Engineer B (Secondary)" is two weekly
layers over the same people, offset by one. The models only describe the schedule; who
is on call when is computed by `opsbook.oncall.rotation`.
"""

from __future__ import annotations

import difflib
from datetime import datetime, time, timedelta
from functools import cached_property
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationInfo, field_validator, model_validator

from opsbook.config.base import Name, Section
from opsbook.config.types import Duration, format_duration
from opsbook.oncall.localtime import (
    WEEKDAYS,
    LocalDate,
    LocalDateTime,
    TimeOfDay,
    Weekday,
    ZoneName,
    instant,
    to_utc,
    zone,
)

MIN_CUSTOM_LENGTH = timedelta(hours=1)
_PERIOD_DAYS = {"daily": 1, "weekly": 7}


class Layer(Section):
    """One rotation: its people take turns, one shift each, in the listed order."""

    name: Name = Field(description="e.g. primary, secondary; unique within the schedule.")
    rotation: Literal["daily", "weekly", "custom"] = Field(
        description="daily and weekly hand off at `handoff` local time; custom every `length`."
    )
    handoff: TimeOfDay = Field(
        default=time(9, 0), description="Local time of day shifts change, HH:MM (quote it)."
    )
    handoff_day: Weekday | None = Field(
        default=None, description="weekly only: the day shifts change. Default: monday."
    )
    length: Duration | None = Field(
        default=None,
        description="custom only, at least 1h. A whole number of days (2d, 48h) counts "
        "calendar days (handoff stays at the local time across DST); otherwise absolute time.",
    )
    start: LocalDate = Field(
        description="Local date the first shift starts (at the handoff time), with the first "
        "participant."
    )
    participants: list[Name] = Field(
        description="People (names from `people:`) in rotation order.",
        json_schema_extra={"minItems": 1},
    )

    @field_validator("participants")
    @classmethod
    def _someone(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("a layer needs at least one participant")
        return value

    @model_validator(mode="after")
    def _shape(self) -> Layer:
        kind = self.rotation
        if self.handoff_day is not None and kind != "weekly":
            raise ValueError(f"handoff_day is only for weekly rotations, not {kind}")
        if kind != "custom" and self.length is not None:
            days = _PERIOD_DAYS[kind]
            raise ValueError(
                f"length is only for custom rotations; a {kind} shift is {days} day"
                + ("s" if days > 1 else "")
                + " (use rotation: custom for another length)"
            )
        if kind == "custom":
            if self.length is None:
                raise ValueError("a custom rotation needs a length, e.g. 12h or 3d")
            if self.length < MIN_CUSTOM_LENGTH:
                raise ValueError(
                    f"length {format_duration(self.length)} is too short; use at least 1h"
                )
        if kind == "weekly":
            day = self.handoff_day or "monday"
            starts_on = WEEKDAYS[self.start.weekday()]
            if starts_on != day:
                ahead = (WEEKDAYS.index(day) - self.start.weekday()) % 7
                first = self.start + timedelta(days=ahead)
                raise ValueError(
                    f"start {self.start} is a {starts_on.title()} but shifts change on "
                    f"{day.title()}s; start on a {day.title()} (e.g. {first}) "
                    f"or set handoff_day: {starts_on}"
                )
        return self

    @property
    def period_days(self) -> int | None:
        """Shift length in calendar days, or None when shifts last a fixed time."""
        if self.rotation in _PERIOD_DAYS:
            return _PERIOD_DAYS[self.rotation]
        assert self.length is not None
        if self.length % timedelta(days=1):
            return None
        return self.length // timedelta(days=1)

    @property
    def period(self) -> timedelta:
        """Nominal shift length (a calendar-day shift is an hour shorter or longer on the
        days the clocks change)."""
        days = self.period_days
        if days is not None:
            return timedelta(days=days)
        assert self.length is not None
        return self.length

    def first_handoff(self, tz: ZoneInfo) -> datetime:
        """When the first shift starts (UTC)."""
        return instant(self.start, self.handoff, tz)


class Override(Section):
    """Someone else takes a layer for a while ("covers Christmas")."""

    person: Name = Field(description="Who is on call instead (a name from `people:`).")
    layer: Name | None = Field(
        default=None, description="The layer taken over. Default: the schedule's first layer."
    )
    start: LocalDateTime = Field(
        description="Local time in the schedule's timezone unless an offset is given, e.g. "
        "2026-12-24T18:00."
    )
    end: LocalDateTime = Field(description="When the regular rotation resumes.")
    reason: str = Field(default="", description="Shown on the calendar, e.g. 'swap with bob'.")

    @model_validator(mode="after")
    def _ordered(self) -> Override:
        # Mixed naive/aware ends are compared by the schedule, which knows the timezone.
        naive = self.start.tzinfo is None, self.end.tzinfo is None
        if naive[0] == naive[1] and self.end <= self.start:
            raise ValueError(
                f"end {self.end.isoformat()} is not after start {self.start.isoformat()}"
            )
        return self


class Schedule(Section):
    name: Name = Field(description="Referenced by escalation targets: schedule:<name>.")
    description: str = ""
    timezone: ZoneName = Field(
        description="IANA timezone whose wall clock the handoffs follow, e.g. Europe/Berlin."
    )
    layers: list[Layer] = Field(
        description="Ordered: the first is the primary (what `schedule:<name>` pages).",
        json_schema_extra={"minItems": 1},
    )
    overrides: list[Override] = Field(
        default_factory=list,
        description="Stretches of a layer given to someone else; a later entry wins where "
        "two overlap.",
    )

    @field_validator("layers")
    @classmethod
    def _distinct_layers(cls, value: list[Layer]) -> list[Layer]:
        if not value:
            raise ValueError("a schedule needs at least one layer")
        seen: set[str] = set()
        for index, layer in enumerate(value):
            if layer.name in seen:
                raise ValueError(f"layers[{index}]: duplicate layer name {layer.name!r}")
            seen.add(layer.name)
        return value

    @field_validator("overrides")
    @classmethod
    def _resolve_overrides(cls, value: list[Override], info: ValidationInfo) -> list[Override]:
        """Pin each override to its layer and to UTC instants, once, at load time."""
        name, layers = info.data.get("timezone"), info.data.get("layers")
        if name is None or layers is None:  # reported on its own key
            return value
        tz = zone(name)
        names = [layer.name for layer in layers]
        resolved = []
        for index, override in enumerate(value):
            layer = override.layer or names[0]
            if layer not in names:
                hint = difflib.get_close_matches(layer, names, n=1, cutoff=0.6)
                known = f"did you mean {hint[0]!r}?" if hint else f"layers: {', '.join(names)}"
                raise ValueError(f"overrides[{index}]: unknown layer {layer!r}; {known}")
            start, end = to_utc(override.start, tz), to_utc(override.end, tz)
            if end <= start:
                raise ValueError(
                    f"overrides[{index}]: end {override.end.isoformat()} is not after start "
                    f"{override.start.isoformat()} in {name}"
                )
            pinned = {"layer": layer, "start": start, "end": end}
            resolved.append(override.model_copy(update=pinned))
        return resolved

    @cached_property
    def zone(self) -> ZoneInfo:
        return zone(self.timezone)

    @property
    def primary(self) -> Layer:
        return self.layers[0]

    def layer(self, name: str | None = None) -> Layer | None:
        """The named layer; the first (primary) one for None."""
        if name is None:
            return self.layers[0]
        return next((layer for layer in self.layers if layer.name == name), None)

    def overrides_of(self, layer: str) -> list[tuple[int, Override]]:
        """The overrides of one layer with their position in the list (later ones win)."""
        return [(i, o) for i, o in enumerate(self.overrides) if o.layer == layer]

    def participants(self) -> set[str]:
        """Everyone the schedule can put on call."""
        people = {person for layer in self.layers for person in layer.participants}
        return people | {override.person for override in self.overrides}
