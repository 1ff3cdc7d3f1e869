"""How fast an incident was detected, acknowledged, mitigated and resolved.

The numbers come from the incident's own timestamps and its timeline, never from the
clock: a postmortem rendered twice, or a weekly report run a month later, says the same.
Every duration is ``None`` until the incident has reached that point, so an open incident
never reports a misleading zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsbook.incidents.model import EventKind, Incident, IncidentStatus, TimelineEntry

__all__ = [
    "AggregateMetrics",
    "IncidentMetrics",
    "aggregate",
    "compute_metrics",
    "recipient",
    "transition",
]


@dataclass(frozen=True, slots=True)
class IncidentMetrics:
    """Per-incident metrics. TTA and TTR of one incident are the samples of MTTA / MTTR."""

    incident_id: int
    severity: str
    detected_at: datetime | None
    opened_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    time_to_detect: timedelta | None  # first failing sample -> incident opened (alert fired)
    time_to_acknowledge: timedelta | None  # opened -> first acknowledgement
    time_to_mitigate: timedelta | None  # opened -> first move to "monitoring"
    time_to_resolve: timedelta | None  # opened -> resolved
    total_duration: timedelta | None  # detected (or opened) -> resolved
    escalation_levels_paged: int  # one per page of a policy level, rounds included
    notifications: int
    people_notified: int
    response_target: timedelta | None
    response_target_met: bool | None  # None: no target, or not acknowledged yet in time
    response_margin: timedelta | None  # target - TTA: negative when missed

    @property
    def response_overrun(self) -> timedelta | None:
        """How late the acknowledgement was, when the target was missed."""
        if self.response_margin is None or self.response_margin >= timedelta(0):
            return None
        return -self.response_margin


def recipient(entry: TimelineEntry) -> str:
    """Who a `notified` entry reached: the person if known, else the receiver."""
    for key in ("person", "receiver", "to"):
        value = entry.data.get(key)
        if value:
            return str(value)
    return entry.text


def transition(entry: TimelineEntry) -> tuple[str | None, str | None]:
    """Before and after of a status or severity change (``old``/``new``; ``from``/``to``
    is read too, for entries imported from elsewhere)."""
    before = entry.data.get("old", entry.data.get("from"))
    after = entry.data.get("new", entry.data.get("to"))
    return (
        str(before) if before is not None else None,
        str(after) if after is not None else None,
    )


def _first(entries: Iterable[TimelineEntry], kind: EventKind) -> datetime | None:
    times = [e.at for e in entries if e.kind is kind]
    return min(times) if times else None


def _first_status(entries: Iterable[TimelineEntry], status: IncidentStatus) -> datetime | None:
    times = [
        e.at
        for e in entries
        if e.kind is EventKind.STATUS_CHANGED and transition(e)[1] == status.value
    ]
    return min(times) if times else None


def _earliest(*values: datetime | None) -> datetime | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _since(start: datetime | None, end: datetime | None) -> timedelta | None:
    if start is None or end is None:
        return None
    return max(end - start, timedelta(0))


def _resolved_at(incident: Incident, timeline: Sequence[TimelineEntry]) -> datetime | None:
    if incident.is_open:
        return None  # reopened: an earlier resolution no longer counts
    if incident.resolved_at is not None:
        return incident.resolved_at
    times = [e.at for e in timeline if e.kind is EventKind.RESOLVED]
    return max(times) if times else None


def compute_metrics(
    incident: Incident,
    timeline: Sequence[TimelineEntry],
    *,
    response_target: timedelta | None = None,
    now: datetime | None = None,
) -> IncidentMetrics:
    """Metrics of one incident.

    ``now`` only decides whether an incident that nobody has acknowledged yet has already
    missed its response target; without it the verdict waits for the acknowledgement.
    """
    entries = [e for e in timeline if e.incident_id == incident.id]
    opened = incident.opened_at
    acked = _earliest(_first(entries, EventKind.ACKNOWLEDGED), incident.acknowledged_at)
    resolved = _resolved_at(incident, entries)
    mitigated = _first_status(entries, IncidentStatus.MONITORING)
    detected = incident.detected_at
    tta = _since(opened, acked)

    met: bool | None = None
    margin: timedelta | None = None
    if response_target is not None:
        if tta is not None:
            margin = response_target - tta
            met = margin >= timedelta(0)
        elif now is not None and now - opened > response_target:
            margin = response_target - (now - opened)
            met = False

    notified = [e for e in entries if e.kind is EventKind.NOTIFIED]
    return IncidentMetrics(
        incident_id=incident.id,
        severity=incident.severity,
        detected_at=detected,
        opened_at=opened,
        acknowledged_at=acked,
        mitigated_at=mitigated,
        resolved_at=resolved,
        time_to_detect=_since(detected, opened),
        time_to_acknowledge=tta,
        time_to_mitigate=_since(opened, mitigated),
        time_to_resolve=_since(opened, resolved),
        total_duration=_since(detected or opened, resolved),
        escalation_levels_paged=sum(1 for e in entries if e.kind is EventKind.ESCALATED),
        notifications=len(notified),
        people_notified=len({recipient(e) for e in notified}),
        response_target=response_target,
        response_target_met=met,
        response_margin=margin,
    )


@dataclass(frozen=True, slots=True)
class AggregateMetrics:
    """MTTA / MTTR over many incidents. Means hide outliers, so medians come along."""

    incidents: int
    acknowledged: int
    resolved: int
    mtta_mean: timedelta | None
    mtta_median: timedelta | None
    mttr_mean: timedelta | None
    mttr_median: timedelta | None
    mttd_mean: timedelta | None
    mttd_median: timedelta | None
    response_targets_met: int
    response_targets_missed: int


def _mean(values: Sequence[timedelta]) -> timedelta | None:
    if not values:
        return None
    return sum(values, timedelta(0)) / len(values)


def _median(values: Sequence[timedelta]) -> timedelta | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def aggregate(metrics: Iterable[IncidentMetrics]) -> AggregateMetrics:
    """Means and medians over the incidents that reached each point; others are skipped."""
    items = list(metrics)
    tta = [m.time_to_acknowledge for m in items if m.time_to_acknowledge is not None]
    ttr = [m.time_to_resolve for m in items if m.time_to_resolve is not None]
    ttd = [m.time_to_detect for m in items if m.time_to_detect is not None]
    return AggregateMetrics(
        incidents=len(items),
        acknowledged=len(tta),
        resolved=len(ttr),
        mtta_mean=_mean(tta),
        mtta_median=_median(tta),
        mttr_mean=_mean(ttr),
        mttr_median=_median(ttr),
        mttd_mean=_mean(ttd),
        mttd_median=_median(ttd),
        response_targets_met=sum(1 for m in items if m.response_target_met is True),
        response_targets_missed=sum(1 for m in items if m.response_target_met is False),
    )
