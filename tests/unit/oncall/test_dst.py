"""Rotations across DST changes and leap days.

Handoffs follow the local wall clock: a daily shift that spans spring-forward lasts 23
hours, one that spans fall-back 25 hours, and the next handoff is at 09:00 again. A
handoff time the clocks skip moves forward by the gap; one they repeat is the first.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from itertools import pairwise

import pytest

from opsbook.oncall.localtime import instant, zone
from opsbook.oncall.rotation import on_call, shifts
from tests.unit.oncall.factory import layer, local, schedule, utc

HOUR = timedelta(hours=1)
# zone, the day the clocks go forward, the day they go back (2026; Sydney is southern)
TRANSITIONS = [
    ("Europe/Berlin", date(2026, 3, 29), date(2026, 10, 25)),
    ("America/New_York", date(2026, 3, 8), date(2026, 11, 1)),
    ("Australia/Sydney", date(2026, 10, 4), date(2026, 4, 5)),
]


def _day(day: date, hour: int, name: str) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone(name))


@pytest.mark.parametrize(("name", "forward", "back"), TRANSITIONS)
def test_daily_shifts_are_23_and_25_hours_and_hand_off_at_0900(
    name: str, forward: date, back: date
) -> None:
    sched = schedule(
        layer(rotation="daily", start="2026-01-01", participants=("alice", "bob")), timezone=name
    )
    for change, length in ((forward, 23 * HOUR), (back, 25 * HOUR)):
        around = shifts(
            sched, _day(change, 9, name) - 2 * 24 * HOUR, _day(change, 9, name) + 48 * HOUR
        )
        by_start = {s.start.astimezone(sched.zone).date(): s for s in around}
        assert all(s.start.astimezone(sched.zone).time() == time(9) for s in around[1:])
        across = by_start[change - timedelta(days=1)]  # 09:00 the day before to 09:00 that day
        assert across.duration == length
        assert by_start[change].duration == 24 * HOUR
        assert by_start[change - timedelta(days=2)].duration == 24 * HOUR


@pytest.mark.parametrize(("name", "forward", "back"), TRANSITIONS)
def test_weekly_shifts_lose_or_gain_the_hour(name: str, forward: date, back: date) -> None:
    sched = schedule(
        layer(rotation="weekly", handoff_day="monday", start="2026-01-05"), timezone=name
    )
    for change, length in ((forward, 167 * HOUR), (back, 169 * HOUR)):
        found = shifts(sched, _day(change, 12, name) - HOUR, _day(change, 12, name))
        (shift,) = found
        monday = change - timedelta(days=6)
        whole = shifts(sched, _day(monday, 9, name), _day(monday + timedelta(days=7), 9, name))
        assert [s.duration for s in whole] == [length]
        assert whole[0].end.astimezone(sched.zone).time() == time(9)
        assert whole[0].person == shift.person


@pytest.mark.parametrize(
    ("name", "day", "handoff", "expected"),
    [
        ("Europe/Berlin", date(2026, 3, 29), "02:30", "2026-03-29 01:30"),  # 03:30 CEST
        ("America/New_York", date(2026, 3, 8), "02:30", "2026-03-08 07:30"),  # 03:30 EDT
        ("Australia/Sydney", date(2026, 10, 4), "02:30", "2026-10-03 16:30"),  # 03:30 AEDT
    ],
)
def test_a_skipped_handoff_time_moves_forward_by_the_gap(
    name: str, day: date, handoff: str, expected: str
) -> None:
    sched = schedule(
        layer(rotation="daily", handoff=handoff, start="2026-01-01", participants=("alice", "bob")),
        timezone=name,
    )
    found = shifts(sched, _day(day, 0, name) - 24 * HOUR, _day(day, 0, name) + 48 * HOUR)
    starts = [s.start for s in found]
    assert utc(expected) in starts
    assert utc(expected).astimezone(sched.zone).time() == time(3, 30)
    gap_day = next(s for s in found if s.start == utc(expected))
    before = next(s for s in found if s.end == utc(expected))
    assert before.duration == 24 * HOUR  # 02:30 standard time to the moved 03:30 summer time
    assert gap_day.duration == 23 * HOUR  # back to 02:30 the next day
    assert gap_day.end.astimezone(sched.zone).time() == time(2, 30)


@pytest.mark.parametrize(
    ("name", "day", "handoff", "expected"),
    [
        ("Europe/Berlin", date(2026, 10, 25), time(2, 30), "2026-10-25 00:30"),  # CEST
        ("America/New_York", date(2026, 11, 1), time(1, 30), "2026-11-01 05:30"),  # EDT
        ("Australia/Sydney", date(2026, 4, 5), time(2, 30), "2026-04-04 15:30"),  # AEDT
    ],
)
def test_a_repeated_handoff_time_is_its_first_occurrence(
    name: str, day: date, handoff: time, expected: str
) -> None:
    assert instant(day, handoff, zone(name)) == utc(expected)
    sched = schedule(
        layer(rotation="daily", handoff=handoff.strftime("%H:%M"), start="2026-01-01"),
        timezone=name,
    )
    assert on_call(sched, utc(expected) - timedelta(microseconds=1)) != on_call(
        sched, utc(expected)
    )


def test_hour_lengths_keep_absolute_time_and_move_on_the_wall_clock() -> None:
    sched = schedule(
        layer(
            rotation="custom",
            length="12h",
            handoff="09:00",
            start="2026-03-27",
            participants=("alice", "bob"),
        )
    )
    found = shifts(sched, local("2026-03-28 09:00"), local("2026-03-30 10:00"))
    assert all(s.duration == 12 * HOUR for s in found)
    assert [s.start.astimezone(sched.zone).hour for s in found] == [9, 21, 10, 22]


def test_day_lengths_count_calendar_days() -> None:
    sched = schedule(
        layer(
            rotation="custom",
            length="2d",
            handoff="09:00",
            start="2026-03-27",
            participants=("alice", "bob"),
        )
    )
    found = shifts(sched, local("2026-03-27 09:00"), local("2026-04-02 09:00"))
    assert [s.duration for s in found] == [47 * HOUR, 48 * HOUR, 48 * HOUR]
    assert {s.start.astimezone(sched.zone).time() for s in found} == {time(9)}


def test_an_override_in_local_time_spans_real_hours() -> None:
    sched = schedule(
        layer(rotation="daily"),
        overrides=({"person": "dave", "start": "2026-03-29T01:00", "end": "2026-03-29T04:00"},),
    )
    (covering,) = [
        s for s in shifts(sched, local("2026-03-29 00:00"), local("2026-03-30 00:00")) if s.override
    ]
    assert covering.duration == 2 * HOUR


def test_leap_day() -> None:
    daily = schedule(layer(rotation="daily", start="2028-02-27"))
    found = shifts(daily, local("2028-02-27 09:00"), local("2028-03-02 09:00"))
    assert [(s.start.astimezone(daily.zone).date(), s.person) for s in found] == [
        (date(2028, 2, 27), "alice"),
        (date(2028, 2, 28), "bob"),
        (date(2028, 2, 29), "carol"),
        (date(2028, 3, 1), "alice"),
    ]
    assert all(s.duration == 24 * HOUR for s in found)
    # a weekly rotation that starts on a leap day hands off on Tuesdays
    weekly = schedule(layer(handoff_day="tuesday", start="2028-02-29"))
    assert on_call(weekly, local("2028-03-07 08:59")) == "alice"
    assert on_call(weekly, local("2028-03-07 09:00")) == "bob"
    # a year later there is no Feb 29: a 1d custom rotation simply keeps counting days
    custom = schedule(
        layer(rotation="custom", length="1d", start="2028-02-29", participants=("alice", "bob"))
    )
    assert on_call(custom, local("2029-02-28 12:00")) == "bob"  # shift 365
    assert on_call(custom, local("2029-03-01 12:00")) == "alice"  # shift 366


def test_a_start_date_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValueError, match="expected a date like 2026-01-05, got '2027-02-29'"):
        schedule(layer(rotation="daily", start="2027-02-29"))


def test_a_day_the_zone_skipped_gives_an_empty_shift() -> None:
    """Samoa skipped 2011-12-30: the shift of that date is empty, the one before runs
    until 09:00 on the 31st; the rotation stays contiguous."""
    sched = schedule(layer(rotation="daily", start="2011-12-27"), timezone="Pacific/Apia")
    found = shifts(
        sched, local("2011-12-28 09:00", "Pacific/Apia"), local("2012-01-01 09:00", "Pacific/Apia")
    )
    assert [(s.start.astimezone(sched.zone).date(), s.person) for s in found] == [
        (date(2011, 12, 28), "bob"),
        (date(2011, 12, 29), "carol"),
        (date(2011, 12, 31), "bob"),  # shift 4: 'alice' had the day that did not exist
    ]
    assert all(a.end == b.start for a, b in pairwise(found))
