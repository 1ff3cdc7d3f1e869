"""Title and body of a notification: Jinja2 in a sandbox, with defaults modelled on the
runbooks' communication templates (memoapp's "Incident Notification" and "Resolution
Notification": severity, service, issue, impact, status, updates).

A receiver may override either template. Rendering never stops a delivery: an override
that fails falls back to the default (and the message says so), and all text passes
through the config's `Redactor` before it leaves.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

from jinja2 import ChainableUndefined, Template, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import AfterValidator, Field

from opsbook.alerts.model import Alert, AlertState
from opsbook.config.base import Section
from opsbook.config.redact import Redactor
from opsbook.notify.model import Notification, Rendered

if TYPE_CHECKING:
    from opsbook.config.models import Config

log = logging.getLogger(__name__)

MAX_TEMPLATE_LENGTH = 20_000
MAX_TITLE_LENGTH = 300
MAX_BODY_LENGTH = 30_000

_ENV = SandboxedEnvironment(
    autoescape=False,
    undefined=ChainableUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

DEFAULT_TITLE = """\
{% if kind != "alert" and title %}
{{ title }}
{% elif status == "firing" %}
INCIDENT ALERT - {{ severity or "alert" }}{% if service %} - {{ service }}{% endif %}: {{ issue }}
{% else %}
INCIDENT RESOLVED{% if service %} - {{ service }}{% endif %}: {{ issue }}
{% endif %}"""

DEFAULT_BODY = """\
{% macro details(a, pad="") %}
{{ pad }}Issue: {{ a.issue }}
{% if a.impact %}
{{ pad }}Impact: {{ a.impact }}
{% endif %}
{% if a.status == "firing" %}
{{ pad }}Status: Firing since {{ a.started_at }} ({{ a.duration }})
{% if a.value %}
{{ pad }}Value: {{ a.value }}
{% endif %}
{% else %}
{{ pad }}Resolution: Resolved at {{ a.resolved_at }}{{ " (last value %s)" % a.value if a.value }}
{{ pad }}Duration: {{ a.duration }} (since {{ a.started_at }})
{% endif %}
{% if a.runbook_url %}
{{ pad }}Runbook: {{ a.runbook_url }}
{% endif %}
{% if a.playbook %}
{{ pad }}Playbook: {{ a.playbook }}
{% endif %}
{% endmacro %}
{% if kind != "alert" and body %}
{{ body }}
{% else %}
{% if status == "firing" %}
INCIDENT ALERT - {{ severity or "alert" }}
{% else %}
INCIDENT RESOLVED
{% endif %}
Service: {{ service or "-" }}
{% if alerts | length == 1 %}
{{ details(alerts[0]) }}
{%- else %}
Issue: {{ issue }}
{% endif %}
{% if status == "firing" and update_interval %}
Updates: Will provide updates every {{ update_interval }}
{% endif %}
{% if alerts | length > 1 %}
{% for a in alerts %}

[{{ a.status | upper }}] {{ a.alertname }}{{ " - " ~ a.severity if a.severity }}
{{ details(a, "  ") }}
{%- endfor %}
{% endif %}
{% endif %}"""


@lru_cache(maxsize=256)
def _compile(text: str) -> Template:
    return _ENV.from_string(text)


def check_template(text: str) -> str:
    """Validate a template's syntax when the config loads; returns it unchanged."""
    if len(text) > MAX_TEMPLATE_LENGTH:
        raise ValueError(f"template longer than {MAX_TEMPLATE_LENGTH} characters")
    try:
        _compile(text)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template error on line {exc.lineno}: {exc.message}") from None
    return text


TemplateText = Annotated[str, AfterValidator(check_template)]


class Templates(Section):
    """Per-receiver overrides; unset keys use the defaults."""

    title: TemplateText | None = Field(
        default=None, description="Jinja2 template of the title / mail subject (one line)."
    )
    body: TemplateText | None = Field(
        default=None, description="Jinja2 template of the message body."
    )


@dataclass(frozen=True, slots=True)
class TemplateSettings:
    """What rendering needs from the rest of the config."""

    timezone: tzinfo = UTC
    severities: Sequence[str] = ()  # most severe first
    update_intervals: Mapping[str, timedelta | None] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Config) -> TemplateSettings:
        return cls(
            timezone=ZoneInfo(config.project.timezone),
            severities=tuple(s.name for s in config.severities),
            update_intervals={s.name: s.update_interval for s in config.severities},
        )


def format_value(value: float | None) -> str:
    if value is None or value != value:
        return ""
    return f"{value:.6g}"


def human_duration(value: timedelta) -> str:
    """'45s', '12m', '1h 5m', '2d 3h': precise enough for a message, short to read."""
    seconds = max(0, round(value.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m" + (f" {seconds}s" if seconds else "")
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h" + (f" {minutes}m" if minutes else "")
    days, hours = divmod(hours, 24)
    return f"{days}d" + (f" {hours}h" if hours else "")


def human_interval(value: timedelta) -> str:
    """'30 minutes', '1 hour', '90 seconds' (for "updates every ...")."""
    seconds = round(value.total_seconds())
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return human_duration(value)


def _alert_context(alert: Alert, now: datetime, stamp: Any) -> dict[str, Any]:
    firing = alert.state is AlertState.FIRING
    started = alert.fired_at or alert.active_since
    ended = None if firing else (alert.resolved_at or alert.updated_at)
    until = ended or now
    annotations = dict(alert.annotations)
    name = alert.labels.get("alertname", alert.rule)
    return {
        "status": "firing" if firing else "resolved",
        "alertname": name,
        "severity": alert.labels.get("severity", ""),
        "service": alert.labels.get("service", ""),
        "level": alert.level.value,
        "labels": dict(alert.labels),
        "annotations": annotations,
        "issue": annotations.get("summary") or name,
        "impact": annotations.get("description", ""),
        "value": format_value(alert.value),
        "fired_value": format_value(alert.fired_value),
        "started_at": stamp(started) if started else "unknown",
        "resolved_at": stamp(ended) if ended else "",
        "duration": human_duration(until - started) if started else "unknown",
        "runbook_url": annotations.get("runbook_url") or annotations.get("runbook", ""),
        "playbook": annotations.get("playbook", ""),
        "fingerprint": alert.fingerprint,
        "flapping": alert.flapping,
    }


def _common(items: Sequence[Mapping[str, str]]) -> dict[str, str]:
    if not items:
        return {}
    first, *rest = items
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in rest)}


def _worst_severity(alerts: Sequence[Mapping[str, Any]], order: Sequence[str]) -> str:
    names = [str(a["severity"]) for a in alerts if a["severity"]]
    if not names:
        return ""
    rank = {name: i for i, name in enumerate(order)}
    return min(names, key=lambda n: (rank.get(n, len(rank)), n))


def template_context(
    notification: Notification, settings: TemplateSettings | None = None
) -> dict[str, Any]:
    """Every variable a template can use (documented in docs/notifications.md)."""
    settings = settings or TemplateSettings()
    zone = settings.timezone

    def stamp(value: datetime) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    now = notification.created_at
    alerts = [_alert_context(a, now, stamp) for a in notification.alerts]
    firing = [a for a in alerts if a["status"] == "firing"]
    resolved = [a for a in alerts if a["status"] == "resolved"]
    common_labels = _common([a.labels for a in notification.alerts])
    severity = _worst_severity(firing or alerts, settings.severities)
    services = sorted({str(a["service"]) for a in alerts if a["service"]})
    interval = settings.update_intervals.get(severity) if severity else None
    if len(alerts) == 1:
        issue, impact = alerts[0]["issue"], alerts[0]["impact"]
    else:
        names = list(dict.fromkeys(str(a["alertname"]) for a in alerts))
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        counts = f"{len(firing)} firing" + (f", {len(resolved)} resolved" if resolved else "")
        issue = f"{len(alerts)} alerts ({counts}): {shown}" if alerts else ""
        impact = _common([a.annotations for a in notification.alerts]).get("description", "")
    return {
        "kind": notification.kind,
        "status": notification.status,
        "receiver": notification.receiver,
        "group_key": notification.group_key,
        "group_labels": dict(notification.group_labels),
        "common_labels": common_labels,
        "common_annotations": _common([a.annotations for a in notification.alerts]),
        "alerts": alerts,
        "firing": firing,
        "resolved": resolved,
        "severity": severity,
        "service": common_labels.get("service") or ", ".join(services),
        "issue": issue,
        "impact": impact,
        "update_interval": human_interval(interval) if interval else "",
        "title": notification.title or "",
        "body": notification.body or "",
        "created_at": stamp(now),
        "idempotency_key": notification.idempotency_key,
    }


def render_sandboxed(text: str, context: Mapping[str, Any]) -> str:
    """A template (compiled once) rendered in the sandbox every user template runs in."""
    return _compile(text).render(**context)


def _fallback_text(notification: Notification) -> tuple[str, str]:
    """Plain text built without templates: the last resort if even a default fails."""
    names = ", ".join(a.labels.get("alertname", a.rule) for a in notification.alerts)
    title = notification.title or f"[{notification.status.upper()}] {names or 'notification'}"
    body = notification.body or "\n".join(
        f"[{a.state.value.upper()}] {a.labels.get('alertname', a.rule)}: "
        f"{a.annotations.get('summary', '')}"
        for a in notification.alerts
    )
    return title, body


def _one(
    which: str,
    override: str | None,
    default: str,
    context: Mapping[str, Any],
    notes: list[str],
) -> str | None:
    if override is not None:
        try:
            text = render_sandboxed(override, context)
            if text.strip():
                return text
            notes.append(f"the receiver's {which} template rendered nothing; default used")
        except Exception as exc:  # a user's template must never stop a notification
            notes.append(
                f"the receiver's {which} template failed ({describe_error(exc)}); "
                "the default template was used"
            )
    try:
        return render_sandboxed(default, context)
    except Exception as exc:  # defaults are tested; this guards against odd data
        notes.append(f"the default {which} template failed ({describe_error(exc)})")
        return None


def describe_error(exc: Exception) -> str:
    """An exception as one line for a note in a message: its type and first line."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def render_notification(
    notification: Notification,
    templates: Templates | None = None,
    redactor: Redactor | None = None,
    settings: TemplateSettings | None = None,
) -> Rendered:
    """Title and body for one notification, redacted and bounded in length."""
    redactor = redactor or Redactor()
    context = template_context(notification, settings)
    notes: list[str] = []
    title = _one("title", templates.title if templates else None, DEFAULT_TITLE, context, notes)
    body = _one("body", templates.body if templates else None, DEFAULT_BODY, context, notes)
    plain_title, plain_body = _fallback_text(notification)
    title = " ".join((title if title is not None else plain_title).split())
    body = (body if body is not None else plain_body).strip("\n")
    if notes:
        body += "\n\n" + "\n".join(f"(note: {n})" for n in notes)
        for note in notes:
            log.warning("receiver %s: %s", notification.receiver, redactor(note))
    title = redactor(title)[:MAX_TITLE_LENGTH]
    body = redactor(body)[:MAX_BODY_LENGTH]
    return Rendered(title=title, body=body, notes=tuple(redactor(n) for n in notes))
