"""Small value types used across opsbook.yaml: durations, byte sizes, threshold bounds.

Each parses the human form the runbooks use ("5m", "100MB", "> 80") into a plain value
once, at load time, and carries a JSON Schema so editors can validate the text form.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BeforeValidator,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
)

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_DURATION_UNITS = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}
DURATION_PATTERN = r"^(\d+(\.\d+)?(ms|s|m|h|d|w))+$"


def parse_duration(value: object) -> timedelta:
    """Parse '500ms', '30s', '5m', '1h', '7d', '2w' or a combination such as '1h30m'.

    Bare numbers are refused on purpose: "timeout: 5" is ambiguous (seconds? minutes?)
    and the runbooks always say the unit.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        if isinstance(value, int | float):
            raise ValueError(f"expected a duration like '5s', got the number {value}: add a unit")
        raise ValueError("expected a duration like '5s'")
    text = value.strip().replace(" ", "")
    pos = 0
    total = 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos == 0 or pos != len(text):
        raise ValueError(f"expected a duration like '5s', got {value!r}")
    return timedelta(seconds=total)


def format_duration(value: timedelta) -> str:
    """The shortest exact text form of a duration, as accepted by `parse_duration`."""
    ms = round(value.total_seconds() * 1000)
    if ms == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    if ms:
        parts.append(f"{ms}ms")
    return "".join(parts)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "examples": ["500ms", "30s", "5m", "1h", "7d"],
        }
    ),
]

_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}


def parse_size(value: object) -> int:
    """Parse a byte size: 1024, '10KB', '1.5MiB', '2GB'."""
    if isinstance(value, bool):
        raise ValueError("expected a size like '10MB'")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a size cannot be negative")
        return value
    if not isinstance(value, str):
        raise ValueError("expected a size like '10MB'")
    match = _SIZE.match(value.strip())
    if not match:
        raise ValueError(f"expected a size like '10MB', got {value!r}")
    unit = (match.group(2) or "B").lower()
    return int(float(match.group(1)) * _SIZE_UNITS[unit])


ByteSize = Annotated[
    int,
    BeforeValidator(parse_size),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": r"^\d+(\.\d+)?\s*([KMGTkmgt]i?[Bb]|[Bb])?$"},
            ],
            "examples": ["512KB", "10MB", "1GiB"],
        }
    ),
]

_COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
_BOUND = re.compile(r"^\s*(>=|<=|==|!=|>|<)?\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$")
BOUND_PATTERN = r"^\s*(>=|<=|==|!=|>|<)?\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$"


@dataclass(frozen=True, slots=True)
class Bound:
    """A comparison a sample value must NOT satisfy: '> 500' is breached by 612.

    A bare number means '>' (the common "warning: 200" for latencies).
    """

    op: str
    limit: float

    def breached_by(self, value: float) -> bool:
        if math.isnan(value):
            return False
        return _COMPARATORS[self.op](value, self.limit)

    def __str__(self) -> str:
        limit = int(self.limit) if self.limit.is_integer() else self.limit
        return f"{self.op} {limit}"


def parse_bound(value: object) -> Bound:
    if isinstance(value, Bound):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a bound like '> 80' or a number")
    if isinstance(value, int | float):
        return Bound(">", float(value))
    if isinstance(value, str):
        match = _BOUND.match(value)
        if match:
            return Bound(match.group(1) or ">", float(match.group(2)))
    raise ValueError(f"expected a bound like '> 80', '< 14' or '== 0', got {value!r}")


def _serialize_bound(bound: Bound) -> str:
    return str(bound)


BoundType = Annotated[
    Bound,
    PlainValidator(parse_bound),
    PlainSerializer(_serialize_bound, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [{"type": "number"}, {"type": "string", "pattern": BOUND_PATTERN}],
            "examples": ["> 80", "< 14", "== 0", 500],
        }
    ),
]


def valid_regex(value: str | None) -> str | None:
    """A pattern field's validator: a pattern that does not compile is a config error
    (with the reason) instead of a check that fails on every run."""
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
    return value


def _valid_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {name!r}; use an IANA name like 'Europe/Berlin'"
        ) from None
    return name


Timezone = Annotated[str, AfterValidator(_valid_timezone)]
"""An IANA zone name (Europe/Berlin), checked at load: handoffs, cron windows, reports."""
