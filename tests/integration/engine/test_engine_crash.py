"""Crash safety: `kill -9` the engine at the worst moments and restart it.

The store is the source of truth, so a notification committed before the crash is
delivered after it exactly once at the receiver (the idempotency key lets the receiver
drop a repeat), and a pending `for:` timer resumes from when the condition began.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from opsbook.alerts.model import AlertState
from opsbook.demo.target import running_target
from opsbook.store import Store
from tests.integration.engine.harness import ServeProcess, eventually, set_mode, write_config
from tests.integration.receivers import WebhookRecorder


def config_text(target: str, hook: str, for_: str = "0s", timeout: str = "10s") -> str:
    return f"""
project: {{name: shop}}
services: [{{name: api}}]
checks:
  - {{name: api-health, service: api, interval: 1s, http: {{url: "{target}/health", timeout: 900ms}}}}
rules:
  - {{name: api-down, expr: "last(api-health.up)", critical: "< 1", for: {for_}}}
receivers:
  - name: oncall
    webhook: {{url: "{hook}", timeout: {timeout}}}
    retry: {{backoff: 1s, max_backoff: 2s, max_attempts: 20}}
route: {{receiver: oncall, group_wait: 0s, group_interval: 1s}}
"""


def outbox_statuses(db: Path) -> list[str]:
    with Store.open(f"sqlite:///{db}") as store:
        return [entry.status for entry in store.outbox.list()]


async def test_notification_committed_but_not_delivered_survives_kill9(tmp_path: Path) -> None:
    async with running_target() as target, WebhookRecorder() as hook:
        hook.status_for["/hook"] = 503  # committed, but every attempt fails for now
        path = write_config(tmp_path, config_text(target, hook.url()))
        serve = ServeProcess(path)
        await serve.start()
        try:
            await set_mode(target, "down")
            await hook.wait_for(1, timeout=15)  # the row exists and was tried once
            await serve.kill9()
            assert outbox_statuses(tmp_path / "opsbook.db") in (["pending"], ["sending"])
            hook.status_for["/hook"] = 200
            attempts_before = len(hook.requests)
            await serve.start()
            await eventually(lambda: len(hook.accepted) == 1, timeout=20)
            await asyncio.sleep(3)
        finally:
            await serve.stop()
        assert len(hook.accepted) == 1 and hook.duplicates == 0
        keys = {r.key for r in hook.requests}
        assert len(keys) == 1, "every attempt carried the same idempotency key"
        assert len(hook.requests) > attempts_before
        assert outbox_statuses(tmp_path / "opsbook.db") == ["delivered"]


async def test_sent_but_not_recorded_is_resent_and_deduplicated_by_key(tmp_path: Path) -> None:
    async with running_target() as target, WebhookRecorder() as hook:
        hook.accept_then_hang.add("/hook")  # received, but the answer never comes back
        path = write_config(tmp_path, config_text(target, hook.url(), timeout="30s"))
        serve = ServeProcess(path)
        await serve.start()
        try:
            await set_mode(target, "down")
            await eventually(lambda: len(hook.accepted) == 1, timeout=15)
            await serve.kill9()  # dies between sending and recording the outcome
            hook.accept_then_hang.clear()
            await serve.start()
            await hook.wait_for(2, timeout=20)  # a restarted node takes back its own claims
            await asyncio.sleep(2)
        finally:
            await serve.stop()
        assert len(hook.accepted) == 1, "the receiver saw the message once, by key"
        assert hook.duplicates == 1
        assert outbox_statuses(tmp_path / "opsbook.db") == ["delivered"]


async def test_pending_rule_fires_on_time_after_kill9(tmp_path: Path) -> None:
    async with running_target() as target, WebhookRecorder() as hook:
        path = write_config(tmp_path, config_text(target, hook.url(), for_="8s"))
        db = tmp_path / "opsbook.db"
        serve = ServeProcess(path)
        await serve.start()

        def pending_since() -> datetime | None:
            with Store.open(f"sqlite:///{db}") as store:
                for alert, _ in store.alerts.browse([AlertState.PENDING.value]):
                    return alert.active_since
            return None

        try:
            await set_mode(target, "down")
            await eventually(lambda: pending_since() is not None, timeout=15)
            since = pending_since()
            assert since is not None
            await asyncio.sleep(2)
            await serve.kill9()
            await serve.start()
            await hook.wait_for(1, timeout=20)
        finally:
            await serve.stop()
        with Store.open(f"sqlite:///{db}") as store:
            ((alert, _),) = store.alerts.browse()
        assert alert.active_since == since, "the timer resumed, it did not restart"
        assert alert.fired_at is not None
        delay = (alert.fired_at - since).total_seconds()
        assert 8 <= delay < 10.5, delay  # for: 8s, checked every 1s, plus restart slack
        assert len(hook.accepted) == 1
