"""Generic events, PagerDuty Events API v2 compatible: trigger, acknowledge and resolve
address one alert through the dedup key, and hostile bodies get a precise 4xx."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from opsbook.alerts.model import AlertState, Level, fingerprint
from opsbook.inbound import (
    EventAction,
    InboundError,
    authenticate,
    build_event,
    parse_event,
    read_event,
    response_body,
)
from opsbook.inbound.events import MAX_LINKS
from opsbook.inbound.limits import MAX_DETAILS_KEYS

from .inboundutil import JSON, SCRIPTS, T0, encode, trigger_body


def event(document: Any, **kwargs: Any) -> Any:
    return parse_event(encode(document), JSON, SCRIPTS, T0, **kwargs)


def test_a_trigger_opens_an_alert() -> None:
    received = event(trigger_body())
    assert received.action is EventAction.TRIGGER
    assert received.dedup_key == "backup-2026-11-23"
    alert = received.alert
    assert alert is not None
    assert dict(alert.labels) == {
        "alertname": "backup",
        "dedup_key": "backup-2026-11-23",
        "source": "db-backup-01",
        "component": "postgres",
        "group": "backups",
        "severity": "P2",
        "service": "database",
        "integration": "backup-scripts",
    }
    assert alert.fingerprint == received.fingerprint
    assert alert.fingerprint == fingerprint(
        {"integration": "backup-scripts", "dedup_key": "backup-2026-11-23"}
    )
    assert alert.rule == "inbound:backup-scripts"
    assert alert.state is AlertState.FIRING
    assert alert.level is Level.CRITICAL
    assert alert.fired_at == datetime(2026, 11, 23, 2, 4, 11, tzinfo=UTC)
    assert alert.updated_at == T0
    assert alert.annotations["summary"] == "Backup Failed: pg_dump of subjunctive_practice exited 1"
    assert json.loads(alert.annotations["custom_details"]) == {
        "backup_dir": "/backups/subjunctive",
        "retention_days": 30,
    }
    assert alert.annotations["client"] == "backup-database.sh"
    assert received.links[0].href == "https://grafana.example.com/d/backups"
    assert received.images[0].alt == "size"
    assert received.client_url == "https://runbooks.example.com/practice-app#backup--restore"
    assert received.custom_details == {"backup_dir": "/backups/subjunctive", "retention_days": 30}


def test_acknowledge_and_resolve_address_the_triggered_alert() -> None:
    opened = event(trigger_body())
    for action in ("acknowledge", "resolve"):
        later = event(
            {"routing_key": "x", "event_action": action, "dedup_key": "backup-2026-11-23"}
        )
        assert later.action == action
        assert later.alert is None
        assert later.fingerprint == opened.fingerprint


def test_a_changed_payload_still_addresses_the_same_alert() -> None:
    first = event(trigger_body())
    again = event(trigger_body(summary="Backup Failed again", severity="critical"))
    assert first.fingerprint == again.fingerprint
    assert again.alert is not None and again.alert.labels["severity"] == "P1"


def test_the_same_key_in_another_integration_is_another_alert() -> None:
    other = SCRIPTS.model_copy(update={"name": "other-scripts"})
    mine = event(trigger_body())
    theirs = parse_event(encode(trigger_body()), JSON, other, T0)
    assert mine.fingerprint != theirs.fingerprint


def test_a_trigger_without_dedup_key_gets_a_deterministic_one() -> None:
    body = trigger_body()
    del body["dedup_key"]
    first, second = event(body), event(body)
    assert first.dedup_key == second.dedup_key
    assert len(first.dedup_key) == 32 and int(first.dedup_key, 16) >= 0
    assert first.alert is not None and first.alert.labels["dedup_key"] == first.dedup_key
    changed = event({**body, "payload": {**body["payload"], "summary": "other"}})
    assert changed.dedup_key != first.dedup_key
    extra = event({**body, "payload": {**body["payload"], "unknown_field": 1}})
    assert extra.dedup_key == first.dedup_key


def test_response_body_is_pagerdutys() -> None:
    assert response_body(event(trigger_body())) == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "backup-2026-11-23",
    }


@pytest.mark.parametrize(
    ("severity", "mapped", "level"),
    [
        ("critical", "P1", Level.CRITICAL),
        ("error", "P2", Level.CRITICAL),
        ("warning", "P3", Level.WARNING),
        ("info", "P4", Level.WARNING),
    ],
)
def test_severities(severity: str, mapped: str, level: Level) -> None:
    alert = event(trigger_body(severity=severity)).alert
    assert alert.labels["severity"] == mapped and alert.level is level


def test_minimal_trigger() -> None:
    body = {
        "event_action": "trigger",
        "payload": {"summary": "disk 95% full", "source": "web-2", "severity": "warning"},
    }
    received = event(body)
    assert received.alert.labels["alertname"] == "event"
    assert received.alert.fired_at == T0
    assert set(received.alert.labels) == {
        "alertname",
        "dedup_key",
        "source",
        "severity",
        "service",
        "integration",
    }
    assert received.routing_key is None and received.links == () and received.custom_details is None


def test_routing_key_authenticates_when_no_header_is_sent() -> None:
    request = read_event(encode(trigger_body()), JSON)
    integration = authenticate([SCRIPTS], "backup-scripts", {}, {}, routing_key=request.routing_key)
    assert build_event(request, integration, T0).dedup_key == "backup-2026-11-23"
    forged = read_event(encode({**trigger_body(), "routing_key": "wrong-key-0123456789"}), JSON)
    with pytest.raises(InboundError) as caught:
        authenticate([SCRIPTS], "backup-scripts", {}, {}, routing_key=forged.routing_key)
    assert caught.value.status == 403


def test_routing_key_is_not_shown_in_repr() -> None:
    assert SCRIPTS.token.get_secret_value() not in repr(event(trigger_body()))


def test_newlines_in_the_summary_are_fine() -> None:
    assert event(trigger_body(summary="line 1\nline 2\ttabbed")).alert is not None


def nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        node = {"n": node}
    return node


def test_custom_details_at_the_limits_are_accepted() -> None:
    assert event(trigger_body(custom_details=nested(8))).alert is not None
    flat = {f"k{n}": n for n in range(MAX_DETAILS_KEYS)}
    assert event(trigger_body(custom_details=flat)).alert is not None


VALID = json.dumps(trigger_body())

HOSTILE_BYTES: list[tuple[str, bytes, int, str]] = [
    ("empty", b"", 400, "empty body"),
    ("form encoded", b"event_action=trigger&summary=x", 400, "invalid JSON"),
    ("top-level list", b"[]", 400, "got an array"),
    ("top-level null", b"null", 400, "got null"),
    (
        "NaN in details",
        VALID.replace('"retention_days": 30', '"retention_days": NaN').encode(),
        400,
        "NaN",
    ),
    (
        "huge number in details",
        VALID.replace('"retention_days": 30', '"retention_days": 1' + "0" * 400).encode(),
        400,
        "digits",
    ),
    (
        "long float in details",
        VALID.replace('"retention_days": 30', '"retention_days": 0.' + "1" * 400).encode(),
        400,
        "longer than",
    ),
    (
        "duplicate event_action",
        VALID.replace(
            '"event_action": "trigger"', '"event_action": "trigger", "event_action": "resolve"'
        ).encode(),
        400,
        "duplicate key 'event_action'",
    ),
    (
        "duplicate key deep inside",
        VALID.replace('"retention_days": 30', '"retention_days": 30, "retention_days": 7').encode(),
        400,
        "duplicate key",
    ),
    (
        "invalid UTF-8",
        VALID.replace("db-backup-01", "db-\udcc3-01").encode("utf-8", "surrogateescape"),
        400,
        "UTF-8",
    ),
    (
        "deep arrays in details",
        VALID.replace('"retention_days": 30', '"retention_days": ' + "[" * 40 + "]" * 40).encode(),
        400,
        "nested deeper",
    ),
    (
        "lone surrogate",
        VALID.replace("db-backup-01", "\\udfff").encode(),
        400,
        "unpaired surrogate",
    ),
    (
        "NUL in source",
        VALID.replace("db-backup-01", "db\\u0000").encode(),
        422,
        "$.payload.source: string contains a NUL",
    ),
    (
        "NUL in a details key",
        VALID.replace('"retention_days"', '"ret\\u0000"').encode(),
        422,
        "NUL",
    ),
    (
        "escape in source",
        VALID.replace("db-backup-01", "\\u001b]0;pwned\\u0007").encode(),
        422,
        "$.payload.source: contains a control character",
    ),
    (
        "bell in summary",
        VALID.replace("pg_dump", "\\u0007pg_dump").encode(),
        422,
        "$.payload.summary: contains a control character",
    ),
    ("too large", b'{"event_action":"trigger","x":"' + b"x" * (256 * 1024) + b'"}', 413, "exceeds"),
]


@pytest.mark.parametrize(
    ("body", "status", "message"), [h[1:] for h in HOSTILE_BYTES], ids=[h[0] for h in HOSTILE_BYTES]
)
def test_hostile_bytes_get_a_precise_4xx(body: bytes, status: int, message: str) -> None:
    with pytest.raises(InboundError) as caught:
        parse_event(body, JSON, SCRIPTS, T0)
    assert caught.value.status == status
    assert message in caught.value.message, caught.value.message


def without(document: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != key}


def with_payload(**changes: Any) -> dict[str, Any]:
    body = trigger_body()
    payload = {k: v for k, v in {**body["payload"], **changes}.items() if v is not ...}
    return {**body, "payload": payload}


SCHEMA: list[tuple[str, Any, str]] = [
    (
        "no event_action",
        without(trigger_body(), "event_action"),
        "$.event_action: required field is missing",
    ),
    (
        "unknown event_action",
        {**trigger_body(), "event_action": "escalate"},
        "$.event_action: Input should be 'trigger', 'acknowledge' or 'resolve'",
    ),
    ("event_action with a space", {**trigger_body(), "event_action": "trigger "}, "$.event_action"),
    (
        "trigger without payload",
        without(trigger_body(), "payload"),
        "$.payload: required for event_action 'trigger'",
    ),
    (
        "acknowledge without dedup_key",
        {"event_action": "acknowledge"},
        "$.dedup_key: required for event_action 'acknowledge'",
    ),
    (
        "resolve with null dedup_key",
        {"event_action": "resolve", "dedup_key": None},
        "$.dedup_key: required",
    ),
    (
        "empty dedup_key",
        {**trigger_body(), "dedup_key": ""},
        "$.dedup_key: String should have at least 1 character",
    ),
    (
        "dedup_key of 256",
        {**trigger_body(), "dedup_key": "k" * 256},
        "$.dedup_key: String should have at most 255 characters",
    ),
    (
        "dedup_key a number",
        {**trigger_body(), "dedup_key": 42},
        "$.dedup_key: expected a string, got a number",
    ),
    (
        "dedup_key with a newline",
        {**trigger_body(), "dedup_key": "a\nb"},
        "$.dedup_key: contains a control character",
    ),
    (
        "payload is a string",
        {**trigger_body(), "payload": "disk full"},
        "$.payload: expected an object, got a string",
    ),
    ("no summary", with_payload(summary=...), "$.payload.summary: required field is missing"),
    (
        "empty summary",
        with_payload(summary=""),
        "$.payload.summary: String should have at least 1 character",
    ),
    (
        "summary of 1025",
        with_payload(summary="s" * 1025),
        "$.payload.summary: String should have at most 1024 characters",
    ),
    ("no source", with_payload(source=...), "$.payload.source: required field is missing"),
    ("no severity", with_payload(severity=...), "$.payload.severity: required field is missing"),
    (
        "severity fatal",
        with_payload(severity="fatal"),
        "$.payload.severity: Input should be 'critical', 'error', 'warning' or 'info'",
    ),
    ("severity in capitals", with_payload(severity="CRITICAL"), "$.payload.severity"),
    (
        "timestamp as epoch",
        with_payload(timestamp=1763863451),
        "$.payload.timestamp: expected a string, got a number",
    ),
    (
        "timestamp words",
        with_payload(timestamp="last night"),
        "$.payload.timestamp: expected an RFC 3339 timestamp",
    ),
    (
        "timestamp out of range",
        with_payload(timestamp="2201-01-01T00:00:00Z"),
        "$.payload.timestamp: timestamp out of range",
    ),
    (
        "component with a tab",
        with_payload(component="pg\tdump"),
        "$.payload.component: contains a control character",
    ),
    (
        "class too long",
        with_payload(**{"class": "c" * 1025}),
        "$.payload.class: String should have at most 1024 characters",
    ),
    (
        "custom_details a string",
        with_payload(custom_details="see logs"),
        "$.payload.custom_details: expected an object, got a string",
    ),
    (
        "custom_details a list",
        with_payload(custom_details=[1, 2]),
        "$.payload.custom_details: expected an object, got an array",
    ),
    (
        "custom_details 9 deep",
        with_payload(custom_details=nested(9)),
        "custom_details nested deeper than 8",
    ),
    (
        "custom_details 201 keys",
        with_payload(custom_details={f"k{n}": n for n in range(201)}),
        "custom_details has more than 200 keys",
    ),
    (
        "custom_details keys across levels",
        with_payload(custom_details={f"k{n}": {"a": 1, "b": 2} for n in range(70)}),
        "more than 200 keys",
    ),
    (
        "custom_details too big",
        with_payload(custom_details={"log": "x" * 20000}),
        "larger than 16384 characters as JSON",
    ),
    (
        "javascript link",
        {**trigger_body(), "links": [{"href": "javascript:alert(1)", "text": "x"}]},
        "$.links[0].href: expected an http:// or https:// URL",
    ),
    (
        "data image",
        {**trigger_body(), "images": [{"src": "data:image/png;base64,AAAA"}]},
        "$.images[0].src: expected an http",
    ),
    (
        "link without href",
        {**trigger_body(), "links": [{"text": "x"}]},
        "$.links[0].href: required field is missing",
    ),
    (
        "URL with a newline",
        {**trigger_body(), "client_url": "https://a.example/\nSet-Cookie: x"},
        "$.client_url: expected an http",
    ),
    (
        "too many links",
        {**trigger_body(), "links": [{"href": "https://a.example"}] * (MAX_LINKS + 1)},
        "$.links: List should have at most 20 items",
    ),
    (
        "links an object",
        {**trigger_body(), "links": {"href": "https://a.example"}},
        "$.links: expected an array, got an object",
    ),
    (
        "client a number",
        {**trigger_body(), "client": 7},
        "$.client: expected a string, got a number",
    ),
]


@pytest.mark.parametrize(
    ("document", "message"), [s[1:] for s in SCHEMA], ids=[s[0] for s in SCHEMA]
)
def test_schema_violations_are_422_with_the_path(document: Any, message: str) -> None:
    with pytest.raises(InboundError) as caught:
        event(document)
    assert caught.value.status == 422
    assert message in caught.value.message, caught.value.message


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_is_415(content_type: str | None) -> None:
    with pytest.raises(InboundError) as caught:
        parse_event(encode(trigger_body()), content_type, SCRIPTS, T0)
    assert caught.value.status == 415
