"""The component status rule: maintenance, then critical (major or partial), then
doubtful (degraded), else operational."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from opsbook.alerts.model import Level
from opsbook.status import Status
from opsbook.statuspage.components import component_status, headline, overall_status
from opsbook.statuspage.model import ComponentStatus

statuses = st.lists(st.sampled_from(list(Status)), max_size=6)
levels = st.lists(st.sampled_from([Level.WARNING, Level.CRITICAL]), max_size=4)

OK, WARN, CRIT, UNKNOWN = Status.OK, Status.WARNING, Status.CRITICAL, Status.UNKNOWN


def test_all_ok_without_alerts_is_operational() -> None:
    assert component_status([OK, OK], [], False) is ComponentStatus.OPERATIONAL
    assert component_status([], [], False) is ComponentStatus.OPERATIONAL


def test_a_warning_or_unknown_check_or_a_warning_alert_degrades() -> None:
    assert component_status([OK, WARN], [], False) is ComponentStatus.DEGRADED
    assert component_status([OK, UNKNOWN], [], False) is ComponentStatus.DEGRADED
    assert component_status([OK], [Level.WARNING], False) is ComponentStatus.DEGRADED


def test_critical_with_a_check_still_working_is_a_partial_outage() -> None:
    assert component_status([OK, CRIT], [], False) is ComponentStatus.PARTIAL_OUTAGE
    assert component_status([WARN, CRIT], [], False) is ComponentStatus.PARTIAL_OUTAGE
    assert component_status([CRIT, UNKNOWN], [], False) is ComponentStatus.PARTIAL_OUTAGE
    assert component_status([OK, OK], [Level.CRITICAL], False) is ComponentStatus.PARTIAL_OUTAGE


def test_every_check_critical_is_a_major_outage() -> None:
    assert component_status([CRIT, CRIT], [], False) is ComponentStatus.MAJOR_OUTAGE
    assert component_status([CRIT], [Level.WARNING], False) is ComponentStatus.MAJOR_OUTAGE
    # A service without checks: its critical alert is all there is to go by.
    assert component_status([], [Level.CRITICAL], False) is ComponentStatus.MAJOR_OUTAGE


@given(statuses, levels)
def test_maintenance_wins_over_everything(checks: list[Status], alerts: list[Level]) -> None:
    assert component_status(checks, alerts, True) is ComponentStatus.MAINTENANCE


@given(statuses, levels)
def test_the_rule_as_properties(checks: list[Status], alerts: list[Level]) -> None:
    got = component_status(checks, alerts, False)
    critical = CRIT in checks or Level.CRITICAL in alerts
    clean = all(s is OK for s in checks) and not alerts
    assert (got is ComponentStatus.OPERATIONAL) == clean
    assert (got in (ComponentStatus.PARTIAL_OUTAGE, ComponentStatus.MAJOR_OUTAGE)) == critical
    if got is ComponentStatus.MAJOR_OUTAGE:
        assert all(s is CRIT for s in checks)
    assert got is not ComponentStatus.MAINTENANCE


@given(st.lists(st.sampled_from(list(ComponentStatus)), max_size=8))
def test_the_page_shows_the_worst_component(components: list[ComponentStatus]) -> None:
    overall = overall_status(components)
    assert all(c.rank <= overall.rank for c in components)
    assert overall in components or (not components and overall is ComponentStatus.OPERATIONAL)


def test_ranks_and_headlines() -> None:
    assert [s.rank for s in ComponentStatus] == sorted(s.rank for s in ComponentStatus)
    assert overall_status([ComponentStatus.MAINTENANCE, ComponentStatus.OPERATIONAL]) is (
        ComponentStatus.MAINTENANCE
    )
    assert headline(ComponentStatus.OPERATIONAL) == "All systems operational"
    assert {s.label for s in ComponentStatus} >= {"Operational", "Under maintenance"}
