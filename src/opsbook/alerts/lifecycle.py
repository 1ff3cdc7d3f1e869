"""Advance one alert by one evaluation: pure, clock injected.

Semantics follow Prometheus: a condition must hold for `for_` before the alert fires
(pending in between); once firing it stays firing until the condition has been false
for `keep_firing_for` (recovery hysteresis), then it resolves. A resolved alert whose
condition comes back starts over at pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from opsbook.alerts.model import Alert, AlertState


class Transition(StrEnum):
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"
    CLEARED = "cleared"  # pending that never fired: back to inactive


@dataclass(frozen=True, slots=True)
class Timing:
    for_: timedelta = timedelta(0)
    keep_firing_for: timedelta = timedelta(0)


def step(
    alert: Alert, active: bool, value: float | None, now: datetime, timing: Timing
) -> tuple[Alert, Transition | None]:
    """The alert after one evaluation at `now`, and the transition it made (if any).

    `active` is whether the rule's condition holds now; `value` is what was evaluated
    (kept for messages, even when the condition does not hold).
    """
    state = alert.state
    if active:
        ongoing = state in (AlertState.PENDING, AlertState.FIRING)
        since = alert.active_since if ongoing and alert.active_since is not None else now
        updated = alert.evolve(value=value, last_true_at=now, active_since=since, updated_at=now)
        if state is AlertState.FIRING:
            return updated, None
        if now - since >= timing.for_:
            fired = updated.evolve(
                state=AlertState.FIRING, fired_at=now, fired_value=value, resolved_at=None
            )
            return fired, Transition.FIRING
        if state is AlertState.PENDING:
            return updated, None
        return updated.evolve(state=AlertState.PENDING, resolved_at=None), Transition.PENDING

    updated = alert.evolve(value=value, updated_at=now)
    if state is AlertState.FIRING:
        last_true = alert.last_true_at or now
        if now - last_true < timing.keep_firing_for:
            return updated, None
        resolved = updated.evolve(state=AlertState.RESOLVED, resolved_at=now, active_since=None)
        return resolved, Transition.RESOLVED
    if state is AlertState.PENDING:
        return updated.evolve(state=AlertState.INACTIVE, active_since=None), Transition.CLEARED
    return updated, None


def due_at(alert: Alert, timing: Timing) -> datetime | None:
    """When this alert's state would change with no new data: lets the engine sleep until
    exactly then instead of polling (a pending alert fires at active_since + for)."""
    if alert.state is AlertState.PENDING and alert.active_since is not None:
        return alert.active_since + timing.for_
    if (
        alert.state is AlertState.FIRING
        and alert.last_true_at is not None
        and timing.keep_firing_for
    ):
        return alert.last_true_at + timing.keep_firing_for
    return None
