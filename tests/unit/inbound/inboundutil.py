"""Integrations, bodies and a clock for inbound tests.

The alerts quote the runbooks: memoapp's "High Error Rate: > 5% error rate for 5
minutes" and practice-app's "Backup Failed: Condition: Backup job failed".
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from opsbook.inbound import Integration, IntegrationKind

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
JSON = "application/json"
TOKEN = "s3cr3t-t0ken-0123456789abcdef"

PROMETHEUS = Integration(
    name="prometheus",
    kind=IntegrationKind.ALERTMANAGER,
    token=TOKEN,
    service="memoapp",
    severity="P2",
    severity_map={"critical": "P1", "warning": "P3", "info": "P4", "error": "P2"},
)
SCRIPTS = Integration(
    name="backup-scripts",
    kind=IntegrationKind.EVENTS,
    token="another-token-abcdef0123456789",
    service="database",
    severity="P2",
    severity_map={"critical": "P1", "error": "P2", "warning": "P3", "info": "P4"},
)


def encode(document: Any) -> bytes:
    return json.dumps(document).encode()


def alertmanager_alert(**overrides: Any) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "status": "firing",
        "labels": {
            "alertname": "HighErrorRate",
            "instance": "memoapp-1:8000",
            "job": "memoapp",
            "severity": "critical",
        },
        "annotations": {
            "summary": "High Error Rate: > 5% error rate for 5 minutes",
            "description": "6.2% of requests to memoapp return 5xx",
        },
        "startsAt": "2026-11-23T08:55:12.345678901Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=rate%28http_5xx%5B5m%5D%29",
        "fingerprint": "c4b1e5f2a3d49a01",
    }
    alert.update(overrides)
    return alert


def alertmanager_body(*alerts: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """What Alertmanager 0.27 POSTs to a webhook receiver."""
    items = list(alerts) or [alertmanager_alert()]
    body: dict[str, Any] = {
        "receiver": "opsbook",
        "status": "firing",
        "alerts": items,
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"alertname": "HighErrorRate", "job": "memoapp"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
    }
    body.update(overrides)
    return body


def trigger_body(**payload_overrides: Any) -> dict[str, Any]:
    """A PagerDuty Events API v2 trigger, as the practice-app backup script would send
    it after "ERROR - Backup failed!"."""
    payload: dict[str, Any] = {
        "summary": "Backup Failed: pg_dump of subjunctive_practice exited 1",
        "source": "db-backup-01",
        "severity": "error",
        "timestamp": "2026-11-23T02:04:11.000+0000",
        "component": "postgres",
        "group": "backups",
        "class": "backup",
        "custom_details": {"backup_dir": "/backups/subjunctive", "retention_days": 30},
    }
    payload.update(payload_overrides)
    return {
        "routing_key": SCRIPTS.token.get_secret_value(),
        "event_action": "trigger",
        "dedup_key": "backup-2026-11-23",
        "payload": payload,
        "links": [{"href": "https://grafana.example.com/d/backups", "text": "Backups dashboard"}],
        "images": [{"src": "https://grafana.example.com/render/backups.png", "alt": "size"}],
        "client": "backup-database.sh",
        "client_url": "https://runbooks.example.com/practice-app#backup--restore",
    }
