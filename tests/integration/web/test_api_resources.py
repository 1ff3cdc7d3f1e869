"""The `/api/v1` resources over real HTTP against a served engine: checks, alerts,
silences, maintenance, on-call calendars, escalation, playbooks and runs (with their
event stream), heartbeats; pagination and bounded parameters.

Who may call what is `test_api_access.py`; this file is what each route answers.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import pytest_asyncio

from opsbook.store.api_tokens import Role
from tests.integration.receivers import WebhookRecorder
from tests.integration.web.harness import Reply, Served, reserve_port, send, serving, store_rows

pytestmark = [pytest.mark.asyncio(loop_scope="module")]

HEARTBEAT_ID = uuid.UUID("6f1c1b52-3f5e-4c1e-9a53-2b7f0d7c9e11")
EVENTS_TOKEN = "resource-events-6b2d0a91c4e7"
SECRET_HEADER = "Bearer sekret-value-123456"

CONFIG = """
project: {name: shop, timezone: Europe/Berlin}
services:
  - {name: api, escalation_policy: api-backend}
  - {name: database}
checks:
  - name: api-health
    service: api
    interval: 1h
    http:
      url: "http://monitor:pa55word-xyz@127.0.0.1:{port}/healthz"
      headers: {Authorization: "{secret_header}"}
  - name: db-disk
    service: database
    interval: 1h
    command: {argv: [sh, -c, "echo 'DISK OK - 42% used | used_pct=42;80;90'"]}
  - name: db-replica
    service: database
    interval: 1h
    enabled: false
    command: {argv: ["true"]}
integrations:
  - {name: pager, kind: events, token: "{events_token}", service: api, severity: P3}
people:
  - {name: alice, contacts: [{webhook: {url: "{hook}/alice"}}]}
  - {name: bob, contacts: [{webhook: {url: "{hook}/bob"}}]}
  - {name: manager, contacts: [{webhook: {url: "{hook}/manager"}}]}
schedules:
  - name: backend
    timezone: Europe/Berlin
    layers:
      - {name: primary, rotation: weekly, start: 2026-01-05, participants: [alice, bob]}
      - {name: secondary, rotation: weekly, start: 2026-01-05, participants: [bob, alice]}
escalation_policies:
  - name: api-backend
    levels:
      - {targets: ["schedule:backend"], escalate_after: 10m}
      - {targets: ["schedule:backend/secondary"], escalate_after: 20m}
      - {targets: ["person:manager"]}
maintenance:
  - {name: weekly-db, services: [database], schedule: "0 2 * * 0", duration: 2h}
  - {name: migration, services: [database], start: "2020-01-01T00:00:00Z", end: "2099-01-01T00:00:00Z"}
heartbeats:
  - {name: nightly-backup, id: "{heartbeat}", period: 1d, severity: P3, service: database}
playbooks:
  - name: greet
    description: Say hello, slowly.
    params:
      - {name: who, required: true, pattern: "[a-z]+", description: Whom to greet.}
      - {name: times, type: int, default: 1, min: 1, max: 3}
    steps:
      - name: hello
        shell: {argv: [sh, -c, 'echo "hello $1"; sleep 2; echo done', sh, "{{ params.who }}"]}
      - name: bye
        shell: {argv: [echo, "bye {{ params.who }}"]}
  - name: risky
    steps:
      - {name: prepare, shell: {argv: [echo, prepared]}}
      - {name: wipe, dangerous: true, shell: {argv: [echo, wiped]}}
  - name: handoff
    steps:
      - {name: look, manual: {instruction: "Look at the replication lag"}}
      - {name: after, shell: {argv: [echo, after]}}
incidents:
  public_url: "http://127.0.0.1:{port}"
  reminders: false
"""


class Tokens:
    def __init__(self, served: Served) -> None:
        now = datetime.now(UTC)
        tokens = served.store.api_tokens
        self.viewer = tokens.create("grafana", Role.VIEWER, "test", now)[1]
        self.responder = tokens.create("alice-laptop", Role.RESPONDER, "test", now)[1]
        self.admin = tokens.create("ops-admin", Role.ADMIN, "test", now)[1]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hook() -> AsyncIterator[WebhookRecorder]:
    async with WebhookRecorder() as recorder:
        yield recorder


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(
    tmp_path_factory: pytest.TempPathFactory, hook: WebhookRecorder
) -> AsyncIterator[Served]:
    directory = tmp_path_factory.mktemp("resources")
    port, _ = reserve_port()
    text = CONFIG
    for key, value in {
        "port": str(port),
        "secret_header": SECRET_HEADER,
        "events_token": EVENTS_TOKEN,
        "hook": hook.url(""),
        "heartbeat": str(HEARTBEAT_ID),
    }.items():
        text = text.replace("{" + key + "}", value)
    path = directory / "opsbook.yaml"
    path.write_text(text)
    async with serving(path, port) as server:
        yield server


@pytest.fixture(scope="module")
def tokens(served: Served) -> Tokens:
    return Tokens(served)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def get(served: Served, path: str, token: str) -> Reply:
    return await send("GET", served.url(path), headers=bearer(token))


async def post(served: Served, path: str, token: str, body: Any = None) -> Reply:
    data = json.dumps({} if body is None else body).encode()
    headers = {**bearer(token), "Content-Type": "application/json"}
    return await send("POST", served.url(path), data=data, headers=headers)


def ok(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, f"{reply.status}: {reply.text[:1000]}"
    return reply.json()


async def eventually(read: Any, done: Any, timeout: float = 20.0) -> Any:
    """`await read()` until `done(value)` holds; that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = await read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"not reached within {timeout}s: {value}"
        await asyncio.sleep(0.1)


# -- checks --------------------------------------------------------------------------------


async def test_checks_list_run_and_detail(served: Served, tokens: Tokens) -> None:
    ran = ok(await post(served, "/api/v1/checks/db-disk/run", tokens.responder))
    assert ran["check"] == "db-disk" and ran["status"] == "ok"
    assert ran["samples"]["used_pct"] == 42 and "DISK OK" in ran["message"]

    listed = ok(await get(served, "/api/v1/checks", tokens.viewer))
    assert [c["name"] for c in listed["items"]] == ["api-health", "db-disk", "db-replica"]
    assert listed["total"] == 3 and listed["limit"] == 50 and listed["offset"] == 0
    by_name = {c["name"]: c for c in listed["items"]}
    assert by_name["db-disk"]["status"] == "ok" and by_name["db-disk"]["last_run_at"]
    assert by_name["db-replica"] == {**by_name["db-replica"], "status": "pending", "enabled": False}

    second = ok(await get(served, "/api/v1/checks?limit=1&offset=1", tokens.viewer))
    assert [c["name"] for c in second["items"]] == ["db-disk"] and second["total"] == 3
    database = ok(await get(served, "/api/v1/checks?service=database", tokens.viewer))
    assert {c["name"] for c in database["items"]} == {"db-disk", "db-replica"}
    commands = ok(await get(served, "/api/v1/checks?kind=command&status=ok", tokens.viewer))
    assert [c["name"] for c in commands["items"]] == ["db-disk"] and commands["total"] == 1
    pending = ok(await get(served, "/api/v1/checks?status=pending&kind=command", tokens.viewer))
    assert [c["name"] for c in pending["items"]] == ["db-replica"]

    ok(await post(served, "/api/v1/checks/db-disk/run", tokens.responder))
    detail = ok(await get(served, "/api/v1/checks/db-disk?results=5", tokens.viewer))
    assert detail["kind"] == "command" and detail["definition"]["command"]["argv"][0] == "sh"
    assert len(detail["results"]) == 2 and detail["results"][0]["message"].startswith("DISK OK")
    assert [p["value"] for p in detail["samples"]["used_pct"]] == [42, 42]
    stamps = [p["at"] for p in detail["samples"]["used_pct"]]
    assert stamps == sorted(stamps)

    health = ok(await get(served, "/api/v1/checks/api-health", tokens.viewer))
    shown = json.dumps(health)
    assert "pa55word-xyz" not in shown and "sekret-value" not in shown, shown
    http = health["definition"]["http"]
    assert http["headers"] == {"Authorization": "***"} and "monitor:***@" in http["url"]


async def test_check_refusals(served: Served, tokens: Tokens) -> None:
    (await get(served, "/api/v1/checks/nope", tokens.viewer)).problem(404)
    (await post(served, "/api/v1/checks/nope/run", tokens.responder)).problem(404)
    disabled = (await post(served, "/api/v1/checks/db-replica/run", tokens.responder)).problem(409)
    assert "disabled" in disabled["detail"]
    (await get(served, "/api/v1/checks?status=sleepy", tokens.viewer)).problem(422)
    (await get(served, "/api/v1/checks?limit=0", tokens.viewer)).problem(422)
    (await get(served, "/api/v1/checks?limit=501", tokens.viewer)).problem(422)
    (await get(served, "/api/v1/checks?offset=-1", tokens.viewer)).problem(422)
    (await get(served, "/api/v1/checks?offset=" + "9" * 30, tokens.viewer)).problem(422)
    (await get(served, "/api/v1/checks/" + "x" * 101, tokens.viewer)).problem(422)
    for odd in ("%00", "%E2%80%AE%F0%9F%92%A5", "..%2F..%2Fetc"):
        (await get(served, f"/api/v1/checks/{odd}", tokens.viewer)).problem(404)
    forbidden = await post(served, "/api/v1/checks/db-disk/run", tokens.viewer)
    assert "responder" in forbidden.problem(403)["detail"]


# -- alerts and silences -----------------------------------------------------------------------


async def trigger(served: Served, key: str, severity: str = "warning") -> None:
    body = {
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {"summary": f"Queue stuck: {key}", "source": "worker-1", "severity": severity},
    }
    reply = await send(
        "POST",
        served.url("/api/v1/inbound/events/pager"),
        data=json.dumps(body).encode(),
        headers={**bearer(EVENTS_TOKEN), "Content-Type": "application/json"},
    )
    assert reply.status == 202, reply.text


async def test_alerts_list_filter_and_detail(served: Served, tokens: Tokens) -> None:
    await trigger(served, "queue-stuck")
    listed = ok(await get(served, "/api/v1/alerts?state=firing&service=api", tokens.viewer))
    [alert] = [a for a in listed["items"] if a["labels"].get("dedup_key") == "queue-stuck"]
    assert alert["state"] == "firing" and alert["service"] == "api" and alert["fired_at"]
    assert alert["severity"] == "P3" and alert["muted"] is None

    assert ok(await get(served, "/api/v1/alerts?severity=P0", tokens.viewer))["total"] == 0
    assert ok(await get(served, "/api/v1/alerts?state=resolved", tokens.viewer))["items"] == []
    one = ok(await get(served, f"/api/v1/alerts/{alert['fingerprint']}", tokens.viewer))
    assert one["fingerprint"] == alert["fingerprint"]
    assert [e["event"] for e in one["events"]] == ["firing"]
    (await get(served, "/api/v1/alerts/0123456789abcdef", tokens.viewer)).problem(404)
    (await get(served, "/api/v1/alerts/" + "f" * 65, tokens.viewer)).problem(422)
    (await get(served, "/api/v1/alerts?state=burning", tokens.viewer)).problem(422)


async def test_silence_add_list_expire(served: Served, tokens: Tokens) -> None:
    body = {
        "matchers": ['service="api"', 'severity=~"P3|P4"'],
        "duration": "2h",
        "comment": "  Deploying the queue fix  ",
    }
    created = ok(await post(served, "/api/v1/silences", tokens.responder, body), 201)
    assert created["created_by"] == "api:alice-laptop" and created["status"] == "active"
    assert created["comment"] == "Deploying the queue fix"
    assert created["matchers"] == ['service="api"', 'severity=~"P3|P4"']
    length = datetime.fromisoformat(created["ends_at"]) - datetime.fromisoformat(
        created["starts_at"]
    )
    assert length == timedelta(hours=2)

    later = datetime.now(UTC) + timedelta(days=1)
    planned = ok(
        await post(
            served,
            "/api/v1/silences",
            tokens.responder,
            {
                "matchers": ['service="database"'],
                "starts_at": later.isoformat(),
                "ends_at": (later + timedelta(hours=1)).isoformat(),
                "comment": "Disk swap",
            },
        ),
        201,
    )
    assert planned["status"] == "pending"

    listed = ok(await get(served, "/api/v1/silences", tokens.viewer))
    assert {created["id"], planned["id"]} <= {s["id"] for s in listed["items"]}

    # A silence applies within the engine's reload: the alert is muted, still listed.
    await trigger(served, "queue-silenced")

    async def muted() -> Any:
        found = ok(await get(served, "/api/v1/alerts?state=firing", tokens.viewer))
        return [a for a in found["items"] if a["labels"].get("dedup_key") == "queue-silenced"]

    [alert] = await eventually(muted, lambda rows: rows and rows[0]["muted"])
    assert "silence" in alert["muted"]

    for silence in (created, planned):
        reply = await send(
            "DELETE",
            served.url(f"/api/v1/silences/{silence['id']}"),
            headers=bearer(tokens.responder),
        )
        assert ok(reply)["status"] == "expired"
    again = await send(
        "DELETE", served.url(f"/api/v1/silences/{created['id']}"), headers=bearer(tokens.responder)
    )
    again.problem(404)
    running = ok(await get(served, "/api/v1/silences", tokens.viewer))
    assert created["id"] not in {s["id"] for s in running["items"]}
    everything = ok(await get(served, "/api/v1/silences?expired=true", tokens.viewer))
    statuses = {s["id"]: s["status"] for s in everything["items"]}
    assert statuses[created["id"]] == statuses[planned["id"]] == "expired"


SILENCE_REFUSALS = [
    ("no-comment", {"matchers": ['a="b"'], "duration": "1h", "comment": " "}, "comment"),
    ("missing-comment", {"matchers": ['a="b"'], "duration": "1h"}, "comment"),
    ("no-matchers", {"matchers": [], "duration": "1h", "comment": "x"}, "matchers"),
    ("bad-matcher", {"matchers": ["service"], "duration": "1h", "comment": "x"}, "matcher"),
    ("bad-regex", {"matchers": ['a=~"("'], "duration": "1h", "comment": "x"}, "regular"),
    ("neither", {"matchers": ['a="b"'], "comment": "x"}, "duration"),
    (
        "both",
        {
            "matchers": ['a="b"'],
            "comment": "x",
            "duration": "1h",
            "ends_at": "2099-01-01T00:00:00Z",
        },
        "duration",
    ),
    ("bad-duration", {"matchers": ['a="b"'], "comment": "x", "duration": "soon"}, "duration"),
    (
        "huge-duration",
        {"matchers": ['a="b"'], "comment": "x", "duration": "9" * 40 + "w"},
        "duration",
    ),
    ("too-long", {"matchers": ['a="b"'], "comment": "x", "duration": "400d"}, "366"),
    ("negative", {"matchers": ['a="b"'], "comment": "x", "duration": "-1h"}, "duration"),
    (
        "over",
        {
            "matchers": ['a="b"'],
            "comment": "x",
            "starts_at": "2000-01-01T00:00:00Z",
            "ends_at": "2000-06-01T00:00:00Z",
        },
        "over",
    ),
    (
        "backwards",
        {"matchers": ['a="b"'], "comment": "x", "ends_at": "2001-01-01T00:00:00Z"},
        "end after",
    ),
    ("naive", {"matchers": ['a="b"'], "comment": "x", "ends_at": "2099-01-01T00:00:00"}, "ends_at"),
    (
        "far-year",
        {"matchers": ['a="b"'], "comment": "x", "ends_at": "9999-01-01T00:00:00Z"},
        "9000",
    ),
    ("nul-comment", {"matchers": ['a="b"'], "comment": "x\x00y", "duration": "1h"}, "NUL"),
    ("nul-matcher", {"matchers": ['a="b\x00"'], "comment": "x", "duration": "1h"}, "NUL"),
    ("extra-key", {"matchers": ['a="b"'], "comment": "x", "duration": "1h", "by": "eve"}, "by"),
]


@pytest.mark.parametrize(
    ("body", "mentions"), [c[1:] for c in SILENCE_REFUSALS], ids=[c[0] for c in SILENCE_REFUSALS]
)
async def test_invalid_silences_are_422(
    served: Served, tokens: Tokens, body: dict[str, Any], mentions: str
) -> None:
    before = ok(await get(served, "/api/v1/silences?expired=true", tokens.viewer))["total"]
    problem = (await post(served, "/api/v1/silences", tokens.responder, body)).problem(422)
    assert mentions in problem["detail"], problem
    after = ok(await get(served, "/api/v1/silences?expired=true", tokens.viewer))["total"]
    assert after == before


async def test_silence_ids_are_bounded(served: Served, tokens: Tokens) -> None:
    auth = bearer(tokens.responder)
    for odd in ("x" * 65, "a%00b", "%F0%9F%92%A5"):
        reply = await send("DELETE", served.url(f"/api/v1/silences/{odd}"), headers=auth)
        reply.problem(422)
    missing = await send("DELETE", served.url(f"/api/v1/silences/{uuid.uuid4()}"), headers=auth)
    missing.problem(404)


# -- maintenance, on call, escalation, heartbeats ---------------------------------------------


async def test_maintenance_windows(served: Served, tokens: Tokens) -> None:
    listed = ok(await get(served, "/api/v1/maintenance", tokens.viewer))
    by_name = {w["name"]: w for w in listed["items"]}
    assert listed["total"] == 2 and set(by_name) == {"weekly-db", "migration"}
    migration = by_name["migration"]
    assert migration["active"] and migration["current"] == {
        "start": "2020-01-01T00:00:00+00:00",
        "end": "2099-01-01T00:00:00+00:00",
    }
    assert migration["next"] is None and migration["schedule"] is None
    weekly = by_name["weekly-db"]
    assert weekly["schedule"] == "0 2 * * 0" and weekly["duration"] == "2h"
    assert weekly["timezone"] == "Europe/Berlin"
    start = datetime.fromisoformat(weekly["next"]["start"])
    assert start.weekday() == 6 and (start.hour, start.minute) == (2, 0)
    assert datetime.fromisoformat(weekly["next"]["end"]) - start == timedelta(hours=2)
    active = ok(await get(served, "/api/v1/maintenance?active=true", tokens.viewer))
    names = [w["name"] for w in active["items"]]
    assert "migration" in names and len(names) == active["total"]


async def test_oncall_calendar_over_a_dst_change(served: Served, tokens: Tokens) -> None:
    reply = await get(
        served, "/api/v1/oncall/backend/calendar?start=2026-03-23&days=14", tokens.viewer
    )
    calendar = ok(reply)
    assert calendar["timezone"] == "Europe/Berlin" and calendar["layers"] == [
        "primary",
        "secondary",
    ]
    assert calendar["start"] == "2026-03-22T23:00:00+00:00"  # midnight CET
    assert calendar["end"] == "2026-04-05T22:00:00+00:00"  # midnight CEST
    primary = [
        (s["person"], s["start"], s["end"]) for s in calendar["shifts"] if s["layer"] == "primary"
    ]
    assert primary == [
        ("alice", "2026-03-22T23:00:00+00:00", "2026-03-23T08:00:00+00:00"),
        ("bob", "2026-03-23T08:00:00+00:00", "2026-03-30T07:00:00+00:00"),  # 09:00 CEST
        ("alice", "2026-03-30T07:00:00+00:00", "2026-04-05T22:00:00+00:00"),
    ]
    secondary = {s["person"] for s in calendar["shifts"] if s["layer"] == "secondary"}
    assert secondary == {"alice", "bob"}
    today = ok(await get(served, "/api/v1/oncall/backend/calendar?days=1", tokens.viewer))
    berlin = ZoneInfo("Europe/Berlin")
    midnight = datetime.combine(datetime.now(berlin).date(), datetime.min.time(), berlin)
    assert datetime.fromisoformat(today["start"]) == midnight
    assert {s["layer"] for s in today["shifts"]} == {"primary", "secondary"}
    (await get(served, "/api/v1/oncall/nope/calendar", tokens.viewer)).problem(404)
    for query in ("days=0", "days=93", "start=0001-01-01", "start=9999-12-31", "start=yesterday"):
        (await get(served, f"/api/v1/oncall/backend/calendar?{query}", tokens.viewer)).problem(422)


async def test_escalation_of_an_incident(served: Served, tokens: Tokens) -> None:
    declared = ok(
        await post(
            served,
            "/api/v1/incidents",
            tokens.responder,
            {"title": "Checkout fails", "severity": "P1", "services": ["api"]},
        ),
        201,
    )
    path = f"/api/v1/incidents/{declared['id']}/escalation"
    state = ok(await get(served, path, tokens.viewer))
    assert state["policy"]["name"] == "api-backend" and state["level"] == 1 and state["round"] == 1
    assert [lvl["escalate_after"] for lvl in state["policy"]["levels"]] == ["10m", "20m", "15m"]
    assert state["exhausted"] is False and state["next_at"]
    following = state["next"]
    assert following["level"] == 2 and following["at"] == state["next_at"]
    [target] = following["targets"]
    assert target["kind"] == "person" and target["via"] == "schedule backend/secondary"
    assert target["name"] in ("alice", "bob")
    assert following["receivers"] == [f"person.{target['name']}.0"] and not following["problems"]

    ok(await post(served, f"/api/v1/incidents/{declared['id']}/ack", tokens.responder))
    acked = ok(await get(served, path, tokens.viewer))
    assert acked["acknowledged_by"] == "api:alice-laptop" and acked["next"] is None

    quiet = ok(
        await post(
            served,
            "/api/v1/incidents",
            tokens.responder,
            {"title": "Replica lag", "severity": "P3", "services": ["database"]},
        ),
        201,
    )
    plain = ok(await get(served, f"/api/v1/incidents/{quiet['id']}/escalation", tokens.viewer))
    assert plain["policy"] is None and plain["level"] == 0 and plain["next"] is None
    (await get(served, "/api/v1/incidents/999999/escalation", tokens.viewer)).problem(404)
    (await get(served, f"/api/v1/incidents/{'9' * 20}/escalation", tokens.viewer)).problem(422)


async def test_heartbeats(served: Served, tokens: Tokens) -> None:
    listed = ok(await get(served, "/api/v1/heartbeats", tokens.viewer))
    [beat] = listed["items"]
    assert str(HEARTBEAT_ID) not in json.dumps(listed)  # the ping URL's secret
    assert beat["name"] == "nightly-backup" and beat["status"] == "new"
    assert beat["period"] == "1d" and beat["grace"] == "1h" and beat["due_at"]
    pinged = await send("POST", served.url(f"/ping/{HEARTBEAT_ID}"))
    assert pinged.status == 200, pinged.text
    after = ok(await get(served, "/api/v1/heartbeats?status=up", tokens.viewer))
    [beat] = after["items"]
    assert beat["state"]["last_ping_at"] and beat["state"]["last_outcome"] == "success"
    assert ok(await get(served, "/api/v1/heartbeats?status=down", tokens.viewer))["total"] == 0
    (await get(served, "/api/v1/heartbeats?status=asleep", tokens.viewer)).problem(422)


# -- playbooks and runs ----------------------------------------------------------------------


async def stream_events(served: Served, run_id: int, token: str) -> list[tuple[str, Any]]:
    """Every event of `GET /runs/{id}/events` until the stream ends."""
    events: list[tuple[str, Any]] = []
    url = served.url(f"/api/v1/runs/{run_id}/events")
    timeout = aiohttp.ClientTimeout(total=30)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(url, headers=bearer(token)) as response,
    ):
        assert response.status == 200, await response.text()
        assert response.headers["Content-Type"].startswith("text/event-stream")
        name = None
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name or "message", json.loads(line.removeprefix("data: "))))
    return events


async def test_playbooks_are_listed_with_their_params(served: Served, tokens: Tokens) -> None:
    listed = ok(await get(served, "/api/v1/playbooks", tokens.viewer))
    assert [p["name"] for p in listed["items"]] == ["greet", "risky", "handoff"]
    greet = listed["items"][0]
    assert greet["params"][0] == {
        "name": "who",
        "type": "string",
        "description": "Whom to greet.",
        "required": True,
        "default": None,
        "pattern": "[a-z]+",
        "choices": [],
        "min": None,
        "max": None,
        "secret": False,
    }
    assert greet["params"][1]["type"] == "int" and greet["params"][1]["default"] == 1
    assert [s["name"] for s in greet["steps"]] == ["hello", "bye"]
    risky = listed["items"][1]
    assert [s["dangerous"] for s in risky["steps"]] == [False, True]
    assert (
        ok(await get(served, "/api/v1/playbooks?limit=1&offset=2", tokens.viewer))["items"][0][
            "name"
        ]
        == "handoff"
    )


async def test_a_run_started_over_the_api_is_streamed_and_recorded(
    served: Served, tokens: Tokens
) -> None:
    plan = ok(
        await post(
            served,
            "/api/v1/playbooks/greet/runs",
            tokens.responder,
            {"params": {"who": "world"}, "dry_run": True},
        )
    )
    assert plan["dry_run"] is True and [s["name"] for s in plan["steps"]] == ["hello", "bye"]
    assert "world" in plan["steps"][0]["rendered"] and "world" in plan["steps"][1]["rendered"]

    before = ok(await get(served, "/api/v1/runs", tokens.viewer))["total"]
    started = await post(
        served, "/api/v1/playbooks/greet/runs", tokens.responder, {"params": {"who": "world"}}
    )
    body = ok(started, 202)
    run_id = body["id"]
    assert started.headers["location"] == f"/api/v1/runs/{run_id}"
    assert body["events_url"] == f"/api/v1/runs/{run_id}/events"

    events = await stream_events(served, run_id, tokens.viewer)
    kinds = [name for name, _ in events]
    assert kinds[0] == "run" and kinds[-1] == "end", kinds
    hello = [data for name, data in events if name == "step" and data["name"] == "hello"]
    assert [h["status"] for h in hello] == ["running", "ok"], hello  # seen while it ran
    assert hello[-1]["output"] == "hello world\ndone"
    bye = [data for name, data in events if name == "step" and data["name"] == "bye"]
    assert bye[-1]["output"] == "bye world" and bye[-1]["exit_code"] == 0
    assert events[-1][1]["status"] == "succeeded"

    record = ok(await get(served, f"/api/v1/runs/{run_id}", tokens.viewer))
    assert record["status"] == "succeeded" and record["started_by"] == "api:alice-laptop"
    assert record["params"] == {"who": "world", "times": "1"} and record["waiting_for"] is None
    assert [(s["position"], s["name"], s["status"]) for s in record["steps"]] == [
        (1, "hello", "ok"),
        (2, "bye", "ok"),
    ]
    assert record["steps"][0]["output"] == "hello world\ndone"
    assert record["steps"][0]["rendered"] and record["steps"][0]["duration_s"] >= 2

    runs = ok(await get(served, "/api/v1/runs?playbook=greet&status=succeeded", tokens.viewer))
    assert run_id in [r["id"] for r in runs["items"]]
    assert ok(await get(served, "/api/v1/runs", tokens.viewer))["total"] == before + 1
    # A finished run's stream is its whole record at once, then the end.
    replay = await stream_events(served, run_id, tokens.viewer)
    assert [name for name, _ in replay] == ["run", "step", "step", "end"]


RUN_REFUSALS = [
    ("missing-param", {}, "who"),
    ("pattern", {"params": {"who": "World!"}}, "does not match"),
    ("unknown-param", {"params": {"who": "x", "force": True}}, "force"),
    ("int-range", {"params": {"who": "x", "times": 9}}, "maximum"),
    ("int-huge", {"params": {"who": "x", "times": 10**30}}, "times"),
    ("nul", {"params": {"who": "a\x00"}}, "NUL"),
    ("too-long", {"params": {"who": "a" * 5000}}, "who"),
    ("no-incident", {"params": {"who": "x"}, "incident": 999999}, "incident"),
    ("extra-key", {"params": {"who": "x"}, "yes": True}, "yes"),
]


@pytest.mark.parametrize(
    ("body", "mentions"), [c[1:] for c in RUN_REFUSALS], ids=[c[0] for c in RUN_REFUSALS]
)
async def test_invalid_runs_are_422(
    served: Served, tokens: Tokens, body: dict[str, Any], mentions: str
) -> None:
    before = store_rows(served.store)
    runs = ok(await get(served, "/api/v1/runs", tokens.viewer))["total"]
    reply = await post(served, "/api/v1/playbooks/greet/runs", tokens.responder, body)
    assert mentions in reply.problem(422)["detail"]
    assert store_rows(served.store) == before
    assert ok(await get(served, "/api/v1/runs", tokens.viewer))["total"] == runs


async def waiting(served: Served, tokens: Tokens, run_id: int) -> dict[str, Any]:
    async def read() -> Any:
        return ok(await get(served, f"/api/v1/runs/{run_id}", tokens.viewer))

    return await eventually(read, lambda record: record["status"] == "waiting")  # type: ignore[no-any-return]


async def finished(served: Served, tokens: Tokens, run_id: int) -> dict[str, Any]:
    async def read() -> Any:
        return ok(await get(served, f"/api/v1/runs/{run_id}", tokens.viewer))

    return await eventually(read, lambda record: record["finished_at"] is not None)  # type: ignore[no-any-return]


async def test_a_dangerous_step_waits_for_an_admin(served: Served, tokens: Tokens) -> None:
    started = ok(await post(served, "/api/v1/playbooks/risky/runs", tokens.responder), 202)
    run_id = started["id"]
    paused = await waiting(served, tokens, run_id)
    assert paused["waiting_for"] == {
        "position": 2,
        "step": "wipe",
        "needs": "admin approval",
        "approvals": [],
    }
    (await post(served, f"/api/v1/runs/{run_id}/confirm", tokens.responder)).problem(409)
    refused = (await post(served, f"/api/v1/runs/{run_id}/approve", tokens.responder)).problem(403)
    assert "admin" in refused["detail"]
    approved = ok(await post(served, f"/api/v1/runs/{run_id}/approve", tokens.admin))
    assert approved["waiting_for"]["approvals"] == ["api:ops-admin"]
    assert "approved by api:ops-admin" in approved["message"]

    resumed = ok(await post(served, f"/api/v1/runs/{run_id}/resume", tokens.responder), 202)
    assert resumed["id"] == run_id
    done = await finished(served, tokens, run_id)
    assert done["status"] == "succeeded", done
    assert [s["output"] for s in done["steps"]] == ["prepared", "wiped"]
    again = await post(served, f"/api/v1/runs/{run_id}/resume", tokens.responder)
    assert "succeeded" in again.problem(409)["detail"]
    (await post(served, f"/api/v1/runs/{run_id}/approve", tokens.admin)).problem(409)


async def test_a_manual_step_is_confirmed_then_resumed(served: Served, tokens: Tokens) -> None:
    started = ok(await post(served, "/api/v1/playbooks/handoff/runs", tokens.responder), 202)
    run_id = started["id"]
    paused = await waiting(served, tokens, run_id)
    assert paused["waiting_for"]["needs"] == "confirmation"
    (await post(served, f"/api/v1/runs/{run_id}/approve", tokens.admin)).problem(409)
    confirmed = ok(await post(served, f"/api/v1/runs/{run_id}/confirm", tokens.responder))
    assert confirmed["steps"][0]["confirmed_by"] == "api:alice-laptop"
    ok(await post(served, f"/api/v1/runs/{run_id}/resume", tokens.responder), 202)
    done = await finished(served, tokens, run_id)
    assert done["status"] == "succeeded" and done["steps"][1]["output"] == "after"


async def test_run_refusals(served: Served, tokens: Tokens) -> None:
    (await post(served, "/api/v1/playbooks/nope/runs", tokens.responder)).problem(404)
    for path in ("/api/v1/runs/999999", "/api/v1/runs/999999/events"):
        (await get(served, path, tokens.viewer)).problem(404)
    for action in ("approve", "confirm", "resume"):
        (await post(served, f"/api/v1/runs/999999/{action}", tokens.admin)).problem(404)
    for odd in ("0", "-1", "9" * 20, "abc"):
        (await get(served, f"/api/v1/runs/{odd}", tokens.viewer)).problem(422)
    (await get(served, "/api/v1/runs?status=sleeping", tokens.viewer)).problem(422)
    forbidden = await post(
        served, "/api/v1/playbooks/greet/runs", tokens.viewer, {"params": {"who": "x"}}
    )
    assert "responder" in forbidden.problem(403)["detail"]
