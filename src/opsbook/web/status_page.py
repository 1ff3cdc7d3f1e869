"""The public status page: `/status` (HTML), `/status.json`, `/status/feed.atom` and
`/status/badge/<service>.svg`, without authentication.

The page data is built at most once per `CACHE_SECONDS` (one snapshot shared by every
route and every visitor, computed by one request while the others wait for it), and each
body is rendered once per snapshot. Bodies carry no clock time, so an unchanged status
gives an unchanged ETag and a conditional request is answered 304 without a body.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from opsbook.engine.core import Engine
from opsbook.statuspage import (
    StatusPage,
    atom_feed,
    badge_svg,
    build_status_page,
    page_json,
)
from opsbook.statuspage.components import headline
from opsbook.statuspage.incidents import status_word
from opsbook.statuspage.uptime import format_percent
from opsbook.web.problems import problem

log = logging.getLogger(__name__)

CACHE_SECONDS = 10
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

_TEMPLATES = Environment(
    loader=PackageLoader("opsbook.web", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Body:
    content: bytes
    media_type: str
    etag: str

    @classmethod
    def of(cls, content: bytes, media_type: str) -> Body:
        return cls(content, media_type, f'"{hashlib.sha256(content).hexdigest()[:32]}"')


STYLESHEET = Body.of(
    resources.files("opsbook.web").joinpath("static/status.css").read_bytes(), "text/css"
)


@dataclass
class Snapshot:
    page: StatusPage
    taken_at: float  # monotonic seconds
    bodies: dict[str, Body] = field(default_factory=dict)

    def body(self, key: str, render: Callable[[StatusPage], Body]) -> Body:
        """`render(page)`, once per snapshot and key."""
        found = self.bodies.get(key)
        if found is None:
            found = self.bodies[key] = render(self.page)
        return found


class SnapshotCache:
    """The newest page data, rebuilt when older than `ttl` seconds; one build at a time."""

    def __init__(
        self,
        build: Callable[[], StatusPage],
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._build = build
        self._ttl = ttl
        self._clock = clock
        self._snapshot: Snapshot | None = None
        self._lock = asyncio.Lock()

    def _fresh(self) -> Snapshot | None:
        snapshot = self._snapshot
        if snapshot is not None and self._clock() - snapshot.taken_at < self._ttl:
            return snapshot
        return None

    async def get(self) -> Snapshot:
        fresh = self._fresh()
        if fresh is not None:
            return fresh
        async with self._lock:
            fresh = self._fresh()  # built by the request this one waited for
            if fresh is not None:
                return fresh
            taken_at = self._clock()
            page = await asyncio.to_thread(self._build)
            self._snapshot = Snapshot(page, taken_at)
            return self._snapshot


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: `*` or any listed tag, compared weakly."""
    if not if_none_match:
        return False
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return "*" in tags or etag in (t.removeprefix("W/") for t in tags)


def respond(request: Request, body: Body, max_age: int = CACHE_SECONDS) -> Response:
    headers = {
        **SECURITY_HEADERS,
        "ETag": body.etag,
        "Cache-Control": f"public, max-age={max_age}",
    }
    if etag_matches(request.headers.get("if-none-match"), body.etag):
        return Response(status_code=304, headers=headers)
    return Response(body.content, media_type=body.media_type, headers=headers)


def render_html(page: StatusPage) -> Body:
    zone = ZoneInfo(page.timezone)

    def when(at: datetime) -> str:
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    context: dict[str, Any] = {
        "page": page,
        "headline": headline(page.status),
        "percent": format_percent,
        "status_word": status_word,
        "when": when,
        "css_version": STYLESHEET.etag.strip('"')[:12],
    }
    html = _TEMPLATES.get_template("status.html").render(context)
    return Body.of(html.encode(), "text/html; charset=utf-8")


def render_json(page: StatusPage) -> Body:
    content = json.dumps(page_json(page), ensure_ascii=False, separators=(",", ":"))
    return Body.of(content.encode(), "application/json")


def status_router(engine: Engine) -> APIRouter:
    router = APIRouter(tags=["status page"])
    cache = SnapshotCache(lambda: build_status_page(engine.config, engine.store, engine.clock()))

    async def snapshot() -> Snapshot | Response:
        try:
            return await cache.get()
        except Exception:
            log.exception("building the status page failed")
            return problem(
                503,
                "the status page is unavailable right now; try again shortly",
                headers={**SECURITY_HEADERS, "Retry-After": str(CACHE_SECONDS)},
            )

    async def rendered(key: str, render: Callable[[StatusPage], Body]) -> Body | Response:
        taken = await snapshot()
        if isinstance(taken, Response):
            return taken
        if key in taken.bodies:
            return taken.bodies[key]
        return await asyncio.to_thread(taken.body, key, render)

    def atom(page: StatusPage) -> Body:
        content = atom_feed(page, engine.config.incidents.public_url, page.generated_at)
        return Body.of(content, "application/atom+xml")

    @router.get("/status", response_class=Response)
    @router.head("/status", response_class=Response, include_in_schema=False)
    async def status_html(request: Request) -> Response:
        """The status page (HTML, no scripts)."""
        body = await rendered("html", render_html)
        return body if isinstance(body, Response) else respond(request, body)

    @router.get("/status.json", response_class=Response)
    @router.head("/status.json", response_class=Response, include_in_schema=False)
    async def status_json(request: Request) -> Response:
        """The status page's data (schema in docs/status-page.md)."""
        body = await rendered("json", render_json)
        return body if isinstance(body, Response) else respond(request, body)

    @router.get("/status/feed.atom", response_class=Response)
    @router.head("/status/feed.atom", response_class=Response, include_in_schema=False)
    async def status_feed(request: Request) -> Response:
        """Incidents of public services and their public updates, as Atom."""
        body = await rendered("atom", atom)
        return body if isinstance(body, Response) else respond(request, body)

    @router.get("/status/badge/{service}.svg", response_class=Response)
    @router.head("/status/badge/{service}.svg", response_class=Response, include_in_schema=False)
    async def status_badge(request: Request, service: str) -> Response:
        """An SVG badge with a public service's status, for READMEs and dashboards."""
        taken = await snapshot()
        if isinstance(taken, Response):
            return taken
        component = taken.page.component(service)
        if component is None:
            return problem(404, "no public service by that name", headers=SECURITY_HEADERS)
        body = taken.body(
            f"badge:{component.name}",
            lambda _: Body.of(
                badge_svg(component.name, component.status).encode(), "image/svg+xml"
            ),
        )
        return respond(request, body)

    @router.get("/status/status.css", response_class=Response, include_in_schema=False)
    @router.head("/status/status.css", response_class=Response, include_in_schema=False)
    async def status_css(request: Request) -> Response:
        return respond(request, STYLESHEET, max_age=86400)

    return router
