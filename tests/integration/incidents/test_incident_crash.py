"""`kill -9` an engine in the middle of an incident and restart it.

Escalation timers are rows (`next_escalation_at`), so the secondary is paged on time
after the restart, once; the incident a firing alert opened is found again by its open
key, so a restart opens no second incident and pages nobody twice.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from opsbook.demo.target import running_target
from opsbook.incidents.model import EventKind
from opsbook.store import Store
from tests.integration.engine.harness import ServeProcess, set_mode
from tests.integration.incidents.scenario import config_text
from tests.integration.receivers import WebhookRecorder


async def test_escalation_resumes_on_time_after_kill9(tmp_path: Path) -> None:
    path = tmp_path / "opsbook.yaml"
    async with running_target() as target, WebhookRecorder() as hook:
        serve = ServeProcess(path)
        path.write_text(config_text(target, hook.base_url, "http://127.0.0.1:1", "6s"))
        await serve.start()
        try:
            await set_mode(target, "down")
            await hook.wait_for(1, "/alice", timeout=20)
            alice_at = hook.on("/alice")[0].at
            await serve.kill9()  # the secondary's step is due in 6 s, only in the store
            await asyncio.sleep(2)
            await serve.start()
            await hook.wait_for(1, "/bob", timeout=25)
            waited = hook.on("/bob")[0].at - alice_at
            await asyncio.sleep(2)
        finally:
            await serve.stop()
    # Due 6 s after the primary; the margin is for a loaded machine, not for the engine.
    assert 5.0 <= waited <= 12.0, f"secondary paged {waited:.1f}s after the primary"
    assert len([r for r in hook.accepted.values() if r.path == "/bob"]) == 1
    assert len([r for r in hook.accepted.values() if r.path == "/alice"]) == 1
    with Store.open(f"sqlite:///{tmp_path / 'opsbook.db'}") as store:
        assert store.incidents.count() == 1
        steps = [e for e in store.incidents.timeline(1) if e.kind is EventKind.ESCALATED]
        assert [e.data["level"] for e in steps] == [1, 2]


async def test_restart_opens_no_second_incident(tmp_path: Path) -> None:
    path = tmp_path / "opsbook.yaml"
    async with running_target() as target, WebhookRecorder() as hook:
        serve = ServeProcess(path)
        path.write_text(config_text(target, hook.base_url, "http://127.0.0.1:1", "30s"))
        await serve.start()
        try:
            await set_mode(target, "down")
            await hook.wait_for(1, "/alice", timeout=20)
            await serve.kill9()  # right after the incident opened and its first page
            await serve.start()
            await asyncio.sleep(4)  # the alert is still firing after the restart
            await serve.kill9()
            await serve.start()
            await asyncio.sleep(3)
        finally:
            await serve.stop()
    assert len(hook.accepted) == 1, "alice was paged once, by key, across two crashes"
    with Store.open(f"sqlite:///{tmp_path / 'opsbook.db'}") as store:
        assert store.incidents.count() == 1
        kinds = [e.kind for e in store.incidents.timeline(1)]
        assert kinds.count(EventKind.OPENED) == 1
        assert kinds.count(EventKind.ESCALATED) == 1
