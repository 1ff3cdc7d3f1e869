"""The series notation of rule tests, as promtool writes it: ``"100x10 300+50x3 _x2 7"``.

- ``a`` is one value; ``_`` is a missing one (no point at that step).
- ``a+bxN`` is a, a+b, a+2b, … a+N·b: the start and N more values (N+1 in all);
  ``a-bxN`` counts down; ``axN`` is ``a+0xN`` (a, N+1 times).
- ``_xN`` is N missing values.

A YAML list of numbers (``null`` or ``"_"`` for missing) is accepted too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

MAX_REPEAT = 100_000
MAX_VALUES = 1_000_000

_UNSIGNED = r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_NUMBER = rf"-?{_UNSIGNED}"
_TOKEN = re.compile(rf"^(?P<start>{_NUMBER})(?:(?P<sign>[+-])(?P<step>{_UNSIGNED}))?x(?P<n>\d+)$")
_SINGLE = re.compile(rf"^{_NUMBER}$")
_MISSING = re.compile(r"^_(?:x(?P<n>\d+))?$")


def _repeat(text: str, position: int) -> int:
    count = int(text)
    if count > MAX_REPEAT:
        raise ValueError(f"value {position}: repeat count {count} is over {MAX_REPEAT}")
    return count


def expand_values(text: str) -> list[float | None]:
    """Expand the notation; raises ValueError naming the value (1-based) that is wrong."""
    out: list[float | None] = []
    for position, token in enumerate(text.split(), start=1):
        single = _SINGLE.match(token)
        missing = _MISSING.match(token)
        series = _TOKEN.match(token)
        if single:
            out.append(float(token))
        elif missing:
            out.extend([None] * (_repeat(missing["n"], position) if missing["n"] else 1))
        elif series:
            start = float(series["start"])
            step = float(series["step"] or 0.0) * (-1 if series["sign"] == "-" else 1)
            count = _repeat(series["n"], position)
            out.extend(start + i * step for i in range(count + 1))
        else:
            raise ValueError(
                f"value {position} {token!r}: expected a number, '_', 'a+bxN', 'a-bxN', "
                "'axN' or '_xN'"
            )
        if len(out) > MAX_VALUES:
            raise ValueError(f"more than {MAX_VALUES} values")
        newest = out[-1] if out else None
        if newest is not None and not math.isfinite(newest):  # values grow monotonically
            raise ValueError(f"value {position} {token!r}: not a finite number")
    return out


def value_list(items: Sequence[object]) -> list[float | None]:
    """A YAML list of values: numbers, and null or '_' for missing ones."""
    out: list[float | None] = []
    for position, item in enumerate(items, start=1):
        if item is None or item == "_":
            out.append(None)
        elif isinstance(item, int | float) and not isinstance(item, bool):
            if not math.isfinite(item):
                raise ValueError(f"value {position}: must be a finite number")
            out.append(float(item))
        else:
            raise ValueError(f"value {position} {item!r}: expected a number, null or '_'")
    if len(out) > MAX_VALUES:
        raise ValueError(f"more than {MAX_VALUES} values")
    return out


def parse_values(value: object) -> list[float | None]:
    """Either form, for the test-file model."""
    if isinstance(value, str):
        return expand_values(value)
    if isinstance(value, list):
        return value_list(value)
    raise ValueError("expected a string like '1+1x10' or a list of numbers")
