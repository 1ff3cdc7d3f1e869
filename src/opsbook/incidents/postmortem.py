"""The postmortem of one incident, in the runbooks' template, as Markdown or HTML.

The layout is api-backend-cloud.md's "Postmortem Template" (Summary, Timeline (UTC),
Root Cause, Impact, Resolution, Action Items, Lessons Learned) plus a Metrics section.
Everything a machine knows (times, durations, who did what, targets met or missed) is
filled in; everything that needs judgement is either quoted from notes people filed under
a section, or left as a visible "To be written" blank. Nothing is invented: a postmortem
that reads finished when nobody wrote it would be worse than an empty one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any, Literal
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from opsbook.config.redact import Redactor
from opsbook.incidents.metrics import IncidentMetrics, compute_metrics, transition
from opsbook.incidents.model import ActionItem, EventKind, Incident, TimelineEntry
from opsbook.notify.templates import human_duration

__all__ = [
    "BLANK_PREFIX",
    "FLAP_WINDOW",
    "NOTE_SECTIONS",
    "postmortem_context",
    "render_postmortem",
]

Format = Literal["markdown", "html"]

NOTE_SECTIONS: Mapping[str, str] = {
    "summary": "Summary",
    "root_cause": "Root Cause",
    "impact": "Impact",
    "resolution": "Resolution",
    "lessons_learned": "Lessons Learned",
}
"""Sections a note can fill (``data={"section": key}``), keyed as the CLI accepts them."""

BLANK_PREFIX = "To be written"
"""Every gap left for people starts with this, so an unfinished postmortem is greppable."""

FLAP_WINDOW = timedelta(minutes=10)
"""Transitions of one alert closer together than this are one flapping episode."""

_BLANKS = {
    "summary": "what happened, in two or three sentences.",
    "root_cause": "the technical explanation of what went wrong.",
    "impact": "users affected, revenue impact.",
    "resolution": "what was done to fix the issue.",
    "action_items": "follow-ups: fix the root cause, update monitoring, update the runbook.",
    "lessons_learned": "what we learned and how to prevent this in the future.",
}

_LABELS: Mapping[EventKind, str] = {
    EventKind.DECLARED: "Declared",
    EventKind.OPENED: "Opened",
    EventKind.ALERT_FIRING: "Alert firing",
    EventKind.ALERT_RESOLVED: "Alert resolved",
    EventKind.ACKNOWLEDGED: "Acknowledged",
    EventKind.ACK_EXPIRED: "Acknowledgement expired",
    EventKind.ESCALATED: "Escalated",
    EventKind.ESCALATION_EXHAUSTED: "Escalation exhausted",
    EventKind.STATUS_CHANGED: "Status changed",
    EventKind.SEVERITY_CHANGED: "Severity changed",
    EventKind.ASSIGNED: "Assigned",
    EventKind.NOTE: "Note",
    EventKind.STATUS_UPDATE: "Status update",
    EventKind.PLAYBOOK: "Playbook",
    EventKind.DEPLOY: "Deploy",
    EventKind.RESOLVED: "Resolved",
    EventKind.REOPENED: "Reopened",
}
"""Kinds that tell the story. Reminders, per-receiver notifications and action-item
events are left out of the table (counted, or shown under Action Items instead)."""

_ALERT_KINDS = (EventKind.ALERT_FIRING, EventKind.ALERT_RESOLVED)

_ENV = Environment(
    loader=PackageLoader("opsbook.incidents", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def md_cell(value: object) -> str:
    """One Markdown table cell: pipes, backticks and line breaks can no longer split the
    row or open a code span, and no raw HTML tag survives."""
    text = str(value).replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")
    text = text.replace("<", "&lt;").replace("\t", " ")
    return "<br>".join(text.splitlines())


def md_inline(value: object) -> str:
    """Text on one Markdown line (a list item, a heading): no line breaks, no raw HTML."""
    return " ".join(str(value).replace("<", "&lt;").splitlines())


def md_quote(value: object) -> str:
    """A block quote: every line stays inside the quote, no raw HTML."""
    lines = str(value).replace("<", "&lt;").splitlines() or [""]
    return "\n".join(f"> {line}".rstrip() for line in lines)


_BLOCK_START = re.compile(r"^( {0,3})(#|```|~~~|=+\s*$|-+\s*$)")


def md_text(value: object) -> str:
    """Prose people wrote, kept as Markdown, except what would escape its section: a
    heading, an unclosed code fence or a setext underline could swallow or fake the
    sections after it, and no raw HTML tag survives."""
    lines = str(value).replace("<", "&lt;").splitlines()
    return "\n".join(_BLOCK_START.sub(r"\1\\\2", line).rstrip() for line in lines)


_ENV.filters.update(cell=md_cell, inline=md_inline, quote=md_quote, text=md_text)


@dataclass(frozen=True, slots=True)
class _Clock:
    """Formats instants as UTC, plus the project's local time when that differs."""

    zone: ZoneInfo | None
    long_dates: bool

    def utc(self, at: datetime) -> str:
        return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S" if self.long_dates else "%H:%M:%S")

    def local(self, at: datetime) -> str | None:
        if self.zone is None:
            return None
        fmt = "%Y-%m-%d %H:%M:%S %Z" if self.long_dates else "%H:%M:%S %Z"
        return at.astimezone(self.zone).strftime(fmt)

    def full(self, at: datetime) -> str:
        text = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        if self.zone is not None:
            text += at.astimezone(self.zone).strftime(" (%Y-%m-%d %H:%M:%S %Z)")
        return text


@dataclass(frozen=True, slots=True)
class _Row:
    utc: str
    local: str | None
    event: str
    actor: str
    details: str


@dataclass(frozen=True, slots=True)
class _Quote:
    text: str
    author: str
    at: str


@dataclass(frozen=True, slots=True)
class _Item:
    done: bool
    text: str
    owner: str
    created: str
    done_at: str | None


def _alert_key(entry: TimelineEntry) -> str:
    for key in ("alert", "fingerprint", "alertname"):
        if entry.data.get(key):
            return str(entry.data[key])
    return entry.text


def _flap_runs(entries: Sequence[TimelineEntry]) -> list[list[int]]:
    """Indexes of each alert's transitions, grouped while they follow each other closely."""
    runs: list[list[int]] = []
    current: dict[str, list[int]] = {}
    for index, entry in enumerate(entries):
        if entry.kind not in _ALERT_KINDS:
            continue
        key = _alert_key(entry)
        run = current.get(key)
        if run is not None and entry.at - entries[run[-1]].at <= FLAP_WINDOW:
            run.append(index)
        else:
            current[key] = [index]
            runs.append(current[key])
    return runs


def _flap_text(entries: Sequence[TimelineEntry], run: Sequence[int], clock: _Clock) -> str:
    kinds = [entries[i].kind for i in run]
    flaps = sum(
        1
        for before, after in pairwise(kinds)
        if before is EventKind.ALERT_RESOLVED and after is EventKind.ALERT_FIRING
    )
    last = entries[run[-1]]
    ending = "firing" if last.kind is EventKind.ALERT_FIRING else "resolved"
    what = f"flapped {flaps} time{'s' if flaps != 1 else ''}" if flaps else "repeated"
    return (
        f"{entries[run[0]].text} ({what}: {len(run)} transitions until "
        f"{clock.utc(last.at)} UTC, last {ending})"
    )


def _details(entry: TimelineEntry) -> str:
    if entry.text:
        return entry.text
    before, after = transition(entry)
    if before is not None or after is not None:
        return f"{before or '?'} → {after or '?'}"
    return ""


def _event_label(entry: TimelineEntry) -> str:
    label = _LABELS[entry.kind]
    section = entry.data.get("section")
    if entry.kind is EventKind.NOTE and section in NOTE_SECTIONS:
        return f"{label} ({NOTE_SECTIONS[str(section)]})"
    if entry.kind is EventKind.STATUS_UPDATE and entry.public:
        return f"{label} (public)"
    return label


def _timeline_rows(entries: Sequence[TimelineEntry], clock: _Clock, redact: Redactor) -> list[_Row]:
    runs = {run[0]: run for run in _flap_runs(entries) if len(run) >= 3}
    hidden = {i for run in runs.values() for i in run[1:]}
    rows = []
    for index, entry in enumerate(entries):
        if entry.kind not in _LABELS or index in hidden:
            continue
        if index in runs:
            event, details = "Alert flapping", _flap_text(entries, runs[index], clock)
        else:
            event, details = _event_label(entry), _details(entry)
        rows.append(
            _Row(
                utc=clock.utc(entry.at),
                local=clock.local(entry.at),
                event=event,
                actor=redact(entry.actor),
                details=redact(details),
            )
        )
    return rows


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _not_shown(metrics: IncidentMetrics, entries: Sequence[TimelineEntry]) -> str | None:
    parts = []
    if metrics.notifications:
        parts.append(
            f"{_plural(metrics.notifications, 'notification', 'notifications')} sent to "
            f"{_plural(metrics.people_notified, 'person', 'people')}"
        )
    reminders = sum(1 for e in entries if e.kind is EventKind.REMINDER)
    if reminders:
        parts.append(
            _plural(reminders, "reminder to post an update", "reminders to post an update")
        )
    return "; ".join(parts) or None


def _quotes(
    entries: Sequence[TimelineEntry], clock: _Clock, redact: Redactor
) -> dict[str, list[_Quote]]:
    found: dict[str, list[_Quote]] = {key: [] for key in NOTE_SECTIONS}
    for entry in entries:
        section = entry.data.get("section")
        if entry.kind is EventKind.NOTE and section in NOTE_SECTIONS and entry.text.strip():
            found[str(section)].append(
                _Quote(text=redact(entry.text), author=redact(entry.actor), at=clock.full(entry.at))
            )
    return found


def _span(value: timedelta | None) -> str | None:
    return human_duration(value) if value is not None else None


def _target_verdict(metrics: IncidentMetrics) -> str | None:
    target = metrics.response_target
    if target is None:
        return None
    head = f"Response-time target ({human_duration(target)})"
    if metrics.response_target_met is True and metrics.response_margin is not None:
        return f"{head}: met, {human_duration(metrics.response_margin)} to spare"
    if metrics.response_overrun is not None:
        late = human_duration(metrics.response_overrun)
        if metrics.acknowledged_at is None:
            return f"{head}: missed, not acknowledged {late} after it expired"
        return f"{head}: missed by {late}"
    return f"{head}: not acknowledged yet"


def _duration_text(incident: Incident, metrics: IncidentMetrics, now: datetime) -> str:
    if metrics.total_duration is not None:
        return human_duration(metrics.total_duration)
    return f"ongoing, {human_duration(incident.duration(now))} so far"


def _severity_changes(
    entries: Sequence[TimelineEntry], clock: _Clock, redact: Redactor
) -> list[str]:
    changes = []
    for entry in entries:
        if entry.kind is not EventKind.SEVERITY_CHANGED:
            continue
        before, after = transition(entry)
        what = f"{before} → {after}" if before and after else entry.text
        changes.append(redact(f"{what} at {clock.full(entry.at)} by {entry.actor}"))
    return changes


def _times(
    incident: Incident, metrics: IncidentMetrics, clock: _Clock, redact: Redactor
) -> list[tuple[str, str]]:
    points: list[tuple[str, datetime | None, str]] = [
        ("Detected", metrics.detected_at, ""),
        ("Opened", metrics.opened_at, ""),
        (
            "Acknowledged",
            metrics.acknowledged_at,
            f" by {incident.acknowledged_by}" if incident.acknowledged_by else "",
        ),
        ("Mitigated (monitoring)", metrics.mitigated_at, ""),
        ("Resolved", metrics.resolved_at, ""),
    ]
    return [
        (label, redact(clock.full(at) + extra)) for label, at, extra in points if at is not None
    ]


def _impact_facts(
    incident: Incident, metrics: IncidentMetrics, services: Sequence[str], now: datetime
) -> list[tuple[str, str]]:
    facts: list[tuple[str, str | None]] = [
        ("Duration", _duration_text(incident, metrics, now)),
        ("Services affected", ", ".join(services) or "none recorded"),
        ("Time to detect", _span(metrics.time_to_detect)),
        ("Time to acknowledge", _span(metrics.time_to_acknowledge) or "not acknowledged"),
        ("Time to mitigate", _span(metrics.time_to_mitigate)),
        ("Time to resolve", _span(metrics.time_to_resolve) or "not resolved"),
    ]
    verdict = _target_verdict(metrics)
    if verdict is not None:
        label, _, value = verdict.partition(": ")
        facts.append((label, value))
    return [(label, value) for label, value in facts if value is not None]


def _metric_rows(metrics: IncidentMetrics) -> list[tuple[str, str, str]]:
    missing = "not reached"
    notified = _plural(metrics.notifications, "notification", "notifications")
    if metrics.notifications:
        notified += f" to {_plural(metrics.people_notified, 'person', 'people')}"
    return [
        ("Time to detect (TTD)", _span(metrics.time_to_detect) or missing,
         "first failing sample → incident opened"),
        ("Time to acknowledge (TTA)", _span(metrics.time_to_acknowledge) or missing,
         "incident opened → first acknowledgement"),
        ("Time to mitigate (TTM)", _span(metrics.time_to_mitigate) or missing,
         "incident opened → status monitoring"),
        ("Time to resolve (TTR)", _span(metrics.time_to_resolve) or missing,
         "incident opened → resolved"),
        ("Total duration", _span(metrics.total_duration) or missing,
         "first failing sample (or opened) → resolved"),
        ("Escalation levels paged", str(metrics.escalation_levels_paged),
         "pages of an escalation level"),
        ("Notifications", notified, "messages queued for receivers"),
    ]  # fmt: skip


def _items(actions: Sequence[ActionItem], redact: Redactor) -> list[_Item]:
    ordered = sorted(actions, key=lambda a: (a.created_at, a.id))
    return [
        _Item(
            done=a.done,
            text=redact(a.text),
            owner=redact(f"@{a.owner.lstrip('@')}") if a.owner else "unassigned",
            created=a.created_at.astimezone(UTC).strftime("%Y-%m-%d"),
            done_at=a.done_at.astimezone(UTC).strftime("%Y-%m-%d") if a.done_at else None,
        )
        for a in ordered
    ]


def _roles(incident: Incident, redact: Redactor) -> list[tuple[str, str]]:
    names = sorted(incident.roles, key=lambda role: (role != "commander", role))
    return [(role.replace("_", " ").capitalize(), redact(incident.roles[role])) for role in names]


def _clock(entries: Sequence[TimelineEntry], incident: Incident, timezone: str) -> _Clock:
    zone = None if timezone in ("UTC", "Etc/UTC") else ZoneInfo(timezone)
    instants = [e.at for e in entries] + [incident.opened_at]
    if incident.detected_at is not None:
        instants.append(incident.detected_at)
    days = {at.astimezone(UTC).date() for at in instants}
    if zone is not None:
        days_local = {at.astimezone(zone).date() for at in instants}
        return _Clock(zone, len(days) > 1 or len(days_local) > 1)
    return _Clock(None, len(days) > 1)


def postmortem_context(
    incident: Incident,
    timeline: Sequence[TimelineEntry],
    actions: Sequence[ActionItem],
    *,
    now: datetime,
    timezone: str = "UTC",
    response_target: timedelta | None = None,
    services_info: Mapping[str, str] | None = None,
    redactor: Redactor | None = None,
) -> dict[str, Any]:
    """Everything the templates show, already redacted and formatted but not escaped."""
    redact = redactor or Redactor()
    entries = sorted(
        (e for e in timeline if e.incident_id == incident.id),
        key=lambda e: (e.at, e.id if e.id is not None else 0),
    )
    clock = _clock(entries, incident, timezone)
    metrics = compute_metrics(incident, entries, response_target=response_target, now=now)
    info = services_info or {}
    services = [redact(f"{s} ({info[s]})" if info.get(s) else s) for s in incident.services]
    return {
        "incident_id": incident.id,
        "title": redact(incident.title),
        "date": (incident.detected_at or incident.opened_at).astimezone(UTC).strftime("%Y-%m-%d"),
        "duration": _duration_text(incident, metrics, now),
        "severity": redact(incident.severity),
        "severity_changes": _severity_changes(entries, clock, redact),
        "status": incident.status.value.capitalize(),
        "header_impact": redact(" ".join(incident.impact.split())),
        "services": services,
        "roles": _roles(incident, redact),
        "times": _times(incident, metrics, clock, redact),
        "summary": redact(incident.summary.strip()),
        "timezone": timezone if clock.zone is not None else None,
        "rows": _timeline_rows(entries, clock, redact),
        "not_shown": _not_shown(metrics, entries),
        "notes": _quotes(entries, clock, redact),
        "impact_facts": _impact_facts(incident, metrics, services, now),
        "impact": redact(incident.impact.strip()),
        "actions": _items(actions, redact),
        "metrics": _metric_rows(metrics),
        "blank_prefix": BLANK_PREFIX,
        "blanks": _BLANKS,
        "generated_at": now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }


def render_postmortem(
    incident: Incident,
    timeline: Sequence[TimelineEntry],
    actions: Sequence[ActionItem],
    *,
    now: datetime,
    timezone: str = "UTC",
    response_target: timedelta | None = None,
    services_info: Mapping[str, str] | None = None,
    fmt: Format = "markdown",
    redactor: Redactor | None = None,
) -> str:
    """The postmortem document. ``services_info`` maps a service to a one-line description
    (owner, purpose) shown next to its name; ``response_target`` is the severity's
    time-to-acknowledge; secrets the ``redactor`` knows are masked in every field."""
    if fmt not in ("markdown", "html"):
        raise ValueError(f"unknown postmortem format {fmt!r}; use 'markdown' or 'html'")
    context = postmortem_context(
        incident,
        timeline,
        actions,
        now=now,
        timezone=timezone,
        response_target=response_target,
        services_info=services_info,
        redactor=redactor,
    )
    name = "postmortem.md.j2" if fmt == "markdown" else "postmortem.html.j2"
    return _ENV.get_template(name).render(**context)
