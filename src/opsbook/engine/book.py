"""The engine's alert book: rules in, notifications out, with no I/O (clock passed in).

One `evaluate` call runs every given rule against the series, advances each alert through
its lifecycle, tracks flapping, computes what is muted (silences, maintenance windows,
inhibition), and plans notifications with Alertmanager grouping. It returns `Changes`:
exactly what the engine must write to the store, in one transaction, before anything is
sent. Keeping this pure is what lets the crash tests and `opsbook test rules` trust it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from opsbook.alerts.flapping import FlapPolicy, judge, record_flip
from opsbook.alerts.inhibit import inhibitions
from opsbook.alerts.lifecycle import Transition, due_at
from opsbook.alerts.maintenance import MaintenanceWindow
from opsbook.alerts.matchers import matches_all
from opsbook.alerts.model import Alert, AlertState, Level, fingerprint
from opsbook.alerts.silences import Silence
from opsbook.notify.grouping import GroupState, Placement, PlannedNotification, plan
from opsbook.notify.model import Notification
from opsbook.notify.routing import Route, RoutingTree
from opsbook.rules.alerting import advance
from opsbook.rules.evaluate import SeriesSource, evaluate
from opsbook.rules.model import Rule

ENGINE_RULE = "opsbook:receiver-failing"
RESOLVED_MEMORY = timedelta(hours=1)


@dataclass
class Changes:
    """What one evaluation changed; the engine persists all of it in one transaction."""

    alerts: dict[str, Alert] = field(default_factory=dict)
    events: list[tuple[Alert, str, datetime]] = field(default_factory=list)
    muted: dict[str, str | None] = field(default_factory=dict)
    groups: list[GroupState] = field(default_factory=list)
    removed_groups: list[str] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.alerts
            or self.events
            or self.muted
            or self.groups
            or self.removed_groups
            or self.notifications
        )


def _notification(planned: PlannedNotification) -> Notification:
    return Notification(
        idempotency_key=planned.idempotency_key,
        receiver=planned.receiver,
        group_key=planned.group_key,
        group_labels=planned.group_labels,
        status=planned.status,
        alerts=planned.alerts,
        created_at=planned.created_at,
    )


class AlertBook:
    def __init__(
        self,
        *,
        route: Route | None,
        default_receiver: str | None,
        fallback_receiver: str | None,
        depends_on: Mapping[str, Sequence[str]],
        windows: Sequence[MaintenanceWindow] = (),
        timezone: str = "UTC",
        flapping: FlapPolicy | None = None,
    ) -> None:
        self.alerts: dict[str, Alert] = {}
        self.groups: dict[str, GroupState] = {}
        self.muted: dict[str, str] = {}
        self.tree = RoutingTree(route, default_receiver) if route and default_receiver else None
        self.fallback_tree = (
            RoutingTree(Route(group_wait=timedelta(0)), fallback_receiver, "fallback")
            if fallback_receiver
            else None
        )
        self.depends_on = depends_on
        self.windows = list(windows)
        self.timezone = timezone
        self.flapping = flapping or FlapPolicy()
        # Routes and groups of each alert, by tree (labels never change for a fingerprint).
        self._placements: dict[str, dict[str, Placement]] = defaultdict(dict)

    def load(self, alerts: Iterable[Alert], groups: Mapping[str, GroupState]) -> None:
        self.alerts = {a.fingerprint: a for a in alerts}
        self.groups = dict(groups)
        self.muted = {}

    # -- evaluation ----------------------------------------------------------------------

    def evaluate(
        self,
        rules: Iterable[Rule],
        series: SeriesSource,
        now: datetime,
        silences: Sequence[Silence] = (),
    ) -> Changes:
        changes = Changes()
        for rule in rules:
            for alert, transition in advance(rule, evaluate(rule, series, now), self.alerts, now):
                self._update(alert, transition, now, changes)
        self._dispatch(now, silences, changes)
        return changes

    def set_failing_receivers(
        self, failing: Mapping[str, int], now: datetime, silences: Sequence[Silence] = ()
    ) -> Changes:
        """Raise (or resolve) an engine alert per receiver that keeps failing."""
        changes = Changes()
        seen = set()
        for receiver, failures in failing.items():
            labels = {
                "alertname": "ReceiverFailing",
                "level": Level.CRITICAL.value,
                "severity": "",
                "receiver": receiver,
            }
            key = fingerprint(labels)
            seen.add(key)
            alert = self.alerts.get(key) or Alert(key, ENGINE_RULE, Level.CRITICAL, labels)
            annotations = {
                "summary": f"Notifications to receiver {receiver} keep failing",
                "description": f"{failures} delivery attempts in a row have failed.",
            }
            if alert.state is not AlertState.FIRING:
                alert = alert.evolve(
                    state=AlertState.FIRING, fired_at=now, active_since=now, resolved_at=None
                )
                firing = alert.evolve(annotations=annotations, value=float(failures))
                self._update(firing, Transition.FIRING, now, changes)
        for key, alert in list(self.alerts.items()):
            if alert.rule == ENGINE_RULE and key not in seen and alert.is_firing:
                resolved = alert.evolve(state=AlertState.RESOLVED, resolved_at=now)
                self._update(resolved, Transition.RESOLVED, now, changes)
        self._dispatch(now, silences, changes)
        return changes

    def apply_external(
        self, incoming: Iterable[Alert], now: datetime, silences: Sequence[Silence] = ()
    ) -> Changes:
        """Alerts that arrive already judged (Alertmanager webhooks, events, heartbeats):
        firing ones start or refresh, resolved ones end, and they are muted, grouped and
        routed like rule alerts. Resolving an alert that is not firing changes nothing."""
        changes = Changes()
        for alert in incoming:
            previous = self.alerts.get(alert.fingerprint)
            was_firing = previous is not None and previous.is_firing
            if alert.state is AlertState.FIRING:
                if was_firing and previous is not None:
                    refreshed = previous.evolve(
                        annotations=alert.annotations, value=alert.value, updated_at=now
                    )
                    self._update(refreshed, None, now, changes)
                    continue
                started = alert.fired_at or now
                firing = alert.evolve(
                    fired_at=started,
                    active_since=alert.active_since or started,
                    resolved_at=None,
                    last_true_at=now,
                    updated_at=now,
                    flips=previous.flips if previous else (),
                )
                self._update(firing, Transition.FIRING, now, changes)
            elif was_firing and previous is not None:
                resolved = previous.evolve(
                    state=AlertState.RESOLVED,
                    resolved_at=alert.resolved_at or now,
                    annotations=alert.annotations or previous.annotations,
                    updated_at=now,
                )
                self._update(resolved, Transition.RESOLVED, now, changes)
        self._dispatch(now, silences, changes)
        return changes

    def _update(
        self, alert: Alert, transition: Transition | None, now: datetime, changes: Changes
    ) -> None:
        previous = self.alerts.get(alert.fingerprint)
        if transition in (Transition.FIRING, Transition.RESOLVED):
            alert = record_flip(alert, now, self.flapping)
        elif alert.flapping:
            alert = judge(alert, now, self.flapping)
        if previous is None and alert.state is AlertState.INACTIVE:
            return  # never active: nothing to remember
        self.alerts[alert.fingerprint] = alert
        if transition is not None:
            changes.events.append((alert, transition.value, now))
        if previous is not None and alert.flapping != previous.flapping:
            changes.events.append((alert, "flapping" if alert.flapping else "settled", now))
        if (
            transition is not None
            or previous is None
            or alert.flapping != previous.flapping
            or alert.annotations != previous.annotations
        ):
            changes.alerts[alert.fingerprint] = alert

    # -- muting and notification planning ---------------------------------------------

    def mute_reasons(self, now: datetime, silences: Sequence[Silence]) -> dict[str, str]:
        reasons: dict[str, str] = {}
        active_silences = [s for s in silences if s.active(now)]
        active_windows = [w for w in self.windows if w.current(now, self.timezone) is not None]
        inhibited = inhibitions(
            (a for a in self.alerts.values() if a.rule != ENGINE_RULE), self.depends_on
        )
        for key, alert in self.alerts.items():
            if alert.state not in (AlertState.FIRING, AlertState.PENDING):
                continue
            silence = next((s for s in active_silences if s.matches(alert.labels)), None)
            if silence is not None:
                reasons[key] = f"silenced by {silence.id} ({silence.created_by}: {silence.comment})"
                continue
            window = next(
                (
                    w
                    for w in active_windows
                    if any(matches_all(way, alert.labels) for way in w.all_matchers())
                ),
                None,
            )
            if window is not None:
                reasons[key] = f"maintenance window {window.name}"
            elif key in inhibited:
                reasons[key] = inhibited[key]
        return reasons

    def _dispatch(self, now: datetime, silences: Sequence[Silence], changes: Changes) -> None:
        muted = self.mute_reasons(now, silences)
        for key in set(muted) | set(self.muted):
            if muted.get(key) != self.muted.get(key):
                changes.muted[key] = muted.get(key)
        self.muted = muted
        visible = [
            a for a in self.alerts.values() if a.state in (AlertState.FIRING, AlertState.RESOLVED)
        ]
        trees = [
            (self.tree, [a for a in visible if a.rule != ENGINE_RULE]),
            (self.fallback_tree, [a for a in visible if a.rule == ENGINE_RULE]),
        ]
        for tree, alerts in trees:
            if tree is None:
                continue
            own = {k: g for k, g in self.groups.items() if _tree_of(g) == tree.root_id}
            result = plan(tree, alerts, muted, own, now, self._placements[tree.root_id])
            for key in result.removed:
                self.groups.pop(key, None)
            for key, group in result.groups.items():
                if own.get(key) != group:
                    changes.groups.append(group)
                self.groups[key] = group
            changes.removed_groups.extend(result.removed)
            changes.notifications.extend(_notification(p) for p in result.notifications)
        self._forget(now)

    def _forget(self, now: datetime) -> None:
        """Drop resolved alerts no group still needs, once flapping can no longer apply."""
        needed = {fp for g in self.groups.values() for fp in g.sent_firing}
        for key, alert in list(self.alerts.items()):
            if key in needed:
                continue
            if (alert.state is AlertState.INACTIVE and not alert.flips) or (
                alert.state is AlertState.RESOLVED
                and alert.resolved_at is not None
                and now - alert.resolved_at > max(RESOLVED_MEMORY, self.flapping.window)
            ):
                del self.alerts[key]
                for placements in self._placements.values():
                    placements.pop(key, None)

    # -- timing --------------------------------------------------------------------------

    def next_due(self, rules_by_name: Mapping[str, Rule], now: datetime) -> datetime | None:
        """The earliest moment something changes without new data (a `for:` ending)."""
        times = []
        for alert in self.alerts.values():
            rule = rules_by_name.get(alert.rule)
            if rule is not None:
                moment = due_at(alert, rule.timing)
                if moment is not None:
                    times.append(moment)
        return min(times) if times else None


def _tree_of(group: GroupState) -> str:
    return group.route_id.split(".")[0]
