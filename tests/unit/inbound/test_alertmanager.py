"""Alertmanager webhook (version 4) in: the exact body Alertmanager and opsbook's own
webhook channel send, and everything hostile a sender could put in its place."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opsbook.alerts.model import AlertState, Level, fingerprint
from opsbook.inbound import InboundError, Integration, IntegrationKind, parse_alertmanager
from opsbook.inbound.limits import MAX_ALERTS, MAX_BODY
from opsbook.notify.channels.webhook import build_payload
from tests.notifyutil import make_alert, make_notification

from .inboundutil import JSON, PROMETHEUS, T0, alertmanager_alert, alertmanager_body, encode


def parse(document: Any, integration: Integration = PROMETHEUS) -> list[Any]:
    return parse_alertmanager(encode(document), JSON, integration, T0)


def test_a_firing_alert_becomes_an_opsbook_alert() -> None:
    [alert] = parse(alertmanager_body())
    labels = {
        "alertname": "HighErrorRate",
        "instance": "memoapp-1:8000",
        "job": "memoapp",
        "severity": "P1",
        "service": "memoapp",
        "integration": "prometheus",
    }
    assert dict(alert.labels) == labels
    assert alert.fingerprint == fingerprint(labels)
    assert alert.rule == "inbound:prometheus"
    assert alert.level is Level.CRITICAL
    assert alert.state is AlertState.FIRING
    assert alert.fired_at == datetime(2026, 11, 23, 8, 55, 12, 345678, tzinfo=UTC)
    assert alert.active_since == alert.fired_at
    assert alert.resolved_at is None
    assert alert.updated_at == T0
    assert alert.annotations["summary"] == "High Error Rate: > 5% error rate for 5 minutes"


def test_a_resolved_alert_carries_its_end() -> None:
    resolved = alertmanager_alert(status="resolved", endsAt="2026-11-23T09:07:00Z")
    [alert] = parse(alertmanager_body(resolved, status="resolved"))
    assert alert.state is AlertState.RESOLVED
    assert alert.resolved_at == datetime(2026, 11, 23, 9, 7, tzinfo=UTC)
    assert alert.active_since is None


def test_resolved_without_an_end_time_ends_now() -> None:
    [alert] = parse(alertmanager_body(alertmanager_alert(status="resolved")))
    assert alert.resolved_at == T0


def test_firing_and_resolved_share_a_fingerprint() -> None:
    [firing] = parse(alertmanager_body())
    resolved = alertmanager_alert(status="resolved", endsAt="2026-11-23T09:07:00Z")
    [done] = parse(alertmanager_body(resolved))
    assert firing.fingerprint == done.fingerprint


@pytest.mark.parametrize(
    ("sent", "severity", "level"),
    [
        ("critical", "P1", Level.CRITICAL),
        ("error", "P2", Level.CRITICAL),
        ("warning", "P3", Level.WARNING),
        ("info", "P4", Level.WARNING),
        ("Warning", "P2", Level.WARNING),  # unmapped spelling: default severity
        ("page-me", "P2", Level.CRITICAL),
        (None, "P2", Level.CRITICAL),
        ("", "P2", Level.CRITICAL),
    ],
)
def test_severity_is_mapped_or_defaulted(sent: str | None, severity: str, level: Level) -> None:
    labels = {"alertname": "DiskSpaceLow", "instance": "db-1"}
    if sent is not None:
        labels["severity"] = sent
    [alert] = parse(alertmanager_body(alertmanager_alert(labels=labels)))
    assert alert.labels["severity"] == severity
    assert alert.level is level


def test_configured_severity_names_pass_through() -> None:
    body = encode(
        alertmanager_body(alertmanager_alert(labels={"alertname": "x", "severity": "P0"}))
    )
    [alert] = parse_alertmanager(body, JSON, PROMETHEUS, T0, severities=["P0", "P1"])
    assert alert.labels["severity"] == "P0"
    [defaulted] = parse_alertmanager(body, JSON, PROMETHEUS, T0)
    assert defaulted.labels["severity"] == "P2"


def test_a_sent_service_wins_over_the_default_but_integration_cannot_be_forged() -> None:
    labels = {"alertname": "x", "service": "billing", "integration": "someone-else"}
    [alert] = parse(alertmanager_body(alertmanager_alert(labels=labels)))
    assert alert.labels["service"] == "billing"
    assert alert.labels["integration"] == "prometheus"


def test_no_default_service_leaves_it_unset() -> None:
    bare = Integration(
        name="bare", kind=IntegrationKind.ALERTMANAGER, token="t" * 16, severity="P3"
    )
    [alert] = parse(alertmanager_body(), bare)
    assert "service" not in alert.labels
    assert alert.labels["severity"] == "P3"


def test_unknown_top_level_and_alert_keys_are_ignored() -> None:
    item = alertmanager_alert(silencedBy=[], inhibitedBy=None, futureField={"x": 1})
    [alert] = parse(alertmanager_body(item, somethingNew="added in 0.99", another=[1, 2]))
    assert alert.labels["alertname"] == "HighErrorRate"


def test_optional_fields_may_be_missing() -> None:
    minimal = {
        "version": "4",
        "status": "firing",
        "alerts": [
            {"status": "firing", "labels": {"alertname": "x"}, "startsAt": "2026-11-23T08:00:00Z"}
        ],
    }
    [alert] = parse(minimal)
    assert alert.annotations == {}


def test_an_empty_alert_list_is_no_alerts() -> None:
    assert parse(alertmanager_body(alerts=[])) == []


def test_many_alerts_keep_their_order() -> None:
    items = [alertmanager_alert(labels={"alertname": "x", "instance": f"i-{n}"}) for n in range(50)]
    alerts = parse(alertmanager_body(*items))
    assert [a.labels["instance"] for a in alerts] == [f"i-{n}" for n in range(50)]


def test_round_trip_of_opsbooks_own_webhook_payload() -> None:
    firing = make_alert("high-error-rate", summary="Error rate 6.2% (> 5% for 5 minutes)")
    resolved = make_alert(
        "slow-response-time", AlertState.RESOLVED, severity="P3", summary="p95 240 ms"
    )
    payload = build_payload(make_notification(firing, resolved), external_url="https://ops.example")
    alerts = parse_alertmanager(
        json.dumps(payload).encode(), JSON, PROMETHEUS, T0, severities=["P0", "P1", "P2", "P3"]
    )
    assert [a.state for a in alerts] == [AlertState.FIRING, AlertState.RESOLVED]
    for original, received in zip((firing, resolved), alerts, strict=True):
        assert {k: v for k, v in received.labels.items() if k != "integration"} == dict(
            original.labels
        )
        assert received.annotations == original.annotations
        assert received.fired_at == original.fired_at
    assert alerts[1].resolved_at == resolved.resolved_at


def test_the_whole_request_is_refused_for_one_bad_alert() -> None:
    good = alertmanager_alert()
    bad = alertmanager_alert(startsAt="yesterday")
    with pytest.raises(InboundError) as caught:
        parse(alertmanager_body(good, good, bad))
    assert caught.value.path == "$.alerts[2].startsAt"


def raw_body(text: str) -> bytes:
    return text.encode()


VALID = json.dumps(alertmanager_body())

# (body, status, fragment of the message)
HOSTILE: list[tuple[str, bytes, int, str]] = [
    ("empty", b"", 400, "empty body"),
    ("whitespace", b"  \n ", 400, "empty body"),
    ("truncated", VALID[:-5].encode(), 400, "invalid JSON"),
    ("top-level array", b"[" + VALID.encode() + b"]", 400, "got an array"),
    ("top-level string", b'"alerts"', 400, "got a string"),
    ("NaN", VALID.replace('"truncatedAlerts": 0', '"truncatedAlerts": NaN').encode(), 400, "NaN"),
    (
        "Infinity",
        VALID.replace('"truncatedAlerts": 0', '"truncatedAlerts": -Infinity').encode(),
        400,
        "Infinity",
    ),
    (
        "float overflow",
        VALID.replace('"truncatedAlerts": 0', '"truncatedAlerts": 1e999').encode(),
        400,
        "too large",
    ),
    (
        "huge integer",
        VALID.replace('"truncatedAlerts": 0', '"truncatedAlerts": ' + "9" * 5000).encode(),
        400,
        "digits",
    ),
    (
        "duplicate key",
        VALID.replace('"version": "4"', '"version": "4", "status": "resolved"').encode(),
        400,
        "duplicate key 'status'",
    ),
    (
        "not UTF-8",
        VALID.replace("memoapp-1", "memoapp-\udcff").encode("utf-8", "surrogateescape"),
        400,
        "not valid UTF-8",
    ),
    (
        "latin-1 body",
        VALID.replace("memoapp-1", "mémoapp-1").encode("latin-1"),
        400,
        "not valid UTF-8",
    ),
    ("UTF-16 body", VALID.encode("utf-16"), 400, "not valid UTF-8"),
    (
        "deep nesting in an ignored key",
        VALID.replace('"version": "4"', '"version": "4", "x": ' + "[" * 5000 + "]" * 5000).encode(),
        400,
        "nested deeper",
    ),
    ("lone surrogate", VALID.replace("memoapp-1", "\\ud800").encode(), 400, "unpaired surrogate"),
    (
        "NUL in a label value",
        VALID.replace("memoapp-1", "memo\\u0000app").encode(),
        422,
        "$.alerts[0].labels.instance: string contains a NUL",
    ),
    (
        "escape in a label value",
        VALID.replace("memoapp-1", "\\u001b[31mred").encode(),
        422,
        "$.alerts[0].labels.instance: contains a control character",
    ),
    (
        "newline in a label value",
        VALID.replace("memoapp-1", "a\\nb").encode(),
        422,
        "control character",
    ),
    (
        "C1 control in a label value",
        VALID.replace("memoapp-1", "a\\u0085b").encode(),
        422,
        "control character",
    ),
    (
        "bell in an annotation",
        VALID.replace("6.2% of", "\\u0007 of").encode(),
        422,
        "$.alerts[0].annotations.description: contains a control",
    ),
]


@pytest.mark.parametrize(
    ("body", "status", "message"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_hostile_bytes_get_a_precise_4xx(body: bytes, status: int, message: str) -> None:
    with pytest.raises(InboundError) as caught:
        parse_alertmanager(body, JSON, PROMETHEUS, T0)
    assert caught.value.status == status
    assert message in caught.value.message


def many_labels(count: int) -> dict[str, str]:
    return {f"l{n}": "v" for n in range(count)}


SCHEMA: list[tuple[str, Any, str]] = [
    ("version 3", alertmanager_body(version="3"), "$.version: Input should be '4'"),
    ("version as a number", alertmanager_body(version=4), "$.version"),
    (
        "no version",
        {k: v for k, v in alertmanager_body().items() if k != "version"},
        "$.version: required field is missing",
    ),
    ("status pending", alertmanager_body(status="pending"), "$.status"),
    (
        "alerts is an object",
        alertmanager_body(alerts={"0": alertmanager_alert()}),
        "$.alerts: expected an array, got an object",
    ),
    ("alert is a string", alertmanager_body(alerts=["firing"]), "$.alerts[0]"),
    (
        "alert status missing",
        alertmanager_body({k: v for k, v in alertmanager_alert().items() if k != "status"}),
        "$.alerts[0].status: required",
    ),
    ("labels is a list", alertmanager_body(alertmanager_alert(labels=["a"])), "$.alerts[0].labels"),
    (
        "label value is a number",
        alertmanager_body(alertmanager_alert(labels={"alertname": "x", "code": 500})),
        "$.alerts[0].labels.code: expected a string, got a number",
    ),
    (
        "label value is null",
        alertmanager_body(alertmanager_alert(labels={"alertname": None})),
        "$.alerts[0].labels.alertname",
    ),
    (
        "bad label name",
        alertmanager_body(alertmanager_alert(labels={"0day": "x"})),
        '$.alerts[0].labels["0day"]: label name must match',
    ),
    (
        "dotted label name",
        alertmanager_body(alertmanager_alert(labels={"k8s.pod": "x"})),
        "label name must match",
    ),
    (
        "empty label name",
        alertmanager_body(alertmanager_alert(labels={"": "x"})),
        "label name must match",
    ),
    (
        "long label name",
        alertmanager_body(alertmanager_alert(labels={"a" * 129: "x"})),
        "label name longer than 128",
    ),
    (
        "65 labels",
        alertmanager_body(alertmanager_alert(labels=many_labels(65))),
        "65 labels; at most 64",
    ),
    (
        "long label value",
        alertmanager_body(alertmanager_alert(labels={"a": "x" * 1025})),
        "$.alerts[0].labels.a: longer than 1024",
    ),
    (
        "long annotation",
        alertmanager_body(alertmanager_alert(annotations={"description": "x" * (16 * 1024 + 1)})),
        "longer than 16384",
    ),
    (
        "annotation is an object",
        alertmanager_body(alertmanager_alert(annotations={"runbook": {"url": "x"}})),
        "$.alerts[0].annotations.runbook",
    ),
    (
        "startsAt not a time",
        alertmanager_body(alertmanager_alert(startsAt="yesterday")),
        "$.alerts[0].startsAt: expected an RFC 3339",
    ),
    (
        "startsAt a number",
        alertmanager_body(alertmanager_alert(startsAt=1763888112)),
        "$.alerts[0].startsAt: expected a string, got a number",
    ),
    (
        "startsAt before 1970",
        alertmanager_body(alertmanager_alert(startsAt="1900-01-01T00:00:00Z")),
        "out of range",
    ),
    (
        "startsAt is Go's zero time",
        alertmanager_body(alertmanager_alert(startsAt="0001-01-01T00:00:00Z")),
        "$.alerts[0].startsAt: timestamp out of range",
    ),
    (
        "endsAt far future",
        alertmanager_body(alertmanager_alert(status="resolved", endsAt="3000-01-01T00:00:00Z")),
        "$.alerts[0].endsAt: timestamp out of range",
    ),
    (
        "endsAt before startsAt",
        alertmanager_body(alertmanager_alert(status="resolved", endsAt="2026-11-23T08:00:00Z")),
        "$.alerts[0].endsAt: endsAt is before startsAt",
    ),
    ("truncatedAlerts negative", alertmanager_body(truncatedAlerts=-1), "$.truncatedAlerts"),
    (
        "truncatedAlerts a boolean",
        alertmanager_body(truncatedAlerts=True),
        "$.truncatedAlerts: expected an integer, got a boolean",
    ),
    ("truncatedAlerts a string", alertmanager_body(truncatedAlerts="0"), "$.truncatedAlerts"),
    ("groupLabels wrong type", alertmanager_body(groupLabels={"a": 1}), "$.groupLabels.a"),
    (
        "too many alerts",
        alertmanager_body(
            alerts=[{"status": "firing", "labels": {}, "startsAt": "2026-11-23T08:00:00Z"}]
            * (MAX_ALERTS + 1)
        ),
        "$.alerts: List should have at most 1000 items",
    ),
]


@pytest.mark.parametrize(
    ("document", "message"), [s[1:] for s in SCHEMA], ids=[s[0] for s in SCHEMA]
)
def test_schema_violations_are_422_with_the_path(document: Any, message: str) -> None:
    with pytest.raises(InboundError) as caught:
        parse(document)
    assert caught.value.status == 422
    assert message in caught.value.message, caught.value.message


def test_too_large_is_413_before_parsing() -> None:
    body = encode(alertmanager_body(alertmanager_alert(annotations={"x": "y" * MAX_BODY})))
    with pytest.raises(InboundError) as caught:
        parse_alertmanager(body, JSON, PROMETHEUS, T0)
    assert caught.value.status == 413


@pytest.mark.parametrize("content_type", ["text/plain", "", "application/json; charset=iso-8859-1"])
def test_wrong_content_type_is_415(content_type: str) -> None:
    with pytest.raises(InboundError) as caught:
        parse_alertmanager(encode(alertmanager_body()), content_type, PROMETHEUS, T0)
    assert caught.value.status == 415


def test_a_thousand_alerts_fit() -> None:
    items = [
        {
            "status": "firing",
            "labels": {"alertname": "x", "i": str(n)},
            "startsAt": "2026-11-23T08:00:00Z",
        }
        for n in range(MAX_ALERTS)
    ]
    assert len(parse(alertmanager_body(*items))) == MAX_ALERTS


def test_messages_do_not_echo_secret_or_huge_input() -> None:
    with pytest.raises(InboundError) as caught:
        parse(alertmanager_body(alertmanager_alert(labels={"alertname": "x" * 5000})))
    assert len(caught.value.message) < 200


def test_now_is_only_used_for_bookkeeping() -> None:
    later = T0 + timedelta(days=1)
    [alert] = parse_alertmanager(encode(alertmanager_body()), JSON, PROMETHEUS, later)
    assert alert.updated_at == later and alert.fired_at is not None and alert.fired_at < T0
