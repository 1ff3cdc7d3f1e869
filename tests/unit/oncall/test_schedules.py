"""`schedules:` models: what a schedule may say, and the errors for what it may not."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from opsbook.oncall.schedules import Layer, Schedule
from tests.unit.oncall.factory import layer, schedule, utc


def test_defaults_and_periods() -> None:
    weekly = Layer.model_validate(layer())
    assert weekly.handoff == time(9, 0)
    assert weekly.handoff_day is None
    assert weekly.period_days == 7
    daily = Layer.model_validate(layer(rotation="daily", start="2026-01-07"))
    assert daily.period_days == 1
    hours = Layer.model_validate(layer(rotation="custom", length="12h", start="2026-01-07"))
    assert hours.period_days is None
    assert hours.period == timedelta(hours=12)
    days = Layer.model_validate(layer(rotation="custom", length="48h", start="2026-01-07"))
    assert days.period_days == 2  # a whole number of days counts calendar days


def test_the_yaml_forms_are_accepted() -> None:
    parsed = Layer.model_validate(
        layer(handoff="9:30", handoff_day="Tuesday", start=date(2026, 1, 6))
    )
    assert parsed.handoff == time(9, 30)
    assert parsed.handoff_day == "tuesday"
    assert parsed.model_dump(mode="json")["handoff"] == "09:30"


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        Schedule.model_validate(data)
    return str(caught.value)


BASE: dict[str, Any] = {"name": "backend", "timezone": "Europe/Berlin"}


@pytest.mark.parametrize(
    ("layer_data", "message"),
    [
        (layer(handoff_day="mondy"), "unknown weekday 'mondy'; did you mean 'monday'?"),
        (layer(handoff_day="payday"), "unknown weekday 'payday'; use one of monday"),
        (
            layer(handoff="9am"),
            "expected a time of day as HH:MM (24-hour), e.g. '09:00', got '9am'",
        ),
        (layer(handoff="24:00"), "expected a time of day as HH:MM"),
        (
            layer(handoff=630),
            "got the number 630 (YAML reads an unquoted 10:30 as a number); quote it: '10:30'",
        ),
        (layer(participants=()), "a layer needs at least one participant"),
        (layer(rotation="custom", start="2026-01-07"), "a custom rotation needs a length"),
        (layer(rotation="custom", length="30m"), "length 30m is too short; use at least 1h"),
        (layer(length="2d"), "length is only for custom rotations; a weekly shift is 7 days"),
        (layer(rotation="daily", length="1d"), "a daily shift is 1 day (use rotation: custom"),
        (
            layer(rotation="daily", handoff_day="monday"),
            "handoff_day is only for weekly rotations, not daily",
        ),
        (
            layer(start="2026-01-07"),
            "start 2026-01-07 is a Wednesday but shifts change on Mondays; start on a Monday (e.g. 2026-01-12) or set handoff_day: wednesday",
        ),
        (layer(start="2026-01-05T09:00:00"), "expected a date like 2026-01-05"),
        (layer(rotation="hourly"), "'daily', 'weekly' or 'custom'"),
    ],
)
def test_layer_errors(layer_data: dict[str, Any], message: str) -> None:
    assert message in _error({**BASE, "layers": [layer_data]})


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"timezone": "Europe/Berlinn"}, "unknown timezone 'Europe/Berlinn'"),
        ({"layers": []}, "a schedule needs at least one layer"),
        ({"layers": [layer(), layer()]}, "layers[1]: duplicate layer name 'primary'"),
        (
            {
                "overrides": [
                    {"person": "dave", "start": "2026-12-27T09:00", "end": "2026-12-24T18:00"}
                ]
            },
            "end 2026-12-24T18:00:00 is not after start 2026-12-27T09:00:00",
        ),
        (
            {
                "overrides": [
                    {"person": "dave", "start": "2026-12-24T18:00", "end": "2026-12-24T18:00"}
                ]
            },
            "is not after start",
        ),
        (
            # 18:00 in Berlin is 17:00Z: an end at 17:30+00:00 is after it, 16:30+00:00 is not
            {
                "overrides": [
                    {"person": "dave", "start": "2026-12-24T18:00", "end": "2026-12-24T16:30+00:00"}
                ]
            },
            "overrides[0]: end 2026-12-24T16:30:00+00:00 is not after start 2026-12-24T18:00:00 in Europe/Berlin",
        ),
        (
            {
                "overrides": [
                    {
                        "person": "dave",
                        "layer": "primay",
                        "start": "2026-12-24T18:00",
                        "end": "2026-12-25T09:00",
                    }
                ]
            },
            "overrides[0]: unknown layer 'primay'; did you mean 'primary'?",
        ),
        (
            {"overrides": [{"person": "dave", "start": "Christmas", "end": "2026-12-25T09:00"}]},
            "expected a date and time like 2026-12-24T18:00",
        ),
    ],
)
def test_schedule_errors(extra: dict[str, Any], message: str) -> None:
    assert message in _error({**BASE, "layers": [layer()], **extra})


def test_overrides_are_pinned_to_a_layer_and_to_utc() -> None:
    sched = schedule(
        layer(),
        layer("secondary"),
        overrides=(
            {"person": "dave", "start": "2026-12-24T18:00", "end": "2026-12-27T09:00"},
            {
                "person": "erin",
                "layer": "secondary",
                "start": "2026-07-01T10:00:00-04:00",
                "end": "2026-07-02",
                "reason": "swap with bob",
            },
        ),
    )
    first, second = sched.overrides
    assert (first.layer, first.start, first.end) == (
        "primary",
        utc("2026-12-24 17:00"),  # CET
        utc("2026-12-27 08:00"),
    )
    # an offset is kept; a bare date is midnight in the schedule's timezone (CEST)
    assert (second.layer, second.start, second.end) == (
        "secondary",
        utc("2026-07-01 14:00"),
        utc("2026-07-01 22:00"),
    )
    assert sched.overrides_of("secondary") == [(1, second)]
    assert sched.participants() == {"alice", "bob", "carol", "dave", "erin"}


def test_a_validated_schedule_survives_a_round_trip() -> None:
    sched = schedule(
        layer(rotation="custom", length="36h", handoff="21:00", start="2026-01-07"),
        overrides=({"person": "dave", "start": "2026-03-29T02:30", "end": "2026-03-30T00:00"},),
    )
    again = Schedule.model_validate(sched.model_dump(mode="json"))
    assert again == sched


def test_layer_lookup() -> None:
    sched = schedule(layer(), layer("secondary"))
    assert sched.layer() is sched.primary
    assert sched.layer("secondary") is sched.layers[1]
    assert sched.layer("tertiary") is None
