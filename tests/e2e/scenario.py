"""The shop the dashboard tests watch: an API checked every second, a P1 rule that opens
incidents, two people on a rotation (with an override), an escalation policy, and a
playbook whose shell step prints its parameter line by line."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ADMIN = "ana"
PASSWORD = "correct horse battery staple"
VIEWER = "vic"


def config_text(target: str, public_url: str) -> str:
    today = datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)
    return f"""
project: {{name: shop, timezone: UTC}}
services:
  - name: api
    description: The shop's HTTP API
    slo: 99.9
    public: true
    escalation_policy: api-backend
    depends_on: [database]
  - name: database
    description: The API's database
    public: true
checks:
  - {{name: api-health, service: api, interval: 1s, http: {{url: "{target}/health", timeout: 900ms}}}}
rules:
  - name: api-down
    expr: "last(api-health.up)"
    critical: {{when: "< 1", severity: P1}}
    annotations: {{summary: "API Service Down"}}
people:
  - {{name: alice, full_name: Alice Doe, contacts: [{{webhook: {{url: "http://127.0.0.1:9/alice"}}}}]}}
  - {{name: bob, full_name: Bob Roe, contacts: [{{webhook: {{url: "http://127.0.0.1:9/bob"}}}}]}}
schedules:
  - name: backend
    timezone: Europe/Berlin
    layers:
      - {{name: primary, rotation: daily, handoff: "09:00", start: 2026-01-05, participants: [alice, bob]}}
      - {{name: secondary, rotation: daily, handoff: "09:00", start: 2026-01-05, participants: [bob, alice]}}
    overrides:
      - {{layer: primary, person: bob, start: "{today}T12:00", end: "{tomorrow}T12:00", reason: swap with alice}}
escalation_policies:
  - name: api-backend
    levels:
      - {{targets: ["schedule:backend"], escalate_after: 10m}}
      - {{targets: ["schedule:backend/secondary"]}}
incidents:
  public_url: "{public_url}"
playbooks:
  - name: restart-api
    description: Restart the API and say why.
    params:
      - {{name: reason, type: string, required: true, description: Why the API is restarted}}
      - {{name: mode, type: choice, choices: [soft, hard], default: soft}}
    steps:
      - name: announce
        title: Say why, then restart
        shell:
          shell: true
          script: |
            echo "restarting: $OPSBOOK_PARAM_REASON ($OPSBOOK_PARAM_MODE)"
            for i in 1 2 3 4; do sleep 0.7; echo "waiting for the API ($i/4)"; done
            echo "API restarted"
      - name: look
        title: Look at the dashboard
        manual: {{instruction: "Check that the API answers again."}}
"""


def add_user(config: Path, name: str, role: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "opsbook", "user", "add", name, "--role", role,
         "--password-stdin", "-c", str(config)],
        input=PASSWORD + "\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
