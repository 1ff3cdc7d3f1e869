"""The demo's notification sink renders Alertmanager payloads as one line per alert."""

from __future__ import annotations

from opsbook.demo.sink import describe


def test_describe_firing_and_resolved() -> None:
    payload = {
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "api-down", "severity": "P1", "service": "api"},
                "annotations": {"summary": "API health check failing for 2 minutes"},
            },
            {"status": "resolved", "labels": {"alertname": "api-latency"}, "annotations": {}},
        ],
    }
    assert describe(payload) == [
        "FIRING   api-down (P1, api): API health check failing for 2 minutes",
        "RESOLVED api-latency (): api-latency",
    ]


def test_describe_tolerates_missing_fields() -> None:
    assert describe({}) == []
    assert describe({"alerts": [{}]}) == ["FIRING   ? (): "]
