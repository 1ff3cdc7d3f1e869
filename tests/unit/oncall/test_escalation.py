"""Escalation policies: targets, timing, repeats, acknowledgement expiry, and who a level
reaches at a given instant.

Timelines read like the runbooks: "t=0 primary, t=15m secondary, t=45m manager".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from opsbook.oncall.escalation import (
    EscalationLevel,
    EscalationPolicy,
    EscalationPosition,
    ResolvedTarget,
    ack_expires_at,
    advance,
    begin,
    due_steps,
    plan_delivery,
    resolve_targets,
    restart_after_ack,
)
from opsbook.oncall.people import Person
from opsbook.oncall.targets import PersonTarget, ReceiverTarget, ScheduleTarget, parse_target
from tests.unit.oncall.factory import layer, local, policy, schedule, utc

T0 = utc("2026-03-02 03:00")
MIN = timedelta(minutes=1)
P1 = timedelta(minutes=15)  # the runbooks' P1 response time


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def api_backend() -> EscalationPolicy:
    """api-backend-cloud.md: "Primary On-Call (immediate) → no response in 15 minutes →
    Secondary On-Call → not resolved in 30 minutes → Engineering Manager → >1 hour → CTO"."""
    return policy(
        {"targets": ["schedule:backend"], "escalate_after": "15m"},
        {"targets": ["schedule:backend/secondary"], "escalate_after": "30m"},
        {"targets": ["person:manager"], "escalate_after": "1h"},
        {"targets": ["person:cto", "receiver:team-chat"]},
    )


def timeline(
    pol: EscalationPolicy, response_time: timedelta, until: datetime
) -> list[tuple[timedelta, int, int]]:
    """(offset from T0, round, level) of every page, checking each minute like an engine."""
    position = begin(pol, T0, response_time)
    pages = [(timedelta(0), 0, 0)]
    now = T0
    while now <= until:
        step = advance(pol, position, now, response_time)
        if step is not None:
            position = step
            if not step.exhausted:
                pages.append((now - T0, step.round, step.level))
            continue
        now += MIN
    return pages


# --- targets ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("person:alice", PersonTarget("alice")),
        ("schedule:backend", ScheduleTarget("backend")),
        ("schedule:backend/secondary", ScheduleTarget("backend", "secondary")),
        ("receiver:team-chat", ReceiverTarget("team-chat")),
        (" person:cto ", PersonTarget("cto")),
    ],
)
def test_targets_parse_into_typed_values(text: str, parsed: object) -> None:
    assert parse_target(text) == parsed
    assert str(parsed) == text.strip()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("alice", "expected a target like 'person:alice', 'schedule:backend'"),
        ("persn:alice", "unknown target kind 'persn' in 'persn:alice'; did you mean 'person:'?"),
        (
            "team:alice",
            "unknown target kind 'team' in 'team:alice'; use person, schedule, receiver",
        ),
        ("person:", "invalid person name '' in target 'person:'"),
        ("schedule:backend/", "invalid layer name '' in target 'schedule:backend/'"),
        ("schedule:/primary", "invalid schedule name ''"),
        ("receiver:team chat", "invalid receiver name 'team chat'"),
        ("person:a/b", "invalid person name 'a/b'"),
        (42, "expected a target string like"),
    ],
)
def test_malformed_targets_are_refused(text: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_target(text)
    assert message in str(caught.value)


def test_a_level_keeps_targets_typed_and_dumps_them_as_text() -> None:
    pol = api_backend()
    assert pol.levels[1].targets == [ScheduleTarget("backend", "secondary")]
    dumped = pol.model_dump(mode="json")
    assert dumped["levels"][3]["targets"] == ["person:cto", "receiver:team-chat"]
    assert dumped["levels"][0]["escalate_after"] == "15m"
    assert EscalationPolicy.model_validate(dumped) == pol


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"levels": []}, "an escalation policy needs at least one level"),
        ({"levels": [{"targets": []}]}, "a level needs at least one target"),
        ({"levels": [{"targets": ["person:a"], "escalate_after": "0s"}]}, "must be longer than 0s"),
        ({"levels": [{"targets": ["person:a"]}], "repeat": 11}, "less than or equal to 10"),
        ({"levels": [{"targets": ["person:a"]}], "ack_timeout": "0s"}, "must be longer than 0s"),
        ({"levels": [{"targets": ["nobody"]}]}, "expected a target like"),
    ],
)
def test_policy_errors(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        EscalationPolicy.model_validate({"name": "default", **data})
    assert message in str(caught.value)


# --- timing ----------------------------------------------------------------------------


def test_the_api_backend_runbook_path() -> None:
    """t=0 primary, t=15m secondary, t=45m manager, t=1h45m cto (and the team channel)."""
    pages = timeline(api_backend(), P1, at(600))
    assert pages == [
        (timedelta(0), 0, 0),
        (timedelta(minutes=15), 0, 1),
        (timedelta(minutes=45), 0, 2),
        (timedelta(hours=1, minutes=45), 0, 3),
    ]


def test_the_last_level_waits_the_response_time_then_the_policy_is_exhausted() -> None:
    pol = api_backend()
    position = begin(pol, T0, P1)
    for _ in range(3):
        step = advance(pol, position, position.due_at or T0, P1)
        assert step is not None
        position = step
    assert position == EscalationPosition(0, 3, at(105 + 15))
    assert advance(pol, position, at(119), P1) is None
    done = advance(pol, position, at(120), P1)
    assert done == EscalationPosition(0, 3, None, exhausted=True)
    assert advance(pol, done, at(10_000), P1) is None


def test_the_practice_app_escalation_path() -> None:
    """practice-app-ops.md: on-call 0-30 min, team lead 30-60, manager 60-120, CTO > 120."""
    pol = policy(
        {"targets": ["schedule:app"], "escalate_after": "30m"},
        {"targets": ["person:lead"], "escalate_after": "30m"},
        {"targets": ["person:manager"], "escalate_after": "1h"},
        {"targets": ["person:cto"]},
    )
    offsets = [offset for offset, _, _ in timeline(pol, P1, at(600))]
    assert offsets == [timedelta(minutes=m) for m in (0, 30, 60, 120)]


def test_a_missing_escalate_after_uses_the_severity_response_time() -> None:
    pol = policy({"targets": ["schedule:backend"]}, {"targets": ["person:manager"]})
    assert begin(pol, T0, timedelta(minutes=5)).due_at == at(5)  # P0
    assert begin(pol, T0, P1).due_at == at(15)  # P1


def test_repeat_runs_the_policy_again() -> None:
    pol = policy(
        {"targets": ["schedule:backend"], "escalate_after": "10m"},
        {"targets": ["person:manager"], "escalate_after": "20m"},
        repeat=2,
    )
    pages = timeline(pol, P1, at(600))
    assert pages == [
        (timedelta(minutes=m), rnd, lvl)
        for m, rnd, lvl in [(0, 0, 0), (10, 0, 1), (30, 1, 0), (40, 1, 1), (60, 2, 0), (70, 2, 1)]
    ]
    assert len(pages) == pol.pages == 6


def test_nothing_is_due_before_its_time() -> None:
    pol = api_backend()
    position = begin(pol, T0, P1)
    assert advance(pol, position, at(14.99), P1) is None
    assert advance(pol, position, at(15), P1) == EscalationPosition(0, 1, at(45))


def test_an_engine_that_was_down_catches_up_on_the_original_schedule() -> None:
    pol = api_backend()
    position = begin(pol, T0, P1)
    missed = due_steps(pol, position, at(50), P1)  # back after 50 minutes
    assert missed == [EscalationPosition(0, 1, at(45)), EscalationPosition(0, 2, at(105))]
    # due times come from the schedule, not from when the engine noticed
    assert advance(pol, missed[-1], at(104), P1) is None


def test_a_position_from_a_longer_policy_ends_or_repeats() -> None:
    """The engine stores positions; the config may lose levels before the next step."""
    stored = EscalationPosition(0, 3, at(120))
    shorter = policy({"targets": ["schedule:backend"]}, {"targets": ["person:manager"]})
    assert advance(shorter, stored, at(120), P1) == EscalationPosition(0, 3, None, exhausted=True)
    again = policy({"targets": ["schedule:backend"]}, repeat=1)
    assert advance(again, stored, at(120), P1) == EscalationPosition(1, 0, at(135))


def test_an_acknowledgement_that_expires_starts_over() -> None:
    pol = policy(
        {"targets": ["schedule:backend"], "escalate_after": "15m"},
        {"targets": ["person:manager"], "escalate_after": "30m"},
        ack_timeout="30m",
    )
    acked = at(5)
    assert ack_expires_at(pol, acked) == at(35)
    assert restart_after_ack(pol, acked, at(34), P1) is None
    restarted = restart_after_ack(pol, acked, at(35), P1)
    assert restarted == EscalationPosition(0, 0, at(50))
    # noticed late: the restart is dated when the ack expired, then catches up
    late = restart_after_ack(pol, acked, at(60), P1)
    assert late == restarted
    assert late is not None
    assert due_steps(pol, late, at(60), P1) == [EscalationPosition(0, 1, at(80))]


def test_an_acknowledgement_without_timeout_holds() -> None:
    pol = api_backend()
    assert ack_expires_at(pol, T0) is None
    assert restart_after_ack(pol, T0, at(10_000), P1) is None


def test_bad_clock_values() -> None:
    pol = api_backend()
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        begin(pol, datetime(2026, 3, 2, 3, 0), P1)
    with pytest.raises(ValueError, match="response_time must be longer than 0s"):
        begin(pol, T0, timedelta(0))


# --- properties ------------------------------------------------------------------------

levels = st.lists(
    st.fixed_dictionaries(
        {"targets": st.just(["person:a"])},
        optional={"escalate_after": st.integers(1, 180).map(lambda m: f"{m}m")},
    ),
    min_size=1,
    max_size=5,
)
policies = st.builds(
    lambda lv, repeat: EscalationPolicy.model_validate(
        {"name": "p", "levels": lv, "repeat": repeat}
    ),
    levels,
    st.integers(0, 3),
)
response_times = st.integers(1, 240).map(lambda m: timedelta(minutes=m))


@given(policies, response_times, st.lists(st.integers(0, 90), min_size=1, max_size=200))
def test_positions_walk_every_level_in_order(
    pol: EscalationPolicy, response_time: timedelta, gaps: list[int]
) -> None:
    """However irregularly the engine looks, pages happen in order, each at its due time,
    exactly levels x (repeat + 1) times, and the same as catching up in one go."""
    position = begin(pol, T0, response_time)
    walked = [position]
    now = T0
    for gap in gaps * 50:
        now += timedelta(minutes=gap)
        while (step := advance(pol, position, now, response_time)) is not None:
            assert step.due_at is None or step.due_at > (position.due_at or now)
            walked.append(step)
            position = step
        if position.exhausted:
            break
    else:
        now += timedelta(days=365)
        walked += due_steps(pol, position, now, response_time)
    pages = [p for p in walked if not p.exhausted]
    expected = [(r, lv) for r in range(pol.repeat + 1) for lv in range(len(pol.levels))]
    assert [(p.round, p.level) for p in pages] == expected
    assert len(pages) == pol.pages
    assert walked[-1].exhausted and walked[-1].due_at is None
    # catching up from the start in one call gives the very same positions
    assert [walked[0], *due_steps(pol, walked[0], now, response_time)] == walked


@given(policies, response_times, st.integers(0, 2000))
def test_a_position_is_a_function_of_elapsed_time(
    pol: EscalationPolicy, response_time: timedelta, minutes: int
) -> None:
    """The level paged at t is the one whose cumulative delays cover t."""
    position = begin(pol, T0, response_time)
    steps = [position, *due_steps(pol, position, at(minutes), response_time)]
    elapsed = timedelta(0)
    expected = 0
    order = [lv for _ in range(pol.repeat + 1) for lv in range(len(pol.levels))]
    for index, level in enumerate(order):
        delay = pol.levels[level].escalate_after or response_time
        if elapsed + delay <= timedelta(minutes=minutes):
            expected = index + 1
        elapsed += delay
    assert len(steps) == expected + 1


# --- who a level reaches ---------------------------------------------------------------


def backend() -> dict[str, Any]:
    return {
        "backend": schedule(
            layer("primary", participants=("alice", "bob", "carol")),
            layer("secondary", participants=("bob", "carol", "alice")),
            layer("shadow", start="2027-01-04", participants=("dave",)),
            overrides=(
                {
                    "person": "dave",
                    "start": "2026-12-24T18:00",
                    "end": "2026-12-27T09:00",
                    "reason": "covers Christmas",
                },
            ),
        )
    }


def test_schedule_targets_resolve_to_who_is_on_call() -> None:
    level = EscalationLevel.model_validate(
        {
            "targets": [
                "schedule:backend",
                "schedule:backend/secondary",
                "person:manager",
                "receiver:team-chat",
            ]
        }
    )
    assert resolve_targets(level, local("2026-01-12 10:00"), backend()) == [
        ResolvedTarget("person", "bob", "schedule backend/primary"),
        ResolvedTarget("person", "carol", "schedule backend/secondary"),
        ResolvedTarget("person", "manager", "person manager"),
        ResolvedTarget("receiver", "team-chat", "receiver team-chat"),
    ]
    christmas = resolve_targets(level, local("2026-12-25 10:00"), backend())
    assert christmas[0] == ResolvedTarget("person", "dave", "schedule backend/primary")


def test_targets_that_reach_nobody_say_why() -> None:
    level = EscalationLevel.model_validate(
        {"targets": ["schedule:backend/shadow", "schedule:frontend", "schedule:backend/tertiary"]}
    )
    assert resolve_targets(level, local("2026-06-01 10:00"), backend()) == [
        ResolvedTarget(
            "person", None, "schedule backend/shadow", "nobody on call for backend/shadow"
        ),
        ResolvedTarget("person", None, "schedule frontend", "unknown schedule 'frontend'"),
        ResolvedTarget("person", None, "schedule backend/tertiary", "unknown layer 'tertiary'"),
    ]


def test_a_delivery_plan_names_receivers_once_and_reports_gaps() -> None:
    hook = {"webhook": {"url": "https://hooks.example.com/x"}}
    people = {
        "alice": Person.model_validate({"name": "alice", "contacts": [hook, hook]}),
        "bob": Person(name="bob"),
    }
    plan = plan_delivery(
        [
            ResolvedTarget("person", "alice", "schedule backend/primary"),
            ResolvedTarget("person", "alice", "person alice"),
            ResolvedTarget("receiver", "team-chat", "receiver team-chat"),
            ResolvedTarget("person", "bob", "schedule backend/secondary"),
            ResolvedTarget(
                "person", None, "schedule backend/shadow", "nobody on call for backend/shadow"
            ),
            ResolvedTarget("person", "zed", "person zed"),
        ],
        people,
    )
    assert plan.receivers == ("person.alice.0", "person.alice.1", "team-chat")
    assert plan.problems == (
        "bob has no contacts: nothing delivered (schedule backend/secondary)",
        "nobody on call for backend/shadow (schedule backend/shadow)",
        "unknown person 'zed' (person zed)",
    )
