"""Automatic remediation in a real engine: "Health check failures > 3 → restart the
service", at most once an hour per alert, never a dangerous step unattended."""

from __future__ import annotations

import asyncio
from pathlib import Path

from opsbook.demo.target import running_target
from opsbook.playbooks.records import RunStatus
from tests.integration.engine.harness import engine_running, eventually, set_mode, write_config
from tests.integration.receivers import WebhookRecorder


def config_text(target: str, hook: str) -> str:
    return f"""
project: {{name: review-engine}}
services: [{{name: api}}]
checks:
  - {{name: api-health, service: api, interval: 1s, http: {{url: "{target}/health", timeout: 900ms}}}}
rules:
  - name: api-health-failures
    expr: "failures(api-health) > 2"
    remediation:
      playbook: restart-api
      params: {{service: "{{{{ labels.service }}}}"}}
      severities: [P1]
      max_per_hour: 1
receivers:
  - {{name: oncall, webhook: {{url: "{hook}"}}}}
route: {{receiver: oncall, group_wait: 0s, group_interval: 1s}}
incidents: {{auto_open: false}}
playbooks:
  - name: restart-api
    params: [{{name: service, required: true}}]
    steps:
      - {{name: tell, notify: {{receiver: oncall, title: "restarting {{{{ params.service }}}}"}}}}
      - {{name: restart, dangerous: true, notify: {{receiver: oncall, title: "restarted"}}}}
"""


async def test_remediation_runs_once_an_hour_and_waits_at_dangerous_steps(
    tmp_path: Path,
) -> None:
    async with running_target() as target, WebhookRecorder() as hook:
        path = write_config(tmp_path, config_text(target, hook.url()))
        async with engine_running(path) as engine:
            runs = engine.store.runs
            await set_mode(target, "down")
            await eventually(lambda: len(runs.list()) == 1, timeout=20)
            await eventually(lambda: runs.list()[0].status is RunStatus.WAITING, timeout=10)
            first = runs.list()[0]
            assert first.started_by == "opsbook (alert api-health-failures)"
            assert first.params == {"service": "api"}
            steps = runs.steps(first.id)
            assert [s.status for s in steps] == ["ok", "waiting"]  # not restarted unattended
            await set_mode(target, "healthy")
            await eventually(lambda: not any(a.is_firing for a in engine.book.alerts.values()))
            await set_mode(target, "down")  # fires again within the hour
            await eventually(
                lambda: sum(a.is_firing for a in engine.book.alerts.values()) == 1, timeout=20
            )
            await eventually(lambda: len(hook.requests) >= 5, timeout=10)
            await asyncio.sleep(1.5)  # the refused remediation would have started by now
            assert len(runs.list()) == 1, "max_per_hour: 1"
        titles = [r.json.get("opsbook", {}).get("title", "") for r in hook.requests]
        assert "Automatic remediation: playbook restart-api for api-health-failures" in titles
        assert any(t.startswith("Remediation restart-api for api-health-failures: run #1 waiting")
                   for t in titles)  # fmt: skip
        assert "restarting api" in titles and "restarted" not in titles
