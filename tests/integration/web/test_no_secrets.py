"""A viewer sees no secret anywhere: every GET route of the API (taken from the OpenAPI
schema, so a new route cannot be forgotten), every dashboard page, the status page and
/metrics are fetched with a viewer token, and no secret value of the config appears in
any of them. The secrets are read with ${FILE:…}, as a deployment would."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from opsbook.config.loader import load_config
from opsbook.incidents.service import IncidentDesk
from opsbook.store.api_tokens import Role
from tests.integration.web.harness import reserve_port, send, serving

SECRETS = {
    "db_password": "db-pw-7c1e0f9a42",
    "hook_token": "hook-token-5d8e2b7f19",
    "integration_token": "integration-token-93af61c0de77",
    "pager_url": "json://127.0.0.1:9/pager-4f2a8c6e1b",
    "check_header": "Bearer check-header-0b9d3e7a55",
}

CONFIG = """
project: {{name: shop}}
services: [{{name: api, public: true}}]
checks:
  - name: api-health
    service: api
    interval: 1h
    http:
      url: "http://127.0.0.1:{port}/healthz"
      headers: {{Authorization: "${{FILE:check_header}}"}}
  - name: db
    service: api
    interval: 1h
    postgres: {{dsn: "postgresql://postgres:${{FILE:db_password}}@127.0.0.1:5432/postgres"}}
receivers:
  - name: chat
    webhook: {{url: "http://127.0.0.1:9/hook", headers: {{X-Token: "${{FILE:hook_token}}"}}}}
people:
  - {{name: alice, contacts: [{{apprise: {{urls: ["${{FILE:pager_url}}"]}}}}]}}
escalation_policies:
  - {{name: default, levels: [{{targets: ["person:alice"]}}]}}
incidents: {{escalation_policy: default}}
integrations:
  - {{name: prometheus, kind: alertmanager, token: "${{FILE:integration_token}}", severity: P2}}
connections:
  - {{name: database, postgres: {{dsn: "postgresql://postgres:${{FILE:db_password}}@127.0.0.1:5432/postgres"}}}}
playbooks:
  - name: restart
    params: [{{name: reason, default: "none"}}]
    steps:
      - {{name: look, sql: {{connection: database, query: "SELECT 1"}}}}
"""

PAGES = ["/", "/alerts", "/incidents", "/incidents/1", "/incidents/1/postmortem",
         "/checks/api-health", "/checks/db", "/oncall", "/runs", "/status", "/status.json",
         "/status/feed.atom", "/metrics", "/readyz"]  # fmt: skip

SAMPLE = {"name": "api-health", "incident_id": "1", "id": "1", "run_id": "1",
          "schedule": "none", "fingerprint": "0" * 16, "service": "api"}  # fmt: skip


async def test_a_viewer_sees_no_secret_anywhere(tmp_path: Path) -> None:
    for name, value in SECRETS.items():
        (tmp_path / name).write_text(value)
    port, _ = reserve_port()
    path = tmp_path / "opsbook.yaml"
    path.write_text(CONFIG.format(port=port))
    config = load_config(path, environ={})
    # The secrets really are in the config, where a careless view would show them.
    assert config.integrations[0].token.get_secret_value() == SECRETS["integration_token"]
    assert SECRETS["db_password"] in config.connections[0].postgres.dsn  # type: ignore[union-attr]
    async with serving(path, port) as served:
        IncidentDesk(config, served.store).declare(
            title="API Service Down", severity="P1", services=["api"], actor="alice"
        )
        _, token = served.store.api_tokens.create("wall", Role.VIEWER, "ci", datetime.now(UTC))
        auth = {"Authorization": f"Bearer {token}"}
        schema = (await send("GET", served.url("/openapi.json"), headers=auth)).json()
        paths = [
            re.sub(r"\{(\w+)\}", lambda m: SAMPLE.get(m.group(1), "x"), route)
            for route, operations in schema["paths"].items()
            if "get" in operations
        ]
        fetched = 0
        for target in [*paths, *PAGES]:
            reply = await send("GET", served.url(target), headers=auth)
            assert reply.status < 500, (target, reply.text[:300])
            for name, value in SECRETS.items():
                assert value not in reply.text, f"{name} shown by GET {target}"
            fetched += 1
        assert fetched >= 30
        detail = await send("GET", served.url("/api/v1/checks/db"), headers=auth)
        assert detail.status == 200 and '"dsn":"**********"' in detail.text  # masked
