"""`/login` and `/logout`: local users sign in to the dashboard with a session cookie.

A new session id is issued at every sign-in (a cookie set before it is never promoted,
and a session presented with the form is ended), so a planted cookie cannot become a
signed-in one. Failed sign-ins are throttled per (client address, user name) and take
the same time whether the user exists or not. Every outcome goes to the audit log.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from opsbook.engine.core import Engine
from opsbook.store.users import warm_up
from opsbook.web.auth import current_user
from opsbook.web.problems import read_capped
from opsbook.web.sessions import (
    COOKIE,
    LIFETIME,
    LOGIN_COOKIE,
    LOGIN_FORM_LIFETIME,
    LoginThrottle,
    client_ip,
    cookie_header,
    is_form,
    is_https,
    login_csrf,
    parse_form,
    safe_next,
    same_token,
)

LOGIN_BODY_LIMIT = 16 * 1024
CONCURRENT_HASHES = 4  # each argon2 verification takes 64 MiB and tens of milliseconds
WRONG = "Wrong name or password."
# The sign-in page runs no script and is never framed; it posts only to this site.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def login_router(engine: Engine) -> APIRouter:
    router = APIRouter(tags=["sessions"], include_in_schema=False)
    key = engine.store.tokens.secret("login_csrf")
    throttle = LoginThrottle(time.monotonic)
    hashing = asyncio.Semaphore(CONCURRENT_HASHES)
    template = Environment(
        loader=PackageLoader("opsbook.web", "templates"), autoescape=select_autoescape()
    ).get_template("login.html")
    warm_up()

    def form_page(
        request: Request,
        *,
        status: int = 200,
        message: str = "",
        name: str = "",
        target: str = "/",
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        """The form, with a fresh nonce cookie and the CSRF token made from it."""
        nonce = secrets.token_urlsafe(24)
        body = template.render(
            project=engine.config.project.name,
            csrf=login_csrf(key, nonce),
            message=message,
            name=name,
            next=target,
        )
        response = HTMLResponse(body, status, headers={**PAGE_HEADERS, **(headers or {})})
        age = int(LOGIN_FORM_LIFETIME.total_seconds())
        cookie = cookie_header(
            LOGIN_COOKIE, nonce, secure=is_https(request), max_age=age, path="/login"
        )
        response.headers.append("set-cookie", cookie)
        return response

    async def record(request: Request, who: str, action: str, name: str, **detail: Any) -> None:
        await asyncio.to_thread(
            engine.store.audit.record,
            who,
            action,
            f"user:{name[:100]}",
            engine.clock(),
            detail=detail,
            ip=client_ip(request),
        )

    @router.get("/login", response_class=HTMLResponse)
    async def login_form(
        request: Request, next_path: Annotated[str | None, Query(alias="next")] = None
    ) -> Response:
        target = safe_next(next_path)
        signed_in = await current_user(request)
        if signed_in is not None and signed_in.kind == "user":
            return RedirectResponse(target, status_code=303)
        return form_page(request, target=target)

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        body = await read_capped(request, LOGIN_BODY_LIMIT)
        form = parse_form(body) if body is not None and is_form(request.headers) else {}
        name = form.get("name", "").strip()[:100]
        password = form.get("password", "")
        target = safe_next(form.get("next"))
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if not nonce or not same_token(login_csrf(key, nonce), form.get("csrf")):
            await record(request, "anonymous", "login.failed", name, reason="csrf")
            return form_page(
                request,
                status=403,
                message="The sign-in form expired or did not come from this site; "
                "please sign in again.",
                name=name,
                target=target,
            )
        attempt = LoginThrottle.key(client_ip(request), name)
        wait = throttle.retry_after(attempt)
        if wait is not None:
            await record(request, "anonymous", "login.failed", name, reason="rate limited")
            return form_page(
                request,
                status=429,
                message=f"Too many failed sign-ins. Try again in {wait} seconds.",
                name=name,
                target=target,
                headers={"Retry-After": str(wait)},
            )
        throttle.failed(attempt)  # counted before the check, so a burst cannot overrun it
        async with hashing:
            user = await asyncio.to_thread(engine.store.users.check_password, name, password)
        if user is None or user.disabled:
            reason = "user disabled" if user is not None else "wrong name or password"
            await record(request, "anonymous", "login.failed", name, reason=reason)
            return form_page(request, status=401, message=WRONG, name=name, target=target)
        throttle.succeeded(attempt)

        planted = request.cookies.get(COOKIE)
        if planted:  # whatever session came with the form ends: the new one is fresh
            await asyncio.to_thread(engine.store.web_sessions.end, planted)
        session, secret = await asyncio.to_thread(
            engine.store.web_sessions.create, user, engine.clock(), LIFETIME
        )
        await record(
            request,
            user.name,
            "login",
            user.name,
            role=user.role.value,
            expires_at=session.expires_at.isoformat(),
        )
        secure = is_https(request)
        response = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
        age = int(LIFETIME.total_seconds())
        response.headers.append(
            "set-cookie", cookie_header(COOKIE, secret, secure=secure, max_age=age)
        )
        gone = cookie_header(LOGIN_COOKIE, "", secure=secure, max_age=0, path="/login")
        response.headers.append("set-cookie", gone)
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        """End the session (its CSRF token is required: 403 without, and the refusal is
        in the audit log like any other) and clear the cookie."""
        principal = await current_user(request)
        secret = request.cookies.get(COOKIE)
        if principal is not None and principal.kind == "user" and secret:
            await asyncio.to_thread(engine.store.web_sessions.end, secret)
            await record(request, principal.actor, "logout", principal.name)
        response = RedirectResponse(
            "/login", status_code=303, headers={"Cache-Control": "no-store"}
        )
        response.headers.append(
            "set-cookie", cookie_header(COOKIE, "", secure=is_https(request), max_age=0)
        )
        return response

    return router
