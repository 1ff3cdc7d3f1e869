"""Grouping timelines in Alertmanager's acceptance-test style, on an injected clock.

"An alert fires at t=0 with group_wait 30s: one notification at t=30s, none before."
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from opsbook.alerts.model import Alert, AlertState, Level
from opsbook.notify.grouping import GroupState, Plan, plan
from opsbook.notify.routing import Route, RoutingTree
from tests.unit.alerts.factory import at, make_alert

ROOT = Route.model_validate(
    {
        "receiver": "team",
        "group_wait": "30s",
        "group_interval": "5m",
        "repeat_interval": "4h",
        "routes": [
            {"matchers": ['severity=~"P0|P1"'], "receiver": "pager", "group_wait": "0s"},
            {"matchers": {"service": "billing"}, "receiver": "billing", "continue": True},
            {"matchers": {"service": "billing"}, "receiver": "finance"},
        ],
    }
)


class Timeline:
    """Feeds alerts to `plan` at chosen times, keeping group state like the engine does."""

    def __init__(self, root: Route = ROOT) -> None:
        self.tree = RoutingTree(root, "team")
        self.groups: dict[str, GroupState] = {}
        self.sent: list[tuple[float, str, str, list[str]]] = []

    def tick(
        self, seconds: float, alerts: Iterable[Alert], muted: dict[str, str] | None = None
    ) -> Plan:
        result = plan(self.tree, list(alerts), muted or {}, self.groups, at(seconds))
        self.groups = result.groups
        for n in result.notifications:
            names = sorted(f"{a.labels['alertname']}:{a.state.value}" for a in n.alerts)
            self.sent.append((seconds, n.receiver, n.status, names))
        return result


def warn(rule: str = "api-latency", **kw: str) -> Alert:
    return make_alert(rule, Level.WARNING, severity="P2", **kw)


def test_group_wait_then_one_notification() -> None:
    t = Timeline()
    a = warn()
    for second in range(0, 31, 5):
        result = t.tick(second, [a])
    assert t.sent == [(30, "team", "firing", ["api-latency:firing"])]
    assert result.next_due == at(30) + timedelta(hours=4)


def test_critical_routes_to_pager_with_zero_wait() -> None:
    t = Timeline()
    t.tick(0, [make_alert("api-down", severity="P1")])
    assert t.sent == [(0, "pager", "firing", ["api-down:firing"])]


def test_alerts_arriving_during_group_wait_share_one_message() -> None:
    t = Timeline()
    a, b = warn("api-latency"), warn("api-errors")
    t.tick(0, [a])
    t.tick(10, [a, b])
    t.tick(30, [a, b])
    # grouped by alertname+service, so two groups; both created by t=10 and flushed by t=40
    t.tick(40, [a, b])
    assert [(s, r) for s, r, _, _ in t.sent] == [(30, "team"), (40, "team")]


def test_same_group_collects_alerts_by_group_labels() -> None:
    t = Timeline(
        Route.model_validate({"receiver": "team", "group_by": ["service"], "group_wait": "30s"})
    )
    a, b = warn("api-latency"), warn("api-errors")
    t.tick(0, [a])
    t.tick(10, [a, b])
    t.tick(30, [a, b])
    assert t.sent == [(30, "team", "firing", ["api-errors:firing", "api-latency:firing"])]


def test_new_alert_in_notified_group_waits_for_group_interval() -> None:
    t = Timeline(
        Route.model_validate(
            {
                "receiver": "team",
                "group_by": ["service"],
                "group_wait": "30s",
                "group_interval": "5m",
            }
        )
    )
    a, b = warn("api-latency"), warn("api-errors")
    t.tick(0, [a])
    t.tick(30, [a])
    t.tick(60, [a, b])
    t.tick(329, [a, b])
    assert len(t.sent) == 1
    t.tick(330, [a, b])
    assert t.sent[-1] == (330, "team", "firing", ["api-errors:firing", "api-latency:firing"])


def test_resolution_is_sent_once_and_group_is_dropped() -> None:
    t = Timeline()
    a = warn()
    t.tick(0, [a])
    t.tick(30, [a])
    resolved = a.evolve(state=AlertState.RESOLVED, resolved_at=at(100))
    t.tick(100, [resolved])
    assert len(t.sent) == 1  # group_interval since last send not reached
    result = t.tick(330, [resolved])
    assert t.sent[-1] == (330, "team", "resolved", ["api-latency:resolved"])
    assert not t.groups and result.removed
    t.tick(400, [resolved])
    assert len(t.sent) == 2


def test_repeat_interval_resends_unchanged_firing_group() -> None:
    t = Timeline()
    a = warn()
    t.tick(0, [a])
    t.tick(30, [a])
    t.tick(30 + 4 * 3600 - 1, [a])
    assert len(t.sent) == 1
    t.tick(30 + 4 * 3600, [a])
    assert len(t.sent) == 2


def test_alert_that_resolves_within_group_wait_sends_nothing() -> None:
    t = Timeline()
    a = warn()
    t.tick(0, [a])
    t.tick(10, [a.evolve(state=AlertState.RESOLVED)])
    t.tick(60, [a.evolve(state=AlertState.RESOLVED)])
    assert t.sent == [] and not t.groups


def test_muted_alerts_are_not_notified_and_not_resolved() -> None:
    t = Timeline()
    a = warn()
    t.tick(0, [a], muted={a.fingerprint: "silenced"})
    t.tick(60, [a], muted={a.fingerprint: "silenced"})
    assert t.sent == []
    # notified, then silenced: no resolved message for an alert that is still broken
    t.tick(100, [a])
    t.tick(130, [a])
    t.tick(500, [a], muted={a.fingerprint: "silenced"})
    assert [status for _, _, status, _ in t.sent] == ["firing"]


def test_continue_sends_to_several_receivers() -> None:
    t = Timeline()
    t.tick(0, [warn("invoice-failures", service="billing")])
    t.tick(30, [warn("invoice-failures", service="billing")])
    assert sorted(r for _, r, _, _ in t.sent) == ["billing", "finance"]


def test_flapping_alert_is_announced_once_not_per_flip() -> None:
    t = Timeline()
    a = warn()
    t.tick(0, [a])
    t.tick(30, [a])
    flapping = a.evolve(flapping=True, flips=(at(40), at(60), at(80), at(100)))
    t.tick(100, [flapping])
    t.tick(330, [flapping])  # announced as flapping once, at the group interval
    assert len(t.sent) == 2
    t.tick(400, [flapping.evolve(state=AlertState.RESOLVED)])
    t.tick(700, [flapping.evolve(state=AlertState.RESOLVED)])
    assert len(t.sent) == 2  # still flapping: its flips do not each notify
    settled = flapping.evolve(state=AlertState.RESOLVED, flapping=False)
    t.tick(900, [settled])
    assert t.sent[-1][2] == "resolved"


def test_idempotency_keys_are_unique_across_group_lifetimes() -> None:
    t = Timeline()
    keys = []
    a = warn()
    for cycle in range(3):
        base = cycle * 1000
        keys += [n.idempotency_key for n in t.tick(base, [a]).notifications]
        keys += [n.idempotency_key for n in t.tick(base + 30, [a]).notifications]
        r = a.evolve(state=AlertState.RESOLVED)
        keys += [n.idempotency_key for n in t.tick(base + 400, [r]).notifications]
    assert len(keys) == 6 and len(set(keys)) == 6
