"""The Alertmanager-compatible webhook payload (version 4), built as a pure function."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsbook.alerts.model import AlertState
from opsbook.notify.channels.webhook import (
    GO_ZERO_TIME,
    WebhookConfig,
    build_payload,
    classify_status,
    common_pairs,
)
from tests.notifyutil import T0, make_alert, make_notification

FIRING = make_alert(
    "high-error-rate",
    summary="Error rate 6.2% (> 5% for 5 minutes)",
    description="Users get HTTP 500 on save",
)
RESOLVED = make_alert(
    "slow-response-time",
    AlertState.RESOLVED,
    severity="P2",
    summary="p95 240 ms (> 200ms for 10 minutes)",
    description="Users get HTTP 500 on save",
)


def test_payload_matches_alertmanager_v4_exactly() -> None:
    payload = build_payload(
        make_notification(FIRING, RESOLVED), external_url="https://opsbook.example.com"
    )
    assert payload == {
        "version": "4",
        "groupKey": "route:{service=memoapp}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "team",
        "groupLabels": {"service": "memoapp"},
        "commonLabels": {"service": "memoapp"},
        "commonAnnotations": {"description": "Users get HTTP 500 on save"},
        "externalURL": "https://opsbook.example.com",
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": "high-error-rate",
                    "severity": "P1",
                    "service": "memoapp",
                },
                "annotations": {
                    "summary": "Error rate 6.2% (> 5% for 5 minutes)",
                    "description": "Users get HTTP 500 on save",
                },
                "startsAt": "2026-11-23T09:00:00Z",
                "endsAt": GO_ZERO_TIME,
                "generatorURL": "",
                "fingerprint": FIRING.fingerprint,
            },
            {
                "status": "resolved",
                "labels": {
                    "alertname": "slow-response-time",
                    "severity": "P2",
                    "service": "memoapp",
                },
                "annotations": {
                    "summary": "p95 240 ms (> 200ms for 10 minutes)",
                    "description": "Users get HTTP 500 on save",
                },
                "startsAt": "2026-11-23T09:00:00Z",
                "endsAt": "2026-11-23T09:12:00Z",
                "generatorURL": "",
                "fingerprint": RESOLVED.fingerprint,
            },
        ],
    }


def test_max_alerts_truncates_and_counts_like_alertmanager() -> None:
    alerts = [make_alert(f"rule-{i}") for i in range(5)]
    payload = build_payload(make_notification(*alerts), max_alerts=2)
    assert payload["truncatedAlerts"] == 3
    assert [a["labels"]["alertname"] for a in payload["alerts"]] == ["rule-0", "rule-1"]
    assert build_payload(make_notification(*alerts), max_alerts=0)["truncatedAlerts"] == 0


def test_alertname_is_added_when_an_inbound_alert_lacks_it() -> None:
    alert = make_alert("heartbeat-missed").evolve(labels={"service": "backup"})
    payload = build_payload(make_notification(alert))
    assert payload["alerts"][0]["labels"] == {"alertname": "heartbeat-missed", "service": "backup"}


def test_timestamps_are_utc_rfc3339() -> None:
    from zoneinfo import ZoneInfo

    berlin = T0.astimezone(ZoneInfo("Europe/Berlin"))
    alert = make_alert(fired_at=berlin + timedelta(seconds=1.5))
    assert build_payload(make_notification(alert))["alerts"][0]["startsAt"] == (
        "2026-11-23T09:00:01.500000Z"
    )


@given(st.lists(st.dictionaries(st.sampled_from("abc"), st.sampled_from("xy")), max_size=4))
def test_common_pairs_are_shared_by_every_mapping(maps: list[dict[str, str]]) -> None:
    common = common_pairs(maps)
    for m in maps:
        assert common.items() <= m.items()
    if maps:
        for key, value in maps[0].items():
            if all(m.get(key) == value for m in maps):
                assert common[key] == value


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(408, True), (429, True), (500, True), (503, True), (400, False), (401, False), (404, False)],
)
def test_status_classification(status: int, retryable: bool) -> None:
    error = classify_status(status, "Reason", "  details\n here ")
    assert error is not None
    assert error.retryable is retryable
    assert error.message == f"HTTP {status} Reason: details here"


def test_2xx_is_success_and_redirects_are_permanent() -> None:
    assert classify_status(200, "OK", "") is None
    assert classify_status(204, "No Content", "") is None
    redirect = classify_status(302, "Found", "")
    assert redirect is not None and not redirect.retryable
    assert "redirects are not followed" in redirect.message


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"url": "ftp://host/x"}, "expected an http:// or https:// URL"),
        ({"url": "http://h/x", "headers": {"Bad Name": "x"}}, "invalid header name"),
        ({"url": "http://h/x", "headers": {"X-A": "a\r\nInjected: 1"}}, "line break"),
        ({"url": "http://h/x", "headers": {"Idempotency-Key": "x"}}, "set by opsbook"),
        ({"url": "http://h/x", "max_alerts": -1}, "greater than or equal to 0"),
        ({"url": "http://h/x", "timeout": 10}, "add a unit"),
    ],
)
def test_config_validation(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WebhookConfig.model_validate(spec)


def test_secrets_in_headers_and_url_are_collected() -> None:
    config = WebhookConfig.model_validate(
        {
            "url": "https://bot:pa55word@hooks.example.com/x?token=abcdef123&team=ops",
            "headers": {"Authorization": "Bearer tok-98765", "X-Team": "ops"},
        }
    )
    assert set(config.secrets()) == {"Bearer tok-98765", "tok-98765", "pa55word", "abcdef123"}
