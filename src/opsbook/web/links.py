"""Signed one-click links from pages: acknowledge or resolve an incident without signing in.

GET shows what the link will do and a button; only POST acts. Mail scanners and chat
unfurlers fetch every link in a message, so a GET that acknowledged would silence the
page before a human saw it. A link acts once (its nonce is recorded with the outcome);
a tampered, expired or used link changes nothing and the page says why.
"""

from __future__ import annotations

import asyncio
import html
import json

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from opsbook.engine.core import Engine
from opsbook.inbound.signing import LinkClaims, LinkError, LinkFailure, verify
from opsbook.incidents.paging import LINK_PURPOSES
from opsbook.incidents.service import IncidentError
from opsbook.store.transaction import write_transaction

VERBS = {"ack": "Acknowledge", "resolve": "Resolve"}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto;
       padding: 0 1rem; color: #111; background: #fff; }}
@media (prefers-color-scheme: dark) {{ body {{ color: #eee; background: #111; }} }}
button {{ font-size: 1.1rem; padding: .6rem 1.4rem; cursor: pointer; }}
</style></head>
<body><h1>{title}</h1><p>{message}</p>{form}</body></html>"""


def _page(title: str, message: str, status: int = 200, form: str = "") -> HTMLResponse:
    body = PAGE.format(title=html.escape(title), message=html.escape(message), form=form)
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def links_router(engine: Engine) -> APIRouter:
    router = APIRouter(tags=["links"])
    secret = engine.incidents.pager.key

    def claims_of(token: str) -> LinkClaims:
        """The claims for whichever purpose the token was made for."""
        now = engine.clock()
        last: LinkError | None = None
        for purpose in LINK_PURPOSES:
            try:
                return verify(secret, token, purpose, now)
            except LinkError as exc:
                if exc.reason is not LinkFailure.WRONG_PURPOSE:
                    raise
                last = exc
        assert last is not None
        raise last

    def incident_id(claims: LinkClaims) -> int:
        kind, _, number = claims.subject.partition(":")
        if kind != "incident" or not number.isdigit():
            raise LinkError(LinkFailure.MALFORMED, "this link is not about an incident")
        return int(number)

    @router.get("/links/{token}", response_class=HTMLResponse)
    def preview(token: str) -> HTMLResponse:
        """What the link does; the button POSTs back to the same URL."""
        try:
            claims = claims_of(token)
            number = incident_id(claims)
        except LinkError as exc:
            return _page("Link not valid", str(exc), exc.status)
        incident = engine.store.incidents.get(number)
        if incident is None:
            return _page("No such incident", f"Incident #{number} does not exist.", 404)
        verb = VERBS[claims.purpose]
        form = (
            f'<form method="post"><button type="submit">{verb} incident #{number}</button></form>'
        )
        return _page(
            f"{verb} incident #{number}?",
            f"{incident.severity}: {incident.title} (status {incident.status.value}). "
            f"You are acting as {claims.actor}.",
            form=form,
        )

    @router.post("/links/{token}", response_class=HTMLResponse)
    async def act(token: str) -> HTMLResponse:
        try:
            claims = claims_of(token)
            number = incident_id(claims)
        except LinkError as exc:
            return _page("Link not valid", str(exc), exc.status)
        return await asyncio.to_thread(_act, engine, claims, number)

    return router


def _act(engine: Engine, claims: LinkClaims, number: int) -> HTMLResponse:
    now = engine.clock()
    with write_transaction(engine.store.engine) as conn:
        earlier = engine.store.tokens.use_once(
            conn, f"link:{claims.nonce}", json.dumps({"at": now.isoformat()}), now
        )
    if earlier is not None:
        when = json.loads(earlier).get("at", "earlier")
        return _page("Link already used", f"This link was used at {when}; it acts once.", 409)
    try:
        if claims.purpose == "ack":
            outcome = engine.incidents.acknowledge(number, claims.actor, via="link")
        else:
            outcome = engine.incidents.resolve(number, claims.actor)
    except IncidentError as exc:
        return _page("Nothing done", str(exc), exc.status)
    engine.deliverer.wakeup.set()
    return _page(f"Incident #{number}", outcome.message or "Done.")
