"""Signing in to the dashboard over real HTTP: sessions, CSRF, roles, the throttle, open
redirects and the audit log, against the engine's server (`serving`) and, for the page
dependencies, the same app with a few pages added that use them.

No ``from __future__ import annotations``: FastAPI reads the test pages' signatures.
"""

import asyncio
import contextlib
import json
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import aiohttp
import pytest
import pytest_asyncio
import uvicorn
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from opsbook.config.loader import load_config
from opsbook.engine.core import Engine
from opsbook.errors import UsageError
from opsbook.store import Store
from opsbook.store.api_tokens import Role
from opsbook.store.audit import AuditEntry
from opsbook.web.app import create_app
from opsbook.web.auth import Principal, csrf_field, current_user, page_user
from opsbook.web.sessions import COOKIE, LIFETIME, parse_form
from tests.integration.web.harness import Reply, Served, reserve_port, serving, store_rows

pytestmark = [pytest.mark.asyncio(loop_scope="module")]

CONFIG = """
project: {name: shop, timezone: Europe/Berlin}
services: [{name: api}]
people:
  - {name: alice, full_name: Alice Doe}
  - {name: bob, full_name: Bob Roe}
incidents:
  public_url: "{public}"
  reminders: false
"""

PASSWORD = "correct horse battery"
CSRF_REFUSED = "missing or wrong CSRF token"
USERS = {
    "alice": Role.RESPONDER,
    "victor": Role.VIEWER,
    "ada": Role.ADMIN,
    "dora": Role.RESPONDER,  # disabled below
    "carol": Role.RESPONDER,  # locked out by the throttle test
    "fred": Role.VIEWER,  # the session fixation test plants her session
}


def write_config(directory: Path, public: str) -> Path:
    path = directory / "opsbook.yaml"
    path.write_text(CONFIG.replace("{public}", public))
    return path


def add_users(store: Store) -> None:
    now = datetime.now(UTC)
    for name, role in USERS.items():
        store.users.add(name, PASSWORD, role, now)
    assert store.users.disable("dora", now)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    port, public = reserve_port()
    path = write_config(tmp_path_factory.mktemp("sessions"), public)
    async with serving(path, port) as server:
        add_users(server.store)
        yield server


class Browser:
    """One browser: keeps the cookies it is given (all paths alike) and sends them back."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self.cookies: dict[str, str] = {}
        self.set_cookies: list[str] = []

    async def request(
        self,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if form is not None:
            data = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        async with (
            aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session,
            session.request(
                method, self.served.url(path), data=data, headers=sent, allow_redirects=False
            ) as response,
        ):
            content = await response.read()
            self.set_cookies = response.headers.getall("Set-Cookie", [])
            headers_out = {k.lower(): v for k, v in response.headers.items()}
        for header in self.set_cookies:
            pair, _, attributes = header.partition(";")
            name, _, value = pair.partition("=")
            if "Max-Age=0" in attributes:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return Reply(response.status, headers_out, content)

    async def form_csrf(self, path: str = "/login") -> str:
        page = await self.request("GET", path)
        assert page.status == 200, page.text
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, page.text
        return found[1]

    async def sign_in(
        self, name: str, password: str = PASSWORD, next_path: str | None = None
    ) -> Reply:
        csrf = await self.form_csrf()
        form = {"csrf": csrf, "name": name, "password": password}
        if next_path is not None:
            form["next"] = next_path
        return await self.request("POST", "/login", form=form)

    @property
    def session(self) -> str | None:
        return self.cookies.get(COOKIE)

    def csrf(self) -> str:
        """The session's CSRF token, as the dashboard's pages put it into their forms."""
        assert self.session
        found = self.served.store.web_sessions.authenticate(self.session, datetime.now(UTC))
        assert found is not None
        return found.csrf_token


def cookie_attributes(header: str) -> set[str]:
    return {part.strip() for part in header.split(";")[1:]}


def audit(served: Served, action: str | None = None, limit: int = 200) -> list[AuditEntry]:
    return served.store.audit.list(limit, action)


def requests_by(served: Served, who: str) -> list[tuple[str, int]]:
    return [(e.target, e.detail["status"]) for e in audit(served, "request") if e.actor == who]


async def test_sign_in_and_out(served: Served) -> None:
    browser = Browser(served)
    form = await browser.request("GET", "/login")
    assert form.status == 200 and "text/html" in form.headers["content-type"]
    assert 'name="password"' in form.text and 'type="password"' in form.text
    assert "frame-ancestors 'none'" in form.headers["content-security-policy"]
    [login_cookie] = browser.set_cookies
    assert login_cookie.startswith("opsbook_login=")
    assert {"HttpOnly", "SameSite=Lax", "Path=/login"} <= cookie_attributes(login_cookie)
    assert COOKIE not in browser.cookies

    signed_in = await browser.sign_in("alice")
    assert signed_in.status == 303 and signed_in.headers["location"] == "/"
    [session_cookie] = [c for c in browser.set_cookies if c.startswith(f"{COOKIE}=")]
    attributes = cookie_attributes(session_cookie)
    assert {"HttpOnly", "SameSite=Lax", "Path=/"} <= attributes
    assert f"Max-Age={int(LIFETIME.total_seconds())}" in attributes
    assert "Secure" not in attributes  # plain http here; https is in the unit tests
    secret = browser.session
    assert secret and len(secret) >= 43
    stored = served.store.web_sessions.authenticate(secret, datetime.now(UTC))
    assert stored is not None and stored.user == "alice" and stored.role is Role.RESPONDER
    assert stored.expires_at - stored.created_at == LIFETIME
    with served.store.engine.connect() as conn:
        hashes = [row[0] for row in conn.exec_driver_sql("SELECT id_hash FROM web_sessions")]
    assert secret not in hashes  # only its hash is stored

    listed = await browser.request("GET", "/api/v1/incidents")
    assert listed.status == 200, listed.text
    again = await browser.request("GET", "/login?next=/incidents")
    assert again.status == 303 and again.headers["location"] == "/incidents"

    refused = await browser.request("POST", "/logout")
    assert CSRF_REFUSED in refused.problem(403)["detail"]
    assert served.store.web_sessions.authenticate(secret, datetime.now(UTC)) is not None

    out = await browser.request("POST", "/logout", form={"csrf": browser.csrf()})
    assert out.status == 303 and out.headers["location"] == "/login"
    assert any(c.startswith(f"{COOKIE}=;") and "Max-Age=0" in c for c in browser.set_cookies)
    assert browser.session is None
    assert served.store.web_sessions.authenticate(secret, datetime.now(UTC)) is None
    browser.cookies[COOKIE] = secret  # a copy of the old cookie is worth nothing now
    ended = await browser.request("GET", "/api/v1/incidents")
    assert "session has ended" in ended.problem(401)["detail"]

    [login] = [e for e in audit(served, "login") if e.actor == "alice"][:1]
    assert login.target == "user:alice" and login.ip == "127.0.0.1"
    assert login.detail["role"] == "responder" and PASSWORD not in json.dumps(login.detail)
    [logout] = audit(served, "logout")[:1]
    assert logout.actor == "alice" and logout.target == "user:alice"
    assert ("POST /logout", 403) in requests_by(served, "alice")


@pytest.mark.parametrize(
    ("name", "password", "reason"),
    [
        ("alice", "wrong password here", "wrong name or password"),
        ("nobody", PASSWORD, "wrong name or password"),
        ("dora", PASSWORD, "user disabled"),
    ],
    ids=["wrong-password", "unknown-user", "disabled-user"],
)
async def test_failed_sign_ins_look_alike(
    served: Served, name: str, password: str, reason: str
) -> None:
    browser = Browser(served)
    before = len(audit(served, "login.failed"))
    reply = await browser.sign_in(name, password)
    assert reply.status == 401
    assert "Wrong name or password." in reply.text
    assert browser.session is None
    failures = audit(served, "login.failed")
    assert len(failures) == before + 1
    entry = failures[0]
    assert entry.actor == "anonymous" and entry.target == f"user:{name}"
    assert entry.detail == {"reason": reason} and entry.ip == "127.0.0.1"
    assert password not in json.dumps(entry.detail)


async def test_sign_in_needs_the_forms_csrf_token(served: Served) -> None:
    browser = Browser(served)
    await browser.form_csrf()
    forged = {"csrf": "0" * 64, "name": "alice", "password": PASSWORD}
    reply = await browser.request("POST", "/login", form=forged)
    assert reply.status == 403 and browser.session is None
    other = Browser(served)  # a token from another browser's form does not fit this one
    token = await other.form_csrf()
    form = {"csrf": token, "name": "alice", "password": PASSWORD}
    assert (await browser.request("POST", "/login", form=form)).status == 403
    no_cookie = Browser(served)
    assert (await no_cookie.request("POST", "/login", form=form)).status == 403
    assert audit(served, "login.failed")[0].detail == {"reason": "csrf"}


async def test_a_cookie_set_before_sign_in_is_never_promoted(served: Served) -> None:
    planted = "A" * 43
    browser = Browser(served)
    browser.cookies[COOKIE] = planted
    await browser.sign_in("alice")
    assert browser.session and browser.session != planted
    assert served.store.web_sessions.authenticate(planted, datetime.now(UTC)) is None

    # An attacker who plants a session of their own gets it ended, not upgraded.
    attacker = Browser(served)
    await attacker.sign_in("fred")
    fixed = attacker.session
    assert fixed
    victim = Browser(served)
    csrf = await victim.form_csrf()  # the form is open when the planted cookie arrives
    victim.cookies[COOKIE] = fixed
    form = {"csrf": csrf, "name": "ada", "password": PASSWORD}
    assert (await victim.request("POST", "/login", form=form)).status == 303
    assert victim.session and victim.session != fixed
    assert served.store.web_sessions.authenticate(fixed, datetime.now(UTC)) is None
    mine = served.store.web_sessions.authenticate(victim.session, datetime.now(UTC))
    assert mine is not None and mine.user == "ada"
    still_fred = await attacker.request("GET", "/api/v1/incidents")
    still_fred.problem(401)


async def test_csrf_is_required_of_sessions_not_of_tokens(served: Served) -> None:
    browser = Browser(served)
    await browser.sign_in("alice")
    declare = {"title": "Checkout down", "severity": "P2"}
    for headers in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": ""}):
        before = store_rows(served.store)
        reply = await browser.request("POST", "/api/v1/incidents", body=declare, headers=headers)
        assert reply.problem(403)["detail"] == CSRF_REFUSED
        assert store_rows(served.store) == before
    before = store_rows(served.store)
    wrong_form = await browser.request("POST", "/api/v1/incidents/1/ack", form={"csrf": "x"})
    assert wrong_form.problem(403)["detail"] == CSRF_REFUSED
    assert store_rows(served.store) == before
    refused = [r for r in requests_by(served, "alice") if r[0] == "POST /api/v1/incidents"]
    assert refused.count(("POST /api/v1/incidents", 403)) >= 3

    _, secret = served.store.api_tokens.create("ci-bot", Role.RESPONDER, "test", datetime.now(UTC))
    token = Browser(served)
    created = await token.request(
        "POST", "/api/v1/incidents", body=declare, headers={"Authorization": f"Bearer {secret}"}
    )
    assert created.status == 201, created.text
    assert created.json()["created_by"] == "api:ci-bot"
    assert ("POST /api/v1/incidents", 201) in requests_by(served, "api:ci-bot")


async def test_roles_apply_to_sessions(served: Served) -> None:
    _, secret = served.store.api_tokens.create("setup", Role.ADMIN, "test", datetime.now(UTC))
    opened = await Browser(served).request(
        "POST",
        "/api/v1/incidents",
        body={"title": "Queue backlog", "severity": "P3"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    number = opened.json()["id"]

    viewer = Browser(served)
    await viewer.sign_in("victor")
    assert (await viewer.request("GET", f"/api/v1/incidents/{number}")).status == 200
    for path, body in (
        (f"/api/v1/incidents/{number}/ack", None),
        (f"/api/v1/incidents/{number}/notes", {"text": "looking"}),
        ("/api/v1/incidents", {"title": "x", "severity": "P4"}),
    ):
        before = store_rows(served.store)
        reply = await viewer.request(
            "POST", path, body=body or {}, headers={"X-CSRF-Token": viewer.csrf()}
        )
        assert "needs the responder role" in reply.problem(403)["detail"], path
        assert store_rows(served.store) == before
    assert (f"POST /api/v1/incidents/{number}/ack", 403) in requests_by(served, "victor")

    responder = Browser(served)
    await responder.sign_in("alice")
    acked = await responder.request(
        "POST", f"/api/v1/incidents/{number}/ack", headers={"X-CSRF-Token": responder.csrf()}
    )
    assert acked.status == 200, acked.text
    assert acked.json()["acknowledged_by"] == "alice"
    assert acked.json()["timeline"][-1]["actor"] == "alice"
    assert (f"POST /api/v1/incidents/{number}/ack", 200) in requests_by(served, "alice")

    noted = await responder.request(  # the token as a form field works as well
        "POST", f"/api/v1/incidents/{number}/ack", form={"csrf": responder.csrf()}
    )
    assert noted.status == 200 and "already acknowledged" in noted.json()["message"]


async def test_the_sixth_failure_is_refused_for_a_while(served: Served) -> None:
    browser = Browser(served)
    for _ in range(5):
        assert (await browser.sign_in("carol", "not her password")).status == 401
    refused = await browser.sign_in("carol", "not her password")
    assert refused.status == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 300
    assert "Too many failed sign-ins" in refused.text
    right = await browser.sign_in("carol")  # not even the right password, for now
    assert right.status == 429 and browser.session is None
    assert (await browser.sign_in("alice")).status == 303  # other names are not affected
    reasons = [
        e.detail["reason"] for e in audit(served, "login.failed") if e.target == "user:carol"
    ]
    assert reasons.count("rate limited") == 2 and reasons.count("wrong name or password") == 5


@pytest.mark.parametrize(
    ("target", "location"),
    [
        ("/incidents/4?tab=timeline", "/incidents/4?tab=timeline"),
        ("//evil.com", "/"),
        ("//evil.com/login", "/"),
        ("https://evil.com/", "/"),
        ("http:evil.com", "/"),
        ("\\\\evil.com", "/"),
        ("/\\evil.com", "/"),
        ("javascript:alert(1)", "/"),
        ("/\r\nLocation: https://evil.com", "/"),
    ],
)
async def test_next_only_leads_to_this_site(served: Served, target: str, location: str) -> None:
    browser = Browser(served)
    form = await browser.request("GET", f"/login?next={quote(target, safe='')}")
    shown = re.search(r'name="next" value="([^"]*)"', form.text)
    assert shown and shown[1] == location.replace("&", "&amp;")
    reply = await browser.sign_in("victor", next_path=target)
    assert reply.status == 303 and reply.headers["location"] == location


async def test_an_expired_session_is_refused(served: Served) -> None:
    user = served.store.users.get("alice")
    assert user is not None
    long_ago = datetime.now(UTC) - LIFETIME - timedelta(minutes=1)
    _, secret = served.store.web_sessions.create(user, long_ago, LIFETIME)
    browser = Browser(served)
    browser.cookies[COOKIE] = secret
    reply = await browser.request("GET", "/api/v1/incidents")
    assert "session has ended" in reply.problem(401)["detail"]
    assert reply.headers["www-authenticate"].startswith("Bearer")
    form = await browser.request("GET", "/login")
    assert form.status == 200  # not taken for signed in


async def test_unauthenticated_writes_are_audited(served: Served) -> None:
    reply = await Browser(served).request("POST", "/api/v1/incidents", body={})
    reply.problem(401)
    assert ("POST /api/v1/incidents", 401) in requests_by(served, "anonymous")


async def test_a_failed_check_takes_as_long_for_unknown_names(served: Served) -> None:
    users = served.store.users

    def median(name: str) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            assert users.check_password(name, "not the password at all") is None
            times.append(time.perf_counter() - start)
        return sorted(times)[2]

    known, unknown = median("alice"), median("no-such-user")
    assert unknown > known * 0.5, (known, unknown)  # one argon2 verification each


# -- the page dependencies, on the same app with pages added that use them ------------


class EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pages(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    port, public = reserve_port()
    directory = tmp_path_factory.mktemp("pages")
    path = write_config(directory, public)
    store = Store.open(f"sqlite:///{directory / 'pages.db'}")
    add_users(store)
    engine = Engine(load_config(path, environ={}), store)
    app = create_app(engine)
    viewer = Annotated[Principal, Depends(page_user(engine, Role.VIEWER))]
    responder = Annotated[Principal, Depends(page_user(engine, Role.RESPONDER))]
    admin = Annotated[Principal, Depends(page_user(engine, Role.ADMIN))]

    @app.get("/board")
    async def board(who: viewer) -> HTMLResponse:
        return HTMLResponse(f"<p>board for {who.name}</p><form>{csrf_field(who)}</form>")

    @app.get("/users")
    async def admin_page(who: admin) -> HTMLResponse:
        return HTMLResponse(f"<p>users, for {who.name}</p>")

    @app.post("/board/notes")
    async def add_note(who: responder, request: Request) -> PlainTextResponse:
        form = parse_form(await request.body())  # still readable after the CSRF check
        return PlainTextResponse(f"{who.actor} noted {form.get('text', '')}")

    @app.post("/board/broken")
    async def broken(who: responder) -> PlainTextResponse:
        raise RuntimeError(f"a bug, met by {who.name}")

    @app.get("/whoami")
    async def whoami(request: Request) -> PlainTextResponse:
        who = await current_user(request)
        return PlainTextResponse(who.actor if who else "nobody")

    server = EmbeddedServer(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), task.result()
            await asyncio.sleep(0.02)
        yield Served(f"http://127.0.0.1:{port}", path, store)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
        store.close()


async def test_pages_send_strangers_to_sign_in(pages: Served) -> None:
    stranger = Browser(pages)
    reply = await stranger.request("GET", "/board?tab=open&x=1")
    assert reply.status == 303
    assert reply.headers["location"] == "/login?next=/board%3Ftab%3Dopen%26x%3D1"
    posted = await stranger.request("POST", "/board/notes", form={"text": "hi"})
    assert posted.status == 303 and posted.headers["location"] == "/login?next=/"
    assert (await stranger.request("GET", "/whoami")).text == "nobody"

    back = await stranger.sign_in("victor", next_path="/board?tab=open&x=1")
    assert back.headers["location"] == "/board?tab=open&x=1"
    page = await stranger.request("GET", "/board?tab=open&x=1")
    assert page.status == 200 and "board for victor" in page.text
    assert f'<input type="hidden" name="csrf" value="{stranger.csrf()}">' in page.text
    assert (await stranger.request("GET", "/whoami")).text == "victor"


async def test_pages_refuse_weak_roles_with_a_page(pages: Served) -> None:
    viewer = Browser(pages)
    await viewer.sign_in("victor")
    refused = await viewer.request("GET", "/users")
    assert refused.status == 403 and "text/html" in refused.headers["content-type"]
    assert "needs the admin role" in refused.text and "victor has the viewer role" in refused.text
    note = await viewer.request("POST", "/board/notes", form={"csrf": viewer.csrf(), "text": "x"})
    assert note.status == 403 and "needs the responder role" in note.text

    admin = Browser(pages)
    await admin.sign_in("ada")
    assert (await admin.request("GET", "/users")).status == 200


async def test_page_forms_need_the_csrf_field(pages: Served) -> None:
    browser = Browser(pages)
    await browser.sign_in("alice")
    missing = await browser.request("POST", "/board/notes", form={"text": "db is slow"})
    assert missing.problem(403)["detail"] == CSRF_REFUSED
    wrong = await browser.request("POST", "/board/notes", form={"csrf": "x", "text": "slow"})
    assert wrong.problem(403)["detail"] == CSRF_REFUSED
    done = await browser.request(
        "POST", "/board/notes", form={"csrf": browser.csrf(), "text": "db is slow"}
    )
    assert done.status == 200 and done.text == "alice noted db is slow"
    by_header = await browser.request(
        "POST", "/board/notes", form={"text": "via htmx"}, headers={"X-CSRF-Token": browser.csrf()}
    )
    assert by_header.text == "alice noted via htmx"
    rows = requests_by(pages, "alice")
    assert rows.count(("POST /board/notes", 403)) == 2
    assert rows.count(("POST /board/notes", 200)) == 2


async def test_a_request_that_fails_is_audited_as_a_server_error(pages: Served) -> None:
    browser = Browser(pages)
    await browser.sign_in("alice")
    reply = await browser.request("POST", "/board/broken", headers={"X-CSRF-Token": browser.csrf()})
    assert reply.status == 500
    assert ("POST /board/broken", 500) in requests_by(pages, "alice")


async def test_expired_and_disabled_sessions_go_back_to_sign_in(pages: Served) -> None:
    user = pages.store.users.get("alice")
    assert user is not None
    _, old = pages.store.web_sessions.create(user, datetime.now(UTC) - timedelta(days=1), LIFETIME)
    browser = Browser(pages)
    browser.cookies[COOKIE] = old
    assert (await browser.request("GET", "/board")).status == 303

    ada = Browser(pages)
    await ada.sign_in("ada")
    assert (await ada.request("GET", "/board")).status == 200
    assert pages.store.users.disable("ada", datetime.now(UTC))
    assert (await ada.request("GET", "/board")).status == 303
    assert pages.store.web_sessions.count("ada") == 0


# -- the command line -----------------------------------------------------------------


def opsbook(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opsbook", *args],
        capture_output=True,
        text=True,
        timeout=60,
        input=stdin,
    )


async def test_user_and_token_commands_are_audited(served: Served) -> None:
    config = ("-c", str(served.config_path))
    added = opsbook("user", "add", "erin", "--role", "responder", "--password-stdin", *config,
                    stdin=PASSWORD + "\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    short = opsbook("user", "add", "frank", "--password-stdin", *config, stdin="too short\n")
    assert short.returncode == 2 and "12 characters" in short.stderr
    twice = opsbook("user", "add", "erin", "--password-stdin", *config, stdin=PASSWORD + "\n")
    assert twice.returncode == 3 and "exists" in twice.stderr
    bad = opsbook("user", "add", "api:erin", "--password-stdin", *config, stdin=PASSWORD + "\n")
    assert bad.returncode == 2
    role = opsbook("user", "add", "gus", "--role", "root", "--password-stdin", *config,
                   stdin=PASSWORD + "\n")  # fmt: skip
    assert role.returncode == 2

    listed = json.loads(opsbook("user", "list", "--json", *config).stdout)
    [erin] = [u for u in listed if u["name"] == "erin"]
    assert erin["role"] == "responder" and erin["disabled_at"] is None
    assert set(erin) == {"name", "role", "created_at", "disabled_at"}
    assert PASSWORD not in json.dumps(listed)

    browser = Browser(served)
    assert (await browser.sign_in("erin")).status == 303
    changed = opsbook("user", "passwd", "erin", "--password-stdin", *config,
                      stdin="a new and longer secret\n")  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    (await browser.request("GET", "/api/v1/incidents")).problem(401)  # sessions ended
    assert (await browser.sign_in("erin")).status == 401
    assert (await browser.sign_in("erin", "a new and longer secret")).status == 303
    gone = opsbook("user", "passwd", "nobody", "--password-stdin", *config, stdin=PASSWORD)
    assert gone.returncode == 3

    disabled = opsbook("user", "disable", "erin", *config)
    assert disabled.returncode == 0, disabled.stderr
    (await browser.request("GET", "/api/v1/incidents")).problem(401)
    assert (await browser.sign_in("erin", "a new and longer secret")).status == 401
    assert opsbook("user", "disable", "erin", *config).returncode == 3

    created = opsbook("token", "create", "deploy-bot", "--role", "responder", *config)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    token_id = secret.split("_")[1]
    assert opsbook("token", "revoke", token_id, *config).returncode == 0

    shown = opsbook("audit", "--json", "--limit", "500", *config)
    assert shown.returncode == 0, shown.stderr
    entries = json.loads(shown.stdout)
    actions = [(e["action"], e["target"]) for e in entries]
    for expected in (
        ("user.add", "user:erin"),
        ("user.passwd", "user:erin"),
        ("user.disable", "user:erin"),
        ("token.create", f"token:{token_id}"),
        ("token.revoke", f"token:{token_id}"),
        ("login", "user:erin"),
        ("login.failed", "user:erin"),
    ):
        assert expected in actions, expected
    cli = [e for e in entries if e["action"].startswith(("user.", "token."))]
    assert all(e["actor"].startswith("cli:") for e in cli)
    [token_entry] = [e for e in entries if e["action"] == "token.create"]
    assert token_entry["detail"] == {"name": "deploy-bot", "role": "responder"}
    assert secret.split("_", 2)[2] not in shown.stdout
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids, reverse=True)
    assert len(json.loads(opsbook("audit", "--json", "--limit", "3", *config).stdout)) == 3
    table = opsbook("audit", *config)
    assert table.returncode == 0 and "audit entries, newest first" in table.stdout


# -- the repositories, on SQLite and PostgreSQL ------------------------------------------


async def test_users_sessions_and_audit_in_the_store(store_url: str) -> None:
    now = datetime.now(UTC)
    with Store.open(store_url) as store:
        alice = store.users.add("alice", PASSWORD, Role.RESPONDER, now)
        with pytest.raises(UsageError, match="exists"):
            store.users.add("alice", PASSWORD, Role.VIEWER, now)
        with pytest.raises(UsageError, match="12 characters"):
            store.users.add("bob", "short", Role.VIEWER, now)
        with pytest.raises(UsageError, match="user name"):
            store.users.add("api:bob", PASSWORD, Role.VIEWER, now)
        assert store.users.check_password("alice", PASSWORD) == alice
        assert store.users.check_password("alice", PASSWORD + "x") is None
        assert store.users.check_password("Alice", PASSWORD) is None
        with store.engine.connect() as conn:
            [stored] = conn.exec_driver_sql("SELECT password_hash FROM users").scalars()
        assert stored.startswith("$argon2id$") and PASSWORD not in stored

        first, secret = store.web_sessions.create(alice, now, LIFETIME)
        assert first.user == "alice" and first.expires_at == now + LIFETIME
        found = store.web_sessions.authenticate(secret, now + timedelta(hours=1))
        assert found is not None and found.csrf_token == first.csrf_token
        assert found.last_seen_at == now + timedelta(hours=1)
        assert store.web_sessions.authenticate(secret, now + LIFETIME) is None
        assert store.web_sessions.authenticate(secret[:-1] + "x", now) is None
        assert store.web_sessions.end(secret) and not store.web_sessions.end(secret)

        _, one = store.web_sessions.create(alice, now, LIFETIME)
        _, two = store.web_sessions.create(alice, now, LIFETIME)
        assert store.web_sessions.count("alice") == 2
        assert store.users.set_password("alice", "another long password")
        assert store.web_sessions.count("alice") == 0
        assert store.web_sessions.authenticate(one, now) is None
        assert store.web_sessions.authenticate(two, now) is None
        assert not store.users.set_password("nobody", "another long password")
        assert store.users.check_password("alice", "another long password") is not None

        _, three = store.web_sessions.create(alice, now, LIFETIME)
        assert store.users.disable("alice", now) and not store.users.disable("alice", now)
        assert store.web_sessions.authenticate(three, now) is None
        disabled = store.users.check_password("alice", "another long password")
        assert disabled is not None and disabled.disabled  # the caller refuses it
        assert [u.name for u in store.users.list()] == ["alice"]

        store.web_sessions.create(alice, now - 2 * LIFETIME, LIFETIME)
        store.web_sessions.create(alice, now, LIFETIME)  # prunes the expired one
        assert store.web_sessions.count() == 1

        store.audit.record("alice", "login", "user:alice", now, ip="10.0.0.1")
        store.audit.record("cli:root", "user.add", "user:bob", now, detail={"role": "viewer"})
        store.audit.record("cli:root", "user.disable", "user:bob", now)
        entries = store.audit.list(10)
        assert [e.action for e in entries] == ["user.disable", "user.add", "login"]
        assert entries[1].detail == {"role": "viewer"} and entries[2].ip == "10.0.0.1"
        assert [e.action for e in store.audit.list(10, "user.")] == ["user.disable", "user.add"]
        assert [e.action for e in store.audit.list(10, "login")] == ["login"]
        assert len(store.audit.list(1)) == 1
