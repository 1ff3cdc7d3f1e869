"""A real Prometheus and a real Alertmanager feed a real `opsbook serve`.

Timeline: the API's health gauge drops to 0 at t=0 → Prometheus' rule `ApiDown`
(`for: 0s`, evaluated every second) fires → Alertmanager (`group_wait: 0s`) posts its
webhook to opsbook's `/api/v1/inbound/alertmanager/prometheus` with the integration's
token → opsbook maps `critical` to P1, opens an incident for service `api` and pages
alice, all by t≤15 s → the gauge returns to 1 → Prometheus sends the resolved alert →
Alertmanager (`send_resolved: true`) posts the resolution → the incident is
`monitoring`. With a wrong token in Alertmanager's config, opsbook refuses the webhook
with 403 (Alertmanager logs each refused try) and stores nothing.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry, Gauge

from opsbook.incidents.model import EventKind, IncidentStatus
from opsbook.store import Store
from tests.integration.alertmanager_server import (
    alert,
    config,
    running_alertmanager,
    webhook_receiver,
)
from tests.integration.engine.harness import ServeProcess, eventually
from tests.integration.prometheus_server import metrics_endpoint, running_prometheus
from tests.integration.receivers import WebhookRecorder

TOKEN = "am-inbound-4f9c2b7e1d0a8c63b5e2"
WRONG_TOKEN = "am-inbound-0000000000000000wrong"
INTEGRATION = "prometheus"


def opsbook_config(hook: str, public_url: str) -> str:
    return f"""
project: {{name: shop}}
services: [{{name: api, escalation_policy: api-backend}}]
integrations:
  - name: {INTEGRATION}
    kind: alertmanager
    token: "{TOKEN}"
    service: api
    severity: P2
    severity_map: {{critical: P1, error: P2, warning: P3, info: P4}}
people:
  - {{name: alice, contacts: [{{webhook: {{url: "{hook}/alice"}}}}]}}
escalation_policies:
  - name: api-backend
    levels:
      - {{targets: ["person:alice"]}}
incidents:
  public_url: "{public_url}"
"""


def prometheus_rules(directory: Path) -> Path:
    path = directory / "rules.yml"
    path.write_text(
        """
groups:
  - name: shop
    interval: 1s
    rules:
      - alert: ApiDown
        expr: shop_api_up == 0
        for: 0s
        labels: {severity: critical, service: api}
        annotations: {summary: "API Service Down"}
"""
    )
    return path


def create_api_token(config_path: Path) -> str:
    """A viewer token from the CLI (its last line of output is the secret)."""
    args = ["token", "create", "tests", "--role", "viewer", "-c", str(config_path)]
    done = subprocess.run(
        [sys.executable, "-m", "opsbook", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


async def get_json(url: str, token: str) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_prometheus_alert_opens_pages_and_resolves_incident(tmp_path: Path) -> None:
    path = tmp_path / "opsbook.yaml"
    registry = CollectorRegistry()
    api_up = Gauge("shop_api_up", "1 when the shop API answers its health check", registry=registry)
    api_up.set(1)
    async with WebhookRecorder() as hook:
        serve = ServeProcess(path)
        public = f"http://127.0.0.1:{serve.port}"
        path.write_text(opsbook_config(hook.base_url, public))
        await serve.start()
        store = Store.open(f"sqlite:///{tmp_path / 'opsbook.db'}")
        api_token = create_api_token(path)
        receiver = webhook_receiver(
            "opsbook", f"{public}/api/v1/inbound/alertmanager/{INTEGRATION}", TOKEN
        )
        try:
            with (
                metrics_endpoint(registry) as metrics_url,
                running_alertmanager(tmp_path / "alertmanager", config([receiver])) as am,
                running_prometheus(
                    tmp_path,
                    {"shop": metrics_url},
                    {
                        "rule_files": [str(prometheus_rules(tmp_path))],
                        "alerting": {
                            "alertmanagers": [{"static_configs": [{"targets": [am.address]}]}]
                        },
                    },
                ) as prometheus,
            ):
                await asyncio.to_thread(prometheus.wait_for_data, "shop_api_up == 1")
                assert store.incidents.count() == 0

                # t=0: the API goes down.
                fault = time.monotonic()
                api_up.set(0)
                await hook.wait_for(1, "/alice", timeout=15)
                page = hook.on("/alice")[0]
                assert page.at - fault <= 15
                assert page.json["opsbook"]["kind"] == "page"
                assert "API Service Down" in page.json["opsbook"]["title"]

                opened = store.incidents.list(status="open")
                assert len(opened) == 1, opened
                incident = opened[0]
                assert incident.severity == "P1"  # critical, through severity_map
                assert incident.services == ("api",)
                assert incident.status is IncidentStatus.INVESTIGATING
                assert len(incident.alerts) == 1
                number = incident.id
                listed = await get_json(f"{public}/api/v1/incidents?status=open", api_token)
                assert [i["id"] for i in listed["items"]] == [number], listed
                assert listed["items"][0]["severity"] == "P1"

                firing = [a for a, _ in store.alerts.browse(["firing"])]
                assert len(firing) == 1
                labels = firing[0].labels
                assert labels["alertname"] == "ApiDown" and labels["severity"] == "P1"
                assert labels["integration"] == INTEGRATION and labels["service"] == "api"
                assert firing[0].rule == f"inbound:{INTEGRATION}"
                timeline = store.incidents.timeline(number)
                kinds = [e.kind for e in timeline]
                assert EventKind.OPENED in kinds and EventKind.ESCALATED in kinds, kinds
                fired = next(e for e in timeline if e.kind is EventKind.ALERT_FIRING)
                assert "ApiDown" in fired.text and "API Service Down" in fired.text
                assert fired.data["fingerprint"] == firing[0].fingerprint

                # The API recovers: Prometheus resolves the alert, Alertmanager says so.
                api_up.set(1)
                await eventually(
                    lambda: (
                        store.incidents.get(number).status  # type: ignore[union-attr]
                        is IncidentStatus.MONITORING
                    ),
                    timeout=20,
                )
                shown = await get_json(f"{public}/api/v1/incidents/{number}", api_token)
                assert shown["status"] == "monitoring", shown
                kinds = [e.kind for e in store.incidents.timeline(number)]
                assert EventKind.ALERT_RESOLVED in kinds, kinds
                assert kinds.index(EventKind.OPENED) < kinds.index(EventKind.ALERT_RESOLVED)
                assert store.alerts.browse(["firing"]) == []
                assert "Notify for alerts failed" not in am.log()
            assert store.incidents.count() == 1, "one incident for one outage"
            assert len(hook.on("/alice")) == 1, "paged once"
        finally:
            await serve.stop()
            store.close()


async def test_wrong_token_in_alertmanager_stores_nothing(tmp_path: Path) -> None:
    path = tmp_path / "opsbook.yaml"
    async with WebhookRecorder() as hook:
        serve = ServeProcess(path)
        public = f"http://127.0.0.1:{serve.port}"
        path.write_text(opsbook_config(hook.base_url, public))
        await serve.start()
        store = Store.open(f"sqlite:///{tmp_path / 'opsbook.db'}")
        receiver = webhook_receiver(
            "opsbook", f"{public}/api/v1/inbound/alertmanager/{INTEGRATION}", WRONG_TOKEN
        )
        try:
            with running_alertmanager(tmp_path / "alertmanager", config([receiver])) as am:
                labels = {"alertname": "ApiDown", "severity": "critical", "service": "api"}
                am.post_alerts([alert(labels, {"summary": "API Service Down"}, datetime.now(UTC))])
                await asyncio.to_thread(am.wait_for_log, "Notify for alerts failed")
                # Alertmanager does not retry a 4xx within one flush, but flushes the
                # unsent group again every group_interval (1 s): each try is refused.
                await asyncio.sleep(2.5)
                failures = [line for line in am.log().splitlines() if "Notify for" in line]
                assert len(failures) >= 2, failures
                for line in failures:
                    assert "unexpected status code 403" in line, line
                    assert "invalid token for integration 'prometheus'" in line, line
            assert store.incidents.count() == 0
            assert store.alerts.browse() == []
            assert hook.requests == []
        finally:
            await serve.stop()
            store.close()
