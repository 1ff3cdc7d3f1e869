"""Pending → firing → resolved with `for` and `keep_firing_for`, on an injected clock."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from opsbook.alerts.lifecycle import Timing, Transition, due_at, step
from opsbook.alerts.model import Alert, AlertState, Level
from tests.unit.alerts.factory import at, make_alert


def fresh() -> Alert:
    return make_alert(state=AlertState.INACTIVE)


def run(
    values: list[bool], timing: Timing, every: float = 60
) -> list[tuple[AlertState, Transition | None]]:
    alert = fresh()
    out = []
    for i, active in enumerate(values):
        alert, transition = step(alert, active, 1.0 if active else 0.0, at(i * every), timing)
        out.append((alert.state, transition))
    return out


def test_fires_immediately_without_for() -> None:
    alert, transition = step(fresh(), True, 612.0, at(0), Timing())
    assert transition is Transition.FIRING and alert.state is AlertState.FIRING
    assert alert.fired_at == at(0) and alert.fired_value == 612.0


def test_for_five_minutes_like_the_error_rate_rule() -> None:
    # practice-app: "High Error Rate: > 5% error rate for 5 minutes", evaluated each minute.
    states = run([True] * 7, Timing(for_=timedelta(minutes=5)))
    assert [s for s, _ in states] == [AlertState.PENDING] * 5 + [AlertState.FIRING] * 2
    assert states[5][1] is Transition.FIRING


def test_pending_that_clears_never_fires() -> None:
    states = run([True, True, False, True], Timing(for_=timedelta(minutes=5)))
    assert [t for _, t in states] == [
        Transition.PENDING,
        None,
        Transition.CLEARED,
        Transition.PENDING,
    ]


def test_keep_firing_for_holds_through_a_short_recovery() -> None:
    timing = Timing(keep_firing_for=timedelta(minutes=3))
    states = run([True, False, False, True, False, False, False, False], timing)
    # Cleared at minutes 1-2 (< 3m): still firing. Last true at minute 3: resolved at 6.
    assert [s for s, _ in states] == [AlertState.FIRING] * 6 + [AlertState.RESOLVED] * 2
    assert states[6][1] is Transition.RESOLVED


def test_resolved_then_active_again_starts_pending() -> None:
    timing = Timing(for_=timedelta(minutes=2))
    states = run([True, True, True, False, True], timing)
    assert states[3] == (AlertState.RESOLVED, Transition.RESOLVED)
    assert states[4] == (AlertState.PENDING, Transition.PENDING)


def test_due_at_tells_when_a_pending_alert_will_fire() -> None:
    timing = Timing(for_=timedelta(minutes=5))
    alert, _ = step(fresh(), True, 1.0, at(10), timing)
    assert due_at(alert, timing) == at(10) + timedelta(minutes=5)
    assert due_at(fresh(), timing) is None


@given(st.lists(st.booleans(), max_size=40), st.integers(0, 5), st.integers(0, 5))
def test_invariants(values: list[bool], for_min: int, keep_min: int) -> None:
    timing = Timing(timedelta(minutes=for_min), timedelta(minutes=keep_min))
    alert = fresh()
    for i, active in enumerate(values):
        before = alert.state
        alert, transition = step(alert, active, float(i), at(i * 60), timing)
        # Only pending can become firing when `for` is set; firing needs the condition.
        if transition is Transition.FIRING:
            assert active
            assert for_min == 0 or before is AlertState.PENDING
            assert alert.active_since is not None
            assert alert.fired_at is not None and alert.fired_at - alert.active_since >= timing.for_
        if transition is Transition.RESOLVED:
            assert not active and before is AlertState.FIRING
        if alert.state is AlertState.FIRING:
            assert alert.fired_at is not None
        assert alert.level is Level.CRITICAL
