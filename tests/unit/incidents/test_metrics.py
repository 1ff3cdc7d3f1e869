"""Per-incident TTD / TTA / TTM / TTR and their MTTA / MTTR roll-ups.

Timeline of the review-engine "API Service Down" incident (tests/unit/incidents/scenario.py):
first failing sample 09:59:50, alert fired 10:00:05, secondary paged 10:15:05, ack 10:17:30,
monitoring 10:31:00, resolved 10:45:00. P1 must be acknowledged within 15 minutes.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from opsbook.incidents.metrics import aggregate, compute_metrics
from opsbook.incidents.model import EventKind, IncidentStatus
from tests.unit.incidents.scenario import P1_TARGET, at, entry, incident, timeline

MIN = timedelta(minutes=1)


def test_the_api_service_down_incident() -> None:
    m = compute_metrics(incident(), timeline(), response_target=P1_TARGET)
    assert m.time_to_detect == timedelta(seconds=15)
    assert m.time_to_acknowledge == timedelta(minutes=17, seconds=25)
    assert m.time_to_mitigate == timedelta(minutes=30, seconds=55)
    assert m.time_to_resolve == timedelta(minutes=44, seconds=55)
    assert m.total_duration == timedelta(minutes=45, seconds=10)
    assert m.escalation_levels_paged == 2
    assert (m.notifications, m.people_notified) == (9, 3)
    assert m.response_target_met is False
    assert m.response_margin == -timedelta(minutes=2, seconds=25)
    assert m.response_overrun == timedelta(minutes=2, seconds=25)


def test_an_ack_within_the_target_is_met_with_the_time_to_spare() -> None:
    m = compute_metrics(incident(), timeline(), response_target=20 * MIN)
    assert m.response_target_met is True
    assert m.response_margin == timedelta(minutes=2, seconds=35)
    assert m.response_overrun is None


def test_no_target_no_verdict() -> None:
    m = compute_metrics(incident(), timeline())
    assert (m.response_target_met, m.response_margin) == (None, None)


def test_an_open_unacknowledged_incident_has_no_durations_yet() -> None:
    opened = incident(
        status=IncidentStatus.INVESTIGATING,
        acknowledged_at=None,
        acknowledged_by=None,
        resolved_at=None,
    )
    early = [e for e in timeline() if e.at < at("10:10:00")]
    m = compute_metrics(opened, early, response_target=P1_TARGET, now=at("10:10:00"))
    assert m.time_to_detect == timedelta(seconds=15)
    assert m.time_to_acknowledge is None
    assert m.time_to_mitigate is None
    assert m.time_to_resolve is None
    assert m.total_duration is None
    assert m.response_target_met is None  # 10 minutes in, 15 allowed: not missed yet


def test_an_unacknowledged_incident_past_its_target_has_missed_it() -> None:
    opened = incident(status=IncidentStatus.INVESTIGATING, acknowledged_at=None, resolved_at=None)
    early = [e for e in timeline() if e.at < at("10:17:00")]
    m = compute_metrics(opened, early, response_target=P1_TARGET, now=at("10:20:05"))
    assert m.response_target_met is False
    assert m.response_overrun == 5 * MIN
    assert compute_metrics(opened, early, response_target=P1_TARGET).response_target_met is None


def test_the_first_acknowledgement_counts() -> None:
    # The ack expired and bob acknowledged again later; TTA is the first one.
    later_ack = incident(acknowledged_at=at("10:25:00"))
    entries = [
        *timeline(),
        entry("10:20:00", EventKind.ACK_EXPIRED, "ack expired"),
        entry("10:25:00", EventKind.ACKNOWLEDGED, "again", actor="bob"),
    ]
    m = compute_metrics(later_ack, entries)
    assert m.acknowledged_at == at("10:17:30")


def test_a_reopened_incident_is_not_resolved() -> None:
    reopened = incident(status=IncidentStatus.INVESTIGATING)
    m = compute_metrics(reopened, timeline())
    assert m.resolved_at is None and m.time_to_resolve is None and m.total_duration is None


def test_resolution_time_falls_back_to_the_timeline() -> None:
    m = compute_metrics(incident(resolved_at=None), timeline())
    assert m.resolved_at == at("10:45:00")


def test_a_declared_incident_without_detection_time_measures_from_opening() -> None:
    m = compute_metrics(incident(detected_at=None), timeline())
    assert m.time_to_detect is None
    assert m.total_duration == timedelta(minutes=44, seconds=55)


def test_mitigation_is_the_first_move_to_monitoring() -> None:
    no_monitoring = [
        e
        for e in timeline()
        if not (e.kind is EventKind.STATUS_CHANGED and e.data.get("new") == "monitoring")
    ]
    assert compute_metrics(incident(), no_monitoring).time_to_mitigate is None


def test_entries_of_other_incidents_are_ignored() -> None:
    stray = [entry("10:01:00", EventKind.ACKNOWLEDGED, "wrong incident", incident_id=7)]
    m = compute_metrics(incident(acknowledged_at=None), stray + timeline())
    assert m.acknowledged_at == at("10:17:30")
    assert compute_metrics(incident(), timeline() + stray).escalation_levels_paged == 2


def test_aggregate_means_and_medians_skip_incidents_that_did_not_get_there() -> None:
    base = incident()
    metrics = [
        compute_metrics(
            base.evolve(acknowledged_at=base.opened_at + 2 * MIN), [], response_target=5 * MIN
        ),
        compute_metrics(
            base.evolve(acknowledged_at=base.opened_at + 4 * MIN), [], response_target=5 * MIN
        ),
        compute_metrics(
            base.evolve(acknowledged_at=base.opened_at + 12 * MIN), [], response_target=5 * MIN
        ),
        compute_metrics(
            base.evolve(status=IncidentStatus.MONITORING, acknowledged_at=None, resolved_at=None),
            [],
            response_target=5 * MIN,
        ),
    ]
    report = aggregate(metrics)
    assert (report.incidents, report.acknowledged, report.resolved) == (4, 3, 3)
    assert report.mtta_mean == 6 * MIN
    assert report.mtta_median == 4 * MIN
    assert report.mttr_mean == report.mttr_median == timedelta(minutes=44, seconds=55)
    assert report.mttd_median == timedelta(seconds=15)
    assert (report.response_targets_met, report.response_targets_missed) == (2, 1)


def test_aggregate_of_an_even_count_takes_the_middle_two() -> None:
    base = incident()
    metrics = [
        compute_metrics(base.evolve(acknowledged_at=base.opened_at + n * MIN), [])
        for n in (1, 2, 6, 10)
    ]
    assert aggregate(metrics).mtta_median == 4 * MIN


def test_aggregate_of_nothing_is_empty_not_zero() -> None:
    report = aggregate([])
    assert report.incidents == 0
    assert report.mtta_mean is None and report.mttr_median is None and report.mttd_mean is None


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30))
def test_means_and_medians_lie_within_the_samples(seconds: list[int]) -> None:
    base = incident()
    metrics = [
        compute_metrics(base.evolve(acknowledged_at=base.opened_at + timedelta(seconds=s)), [])
        for s in seconds
    ]
    report = aggregate(metrics)
    low, high = timedelta(seconds=min(seconds)), timedelta(seconds=max(seconds))
    assert report.mtta_mean is not None and low <= report.mtta_mean <= high
    assert report.mtta_median is not None and low <= report.mtta_median <= high
