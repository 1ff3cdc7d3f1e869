"""Bearer-token authentication and roles for the HTTP API.

`ApiGuard` checks the token before FastAPI reads a body, so a caller without a valid
token learns nothing (not even whether its JSON would have been valid: 401, never 422);
the `requires` dependency then holds the token for the route and documents the role.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from opsbook.engine.core import Engine
from opsbook.store.api_tokens import ApiToken, Role
from opsbook.web.problems import PROBLEM_JSON

PROTECTED = ("/api/v1/incidents", "/api/v1/oncall")
READS = ("GET", "HEAD")
CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def _token(engine: Engine, authorization: str) -> ApiToken:
    scheme, _, text = authorization.partition(" ")
    if scheme.lower() != "bearer" or not text.strip():
        raise HTTPException(
            401,
            "missing API token: send 'Authorization: Bearer <token>' "
            "(create one with `opsbook token create`)",
            headers=CHALLENGE,
        )
    token = await asyncio.to_thread(
        engine.store.api_tokens.authenticate, text.strip(), engine.clock()
    )
    if token is None:
        raise HTTPException(401, "invalid or revoked API token", headers=CHALLENGE)
    return token


def _allowed(token: ApiToken, role: Role) -> None:
    if not token.role.allows(role):
        raise HTTPException(
            403, f"this needs the {role.value} role; the token's role is {token.role.value}"
        )


def requires(engine: Engine, role: Role) -> Callable[[Request], Awaitable[ApiToken]]:
    """A FastAPI dependency: 401 without a valid token, 403 when its role is too weak."""

    async def check(request: Request) -> ApiToken:
        token = getattr(request.state, "api_token", None)
        if not isinstance(token, ApiToken):
            token = await _token(engine, request.headers.get("authorization", ""))
        _allowed(token, role)
        return token

    return check


class ApiGuard:
    """ASGI middleware: reads need a viewer token, every other method a responder one."""

    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(PROTECTED):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            token = await _token(self.engine, headers.get("authorization", ""))
            _allowed(token, Role.VIEWER if scope["method"] in READS else Role.RESPONDER)
        except HTTPException as exc:
            await _refuse(send, exc)
            return
        scope.setdefault("state", {})["api_token"] = token
        await self.app(scope, receive, send)


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


def actor(token: ApiToken) -> str:
    return f"api:{token.name}"
