"""Rotation arithmetic: who is on call when, shifts, overrides, handoffs.

The properties hold for every rotation kind, in zones with DST (and one that skipped a
day), with overrides placed anywhere: each instant has at most one person per layer,
`on_call` agrees with `shifts`, shifts tile the range, and overrides never disturb the
regular rotation outside them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from opsbook.errors import UsageError
from opsbook.oncall.rotation import (
    Shift,
    current_shift,
    next_handoff,
    on_call,
    on_call_all,
    shifts,
)
from opsbook.oncall.schedules import Schedule
from tests.unit.oncall.factory import layer, local, schedule, utc
from tests.unit.oncall.strategies import RANGE_END, RANGE_START, instants, schedules

TICK = timedelta(microseconds=1)


def runbook_schedule(*overrides: dict[str, str]) -> Schedule:
    """practice-app: "Week 1: Engineer A (Primary), Engineer B (Secondary); Week 2: B, C;
    Week 3: C, A"."""
    return schedule(
        layer("primary", participants=("alice", "bob", "carol")),
        layer("secondary", participants=("bob", "carol", "alice")),
        overrides=overrides,
    )


def test_the_runbook_rotation_week_by_week() -> None:
    sched = runbook_schedule()
    weeks = [local(f"2026-01-{day:02d} 12:00") for day in (5, 12, 19, 26)]
    assert [on_call_all(sched, at) for at in weeks] == [
        {"primary": "alice", "secondary": "bob"},
        {"primary": "bob", "secondary": "carol"},
        {"primary": "carol", "secondary": "alice"},
        {"primary": "alice", "secondary": "bob"},
    ]


def test_handoff_is_at_the_local_time() -> None:
    sched = runbook_schedule()
    assert on_call(sched, local("2026-01-12 08:59")) == "alice"
    assert on_call(sched, local("2026-01-12 09:00")) == "bob"
    assert on_call(sched, local("2026-01-12 09:00"), "secondary") == "carol"


def test_nobody_before_the_start_unless_an_override_says_so() -> None:
    sched = runbook_schedule(
        {"person": "dave", "start": "2026-01-01T00:00", "end": "2026-01-02T00:00"}
    )
    assert on_call(sched, local("2026-01-05 08:59")) is None
    assert on_call(sched, local("2026-01-01 12:00")) == "dave"
    assert current_shift(sched, local("2026-01-03 12:00")) is None
    assert next_handoff(sched, None, local("2026-01-03 12:00")) == utc("2026-01-05 08:00")
    assert next_handoff(sched, None, local("2025-12-31 12:00")) == utc("2025-12-31 23:00")


def test_an_override_straddling_a_handoff() -> None:
    """dave covers Sunday 18:00 to Tuesday 09:00; the Monday handoff still happens under
    the override, so carol (not bob) takes over on Tuesday."""
    sched = runbook_schedule(
        {
            "person": "dave",
            "start": "2026-01-11T18:00",
            "end": "2026-01-13T09:00",
            "reason": "covers the offsite",
        }
    )
    found = [
        s
        for s in shifts(sched, local("2026-01-05 09:00"), local("2026-01-19 09:00"))
        if s.layer == "primary"
    ]
    assert [(s.person, s.start, s.end, s.override, s.reason) for s in found] == [
        ("alice", utc("2026-01-05 08:00"), utc("2026-01-11 17:00"), False, ""),
        ("dave", utc("2026-01-11 17:00"), utc("2026-01-13 08:00"), True, "covers the offsite"),
        ("bob", utc("2026-01-13 08:00"), utc("2026-01-19 08:00"), False, ""),
    ]
    assert on_call(sched, local("2026-01-19 09:00")) == "carol"  # as if uninterrupted
    assert on_call(sched, local("2026-01-12 12:00"), "secondary") == "carol"  # other layer
    assert current_shift(sched, local("2026-01-12 12:00")) == found[1]
    assert next_handoff(sched, "primary", local("2026-01-11 12:00")) == utc("2026-01-11 17:00")
    assert next_handoff(sched, "primary", local("2026-01-12 12:00")) == utc("2026-01-13 08:00")


def test_an_override_inside_a_shift_splits_it() -> None:
    sched = runbook_schedule(
        {"person": "dave", "start": "2026-01-07T12:00", "end": "2026-01-07T14:00"}
    )
    day = [
        s
        for s in shifts(sched, local("2026-01-07 00:00"), local("2026-01-08 00:00"))
        if s.layer == "primary"
    ]
    assert [(s.person, s.override) for s in day] == [
        ("alice", False),
        ("dave", True),
        ("alice", False),
    ]
    whole = current_shift(sched, local("2026-01-07 15:00"))
    assert whole is not None
    assert (whole.person, whole.start, whole.end) == (
        "alice",
        utc("2026-01-07 13:00"),
        utc("2026-01-12 08:00"),
    )


def test_where_overrides_overlap_the_later_one_wins() -> None:
    sched = runbook_schedule(
        {
            "person": "dave",
            "start": "2026-12-20T09:00",
            "end": "2026-12-31T09:00",
            "reason": "holidays",
        },
        {
            "person": "erin",
            "start": "2026-12-24T18:00",
            "end": "2026-12-26T09:00",
            "reason": "christmas",
        },
    )
    found = shifts(sched, local("2026-12-20 09:00"), local("2026-12-31 09:00"))
    primary = [(s.person, s.reason) for s in found if s.layer == "primary"]
    assert primary == [("dave", "holidays"), ("erin", "christmas"), ("dave", "holidays")]
    assert next_handoff(sched, None, local("2026-12-25 12:00")) == utc("2026-12-26 08:00")
    assert next_handoff(sched, None, local("2026-12-27 12:00")) == utc("2026-12-31 08:00")


def test_custom_rotation_in_hours_is_absolute_time() -> None:
    sched = schedule(
        layer(
            rotation="custom",
            length="12h",
            handoff="08:00",
            start="2026-01-05",
            participants=("alice", "bob"),
        )
    )
    found = shifts(sched, local("2026-01-05 08:00"), local("2026-01-07 08:00"))
    assert [(s.person, s.start.astimezone(sched.zone).hour) for s in found] == [
        ("alice", 8),
        ("bob", 20),
        ("alice", 8),
        ("bob", 20),
    ]
    assert all(s.duration == timedelta(hours=12) for s in found)


def test_a_one_person_rotation_still_hands_off_to_itself() -> None:
    sched = schedule(layer(rotation="daily", participants=("alice",)))
    found = shifts(sched, local("2026-01-05 09:00"), local("2026-01-08 09:00"))
    assert [s.person for s in found] == ["alice"] * 3
    assert next_handoff(sched, None, local("2026-01-05 10:00")) == utc("2026-01-06 08:00")


def test_results_do_not_depend_on_the_timezone_of_the_question() -> None:
    sched = runbook_schedule()
    at_berlin = local("2026-01-12 09:30")
    at_tokyo = at_berlin.astimezone(local("2026-01-01 00:00", "Asia/Tokyo").tzinfo)
    assert on_call(sched, at_berlin) == on_call(sched, at_tokyo) == "bob"
    assert shifts(sched, at_berlin, at_berlin + timedelta(days=1)) == shifts(
        sched, at_tokyo, at_tokyo + timedelta(days=1)
    )


def test_bad_questions() -> None:
    sched = runbook_schedule()
    with pytest.raises(UsageError, match="schedule 'backend' has no layer 'tertiary'"):
        on_call(sched, local("2026-01-12 09:30"), "tertiary")
    with pytest.raises(ValueError, match="at must be timezone-aware"):
        on_call(sched, datetime(2026, 1, 12, 9, 30))
    assert shifts(sched, local("2026-01-12 09:30"), local("2026-01-12 09:30")) == []


# --- properties ------------------------------------------------------------------------


def _layer_shifts(found: list[Shift], name: str) -> list[Shift]:
    return [s for s in found if s.layer == name]


@given(schedules(), instants, st.integers(1, 24 * 40))
def test_shifts_tile_the_range(sched: Schedule, start: datetime, hours: int) -> None:
    end = start + timedelta(hours=hours)
    found = shifts(sched, start, end)
    for layer_ in sched.layers:
        mine = _layer_shifts(found, layer_.name)
        first = layer_.first_handoff(sched.zone)
        for shift in mine:
            assert start <= shift.start < shift.end <= end
        for before, after in pairwise(mine):
            assert before.end <= after.start  # ordered, no overlap
            if before.end < after.start:  # a gap only where nobody is on call
                assert after.start <= first
                assert on_call(sched, before.end, layer_.name) is None
        # nobody before the first shift or after the last one, within the range
        if not mine or mine[0].start > start:
            assert on_call(sched, start, layer_.name) is None
        if not mine or mine[-1].end < end:
            assert on_call(sched, end - TICK, layer_.name) is None
            assert end <= first


@given(schedules(), instants, st.integers(1, 24 * 40), st.data())
def test_on_call_is_the_shift_containing_the_instant(
    sched: Schedule, start: datetime, hours: int, data: st.DataObject
) -> None:
    end = start + timedelta(hours=hours)
    found = shifts(sched, start, end)
    probes = data.draw(st.lists(st.integers(0, hours * 3600 - 1), min_size=1, max_size=20))
    probes += [int((s.start - start).total_seconds()) for s in found[:10]]
    for seconds in probes:
        at = start + timedelta(seconds=seconds)
        for layer_ in sched.layers:
            containing = [s for s in _layer_shifts(found, layer_.name) if s.start <= at < s.end]
            assert len(containing) <= 1
            person = on_call(sched, at, layer_.name)
            assert person == (containing[0].person if containing else None)


@given(schedules(), instants)
def test_current_shift_and_next_handoff_agree(sched: Schedule, at: datetime) -> None:
    for layer_ in sched.layers:
        shift = current_shift(sched, at, layer_.name)
        handoff = next_handoff(sched, layer_.name, at)
        assert handoff > at
        if shift is None:
            assert on_call(sched, at, layer_.name) is None
            continue
        assert shift.start <= at < shift.end == handoff
        assert shift.person == on_call(sched, at, layer_.name)
        # the shift is maximal: shifts() over a wider range has exactly this one there
        wide = _layer_shifts(
            shifts(sched, shift.start - timedelta(days=1), shift.end + TICK), layer_.name
        )
        assert shift in wide


@given(schedules(max_overrides=0), schedules(), instants)
def test_overrides_only_change_who_is_on_call_inside_them(
    plain: Schedule, other: Schedule, at: datetime
) -> None:
    names = [layer_.name for layer_ in plain.layers]
    extra = [o.model_dump(mode="json") for o in other.overrides if o.layer in names]
    with_overrides = Schedule.model_validate({**plain.model_dump(mode="json"), "overrides": extra})
    for layer_ in plain.layers:
        covering = [
            o for o in with_overrides.overrides if o.layer == layer_.name and o.start <= at < o.end
        ]
        expected = covering[-1].person if covering else on_call(plain, at, layer_.name)
        assert on_call(with_overrides, at, layer_.name) == expected


ORACLE_ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "America/Santiago")


@given(
    st.sampled_from(ORACLE_ZONES),
    st.sampled_from(["daily", "weekly"]),
    st.integers(6, 21),
    st.lists(st.sampled_from(["alice", "bob", "carol", "dave"]), min_size=1, max_size=4),
    instants,
)
def test_calendar_rotations_match_a_wall_clock_count(
    zone: str, kind: str, hour: int, people: list[str], at: datetime
) -> None:
    """Independent of the implementation: count whole periods of local dates, moving to
    the previous date before the handoff time."""
    sched = schedule(
        layer(
            rotation=kind, handoff=f"{hour:02d}:00", start="2011-12-05", participants=tuple(people)
        ),
        timezone=zone,
    )
    wall = at.astimezone(sched.zone)
    day = wall.date() - timedelta(days=1 if wall.hour < hour else 0)
    elapsed = (day - sched.primary.start).days
    period = 1 if kind == "daily" else 7
    expected = None if elapsed < 0 else people[(elapsed // period) % len(people)]
    assert on_call(sched, at) == expected


@given(st.sampled_from(ORACLE_ZONES), st.integers(1, 100), st.integers(0, 23), instants)
def test_hour_lengths_count_absolute_time(zone: str, hours: int, hour: int, at: datetime) -> None:
    assume(hours % 24)
    people = ("alice", "bob", "carol")
    sched = schedule(
        layer(
            rotation="custom",
            length=f"{hours}h",
            handoff=f"{hour:02d}:00",
            start="2011-12-07",
            participants=people,
        ),
        timezone=zone,
    )
    first = datetime(2011, 12, 7, hour, tzinfo=sched.zone).astimezone(UTC)
    elapsed = (at - first) // timedelta(hours=hours)
    expected = None if at < first else people[elapsed % 3]
    assert on_call(sched, at) == expected


def test_the_property_range_is_what_the_strategies_draw() -> None:
    assert RANGE_START < RANGE_END
