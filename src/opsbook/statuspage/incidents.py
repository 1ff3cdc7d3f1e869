"""The public view of an incident: which of its timeline is shown, and in what words. Pure.

Only entries marked `public` are considered, and of those only the kinds below. Their
stored text often names a person ("Status identified → monitoring by alice"), so every
entry except a status update is reworded from its kind and data; a status update's text
is what its author wrote for the public and is shown as written. Severity changes are
internal (the severity scale is the team's, not the customers') and are not shown.

An incident's own title is shown when a person declared the incident and wrote it. An
incident opened by an alert is titled after its public components instead: alert
summaries are rule templates filled with labels (hosts, instances) and were never
written for the public.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from opsbook.incidents.model import EventKind, Incident, IncidentStatus, TimelineEntry
from opsbook.statuspage.model import PublicIncident, PublicUpdate

ENGINE_ACTOR = "opsbook"  # `created_by` of incidents that alerts opened

_STATUS_WORDS = {
    IncidentStatus.INVESTIGATING: "Investigating",
    IncidentStatus.IDENTIFIED: "Identified",
    IncidentStatus.MONITORING: "Monitoring",
    IncidentStatus.RESOLVED: "Resolved",
}


def status_word(status: IncidentStatus) -> str:
    return _STATUS_WORDS[status]


def _new_status(entry: TimelineEntry) -> IncidentStatus | None:
    try:
        return IncidentStatus(str(entry.data.get("new", "")))
    except ValueError:
        return None


def _resolution_message(entry: TimelineEntry) -> str:
    """The message given when resolving, without the "Resolved by <actor>" prefix (the
    desk writes exactly that prefix; anything else yields no message)."""
    prefix = f"Resolved by {entry.actor}: "
    return entry.text[len(prefix) :].strip() if entry.text.startswith(prefix) else ""


def public_updates(timeline: Iterable[TimelineEntry]) -> list[PublicUpdate]:
    """The public updates of one incident's timeline (oldest first in, newest first out),
    each with the status the incident had after it."""
    status = IncidentStatus.INVESTIGATING
    updates: list[PublicUpdate] = []
    for entry in sorted(timeline, key=lambda e: (e.at, e.id or 0)):
        if not entry.public:
            continue
        text: str | None = None
        if entry.kind in (EventKind.DECLARED, EventKind.OPENED):
            status = IncidentStatus.INVESTIGATING
            text = "We are investigating this issue."
        elif entry.kind in (EventKind.STATUS_CHANGED, EventKind.REOPENED):
            new = _new_status(entry)
            if new is None:
                continue
            status = new
            text = f"Status changed to {status_word(new).lower()}."
            if entry.kind is EventKind.REOPENED:
                text = f"The incident was reopened ({status_word(new).lower()})."
        elif entry.kind is EventKind.RESOLVED:
            status = IncidentStatus.RESOLVED
            text = _resolution_message(entry) or "This incident has been resolved."
        elif entry.kind is EventKind.STATUS_UPDATE:
            text = entry.text.strip()
        if text:
            updates.append(PublicUpdate(entry.at, status, text))
    updates.reverse()
    return updates


def public_title(incident: Incident, components: Iterable[str]) -> str:
    if incident.created_by != ENGINE_ACTOR and incident.title.strip():
        return incident.title.strip()
    return "Service disruption: " + ", ".join(components)


def public_incident(
    incident: Incident, timeline: Iterable[TimelineEntry], public_services: Collection[str]
) -> PublicIncident | None:
    """The incident as the status page shows it; None when it touches no public service."""
    components = tuple(dict.fromkeys(s for s in incident.services if s in public_services))
    if not components:
        return None
    return PublicIncident(
        id=incident.id,
        title=public_title(incident, components),
        status=incident.status,
        components=components,
        started_at=incident.opened_at,
        resolved_at=incident.resolved_at,
        updates=tuple(public_updates(timeline)),
    )
