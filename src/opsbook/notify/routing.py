"""The routing tree: which receivers get an alert, and how its notifications are grouped.

Alertmanager's semantics, so its users need not relearn them: children are tried in order
and the first match wins unless it says `continue: true`; an alert no child matches is
handled by the node itself; unset settings inherit from the parent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from pydantic import Field

from opsbook.alerts.matchers import Matchers, matches_all
from opsbook.config.base import Name, Section
from opsbook.config.types import Duration

DEFAULT_GROUP_BY = ("alertname", "service")
DEFAULT_GROUP_WAIT = timedelta(seconds=10)
DEFAULT_GROUP_INTERVAL = timedelta(minutes=5)
DEFAULT_REPEAT_INTERVAL = timedelta(hours=4)


class Route(Section):
    receiver: Name | None = Field(default=None, description="Receiver name; inherited if unset.")
    matchers: Matchers = Field(default_factory=list)
    group_by: list[str] | None = Field(
        default=None,
        description="Labels that split alerts into groups; ['...'] groups by all labels.",
    )
    group_wait: Duration | None = Field(
        default=None, description="Wait before the first notification of a new group (10s)."
    )
    group_interval: Duration | None = Field(
        default=None, description="Wait before notifying changes to a notified group (5m)."
    )
    repeat_interval: Duration | None = Field(
        default=None, description="Re-send a still-firing group after this long (4h)."
    )
    continue_matching: bool = Field(
        default=False, alias="continue", description="Keep matching later siblings."
    )
    routes: list[Route] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ResolvedRoute:
    """A route with its inherited settings filled in, identified by its tree position."""

    id: str
    receiver: str
    group_by: tuple[str, ...]
    group_wait: timedelta
    group_interval: timedelta
    repeat_interval: timedelta

    def group_labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        if self.group_by == ("...",):
            return dict(labels)
        return {name: labels[name] for name in self.group_by if name in labels}


def _resolve(route: Route, parent: ResolvedRoute, route_id: str) -> ResolvedRoute:
    return ResolvedRoute(
        id=route_id,
        receiver=route.receiver or parent.receiver,
        group_by=tuple(route.group_by) if route.group_by is not None else parent.group_by,
        group_wait=route.group_wait if route.group_wait is not None else parent.group_wait,
        group_interval=(
            route.group_interval if route.group_interval is not None else parent.group_interval
        ),
        repeat_interval=(
            route.repeat_interval if route.repeat_interval is not None else parent.repeat_interval
        ),
    )


class RoutingTree:
    """Compiled once from config; `match(labels)` is called for every alert."""

    def __init__(self, root: Route, default_receiver: str, root_id: str = "root") -> None:
        top = ResolvedRoute(
            id=root_id,
            receiver=default_receiver,
            group_by=DEFAULT_GROUP_BY,
            group_wait=DEFAULT_GROUP_WAIT,
            group_interval=DEFAULT_GROUP_INTERVAL,
            repeat_interval=DEFAULT_REPEAT_INTERVAL,
        )
        self.root = root
        self.root_id = root_id
        self._root_resolved = _resolve(root, top, root_id)
        self._by_id: dict[str, ResolvedRoute] = {}
        self._index(root, self._root_resolved)

    def _index(self, route: Route, resolved: ResolvedRoute) -> None:
        self._by_id[resolved.id] = resolved
        for position, child in enumerate(route.routes):
            self._index(child, _resolve(child, resolved, f"{resolved.id}.{position}"))

    def route(self, route_id: str) -> ResolvedRoute | None:
        """A route by its position id (None when the config no longer has it)."""
        return self._by_id.get(route_id)

    def match(self, labels: Mapping[str, str]) -> list[ResolvedRoute]:
        """Every route that handles an alert with these labels (at least the root)."""
        found = self._walk(self.root, self._root_resolved, labels)
        return found or [self._root_resolved]

    def _walk(
        self, route: Route, resolved: ResolvedRoute, labels: Mapping[str, str]
    ) -> list[ResolvedRoute]:
        matched: list[ResolvedRoute] = []
        for index, child in enumerate(route.routes):
            if not matches_all(child.matchers, labels):
                continue
            child_resolved = _resolve(child, resolved, f"{resolved.id}.{index}")
            matched.extend(self._walk(child, child_resolved, labels) or [child_resolved])
            if not child.continue_matching:
                break
        return matched

    def receivers(self) -> set[str]:
        names: set[str] = set()
        stack = [self.root]
        while stack:
            route = stack.pop()
            if route.receiver:
                names.add(route.receiver)
            stack.extend(route.routes)
        return names
