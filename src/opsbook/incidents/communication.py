"""Status updates about an incident, and reminders that one is due.

The defaults are the memoapp runbook's "Incident Notification" and "Resolution
Notification" templates, plus an "Update" in the same shape; every runbook asks for
regular updates (every 30 minutes, every 10 for P0). A line whose value is unknown is
left out rather than filled with a placeholder: a status update that invents an ETA is
worse than one without.

Overrides are Jinja2 text validated at config load and rendered in the notification
sandbox (`opsbook.notify.templates`), so they see the same restrictions and fail the
same way: an override that breaks falls back to the default, and the message says so.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import cache
from importlib.resources import files
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field

from opsbook.config.base import Section
from opsbook.config.redact import Redactor
from opsbook.incidents.model import ActionItem, Incident
from opsbook.notify.templates import (
    MAX_BODY_LENGTH,
    MAX_TITLE_LENGTH,
    TemplateText,
    describe_error,
    human_duration,
    human_interval,
    render_sandboxed,
)

__all__ = [
    "CommunicationTemplates",
    "UpdateKind",
    "default_template",
    "reminder_due",
    "reminder_text",
    "render_status_update",
    "status_context",
    "update_due_at",
]

log = logging.getLogger(__name__)

UpdateKind = Literal["initial", "update", "resolution"]

_TITLES: Mapping[str, str] = {
    "initial": "INCIDENT ALERT",
    "update": "INCIDENT UPDATE",
    "resolution": "INCIDENT RESOLVED",
}


class CommunicationTemplates(Section):
    """Overrides of the status-update bodies; unset keys use the runbook defaults."""

    initial: TemplateText | None = Field(
        default=None, description="Jinja2 body of the first message (incident notification)."
    )
    update: TemplateText | None = Field(
        default=None, description="Jinja2 body of a progress update."
    )
    resolution: TemplateText | None = Field(
        default=None, description="Jinja2 body of the resolution notification."
    )


@cache
def default_template(kind: UpdateKind) -> str:
    """The packaged default body for one kind (also what the docs show)."""
    resource = files("opsbook.incidents") / "templates" / f"status_{kind}.txt.j2"
    return resource.read_text(encoding="utf-8")


def _stamp(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if value is not None else ""


def status_context(
    kind: UpdateKind,
    incident: Incident,
    message: str,
    *,
    now: datetime,
    next_update_in: timedelta | None = None,
    eta: str | None = None,
    actions: Sequence[ActionItem] = (),
    timezone: str = "UTC",
) -> dict[str, Any]:
    """Every variable a status-update template can use (documented in docs/postmortems.md)."""
    zone = ZoneInfo(timezone)
    open_actions = [
        {"text": a.text, "owner": a.owner or ""}
        for a in sorted(actions, key=lambda a: (a.created_at, a.id))
        if not a.done
    ]
    return {
        "kind": kind,
        "incident_id": incident.id,
        "title": incident.title,
        "issue": incident.title,
        "severity": incident.severity,
        "service": ", ".join(incident.services),
        "services": list(incident.services),
        "impact": incident.impact,
        "summary": incident.summary,
        "status": incident.status.value.capitalize(),
        "status_value": incident.status.value,
        "message": message.strip(),
        "eta": (eta or "").strip(),
        "update_interval": human_interval(next_update_in) if next_update_in else "",
        "next_update_at": _stamp(now + next_update_in, zone) if next_update_in else "",
        "commander": incident.commander or "",
        "roles": dict(incident.roles),
        "detected_at": _stamp(incident.detected_at, zone),
        "opened_at": _stamp(incident.opened_at, zone),
        "acknowledged_at": _stamp(incident.acknowledged_at, zone),
        "acknowledged_by": incident.acknowledged_by or "",
        "resolved_at": _stamp(incident.resolved_at, zone),
        "duration": human_duration(incident.duration(now)),
        "open_actions": open_actions,
        "now": _stamp(now, zone),
    }


def _title(kind: UpdateKind, context: Mapping[str, Any]) -> str:
    head = _TITLES[kind]
    if kind != "resolution" and context["severity"]:
        head += f" - {context['severity']}"
    if context["service"]:
        head += f" - {context['service']}"
    return f"{head}: {context['issue']}"


def _body(
    kind: UpdateKind, override: str | None, context: Mapping[str, Any], notes: list[str]
) -> str:
    if override is not None:
        try:
            text = render_sandboxed(override, context)
            if text.strip():
                return text
            notes.append(f"the {kind} template rendered nothing; the default template was used")
        except Exception as exc:  # a user's template must never stop an update going out
            notes.append(
                f"the {kind} template failed ({describe_error(exc)}); the default template was used"
            )
    return render_sandboxed(default_template(kind), context)


def render_status_update(
    kind: UpdateKind,
    incident: Incident,
    message: str,
    *,
    now: datetime,
    next_update_in: timedelta | None = None,
    eta: str | None = None,
    templates: CommunicationTemplates | None = None,
    timezone: str = "UTC",
    actions: Sequence[ActionItem] = (),
    redactor: Redactor | None = None,
) -> tuple[str, str]:
    """Title and body of a status update. ``actions`` feed the resolution's Next Steps
    (open items only); the text is redacted and bounded like any notification."""
    if kind not in _TITLES:
        raise ValueError(f"unknown status update kind {kind!r}; use initial, update or resolution")
    redact = redactor or Redactor()
    context = status_context(
        kind,
        incident,
        message,
        now=now,
        next_update_in=next_update_in,
        eta=eta,
        actions=actions,
        timezone=timezone,
    )
    notes: list[str] = []
    override = getattr(templates, kind) if templates is not None else None
    body = _body(kind, override, context, notes).strip("\n")
    if notes:
        body += "\n\n" + "\n".join(f"(note: {n})" for n in notes)
        for note in notes:
            log.warning("incident %s: %s", incident.id, redact(note))
    title = " ".join(_title(kind, context).split())
    return redact(title)[:MAX_TITLE_LENGTH], redact(body)[:MAX_BODY_LENGTH]


def update_due_at(incident: Incident, update_interval: timedelta | None) -> datetime | None:
    """When the commander owes the next status update: one interval after the last
    update (or the opening). A reminder already sent pushes it to ``next_reminder_at``,
    so an ignored reminder repeats once per interval instead of on every tick."""
    if update_interval is None or not incident.is_open or incident.resolved_at is not None:
        return None
    due = (incident.last_update_at or incident.opened_at) + update_interval
    if incident.next_reminder_at is not None and incident.next_reminder_at > due:
        return incident.next_reminder_at
    return due


def reminder_due(
    incident: Incident, update_interval: timedelta | None, now: datetime
) -> datetime | None:
    """The moment an update became due, if that moment has come; ``None`` otherwise.
    ``now - reminder_due(...)`` is what `reminder_text` reports as overdue."""
    due = update_due_at(incident, update_interval)
    return due if due is not None and due <= now else None


def reminder_text(incident: Incident, overdue_by: timedelta) -> str:
    """What the commander receives: which incident, how late, and who is on the hook."""
    late = (
        f", overdue by {human_duration(overdue_by)}" if overdue_by >= timedelta(seconds=1) else ""
    )
    who = (
        f"Commander: {incident.commander}."
        if incident.commander
        else "No commander assigned: anyone on the incident can post it."
    )
    return (
        f"Status update due for incident #{incident.id} ({incident.severity}, "
        f"{incident.status.value}): {incident.title}{late}. {who}"
    )
