"""Hypothesis strategies: schedules of every rotation kind, in zones with and without DST
(and one that skipped a whole day), with overrides that straddle handoffs."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from hypothesis import reject
from hypothesis import strategies as st

from opsbook.oncall.localtime import WEEKDAYS
from opsbook.oncall.schedules import Schedule

ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/Santiago",  # clocks change at midnight
    "Pacific/Apia",  # skipped 2011-12-30 entirely
)
FIRST_DAY = date(2011, 12, 1)
LAST_DAY = date(2013, 3, 1)
RANGE_START = datetime(2011, 11, 20, tzinfo=UTC)
RANGE_END = datetime(2013, 3, 20, tzinfo=UTC)
PEOPLE = ("alice", "bob", "carol", "dave")

handoffs = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
instants = st.datetimes(
    min_value=RANGE_START.replace(tzinfo=None),
    max_value=RANGE_END.replace(tzinfo=None),
    timezones=st.just(UTC),
)


@st.composite
def layers(draw: st.DrawFn, name: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(["daily", "weekly", "custom"]))
    start = draw(st.dates(FIRST_DAY, LAST_DAY))
    data: dict[str, Any] = {
        "name": name,
        "rotation": kind,
        "handoff": draw(handoffs).strftime("%H:%M"),
        "start": start.isoformat(),
        "participants": draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=4)),
    }
    if kind == "weekly":
        data["handoff_day"] = WEEKDAYS[start.weekday()]
    if kind == "custom":
        hours = draw(st.one_of(st.integers(1, 72), st.sampled_from([24, 48, 72])))
        data["length"] = f"{hours}h"
    return data


@st.composite
def overrides(draw: st.DrawFn, layer_names: list[str]) -> dict[str, Any]:
    start = draw(instants)
    length = draw(st.integers(1, 24 * 10))
    data: dict[str, Any] = {
        "person": draw(st.sampled_from(PEOPLE)),
        "layer": draw(st.sampled_from(layer_names)),
        "start": start.isoformat(),
        "end": (start + timedelta(hours=length)).isoformat(),
        "reason": f"override of {length}h",
    }
    if draw(st.booleans()):  # the same, written as local wall-clock time
        data["start"], data["end"] = data["start"][:16], data["end"][:16]
    return data


@st.composite
def schedules(draw: st.DrawFn, max_overrides: int = 3) -> Schedule:
    names = ["primary", "secondary"][: draw(st.integers(1, 2))]
    drawn_layers = [draw(layers(name)) for name in names]
    drawn_overrides = draw(st.lists(overrides(names), max_size=max_overrides))
    try:
        return Schedule.model_validate(
            {
                "name": "backend",
                "timezone": draw(st.sampled_from(ZONES)),
                "layers": drawn_layers,
                "overrides": drawn_overrides,
            }
        )
    except ValueError:  # a local end that lands before its start in a DST gap
        reject()
