"""Decide which notifications to send now: Alertmanager's grouping, as a pure function.

Each route splits the alerts it handles into groups by `group_by` labels. A new group
waits `group_wait` before its first notification (so an alert storm arrives as one
message); after that, changes (new firing alerts, resolutions) are sent at most every
`group_interval`, and a group that keeps firing unchanged is re-sent every
`repeat_interval`. Muted alerts (silenced, inhibited, in maintenance) are left out of
the messages but still evaluated. A flapping alert counts as firing until it settles, so
its flips do not each cause a message.

Group state is returned, not kept: the engine stores it in the same transaction as the
notifications it planned, which is what makes a crash unable to lose or repeat one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from opsbook.alerts.model import Alert, AlertState
from opsbook.notify.routing import ResolvedRoute, RoutingTree


@dataclass(frozen=True, slots=True)
class GroupState:
    key: str
    route_id: str
    receiver: str
    labels: Mapping[str, str]
    created_at: datetime
    last_sent_at: datetime | None = None
    sent_firing: frozenset[str] = frozenset()
    sent_flapping: frozenset[str] = frozenset()  # announced as flapping; not re-announced
    seq: int = 0


@dataclass(frozen=True, slots=True)
class PlannedNotification:
    """What to send; `idempotency_key` is unique for ever (group creation time + sequence)."""

    idempotency_key: str
    receiver: str
    group_key: str
    group_labels: Mapping[str, str]
    status: str  # "firing" | "resolved"
    alerts: tuple[Alert, ...]
    created_at: datetime


@dataclass
class Plan:
    groups: dict[str, GroupState]
    notifications: list[PlannedNotification] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # group keys to delete from the store
    next_due: datetime | None = None  # when to call `plan` again at the latest


def group_key(route: ResolvedRoute, labels: Mapping[str, str]) -> str:
    return f"{route.id}:{json.dumps(dict(sorted(labels.items())), separators=(',', ':'))}"


def counts_as_firing(alert: Alert) -> bool:
    return alert.state is AlertState.FIRING or (alert.flapping and bool(alert.flips))


@dataclass
class _Members:
    route: ResolvedRoute
    labels: dict[str, str]
    firing: dict[str, Alert] = field(default_factory=dict)
    muted: set[str] = field(default_factory=set)  # firing but muted: kept, not announced


Placement = tuple[tuple[ResolvedRoute, dict[str, str], str], ...]
"""Where an alert's labels put it: (route, group labels, group key) per matching route."""


def _placement(tree: RoutingTree, alert: Alert, cache: dict[str, Placement] | None) -> Placement:
    """An alert's routes and groups depend only on its labels, which its fingerprint
    identifies: a caller that plans every second over the same alerts passes a cache and
    matches each alert once instead of on every pass."""
    if cache is not None and (found := cache.get(alert.fingerprint)) is not None:
        return found
    placed = tuple(
        (route, labels, group_key(route, labels))
        for route in tree.match(alert.labels)
        for labels in (route.group_labels(alert.labels),)
    )
    if cache is not None:
        cache[alert.fingerprint] = placed
    return placed


def _memberships(
    tree: RoutingTree,
    alerts: Iterable[Alert],
    muted: Mapping[str, str],
    cache: dict[str, Placement] | None = None,
) -> tuple[dict[str, _Members], dict[str, Alert]]:
    members: dict[str, _Members] = {}
    by_fingerprint: dict[str, Alert] = {}
    for alert in alerts:
        by_fingerprint[alert.fingerprint] = alert
        if not counts_as_firing(alert):
            continue
        for route, labels, key in _placement(tree, alert, cache):
            if alert.fingerprint in muted:
                if key in members:
                    members[key].muted.add(alert.fingerprint)
                else:
                    members[key] = _Members(route, labels, muted={alert.fingerprint})
            else:
                members.setdefault(key, _Members(route, labels)).firing[alert.fingerprint] = alert
    return members, by_fingerprint


def plan(
    tree: RoutingTree,
    alerts: Iterable[Alert],
    muted: Mapping[str, str],
    groups: Mapping[str, GroupState],
    now: datetime,
    cache: dict[str, Placement] | None = None,
) -> Plan:
    members, by_fingerprint = _memberships(tree, alerts, muted, cache)
    result = Plan(groups=dict(groups))
    due_times: list[datetime] = []

    for key, member in members.items():
        if key not in result.groups and member.firing:
            result.groups[key] = GroupState(
                key=key,
                route_id=member.route.id,
                receiver=member.route.receiver,
                labels=member.labels,
                created_at=now,
            )

    for key, state in list(result.groups.items()):
        current = members.get(key)
        firing = current.firing if current else {}
        flapping = frozenset(fp for fp, alert in firing.items() if alert.flapping)
        # Muted alerts already announced stay "sent": no message while muted, and a
        # resolved message once they do resolve (the receiver was told they fired).
        kept_muted = frozenset(current.muted if current else ()) & state.sent_firing
        route = current.route if current else tree.route(state.route_id)
        resolved = {
            fp: by_fingerprint[fp]
            for fp in state.sent_firing
            if fp not in firing
            and fp in by_fingerprint
            and by_fingerprint[fp].state is AlertState.RESOLVED
            and not counts_as_firing(by_fingerprint[fp])
        }
        if route is None:  # the route disappeared with a config change: drop the group
            del result.groups[key]
            result.removed.append(key)
            continue
        new_firing = set(firing) - state.sent_firing
        changed = bool(new_firing or resolved or flapping - state.sent_flapping)
        if state.last_sent_at is None:
            due = state.created_at + route.group_wait if firing else None
        elif changed:
            due = max(state.last_sent_at + route.group_interval, state.created_at)
        elif firing:
            due = state.last_sent_at + route.repeat_interval
        else:
            due = None

        if due is not None and due <= now and (firing or resolved):
            alerts_out = (*firing.values(), *resolved.values())
            notification = PlannedNotification(
                idempotency_key=f"{key}@{state.created_at.isoformat()}#{state.seq + 1}",
                receiver=state.receiver,
                group_key=key,
                group_labels=state.labels,
                status="firing" if firing else "resolved",
                alerts=tuple(alerts_out),
                created_at=now,
            )
            result.notifications.append(notification)
            state = replace(
                state,
                last_sent_at=now,
                sent_firing=frozenset(firing) | kept_muted,
                sent_flapping=flapping,
                seq=state.seq + 1,
            )
            due = now + (route.repeat_interval if firing else route.group_interval)
        elif not changed and state.last_sent_at is not None:
            # Members that went away without resolving (their route changed) are dropped
            # quietly: no "resolved" message for an alert that is still broken.
            still = state.sent_firing & (frozenset(firing) | kept_muted)
            if still != state.sent_firing or not state.sent_flapping <= flapping:
                state = replace(
                    state, sent_firing=still, sent_flapping=state.sent_flapping & flapping
                )

        if not firing and not state.sent_firing:
            del result.groups[key]
            result.removed.append(key)
            continue
        result.groups[key] = state
        if due is not None:
            due_times.append(due)

    result.next_due = min(due_times) if due_times else None
    return result
