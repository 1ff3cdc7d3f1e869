"""Delivery from the outbox to real receivers on 127.0.0.1, on SQLite and PostgreSQL.

Receivers: an aiohttp webhook recorder that deduplicates by Idempotency-Key, an aiosmtpd
SMTP sink, and Apprise's json:// service pointed at the recorder.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opsbook.alerts.model import AlertState
from opsbook.config.redact import Redactor
from opsbook.notify.deliver import Deliverer
from opsbook.notify.model import Notification
from opsbook.notify.outbox import DELIVERED, FAILED, PENDING, SENDING, SKIPPED, OutboxRepository
from opsbook.notify.receivers import ReceiverBase
from opsbook.notify.templates import TemplateSettings
from opsbook.store import Store
from tests.integration.receivers import SmtpSink, WebhookRecorder
from tests.notifyutil import T0, make_alert, make_notification, make_receiver

SETTINGS = TemplateSettings(
    severities=("P0", "P1", "P2"), update_intervals={"P1": timedelta(minutes=30)}
)
FAST_RETRY = {"max_attempts": 4, "backoff": "2s", "max_backoff": "1m"}


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url) as opened:
        yield opened


@pytest.fixture
def outbox(store: Store) -> OutboxRepository:
    return OutboxRepository(store.engine)


class Clock:
    def __init__(self, start: datetime = T0 + timedelta(minutes=5)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


def webhook(name: str, url: str, **extra: Any) -> ReceiverBase:
    timeout = extra.pop("timeout", "5s")
    return make_receiver(name, webhook={"url": url, "timeout": timeout}, **extra)


def firing(
    key: str,
    receiver: str,
    created_at: datetime = T0 + timedelta(minutes=5),
    group_key: str = "route:{service=memoapp}",
) -> Notification:
    alert = make_alert(
        "high-error-rate",
        summary="Error rate 6.2% (> 5% for 5 minutes)",
        description="Users get HTTP 500 on save",
    )
    return make_notification(
        alert, key=key, receiver=receiver, created_at=created_at, group_key=group_key
    )


def resolved(key: str, receiver: str) -> Notification:
    alert = make_alert(
        "high-error-rate", AlertState.RESOLVED, summary="Error rate 6.2% (> 5% for 5 minutes)"
    )
    return make_notification(
        alert, key=key, receiver=receiver, created_at=T0 + timedelta(minutes=13)
    )


async def deliver_all(deliverer: Deliverer, now: datetime | None = None) -> None:
    """Claim and send until nothing more is due (later rows of a group wait for the
    earlier ones, so this may take several rounds)."""
    while await deliverer.run_once(now):
        await deliverer.wait_idle()


async def test_firing_and_resolved_reach_webhook_email_and_apprise(
    outbox: OutboxRepository,
) -> None:
    async with WebhookRecorder() as hook:
        with SmtpSink() as sink:
            receivers = [
                webhook("pager", hook.url("/pager")),
                make_receiver(
                    "mail",
                    email={
                        "to": ["oncall@memoapp.example"],
                        "from": "opsbook@memoapp.example",
                        "smarthost": sink.smarthost,
                    },
                ),
                make_receiver(
                    "chat", apprise={"urls": [hook.base_url.replace("http", "json") + "/chat"]}
                ),
            ]
            items = [
                f(f"{kind}-{r.name}", r.name)
                for r in receivers
                for kind, f in (("firing", firing), ("resolved", resolved))
            ]
            assert outbox.enqueue_now(items) == 6
            clock = Clock(T0 + timedelta(minutes=14))
            deliverer = Deliverer(outbox, receivers, "w1", settings=SETTINGS, clock=clock)
            await deliver_all(deliverer)

    assert [r.json["status"] for r in hook.on("/pager")] == ["firing", "resolved"]
    assert hook.on("/pager")[0].key == "firing-pager"
    assert [m["Subject"] for m in sink.messages] == [
        "INCIDENT ALERT - P1 - memoapp: Error rate 6.2% (> 5% for 5 minutes)",
        "INCIDENT RESOLVED - memoapp: Error rate 6.2% (> 5% for 5 minutes)",
    ]
    body = sink.messages[0].get_body(("plain",))
    assert (
        body is not None and "Updates: Will provide updates every 30 minutes" in body.get_content()
    )
    chat = [r.json for r in hook.on("/chat")]
    assert [(c["type"], c["title"].split(" - ")[0]) for c in chat] == [
        ("failure", "INCIDENT ALERT"),
        ("success", "INCIDENT RESOLVED"),
    ]
    assert {e.status for e in outbox.list()} == {DELIVERED}
    assert all(a.ok for e in outbox.list() for a in outbox.attempts(e.id))
    assert outbox.depth() == 0


async def test_500_then_200_is_retried_with_backoff_and_delivered_once(
    outbox: OutboxRepository,
) -> None:
    async with WebhookRecorder() as hook:
        hook.fail_next(500)
        receiver = webhook("pager", hook.url(), retry=FAST_RETRY)
        clock = Clock()
        deliverer = Deliverer(outbox, [receiver], "w1", clock=clock)
        outbox.enqueue_now([firing("k1", "pager")])

        await deliver_all(deliverer)
        [entry] = outbox.list()
        assert entry.status == PENDING and entry.last_error is not None
        assert entry.last_error.startswith("HTTP 500 Internal Server Error")
        wait = entry.next_attempt_at - clock.now
        assert timedelta(seconds=1) <= wait <= timedelta(seconds=2)

        await deliver_all(deliverer, entry.next_attempt_at - timedelta(milliseconds=10))
        assert len(hook.requests) == 1  # not before the backoff ends

        clock.now = entry.next_attempt_at
        await deliver_all(deliverer)

    assert len(hook.requests) == 2
    assert list(hook.accepted) == ["k1"] and hook.duplicates == 0
    [entry] = outbox.list()
    assert entry.status == DELIVERED
    assert [(a.attempt, a.ok) for a in outbox.attempts(entry.id)] == [(1, False), (2, True)]


async def test_resolved_never_overtakes_a_firing_that_is_being_retried(
    outbox: OutboxRepository,
) -> None:
    async with WebhookRecorder() as hook:
        hook.fail_next(503)
        clock = Clock(T0 + timedelta(minutes=13))
        deliverer = Deliverer(
            outbox, [webhook("pager", hook.url(), retry=FAST_RETRY)], "w1", clock=clock
        )
        outbox.enqueue_now([firing("g#1", "pager"), resolved("g#2", "pager")])
        await deliver_all(deliverer)
        assert [r.key for r in hook.requests] == ["g#1"]  # failed; g#2 waits behind it
        clock.advance(seconds=2)
        await deliver_all(deliverer)
    assert [(r.key, r.json["status"]) for r in hook.requests] == [
        ("g#1", "firing"),
        ("g#1", "firing"),
        ("g#2", "resolved"),
    ]
    assert {e.status for e in outbox.list()} == {DELIVERED}


async def test_a_hanging_receiver_does_not_delay_a_healthy_one(
    outbox: OutboxRepository,
) -> None:
    async with WebhookRecorder(hang_paths={"/slow"}) as hook:
        slow = webhook("slow", hook.url("/slow"), timeout="30s", concurrency=2)
        fast = webhook("fast", hook.url("/fast"))
        deliverer = Deliverer(outbox, [slow, fast], "w1", grace=timedelta(milliseconds=100))
        now = datetime.now(UTC)
        # The slow receiver's rows are older: they come first in any queue.
        outbox.enqueue_now(
            [
                firing(f"slow-{i}", "slow", now - timedelta(seconds=10 - i), group_key=f"g{i}")
                for i in range(3)
            ]
            + [firing("fast-1", "fast", now)]
        )
        stop = asyncio.Event()
        started = time.monotonic()
        runner = asyncio.create_task(deliverer.run(stop))
        await hook.wait_for(1, "/fast", timeout=5)
        fast_after = hook.on("/fast")[0].at - started
        await asyncio.sleep(0.2)
        slow_in_flight = len(hook.on("/slow"))
        outbox.enqueue_now([firing("fast-2", "fast", datetime.now(UTC), group_key="other")])
        deliverer.wakeup.set()
        await hook.wait_for(2, "/fast", timeout=5)
        stop.set()
        await asyncio.wait_for(runner, 5)

    assert fast_after < 1.0, f"healthy receiver waited {fast_after:.2f}s"
    assert slow_in_flight == 2  # its concurrency limit; the third waits its turn
    by_key = {e.idempotency_key: e for e in outbox.list()}
    assert by_key["fast-1"].status == by_key["fast-2"].status == DELIVERED
    # Abandoned at shutdown: still claimed, to be retried when the lease runs out.
    assert sorted(by_key[k].status for k in ("slow-0", "slow-1", "slow-2")) == [
        PENDING,
        SENDING,
        SENDING,
    ]


async def test_a_permanent_400_fails_with_the_reason(outbox: OutboxRepository) -> None:
    async with WebhookRecorder(status_for={"/hook": 400}) as hook:
        deliverer = Deliverer(outbox, [webhook("pager", hook.url())], "w1", clock=Clock())
        outbox.enqueue_now([firing("k1", "pager")])
        await deliver_all(deliverer)
        await deliver_all(deliverer, T0 + timedelta(days=1))
    assert len(hook.requests) == 1
    [entry] = outbox.list()
    assert entry.status == FAILED
    assert entry.last_error == (
        "gave up (permanent error): HTTP 400 Bad Request: scripted failure 400"
    )
    assert outbox.consecutive_failures("pager") == 1


async def test_a_claim_left_by_a_dead_worker_is_delivered_by_the_next(
    outbox: OutboxRepository,
) -> None:
    async with WebhookRecorder() as hook:
        outbox.enqueue_now([firing("k1", "pager")])
        now = T0 + timedelta(minutes=5)
        dead_lease = timedelta(seconds=60)
        assert len(outbox.claim_due(now, "dead-worker", 10, dead_lease)) == 1
        clock = Clock(now)
        deliverer = Deliverer(outbox, [webhook("pager", hook.url())], "w2", clock=clock)
        await deliver_all(deliverer)
        assert hook.requests == []  # the claim is still valid
        clock.now = now + dead_lease
        await deliver_all(deliverer)
    assert list(hook.accepted) == ["k1"]
    [entry] = outbox.list()
    assert entry.status == DELIVERED
    assert [(a.worker, a.ok) for a in outbox.attempts(entry.id)] == [
        ("dead-worker", False),
        ("w2", True),
    ]


async def test_a_worker_restarted_under_its_id_resends_at_once(outbox: OutboxRepository) -> None:
    async with WebhookRecorder() as hook:
        outbox.enqueue_now([firing("k1", "pager", datetime.now(UTC))])
        # The previous run of "node-1" claimed the row for 90 s, then died.
        assert outbox.claim_due(datetime.now(UTC), "node-1", 10, timedelta(seconds=90))
        deliverer = Deliverer(outbox, [webhook("pager", hook.url())], "node-1")
        stop = asyncio.Event()
        runner = asyncio.create_task(deliverer.run(stop))
        await hook.wait_for(1, timeout=5)
        for _ in range(50):
            if outbox.list()[0].status == DELIVERED:
                break
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(runner, 5)
    assert outbox.list()[0].status == DELIVERED
    assert [a.ok for a in outbox.attempts(outbox.list()[0].id)] == [False, True]


WORKER = """
import asyncio, json, sys
from datetime import timedelta
from opsbook.notify.deliver import Deliverer
from opsbook.notify.outbox import OutboxRepository
from opsbook.notify.receivers import Receiver
from opsbook.store import Store

store = Store.open(sys.argv[1])
receivers = [Receiver.model_validate(r) for r in json.loads(sys.argv[2])]
deliverer = Deliverer(
    OutboxRepository(store.engine), receivers, "doomed", lease=timedelta(seconds=3)
)
asyncio.run(deliverer.run(asyncio.Event()))
"""


async def test_kill_9_mid_send_is_redelivered_and_deduplicated_by_key(
    outbox: OutboxRepository, store_url: str
) -> None:
    """The worker dies after the receiver got the message but before the outcome was
    stored: the next worker sends it again, the receiver sees the same key twice."""
    async with WebhookRecorder(accept_then_hang={"/hook"}) as hook:
        spec = [{"name": "pager", "webhook": {"url": hook.url(), "timeout": "30s"}}]
        outbox.enqueue_now([firing("k1", "pager", datetime.now(UTC))])
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WORKER,
            store_url,
            json.dumps(spec),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            await hook.wait_for(1, timeout=30)
        finally:
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
        assert proc.returncode == -signal.SIGKILL
        [entry] = outbox.list()
        assert (entry.status, entry.claimed_by) == (SENDING, "doomed")

        hook.accept_then_hang.clear()
        receivers = [webhook("pager", hook.url())]
        deliverer = Deliverer(outbox, receivers, "survivor", grace=timedelta(seconds=1))
        stop = asyncio.Event()
        runner = asyncio.create_task(deliverer.run(stop))
        await hook.wait_for(2, timeout=10)  # after the 3 s lease of the dead worker
        for _ in range(50):
            if outbox.list()[0].status == DELIVERED:
                break
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(runner, 5)

    assert [r.key for r in hook.requests] == ["k1", "k1"]
    assert list(hook.accepted) == ["k1"] and hook.duplicates == 1
    [entry] = outbox.list()
    assert entry.status == DELIVERED and entry.attempts == 2
    assert [(a.worker, a.ok) for a in outbox.attempts(entry.id)] == [
        ("doomed", False),
        ("survivor", True),
    ]


async def test_attempts_used_up_by_dying_workers_end_as_failed(outbox: OutboxRepository) -> None:
    outbox.enqueue_now([firing("k1", "pager")])
    now = T0 + timedelta(minutes=5)
    lease = timedelta(seconds=10)
    for i in range(2):
        assert outbox.claim_due(now + i * lease, f"dead-{i}", 1, lease)
    async with WebhookRecorder() as hook:
        receiver = webhook("pager", hook.url(), retry={"max_attempts": 2})
        deliverer = Deliverer(outbox, [receiver], "w3", clock=Clock(now + 2 * lease))
        await deliver_all(deliverer)
    assert hook.requests == []
    [entry] = outbox.list()
    assert entry.status == FAILED
    assert (entry.last_error or "").startswith("gave up: 2 attempts ended without an outcome")


async def test_send_resolved_false(outbox: OutboxRepository) -> None:
    async with WebhookRecorder() as hook:
        receiver = webhook("pager", hook.url(), send_resolved=False)
        mixed = make_notification(
            make_alert("high-error-rate"),
            make_alert("slow-response-time", AlertState.RESOLVED),
            key="mixed",
            receiver="pager",
        )
        outbox.enqueue_now([resolved("only-resolved", "pager"), mixed])
        await deliver_all(Deliverer(outbox, [receiver], "w1", clock=Clock(T0 + timedelta(hours=1))))
    [request] = hook.requests
    assert request.key == "mixed"
    assert [a["labels"]["alertname"] for a in request.json["alerts"]] == ["high-error-rate"]
    by_key = {e.idempotency_key: e for e in outbox.list()}
    assert by_key["only-resolved"].status == SKIPPED
    assert by_key["mixed"].status == DELIVERED


async def test_rows_for_an_unknown_receiver_wait(
    outbox: OutboxRepository, caplog: pytest.LogCaptureFixture
) -> None:
    outbox.enqueue_now([firing("k1", "removed-receiver")])
    async with WebhookRecorder() as hook:
        await deliver_all(Deliverer(outbox, [webhook("pager", hook.url())], "w1", clock=Clock()))
    assert outbox.list()[0].status == PENDING
    assert "receiver 'removed-receiver'" in caplog.text


async def test_secrets_are_masked_in_payload_and_text(outbox: OutboxRepository) -> None:
    secret = "db-password-77"
    leaky = make_alert(
        "database-down",
        labels={"dsn": f"postgresql://memo:{secret}@db:5432/memo"},
        summary=f"login failed for {secret}",
    )
    outbox.enqueue_now([make_notification(leaky, key="k1", receiver="chat")])
    async with WebhookRecorder() as hook:
        receivers = [
            make_receiver("chat", apprise={"urls": [hook.base_url.replace("http", "json") + "/c"]})
        ]
        deliverer = Deliverer(outbox, receivers, "w1", redactor=Redactor([secret]), clock=Clock())
        await deliver_all(deliverer)
    [request] = hook.requests
    assert secret not in request.body.decode()
    assert "login failed for ***" in request.json["title"]


async def test_a_broken_template_still_delivers_with_the_default(outbox: OutboxRepository) -> None:
    outbox.enqueue_now([firing("k1", "chat")])
    async with WebhookRecorder() as hook:
        url = hook.base_url.replace("http", "json") + "/c"
        receiver = make_receiver("chat", apprise={"urls": [url]}, templates={"body": "{{ 1 / 0 }}"})
        await deliver_all(Deliverer(outbox, [receiver], "w1", clock=Clock()))
    [request] = hook.requests
    assert request.json["message"].startswith("INCIDENT ALERT - P1\nService: memoapp")
    assert "body template failed (ZeroDivisionError" in request.json["message"]
    assert outbox.list()[0].status == DELIVERED


async def test_the_loop_wakes_when_told_instead_of_waiting_for_the_poll(
    outbox: OutboxRepository,
) -> None:
    async with WebhookRecorder() as hook:
        deliverer = Deliverer(outbox, [webhook("pager", hook.url())], "w1")
        stop = asyncio.Event()
        runner = asyncio.create_task(deliverer.run(stop))
        await asyncio.sleep(0.3)  # the loop is now waiting for its next poll
        outbox.enqueue_now([firing("k1", "pager", datetime.now(UTC))])
        woken = time.monotonic()
        deliverer.wakeup.set()
        await hook.wait_for(1, timeout=5)
        latency = hook.requests[0].at - woken
        stop.set()
        await asyncio.wait_for(runner, 5)
    assert latency < 0.5, f"took {latency:.2f}s"


async def test_from_config_uses_the_configs_receivers_redactor_and_timezone(
    outbox: OutboxRepository,
) -> None:
    from opsbook.config.loader import load_config_text

    async with WebhookRecorder() as hook:
        url = hook.base_url.replace("http", "json") + "/c"
        config = load_config_text(
            f"""
project: {{name: memoapp, timezone: Europe/Berlin}}
receivers:
  - name: chat
    apprise: {{urls: ["{url}"]}}
    templates: {{body: "{{{{ alerts[0].started_at }}}} {{{{ alerts[0].labels.token }}}}"}}
""",
            environ={},
        )
        secret_config = config.model_copy()
        secret_config.attach_source(None, Redactor(["tok-secret-1"]))
        deliverer = Deliverer.from_config(secret_config, outbox, "w1", clock=Clock())
        alert = make_alert(labels={"token": "tok-secret-1"})
        outbox.enqueue_now([make_notification(alert, key="k1", receiver="chat")])
        await deliver_all(deliverer)
    assert hook.requests[0].json["message"] == "2026-11-23 10:00 CET ***"
