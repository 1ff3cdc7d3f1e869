"""Templates of the dashboard: one Jinja2 environment, the layout's context, and the
headers every page carries.

Pages are rendered on the server; htmx swaps fragments of them and `live.js` feeds
Server-Sent Events into them. Every asset is served from `/static`, so the Content
Security Policy allows only this origin: no inline script, no inline style.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from opsbook import __version__
from opsbook.engine.core import Engine
from opsbook.store.api_tokens import Role
from opsbook.web.ui.access import Principal, csrf_field

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# htmx: no injected <style> (the CSP forbids it), and 4xx answers are swapped in (as
# errors) so a refusal ("already resolved") shows where the action was.
HTMX_CONFIG = json.dumps(
    {
        "includeIndicatorStyles": False,
        "responseHandling": [
            {"code": "204", "swap": False},
            {"code": "[23]..", "swap": True},
            {"code": "4..", "swap": True, "error": True},
            {"code": "...", "swap": False, "error": True},
        ],
    }
)
NAV = (
    ("/", "Overview"),
    ("/alerts", "Alerts"),
    ("/incidents", "Incidents"),
    ("/oncall", "On call"),
    ("/runs", "Runs"),
)


def stamp(value: datetime | None) -> str:
    """A UTC time as people read it in a timeline: 2026-01-05 14:03:22 UTC."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "–"


def clock(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%H:%M:%S") if value else "–"


def span(value: timedelta | float | None) -> str:
    """A duration in its two largest units: 45s, 3m 20s, 2h 05m, 3d 4h."""
    if value is None:
        return "–"
    seconds = int(value.total_seconds() if isinstance(value, timedelta) else value)
    seconds = max(seconds, 0)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def ago(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "never"
    if value > now:
        return f"in {span(value - now)}"
    return f"{span(now - value)} ago"


def iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value else ""


TONES = {
    "ok": ("ok", "operational", "succeeded", "resolved", "up"),
    "warn": ("warning", "degraded", "pending", "late", "waiting", "identified", "monitoring"),
    "bad": ("critical", "firing", "failed", "down", "major_outage", "partial_outage",
            "investigating", "interrupted"),
    "info": ("running", "new", "active"),
    "maint": ("under_maintenance", "maintenance"),
}  # fmt: skip
_TONE_OF = {value: tone for tone, values in TONES.items() for value in values}


def tone(value: object) -> str:
    """The colour family a status is shown in: ok, warn, bad, info, maint or muted."""
    return _TONE_OF.get(str(value), "muted")


def can(principal: Principal | None, role: Role) -> bool:
    return principal is not None and Role(principal.role).allows(role)


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("opsbook.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(stamp=stamp, clock=clock, span=span, iso=iso)
    env.globals.update(ago=ago, can=can, tone=tone, Role=Role, version=__version__)
    return env


class Pages:
    """Renders the dashboard's templates with what every page needs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.env = environment()
        severities = [s.name for s in engine.config.severities]
        self.env.globals["severity_tone"] = lambda name: (
            "bad" if name in severities[:2] else "warn" if name in severities[2:3] else "info"
        )

    def context(
        self, request: Request | None, principal: Principal | None, **values: Any
    ) -> dict[str, Any]:
        path = request.url.path if request is not None else ""
        base = {
            "principal": principal,
            "csrf": csrf_field(principal),
            "csrf_token": principal.csrf if principal is not None else "",
            "project": self.engine.config.project.name,
            "now": self.engine.clock(),
            "nav": NAV,
            "path": path,
            "htmx_config": HTMX_CONFIG,
        }
        return {**base, **values}

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        return self.env.get_template(name).render(context)

    def page(
        self,
        request: Request,
        principal: Principal | None,
        name: str,
        status: int = 200,
        **values: Any,
    ) -> HTMLResponse:
        body = self.render(name, self.context(request, principal, **values))
        return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)

    def fragment(
        self, name: str, principal: Principal | None, request: Request | None = None, **values: Any
    ) -> str:
        """A partial template (no layout) for an htmx swap or a Server-Sent Event."""
        return self.render(name, self.context(request, principal, **values))

    def answer(
        self,
        name: str,
        principal: Principal | None,
        request: Request | None = None,
        status: int = 200,
        **values: Any,
    ) -> HTMLResponse:
        body = self.fragment(name, principal, request, **values)
        return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)

    def not_found(self, request: Request, principal: Principal | None, what: str) -> HTMLResponse:
        return self.page(request, principal, "error.html", 404, title="Not found", message=what)
