"""Who is calling, and what they may do: one check for the HTTP API and the dashboard.

A caller is a `Principal`: an API token (``Authorization: Bearer obk_…``) or a user
signed in with the session cookie. A request authenticated by the cookie that changes
anything (POST, PUT, PATCH, DELETE) must also carry the session's CSRF token, in the
X-CSRF-Token header or a form field `csrf`; a bearer token needs none, since a browser
never adds one on its own.

`ApiGuard` checks callers of the API before FastAPI reads a body, so a caller without a
valid credential learns nothing (not even whether its JSON would have been valid: 401,
never 422), and records every state-changing request in the audit log. Routes take the
caller from `requires` (API) or `page_user` (HTML pages); `current_user` is for pages
that show something to everyone and more to those signed in.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsbook.engine.core import Engine
from opsbook.store.api_tokens import ApiToken, Role
from opsbook.web.problems import PROBLEM_JSON
from opsbook.web.sessions import (
    COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    FORM_LIMIT,
    SAFE_METHODS,
    is_form,
    parse_form,
    request_csrf,
    same_token,
)

log = logging.getLogger(__name__)

PROTECTED = (
    "/api/v1/incidents",
    "/api/v1/oncall",
    "/api/v1/checks",
    "/api/v1/alerts",
    "/api/v1/silences",
    "/api/v1/maintenance",
    "/api/v1/playbooks",
    "/api/v1/runs",
    "/api/v1/heartbeats",
)
READS = ("GET", "HEAD")
CHALLENGE = {"WWW-Authenticate": "Bearer"}
CSRF_REFUSED = "missing or wrong CSRF token"
# Machine endpoints that authenticate by their own means (integration secrets) and never
# act on a session: their effects are in alert and incident histories, not the audit log.
OWN_AUTH = ("/api/v1/inbound/",)

_ENGINE = "opsbook_engine"
_PRINCIPAL = "opsbook_principal"
_CLAIMED = "opsbook_claimed"  # who a refused request claimed to be, for the audit log only


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: a signed-in user (`csrf` is its session's token) or an API token."""

    name: str
    role: Role
    kind: Literal["user", "token"]
    csrf: str | None = None

    @property
    def actor(self) -> str:
        """How timelines and the audit log name it: ``alice`` or ``api:<token name>``."""
        return self.name if self.kind == "user" else f"api:{self.name}"


def actor(who: Principal | ApiToken) -> str:
    if isinstance(who, ApiToken):
        return f"api:{who.name}"
    return who.actor


async def _token(engine: Engine, authorization: str) -> Principal:
    scheme, _, text = authorization.partition(" ")
    if scheme.lower() != "bearer" or not text.strip():
        raise HTTPException(
            401,
            "missing API token: send 'Authorization: Bearer <token>' "
            "(create one with `opsbook token create`), or sign in at /login",
            headers=CHALLENGE,
        )
    token = await asyncio.to_thread(
        engine.store.api_tokens.authenticate, text.strip(), engine.clock()
    )
    if token is None:
        raise HTTPException(401, "invalid or revoked API token", headers=CHALLENGE)
    return Principal(token.name, token.role, "token")


async def _session(engine: Engine, secret: str) -> Principal | None:
    session = await asyncio.to_thread(
        engine.store.web_sessions.authenticate, secret, engine.clock()
    )
    if session is None:
        return None
    return Principal(session.user, session.role, "user", session.csrf_token)


async def _identify(engine: Engine, connection: HTTPConnection) -> Principal | None:
    """The bearer token if the request has an Authorization header (401 when it is not
    valid), else the session of the cookie, else None. No CSRF check here."""
    authorization = connection.headers.get("authorization")
    if authorization is not None:
        return await _token(engine, authorization)
    secret = connection.cookies.get(COOKIE)
    return await _session(engine, secret) if secret else None


def _missing(connection: HTTPConnection) -> HTTPException:
    if connection.cookies.get(COOKIE):
        detail = "your session has ended (expired or signed out): sign in again at /login"
        return HTTPException(401, detail, headers=CHALLENGE)
    return HTTPException(
        401,
        "missing API token: send 'Authorization: Bearer <token>' "
        "(create one with `opsbook token create`), or sign in at /login",
        headers=CHALLENGE,
    )


def _allowed(principal: Principal, role: Role) -> None:
    if not principal.role.allows(role):
        whose = "the token's" if principal.kind == "token" else "your"
        raise HTTPException(
            403, f"this needs the {role.value} role; {whose} role is {principal.role.value}"
        )


async def _resolve(engine: Engine, request: Request, *, strict: bool) -> Principal | None:
    """The caller of `request`, once per request. A cookie-authenticated request that
    changes something must carry the CSRF token (403 otherwise). With `strict`, a bad
    bearer token is a 401; without, the caller is simply not signed in."""
    state = request.scope.setdefault("state", {})
    cached = state.get(_PRINCIPAL)
    if isinstance(cached, Principal):
        return cached
    try:
        principal = await _identify(engine, request)
    except HTTPException:
        if strict:
            raise
        return None
    if principal is None:
        return None
    if principal.kind == "user" and request.method not in SAFE_METHODS:
        state[_CLAIMED] = principal
        if not same_token(principal.csrf, await request_csrf(request)):
            raise HTTPException(403, CSRF_REFUSED)
    state[_PRINCIPAL] = principal
    return principal


def _engine_of(request: Request) -> Engine:
    engine = request.scope.get("state", {}).get(_ENGINE)
    if not isinstance(engine, Engine):
        raise RuntimeError("ApiGuard is not installed on this app")
    return engine


async def current_user(request: Request) -> Principal | None:
    """The signed-in user or API token making `request`, or None. On a request that
    changes something, a session without its CSRF token is refused (403)."""
    return await _resolve(_engine_of(request), request, strict=False)


def requires(engine: Engine, role: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency for API routes: 401 without a valid token or session, 403
    when the role is too weak or a session's CSRF token is missing."""

    async def check(request: Request) -> Principal:
        principal = await _resolve(engine, request, strict=True)
        if principal is None:
            raise _missing(request)
        _allowed(principal, role)
        return principal

    return check


class PageAccessError(Exception):
    """An HTML page refused: `location` set means "sign in first" (303 there), else the
    role is too weak (a 403 page)."""

    def __init__(self, message: str, location: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location


def page_user(engine: Engine, role: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency for HTML pages: the caller, a 303 to /login?next=<this page>
    when nobody is signed in, a 403 page when the role is too weak."""

    async def check(request: Request) -> Principal:
        principal = await _resolve(engine, request, strict=False)
        if principal is None:
            here = request.url.path
            if request.url.query:
                here += f"?{request.url.query}"
            back = here if request.method in READS else "/"
            raise PageAccessError("sign in first", f"/login?next={quote(back, safe='/')}")
        if not principal.role.allows(role):
            raise PageAccessError(
                f"This page needs the {role.value} role; {principal.name} has the "
                f"{principal.role.value} role."
            )
        return principal

    return check


DENIED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Not allowed</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto;
       padding: 0 1rem; color: #111; background: #fff; }}
@media (prefers-color-scheme: dark) {{ body {{ color: #eee; background: #111; }} }}
</style></head>
<body><h1>Not allowed</h1><p>{message}</p><p><a href="/">Back</a></p></body></html>"""


async def page_denied(_: Request, exc: Exception) -> Response:
    """The exception handler for `PageAccessError`."""
    assert isinstance(exc, PageAccessError)
    if exc.location is not None:
        return RedirectResponse(exc.location, status_code=303)
    return HTMLResponse(
        DENIED_PAGE.format(message=html.escape(exc.message)),
        status_code=403,
        headers={"Cache-Control": "no-store"},
    )


def csrf_field(principal: Principal | None) -> Markup:
    """The hidden input every form that POSTs must contain."""
    token = principal.csrf if principal is not None else None
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token or "")


class ApiGuard:
    """ASGI middleware: API reads need a viewer, every other method a responder; a
    session must send its CSRF token with them. Every state-changing request to the API
    or by a signed-in user is recorded in the audit log before its answer is sent."""

    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})[_ENGINE] = self.engine
        if scope["method"] in SAFE_METHODS or scope.get("path", "").startswith(OWN_AUTH):
            await self._guard(scope, receive, send)
            return
        audited = _AuditedSend(self.engine, scope, send)
        try:
            await self._guard(scope, receive, audited)
        except Exception:
            if not audited.started:  # the server will answer 500: record that
                await audited.record(500)
            raise

    async def _guard(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        method: str = scope["method"]
        state = scope["state"]
        if not path.startswith(PROTECTED):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        try:
            principal = await _identify(self.engine, connection)
            if principal is None:
                raise _missing(connection)
            if principal.kind == "user" and method not in SAFE_METHODS:
                state[_CLAIMED] = principal
                given, receive = await _csrf_of(connection.headers, receive)
                if not same_token(principal.csrf, given):
                    raise HTTPException(403, CSRF_REFUSED)
            _allowed(principal, Role.VIEWER if method in READS else Role.RESPONDER)
        except HTTPException as exc:
            await _refuse(send, exc)
            return
        state[_PRINCIPAL] = principal
        await self.app(scope, receive, send)


async def _csrf_of(headers: Headers, receive: Receive) -> tuple[str | None, Receive]:
    """The CSRF token in the header or the form body, and a `receive` that replays
    whatever body was read to find it."""
    given = headers.get(CSRF_HEADER)
    if given or not is_form(headers):
        return given, receive
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None, receive
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > FORM_LIMIT:
            return None, receive
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return parse_form(body).get(CSRF_FIELD), replay


class _AuditedSend:
    """Wraps `send`: when the answer starts, records method, path, status and caller."""

    def __init__(self, engine: Engine, scope: Scope, send: Send) -> None:
        self.engine = engine
        self.scope = scope
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            await self.record(int(message["status"]))
        await self.send(message)

    async def record(self, status: int) -> None:
        state = self.scope.get("state", {})
        who = state.get(_PRINCIPAL) or state.get(_CLAIMED)
        path: str = self.scope.get("path", "")
        if not isinstance(who, Principal) and not path.startswith("/api/"):
            return  # an anonymous request to a page: nothing was done as anyone
        method: str = self.scope["method"]
        client = self.scope.get("client")
        try:
            await asyncio.to_thread(
                self.engine.store.audit.record,
                who.actor if isinstance(who, Principal) else "anonymous",
                "request",
                f"{method} {path}",
                self.engine.clock(),
                detail={"status": status},
                ip=client[0] if client else None,
            )
        except Exception:  # the answer still goes out; the failure is logged
            log.exception("could not record %s %s in the audit log", method, path)


async def _refuse(send: Send, exc: HTTPException) -> None:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": "Unauthorized" if exc.status_code == 401 else "Forbidden",
        "status": exc.status_code,
        "detail": exc.detail,
    }
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(payload)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in (exc.headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": exc.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


__all__ = [
    "ApiGuard",
    "PageAccessError",
    "Principal",
    "actor",
    "csrf_field",
    "current_user",
    "page_denied",
    "page_user",
    "requires",
]
