"""`/api/v1/incidents` and `/api/v1/oncall` over real HTTP: who may call what, the
incident lifecycle with a responder token, and 422 problems for bad bodies.

The routes are read from the server's own OpenAPI schema, so a route added later is
checked for authentication without anyone remembering to list it here.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from opsbook.store.api_tokens import Role
from tests.integration.web.harness import Reply, Served, reserve_port, send, serving, store_rows
from tests.services import temporary_pg_database

pytestmark = [pytest.mark.asyncio(loop_scope="module")]

PREFIXES = (
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
KNOWN_ROUTES = {
    ("GET", "/api/v1/incidents"),
    ("POST", "/api/v1/incidents"),
    ("GET", "/api/v1/incidents/{incident_id}"),
    ("GET", "/api/v1/incidents/{incident_id}/timeline"),
    ("GET", "/api/v1/incidents/{incident_id}/postmortem"),
    ("POST", "/api/v1/incidents/{incident_id}/ack"),
    ("POST", "/api/v1/incidents/{incident_id}/resolve"),
    ("POST", "/api/v1/incidents/{incident_id}/status"),
    ("POST", "/api/v1/incidents/{incident_id}/severity"),
    ("POST", "/api/v1/incidents/{incident_id}/assign"),
    ("POST", "/api/v1/incidents/{incident_id}/notes"),
    ("POST", "/api/v1/incidents/{incident_id}/updates"),
    ("POST", "/api/v1/incidents/{incident_id}/actions"),
    ("POST", "/api/v1/incidents/{incident_id}/actions/{action_id}/done"),
    ("GET", "/api/v1/oncall"),
    ("GET", "/api/v1/oncall/{schedule}/calendar"),
    ("GET", "/api/v1/incidents/{incident_id}/escalation"),
    ("GET", "/api/v1/checks"),
    ("GET", "/api/v1/checks/{name}"),
    ("POST", "/api/v1/checks/{name}/run"),
    ("GET", "/api/v1/alerts"),
    ("GET", "/api/v1/alerts/{fingerprint}"),
    ("GET", "/api/v1/silences"),
    ("POST", "/api/v1/silences"),
    ("DELETE", "/api/v1/silences/{silence_id}"),
    ("GET", "/api/v1/maintenance"),
    ("GET", "/api/v1/playbooks"),
    ("POST", "/api/v1/playbooks/{name}/runs"),
    ("GET", "/api/v1/runs"),
    ("GET", "/api/v1/runs/{run_id}"),
    ("POST", "/api/v1/runs/{run_id}/approve"),
    ("POST", "/api/v1/runs/{run_id}/confirm"),
    ("POST", "/api/v1/runs/{run_id}/resume"),
    ("GET", "/api/v1/runs/{run_id}/events"),
    ("GET", "/api/v1/heartbeats"),
}

CONFIG = """
project: {name: shop, timezone: Europe/Berlin}
services: [{name: api}, {name: database}]
people:
  - {name: alice, full_name: Alice Doe}
  - {name: bob, full_name: Bob Roe}
schedules:
  - name: backend
    timezone: Europe/Berlin
    layers:
      - {name: primary, rotation: weekly, start: 2026-01-05, participants: [alice, bob]}
incidents:
  public_url: "{public}"
  reminders: false
"""


class Tokens:
    def __init__(self, served: Served) -> None:
        now = datetime.now(UTC)
        tokens = served.store.api_tokens
        self.viewer = tokens.create("grafana", Role.VIEWER, "test", now)[1]
        self.responder = tokens.create("alice-laptop", Role.RESPONDER, "test", now)[1]
        self.admin = tokens.create("ops-admin", Role.ADMIN, "test", now)[1]
        revoked, self.revoked = tokens.create("old-laptop", Role.ADMIN, "test", now)
        assert tokens.revoke(revoked.id, now)
        token_id = self.admin.split("_")[1]
        self.wrong_secret = f"obk_{token_id}_{'A' * 43}"
        self.unknown = f"obk_{'0' * 16}_{self.admin.split('_', 2)[2]}"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    directory = tmp_path_factory.mktemp("api")
    port, public = reserve_port()
    path = directory / "opsbook.yaml"
    path.write_text(CONFIG.replace("{public}", public))
    async with serving(path, port) as server:
        yield server


@pytest.fixture(scope="module")
def tokens(served: Served) -> Tokens:
    return Tokens(served)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def api_routes(served: Served) -> list[tuple[str, str]]:
    reply = await send("GET", served.url("/openapi.json"))
    assert reply.status == 200, reply.text
    routes = [
        (method.upper(), path)
        for path, operations in reply.json()["paths"].items()
        if path.startswith(PREFIXES)
        for method in operations
    ]
    return sorted(routes)


def concrete(path: str) -> str:
    return re.sub(r"\{[a-z_]+\}", "1", path)


async def call(
    served: Served, method: str, path: str, headers: dict[str, str], body: Any = None
) -> Reply:
    if method == "POST":
        data = json.dumps({} if body is None else body).encode()
        headers = {**headers, "Content-Type": "application/json"}
        return await send(method, served.url(path), data=data, headers=headers)
    return await send(method, served.url(path), headers=headers)


async def test_schema_lists_every_known_route(served: Served) -> None:
    routes = set(await api_routes(served))
    assert routes >= KNOWN_ROUTES, KNOWN_ROUTES - routes


BAD_CREDENTIALS = {
    "no-header": {},
    "empty-bearer": {"Authorization": "Bearer "},
    "basic-scheme": {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
    "token-without-scheme": {"Authorization": "obk_0123456789abcdef_secret"},
    "not-a-token": bearer("not-a-token"),
    "short-id": bearer("obk_0123_secret"),
    "sql-in-token": bearer("obk_' OR 1=1 --abcd_x"),
    "huge-token": bearer("obk_0123456789abcdef_" + "x" * 4000),
}


@pytest.mark.parametrize("credential", BAD_CREDENTIALS, ids=list(BAD_CREDENTIALS))
async def test_every_route_refuses_missing_or_malformed_tokens(
    served: Served, credential: str
) -> None:
    for method, path in await api_routes(served):
        before = store_rows(served.store)
        reply = await call(served, method, concrete(path), BAD_CREDENTIALS[credential])
        reply.problem(401)
        assert reply.headers.get("www-authenticate", "").startswith("Bearer"), (method, path)
        assert store_rows(served.store) == before, (method, path)


@pytest.mark.parametrize("which", ["unknown", "wrong_secret", "revoked"])
async def test_every_route_refuses_unknown_wrong_and_revoked_tokens(
    served: Served, tokens: Tokens, which: str
) -> None:
    for method, path in await api_routes(served):
        before = store_rows(served.store)
        reply = await call(served, method, concrete(path), bearer(getattr(tokens, which)))
        assert "invalid or revoked" in reply.problem(401)["detail"], (method, path)
        assert store_rows(served.store) == before, (method, path)


async def test_viewer_may_read_but_not_act(served: Served, tokens: Tokens) -> None:
    routes = await api_routes(served)
    assert {"POST", "DELETE"} <= {method for method, _ in routes}
    for method, path in routes:
        before = store_rows(served.store)
        reply = await call(served, method, concrete(path), bearer(tokens.viewer))
        if method not in ("GET", "HEAD"):
            assert "responder" in reply.problem(403)["detail"], path
            assert store_rows(served.store) == before, path
        else:
            assert reply.status in (200, 404), (path, reply.status, reply.text)


def detail(reply: Reply, status: int = 200) -> Any:
    """The JSON of a successful answer."""
    assert reply.status == status, reply.text
    return reply.json()


async def test_incident_lifecycle_over_the_api(served: Served, tokens: Tokens) -> None:
    auth = bearer(tokens.responder)
    base = "/api/v1/incidents"
    declared = detail(
        await call(
            served,
            "POST",
            base,
            auth,
            {
                "title": "Checkout  returns\t502",
                "severity": "P2",
                "services": ["api"],
                "impact": "Customers cannot pay",
            },
        ),
        201,
    )
    number = declared["id"]
    one = f"{base}/{number}"
    assert declared["title"] == "Checkout returns 502" and declared["status"] == "investigating"
    assert declared["created_by"] == "api:alice-laptop"

    acked = detail(await call(served, "POST", f"{one}/ack", auth))
    assert acked["acknowledged_by"] == "api:alice-laptop" and acked["acknowledged_at"]
    noted = detail(
        await call(
            served,
            "POST",
            f"{one}/notes",
            auth,
            {"text": "Connection pool exhausted by the batch job", "section": "root_cause"},
        ),
        201,
    )
    assert noted["timeline"][-1]["kind"] == "note"
    assert noted["timeline"][-1]["data"] == {"section": "root_cause"}
    updated = detail(
        await call(served, "POST", f"{one}/updates", auth, {"message": "Mitigating"}), 201
    )
    assert updated["timeline"][-1]["kind"] == "status_update" and updated["last_update_at"]
    identified = detail(await call(served, "POST", f"{one}/status", auth, {"status": "identified"}))
    assert identified["status"] == "identified"
    raised = detail(await call(served, "POST", f"{one}/severity", auth, {"severity": "P1"}))
    assert raised["severity"] == "P1"
    assigned = detail(await call(served, "POST", f"{one}/assign", auth, {"person": "bob"}))
    assert assigned["commander"] == "bob" and assigned["roles"] == {"commander": "bob"}

    action = detail(
        await call(
            served, "POST", f"{one}/actions", auth, {"text": "Cap the pool", "owner": "alice"}
        ),
        201,
    )
    assert action["done_at"] is None
    done = detail(await call(served, "POST", f"{one}/actions/{action['id']}/done", auth))
    assert done["id"] == action["id"] and done["done_at"]

    resolved = detail(
        await call(served, "POST", f"{one}/resolve", auth, {"message": "pool capped"})
    )
    assert resolved["status"] == "resolved" and resolved["resolved_at"]

    viewer = bearer(tokens.viewer)
    markdown = await send("GET", served.url(f"{one}/postmortem"), headers=viewer)
    assert markdown.status == 200, markdown.text
    assert markdown.headers["content-type"].startswith("text/markdown")
    for expected in ("Checkout returns 502", "Connection pool exhausted", "Cap the pool"):
        assert expected in markdown.text, expected
    page = await send("GET", served.url(f"{one}/postmortem?format=html"), headers=viewer)
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert "<" in page.text and "Connection pool exhausted" in page.text

    full = detail(await send("GET", served.url(f"{one}/timeline"), headers=viewer))
    ids = [entry["id"] for entry in full]
    assert ids == sorted(ids) and len(ids) >= 9
    kinds = [entry["kind"] for entry in full]
    for kind in (
        "declared",
        "acknowledged",
        "note",
        "status_update",
        "status_changed",
        "severity_changed",
        "assigned",
        "action_added",
        "action_done",
        "resolved",
    ):
        assert kind in kinds, kind
    middle = ids[len(ids) // 2]
    after = detail(await send("GET", served.url(f"{one}/timeline?after={middle}"), headers=viewer))
    assert after == [entry for entry in full if entry["id"] > middle]
    last = detail(await send("GET", served.url(f"{one}/timeline?after={ids[-1]}"), headers=viewer))
    assert last == []

    listed = detail(await send("GET", served.url(f"{base}?status=resolved"), headers=viewer))
    assert number in [item["id"] for item in listed["items"]]
    oncall = detail(await send("GET", served.url("/api/v1/oncall"), headers=viewer))
    assert set(oncall["schedules"]) == {"backend"}


VALIDATION_CASES = [
    ("unknown-severity", "", {"title": "x", "severity": "P9"}, "unknown severity"),
    ("extra-key", "", {"title": "x", "severity": "P2", "admin": True}, "admin"),
    ("oversized-title", "", {"title": "t" * 301, "severity": "P2"}, "title"),
    ("blank-title", "", {"title": " \t ", "severity": "P2"}, "title"),
    ("title-number", "", {"title": 12, "severity": "P2"}, "title"),
    ("unknown-service", "", {"title": "x", "severity": "P2", "services": ["nope"]}, "nope"),
    ("oversized-note", "/notes", {"text": "n" * 20_001}, "text"),
    ("unknown-section", "/notes", {"text": "x", "section": "gossip"}, "section"),
    ("note-extra-key", "/notes", {"text": "x", "actor": "mallory"}, "actor"),
    ("unknown-status", "/status", {"status": "closed"}, "status"),
    ("unknown-new-severity", "/severity", {"severity": "SEV1"}, "unknown severity"),
    ("unknown-person", "/assign", {"person": "mallory"}, "mallory"),
    ("bad-role", "/assign", {"role": "commander; drop", "person": "bob"}, "role"),
    ("oversized-update", "/updates", {"message": "u" * 5001}, "message"),
    ("oversized-action", "/actions", {"text": "a" * 1001}, "text"),
    ("resolve-extra-key", "/resolve", {"message": "x", "force": True}, "force"),
]


@pytest.mark.parametrize(
    ("suffix", "body", "mentions"),
    [case[1:] for case in VALIDATION_CASES],
    ids=[case[0] for case in VALIDATION_CASES],
)
async def test_invalid_bodies_are_422_problems(
    served: Served, tokens: Tokens, suffix: str, body: dict[str, Any], mentions: str
) -> None:
    auth = bearer(tokens.responder)
    if suffix:
        opened = await call(
            served, "POST", "/api/v1/incidents", auth, {"title": "For validation", "severity": "P3"}
        )
        path = f"/api/v1/incidents/{detail(opened, 201)['id']}{suffix}"
    else:
        path = "/api/v1/incidents"
    before = store_rows(served.store)
    problem = (await call(served, "POST", path, auth, body)).problem(422)
    assert mentions in problem["detail"], problem
    assert store_rows(served.store) == before


async def test_other_refusals_are_problems(served: Served, tokens: Tokens) -> None:
    auth = bearer(tokens.responder)
    (await send("GET", served.url("/api/v1/incidents/999999"), headers=auth)).problem(404)
    (await call(served, "POST", "/api/v1/incidents/999999/ack", auth)).problem(404)
    (await send("GET", served.url("/api/v1/incidents/abc"), headers=auth)).problem(422)
    (await send("GET", served.url("/api/v1/incidents?limit=100000"), headers=auth)).problem(422)
    (await send("GET", served.url("/api/v1/incidents?status=bogus"), headers=auth)).problem(422)
    (await send("GET", served.url("/api/v1/incidents/1/timeline?after=-1"), headers=auth)).problem(
        422
    )
    (await send("GET", served.url("/api/v1/oncall?at=2026-12-24T18:00:00"), headers=auth)).problem(
        422
    )
    invalid = await send(
        "POST",
        served.url("/api/v1/incidents"),
        data=b'{"title": ',
        headers={**auth, "Content-Type": "application/json"},
    )
    invalid.problem(422)

    opened = detail(
        await call(served, "POST", "/api/v1/incidents", auth, {"title": "Done", "severity": "P4"}),
        201,
    )
    detail(await call(served, "POST", f"/api/v1/incidents/{opened['id']}/resolve", auth))
    closed = await call(served, "POST", f"/api/v1/incidents/{opened['id']}/ack", auth)
    assert "resolved" in closed.problem(409)["detail"]


async def test_admin_may_act(served: Served, tokens: Tokens) -> None:
    reply = await call(
        served,
        "POST",
        "/api/v1/incidents",
        bearer(tokens.admin),
        {"title": "By admin", "severity": "P4"},
    )
    assert detail(reply, 201)["created_by"] == "api:ops-admin"


async def test_unauthenticated_post_with_malformed_body_is_401(served: Served) -> None:
    reply = await send(
        "POST",
        served.url("/api/v1/incidents"),
        data=b'{"title": ',
        headers={"Content-Type": "application/json"},
    )
    reply.problem(401)


def opsbook(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opsbook", *args], capture_output=True, text=True, timeout=60
    )


async def test_token_cli_create_list_revoke(served: Served) -> None:
    config = str(served.config_path)
    created = opsbook("token", "create", "ci-bot", "--role", "responder", "-c", config)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("obk_")
    token_id = secret.split("_")[1]

    reply = await call(
        served, "POST", "/api/v1/incidents", bearer(secret), {"title": "From CI", "severity": "P4"}
    )
    assert detail(reply, 201)["created_by"] == "api:ci-bot"

    listed = opsbook("token", "list", "--json", "-c", config)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    [row] = [r for r in rows if r["id"] == token_id]
    assert row["name"] == "ci-bot" and row["role"] == "responder" and row["revoked_at"] is None
    assert row["last_used_at"] is not None
    secret_part = secret.split("_", 2)[2]
    assert secret_part not in listed.stdout
    for r in rows:
        assert set(r) == {
            "id",
            "name",
            "role",
            "created_by",
            "created_at",
            "last_used_at",
            "revoked_at",
        }

    revoked = opsbook("token", "revoke", token_id, "-c", config)
    assert revoked.returncode == 0, revoked.stderr
    again = await send("GET", served.url("/api/v1/incidents"), headers=bearer(secret))
    assert "revoked" in again.problem(401)["detail"]
    twice = opsbook("token", "revoke", token_id, "-c", config)
    assert twice.returncode == 3

    refused = opsbook("token", "create", "x", "--role", "root", "-c", config)
    assert refused.returncode == 2


async def test_ids_past_int64_are_client_errors(served: Served, tokens: Tokens) -> None:
    big = "9" * 20
    auth = bearer(tokens.responder)
    detail(await send("GET", served.url("/api/v1/incidents"), headers=auth))
    for method, path in (
        ("GET", f"/api/v1/incidents/{big}"),
        ("GET", f"/api/v1/incidents/{big}/postmortem"),
        ("GET", f"/api/v1/incidents/1/timeline?after={big}"),
        ("POST", f"/api/v1/incidents/{big}/ack"),
        ("POST", f"/api/v1/incidents/1/actions/{big}/done"),
    ):
        reply = await call(served, method, path, auth)
        assert reply.status in (404, 422), (path, reply.status, reply.text)
        reply.problem(reply.status)


async def test_oncall_at_far_future_is_422(served: Served, tokens: Tokens) -> None:
    ordinary = await send("GET", served.url("/api/v1/oncall"), headers=bearer(tokens.viewer))
    assert detail(ordinary)["schedules"]
    for at in ("9999-12-30T00:00:00Z", "0001-01-01T00:00:00%2B23:59"):
        reply = await send(
            "GET", served.url(f"/api/v1/oncall?at={at}"), headers=bearer(tokens.viewer)
        )
        reply.problem(422)


async def test_declare_refuses_an_unknown_commander(served: Served, tokens: Tokens) -> None:
    before = store_rows(served.store)
    body = {"title": "Unknown commander", "severity": "P4", "commander": "mallory"}
    reply = await call(served, "POST", "/api/v1/incidents", bearer(tokens.responder), body)
    assert "mallory" in reply.problem(422)["detail"]
    assert store_rows(served.store) == before


async def test_nul_in_text_is_422_on_postgresql(tmp_path: Path) -> None:
    port, public = reserve_port()
    path = tmp_path / "opsbook.yaml"
    path.write_text(CONFIG.replace("{public}", public))
    with temporary_pg_database() as url:
        async with serving(path, port, url) as server:
            _, secret = server.store.api_tokens.create(
                "pg", Role.RESPONDER, "test", datetime.now(UTC)
            )
            auth = bearer(secret)
            opened = await call(
                server, "POST", "/api/v1/incidents", auth, {"title": "PG", "severity": "P4"}
            )
            number = detail(opened, 201)["id"]
            for route, body in (
                ("/api/v1/incidents", {"title": "a\x00b", "severity": "P4"}),
                ("/api/v1/incidents", {"title": "t", "severity": "P4", "impact": "\x00"}),
                (f"/api/v1/incidents/{number}/notes", {"text": "note\x00"}),
                (f"/api/v1/incidents/{number}/updates", {"message": "\x00update"}),
            ):
                reply = await call(server, "POST", route, auth, body)
                assert "NUL" in reply.problem(422)["detail"], (route, reply.text)
