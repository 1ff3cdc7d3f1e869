"""The whole incident path against a real `opsbook serve`, a real target and receivers.

Timeline (escalate_after 4s instead of the runbook's 15 minutes): the API goes down →
api-down fires → an incident opens → alice (primary) is paged → nobody acks → bob
(secondary) is paged 4 s later → bob acks with the signed link in his page → the manager
is never paged → the API recovers → the alert resolves → the incident is monitoring →
resolved from the CLI → the postmortem has that timeline and its MTTA / MTTR.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from opsbook.demo.target import running_target
from opsbook.incidents.model import EventKind, IncidentStatus
from opsbook.store import Store
from tests.integration.engine.harness import ServeProcess, eventually, set_mode
from tests.integration.incidents.scenario import click, config_text, page_link
from tests.integration.receivers import WebhookRecorder


def opsbook(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opsbook", *args], capture_output=True, text=True, timeout=60
    )


async def test_alert_to_postmortem(tmp_path: Path) -> None:
    path = tmp_path / "opsbook.yaml"
    db = tmp_path / "opsbook.db"
    async with running_target() as target, WebhookRecorder() as hook:
        serve = ServeProcess(path)
        public = f"http://127.0.0.1:{serve.port}"
        path.write_text(config_text(target, hook.base_url, public))
        await serve.start()
        store = Store.open(f"sqlite:///{db}")
        try:
            await set_mode(target, "down")
            await hook.wait_for(1, "/alice", timeout=20)
            alice_paged = hook.on("/alice")[0]
            assert alice_paged.json["opsbook"]["kind"] == "page"
            assert "API Service Down" in alice_paged.json["opsbook"]["title"]
            assert hook.on("/bob") == []

            await hook.wait_for(1, "/bob", timeout=15)
            bob_paged = hook.on("/bob")[0]
            waited = bob_paged.at - alice_paged.at
            assert 3.0 <= waited <= 10.0, f"secondary paged {waited:.1f}s after primary"

            link = page_link(bob_paged, "ack")
            status, text = await click(link, "GET")  # a preview never acts
            assert status == 200 and "Acknowledge incident #1" in text
            assert store.incidents.get(1).acknowledged_at is None  # type: ignore[union-attr]
            status, text = await click(link)
            assert status == 200 and "Acknowledged by bob" in text
            status, text = await click(link)
            assert status == 409 and "already used" in text
            forged = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
            status, _ = await click(forged)
            assert status in (400, 403)

            await asyncio.sleep(6)  # past the manager's due time: ack stopped escalation
            assert hook.on("/manager") == []

            await set_mode(target, "healthy")
            await eventually(
                lambda: store.incidents.get(1).status is IncidentStatus.MONITORING,  # type: ignore[union-attr]
                timeout=20,
            )
        finally:
            await serve.stop()

        done = opsbook("resolve", "1", "--as", "bob", "-m", "restarted", "-c", str(path))
        assert done.returncode == 0, done.stderr
        incident = store.incidents.get(1)
        assert incident is not None and incident.status is IncidentStatus.RESOLVED
        assert store.incidents.count() == 1, "one incident for one outage"

        kinds = [e.kind for e in store.incidents.timeline(1)]
        assert kinds.index(EventKind.OPENED) < kinds.index(EventKind.ACKNOWLEDGED)
        assert kinds.count(EventKind.ESCALATED) == 2, kinds
        assert kinds.index(EventKind.ACKNOWLEDGED) < kinds.index(EventKind.ALERT_RESOLVED)
        assert kinds[-1] is EventKind.RESOLVED
        ack = next(e for e in store.incidents.timeline(1) if e.kind is EventKind.ACKNOWLEDGED)
        assert ack.actor == "bob" and ack.data["via"] == "link"

        report = opsbook("incident", "postmortem", "1", "-c", str(path))
        assert report.returncode == 0, report.stderr
        text = report.stdout
        assert "API Service Down" in text
        assert "Acknowledged by bob" in text
        mtta = (incident.acknowledged_at - incident.opened_at).total_seconds()  # type: ignore[operator]
        assert 3 <= mtta <= 12
        for heading in ("Timeline", "Root Cause", "Action Items"):
            assert heading in text
        store.close()
