"""Wall-clock values of on-call schedules and the one rule that turns them into instants.

Rotations hand off at a local time ("09:00 in Europe/Berlin"), so every boundary is a
local date and time that must become one instant, also on the days the clocks change.
The rule is the one iCalendar (RFC 5545) uses, and what Python's ``fold=0`` gives:

* a time the clocks skip (02:30 on the spring-forward Sunday in Berlin) is read with
  the offset in force before the jump, so it moves forward by the length of the gap
  (02:30 becomes 03:30 CEST);
* a time the clocks show twice (02:30 on the fall-back Sunday) is its first occurrence
  (02:30 CEST, not 02:30 CET).

Instants are returned in UTC on purpose: Python compares and subtracts two datetimes of
the same ``ZoneInfo`` by their wall-clock fields, which would make a 23-hour shift look
like 24 hours. In UTC, ``end - start`` is the real length.
"""

from __future__ import annotations

import difflib
import re
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from opsbook.config.types import Timezone

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_HH_MM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
TIME_PATTERN = r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$"
DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The zone of an IANA name (cached: schedules ask for it on every computation)."""
    return ZoneInfo(name)


ZoneName = Timezone


def instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant at which the wall clock in `tz` shows `at` on `day` (see the module
    docstring for skipped and repeated times)."""
    return datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=tz).astimezone(UTC)


def to_utc(value: datetime, tz: ZoneInfo) -> datetime:
    """An aware datetime as UTC; a naive one read as wall-clock time in `tz`."""
    if value.tzinfo is None:
        return instant(value.date(), value.time(), tz)
    return value.astimezone(UTC)


def require_aware(value: datetime, what: str) -> datetime:
    """`value` in UTC; a naive datetime is refused, since its meaning would be a guess."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {value.isoformat()}")
    return value.astimezone(UTC)


def parse_time_of_day(value: Any) -> time:
    """'09:00' (24-hour clock) -> time(9, 0)."""
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    if isinstance(value, bool):
        raise ValueError("expected a time of day as HH:MM, e.g. '09:00'")
    if isinstance(value, int):
        # YAML 1.1 reads an unquoted 10:30 as the base-60 number 630.
        hint = f"'{value // 60:02d}:{value % 60:02d}'" if 0 <= value < 24 * 60 else "'09:00'"
        raise ValueError(
            f"expected a time of day as HH:MM, got the number {value} "
            f"(YAML reads an unquoted 10:30 as a number); quote it: {hint}"
        )
    if isinstance(value, str):
        match = _HH_MM.match(value.strip())
        if match:
            return time(int(match.group(1)), int(match.group(2)))
    raise ValueError(f"expected a time of day as HH:MM (24-hour), e.g. '09:00', got {value!r}")


def _format_time(value: time) -> str:
    return value.strftime("%H:%M")


TimeOfDay = Annotated[
    time,
    BeforeValidator(parse_time_of_day),
    PlainSerializer(_format_time, return_type=str),
    WithJsonSchema({"type": "string", "pattern": TIME_PATTERN, "examples": ["09:00"]}),
]


def parse_weekday(value: Any) -> str:
    """'Monday' -> 'monday'; anything else is refused with the closest day name."""
    if isinstance(value, str):
        name = value.strip().lower()
        if name in WEEKDAYS:
            return name
        hint = difflib.get_close_matches(name, WEEKDAYS, n=1, cutoff=0.6)
        if hint:
            raise ValueError(f"unknown weekday {value!r}; did you mean {hint[0]!r}?")
    raise ValueError(f"unknown weekday {value!r}; use one of {', '.join(WEEKDAYS)}")


Weekday = Annotated[
    str,
    BeforeValidator(parse_weekday),
    WithJsonSchema({"type": "string", "enum": list(WEEKDAYS)}),
]


def parse_date(value: Any) -> date:
    """A calendar date: YAML's own date, or 'YYYY-MM-DD'. A time of day is refused: shifts
    start at the layer's handoff time."""
    if isinstance(value, datetime):
        raise ValueError(
            f"expected a date like 2026-01-05, got a date and time ({value.isoformat()}); "
            "shifts start at the layer's handoff time"
        )
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected a date like 2026-01-05, got {value!r}")


LocalDate = Annotated[
    date,
    BeforeValidator(parse_date),
    WithJsonSchema({"type": "string", "format": "date", "examples": ["2026-01-05"]}),
]


def parse_local_datetime(value: Any) -> datetime:
    """A date and time, naive (local to the schedule) or with an offset. A bare date
    means its midnight."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, str) and value.strip():
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(
        "expected a date and time like 2026-12-24T18:00 (in the schedule's timezone) or "
        f"2026-12-24T18:00+01:00, got {value!r}"
    )


def _format_datetime(value: datetime) -> str:
    return value.isoformat(timespec="minutes" if not value.second else "seconds")


LocalDateTime = Annotated[
    datetime,
    BeforeValidator(parse_local_datetime),
    PlainSerializer(_format_datetime, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DATETIME_PATTERN,
            "examples": ["2026-12-24T18:00", "2026-12-24T18:00:00+01:00"],
        }
    ),
]
