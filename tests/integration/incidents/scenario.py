"""A shop whose API is paged through the api-backend runbook's escalation path, with short
delays: "Primary On-Call (immediate) → no response → Secondary → Engineering Manager"."""

from __future__ import annotations

import re

import aiohttp

from tests.integration.receivers import Request

LINK = re.compile(r"(http://127\.0\.0\.1:\d+/links/[A-Za-z0-9_.-]+)")


def config_text(target: str, hook: str, public_url: str, escalate_after: str = "4s") -> str:
    return f"""
project: {{name: shop}}
services: [{{name: api, escalation_policy: api-backend}}]
checks:
  - {{name: api-health, service: api, interval: 1s, http: {{url: "{target}/health", timeout: 900ms}}}}
rules:
  - name: api-down
    expr: "last(api-health.up)"
    critical: "< 1"
    annotations: {{summary: "API Service Down"}}
people:
  - {{name: alice, contacts: [{{webhook: {{url: "{hook}/alice"}}}}]}}
  - {{name: bob, contacts: [{{webhook: {{url: "{hook}/bob"}}}}]}}
  - {{name: manager, contacts: [{{webhook: {{url: "{hook}/manager"}}}}]}}
schedules:
  - name: backend
    timezone: Europe/Berlin
    layers:
      - {{name: primary, rotation: weekly, start: 2026-01-05, participants: [alice]}}
      - {{name: secondary, rotation: weekly, start: 2026-01-05, participants: [bob]}}
escalation_policies:
  - name: api-backend
    levels:
      - {{targets: ["schedule:backend"], escalate_after: {escalate_after}}}
      - {{targets: ["schedule:backend/secondary"], escalate_after: {escalate_after}}}
      - {{targets: ["person:manager"]}}
incidents:
  public_url: "{public_url}"
"""


def page_link(request: Request, purpose: str) -> str:
    """The signed link of a page (the webhook payload's opsbook.body)."""
    body = request.json["opsbook"]["body"]
    label = {"ack": "Acknowledge", "resolve": "Resolve"}[purpose]
    line = next(line for line in body.splitlines() if line.startswith(label + ":"))
    match = LINK.search(line)
    assert match, body
    return match.group(1)


async def click(url: str, method: str = "POST") -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.request(method, url) as response:
        return response.status, await response.text()
