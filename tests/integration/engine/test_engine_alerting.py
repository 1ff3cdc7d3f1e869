"""The engine end to end: a real target fails, a real webhook and a real SMTP server get
exactly one notification each; recovery sends exactly one resolution."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

from opsbook.alerts.model import AlertState
from opsbook.demo.target import running_target
from opsbook.status import Status
from tests.integration.engine.harness import engine_running, eventually, set_mode, write_config
from tests.integration.receivers import SmtpSink, WebhookRecorder


def config_text(target: str, hook: str, smtp: str, extra: str = "", more_checks: str = "") -> str:
    return f"""
project: {{name: shop}}
services:
  - {{name: api}}
checks:
  - name: api-health
    service: api
    interval: 1s
    http: {{url: "{target}/health", timeout: 900ms}}
{more_checks}
rules:
  - name: api-down
    expr: "last(api-health.up)"
    critical: "< 1"
    annotations:
      summary: "API health check failing"
receivers:
  - name: oncall-webhook
    webhook: {{url: "{hook}"}}
  - name: team-email
    email:
      to: [oncall@shop.example]
      from: opsbook@shop.example
      smarthost: {smtp}
      starttls: never
route:
  receiver: oncall-webhook
  group_wait: 0s
  group_interval: 1s
  routes:
    - receiver: oncall-webhook
      continue: true
    - receiver: team-email
{extra}
"""


def database_checks(pg: str, redis_port: int) -> str:
    """The runbooks' PostgreSQL and Redis checks, against the real local servers: they
    stay OK while the API fails, so they must not add alerts or notifications."""
    return f"""
  - name: postgres
    interval: 1s
    postgres: {{dsn: "{pg}", timeout: 900ms}}
    thresholds:
      connections_used_pct: {{warning: "> 80", critical: "> 95"}}
  - name: redis
    interval: 1s
    redis: {{url: "redis://127.0.0.1:{redis_port}/0", timeout: 900ms}}
"""


async def test_outage_fires_once_and_recovery_resolves_once(
    tmp_path: Path, store_url: str, pg_database: str, redis_port: int
) -> None:
    """On both stores, with PostgreSQL and Redis checks running beside the HTTP one."""
    with SmtpSink() as smtp:
        async with running_target() as target, WebhookRecorder() as hook:
            text = config_text(
                target,
                hook.url(),
                smtp.smarthost,
                more_checks=database_checks(pg_database, redis_port),
            )
            path = write_config(tmp_path, text)
            async with engine_running(path, store_url) as engine:
                await asyncio.sleep(1.5)
                assert hook.requests == [] and smtp.messages == []
                await set_mode(target, "down")
                await hook.wait_for(1, timeout=10)
                await eventually(lambda: len(smtp.messages) == 1)
                await asyncio.sleep(2.5)  # still down: nothing more is sent
                assert len(hook.requests) == 1 and len(smtp.messages) == 1
                fired = hook.requests[0].json
                assert fired["status"] == "firing" and fired["version"] == "4"
                assert fired["alerts"][0]["labels"]["alertname"] == "api-down"
                assert (
                    str(smtp.messages[0]["Subject"])
                    == "INCIDENT ALERT - P1 - api: API health check failing"
                )
                await set_mode(target, "healthy")
                await hook.wait_for(2, timeout=10)
                await eventually(lambda: len(smtp.messages) == 2)
                await asyncio.sleep(2.5)
                assert len(hook.requests) == 2 and len(smtp.messages) == 2
                assert hook.requests[1].json["status"] == "resolved"
                assert hook.duplicates == 0
                alerts = engine.store.alerts.browse()
                assert [a.state for a, _ in alerts] == [AlertState.RESOLVED]
                events = [e["event"] for e in reversed(engine.store.alerts.events())]
                assert events == ["firing", "resolved"]
                latest = engine.store.results.latest()
                assert latest["postgres"].status is Status.OK, latest["postgres"].message
                assert latest["redis"].status is Status.OK, latest["redis"].message


async def test_failing_and_hanging_receivers_do_not_delay_a_healthy_one(tmp_path: Path) -> None:
    async with running_target() as target, WebhookRecorder() as hook:
        hook.status_for["/broken"] = 500
        hook.hang_paths.add("/hang")
        text = f"""
project: {{name: shop}}
checks:
  - {{name: api-health, interval: 1s, http: {{url: "{target}/health", timeout: 900ms}}}}
rules:
  - {{name: api-down, expr: "last(api-health.up)", critical: "< 1"}}
receivers:
  - {{name: broken, webhook: {{url: "{hook.url("/broken")}"}}, retry: {{backoff: 400ms}}}}
  - {{name: hanging, webhook: {{url: "{hook.url("/hang")}", timeout: 5s}}}}
  - {{name: healthy, webhook: {{url: "{hook.url("/ok")}"}}}}
route:
  receiver: healthy
  group_wait: 0s
  routes:
    - {{receiver: broken, continue: true}}
    - {{receiver: hanging, continue: true}}
    - {{receiver: healthy}}
"""
        path = write_config(tmp_path, text)
        async with engine_running(path):
            await asyncio.sleep(1.2)
            await set_mode(target, "down")
            started = time.monotonic()
            await hook.wait_for(1, "/ok", timeout=10)
            first_ok = hook.on("/ok")[0].at
            await hook.wait_for(4, "/broken", timeout=10)  # retried with backoff
            broken = hook.on("/broken")
            gaps = [b.at - a.at for a, b in itertools.pairwise(broken)]
            # exponential backoff with jitter (each wait is 50-100 % of 0.4 s, 0.8 s, 1.6 s)
            assert gaps[2] >= gaps[0] * 1.9, gaps
            assert hook.on("/hang"), "the hanging receiver was tried"
            first_broken = broken[0].at
            # the healthy receiver is not held up by the others
            assert abs(first_ok - first_broken) < 1.0
            assert first_ok - started < 5
