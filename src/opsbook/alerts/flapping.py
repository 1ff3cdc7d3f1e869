"""Flapping: an alert that starts and stops firing too often is notified once as flapping,
not on every flip, until it has been stable for a whole window.

Judged from the flip times kept on the alert itself (pure; clock injected).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from opsbook.alerts.model import Alert


@dataclass(frozen=True, slots=True)
class FlapPolicy:
    window: timedelta = timedelta(minutes=10)
    flips: int = 4  # this many starts/stops of firing within `window` means flapping

    def enabled(self) -> bool:
        return self.flips > 0


def record_flip(alert: Alert, now: datetime, policy: FlapPolicy) -> Alert:
    """Add a flip (the alert started or stopped firing at `now`) and re-judge flapping."""
    recent = tuple(t for t in (*alert.flips, now) if now - t <= policy.window)
    return judge(alert.evolve(flips=recent[-max(policy.flips * 2, 8) :]), now, policy)


def judge(alert: Alert, now: datetime, policy: FlapPolicy) -> Alert:
    """Start flapping at `flips` flips within the window; stop after a quiet window."""
    if not policy.enabled():
        return alert if not alert.flapping else alert.evolve(flapping=False)
    recent = [t for t in alert.flips if now - t <= policy.window]
    if alert.flapping:
        still = bool(recent)  # any flip in the last window keeps it flapping
        return alert if still else alert.evolve(flapping=False)
    if len(recent) >= policy.flips:
        return alert.evolve(flapping=True)
    return alert
