"""The notification outbox on SQLite and PostgreSQL (the `store_url` fixture): the same
contract on both, including concurrent claiming from threads on a real database."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from opsbook.notify.model import Notification
from opsbook.notify.outbox import (
    DELIVERED,
    FAILED,
    PENDING,
    SENDING,
    SKIPPED,
    OutboxRepository,
)
from opsbook.notify.receivers import RetryPolicy
from opsbook.store import Store
from opsbook.store.tables import notifications
from tests.notifyutil import T0, make_alert, make_notification

LEASE = timedelta(seconds=30)
POLICY = RetryPolicy(
    max_attempts=5, backoff=timedelta(seconds=5), max_backoff=timedelta(seconds=30)
)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url) as opened:
        yield opened


@pytest.fixture
def outbox(store: Store) -> OutboxRepository:
    return OutboxRepository(store.engine, rng=random.Random(7))


def note(i: int, receiver: str = "team", minutes: float = 0) -> Notification:
    return make_notification(
        make_alert(f"rule-{i}"),
        key=f"group@t0#{i}",
        receiver=receiver,
        created_at=T0 + timedelta(minutes=minutes),
        group_key=f"group-{i}",
    )


def test_enqueue_is_idempotent_by_key(outbox: OutboxRepository, store: Store) -> None:
    assert outbox.enqueue_now([note(1), note(2)]) == 2
    changed = make_notification(make_alert("other"), key="group@t0#1")
    assert outbox.enqueue_now([note(1), changed, note(3)]) == 1
    rows = outbox.list()
    assert sorted(r.idempotency_key for r in rows) == ["group@t0#1", "group@t0#2", "group@t0#3"]
    # The first version of a key wins: a key is never two different messages.
    assert outbox.get_by_key("group@t0#1").notification == note(1)  # type: ignore[union-attr]


def test_enqueue_joins_the_callers_transaction(outbox: OutboxRepository, store: Store) -> None:
    with store.engine.begin() as conn:
        outbox.enqueue(conn, [note(1)])
    with pytest.raises(RuntimeError), store.engine.begin() as conn:
        outbox.enqueue(conn, [note(2)])
        raise RuntimeError("the alert-state write failed")
    assert [r.idempotency_key for r in outbox.list()] == ["group@t0#1"]


def test_payload_round_trips_through_the_store(outbox: OutboxRepository) -> None:
    original = note(1)
    outbox.enqueue_now([original])
    [entry] = outbox.list()
    assert entry.notification == original
    assert (entry.status, entry.attempts, entry.kind, entry.receiver) == (
        PENDING,
        0,
        "alert",
        "team",
    )
    assert entry.next_attempt_at == original.created_at == entry.created_at


def test_claim_takes_due_rows_oldest_first_up_to_the_limit(outbox: OutboxRepository) -> None:
    outbox.enqueue_now([note(i, minutes=i) for i in range(5)])
    assert outbox.claim_due(T0 - timedelta(seconds=1), "w1", 10, LEASE) == []
    claimed = outbox.claim_due(T0 + timedelta(minutes=3), "w1", 2, LEASE)
    assert [c.idempotency_key for c in claimed] == ["group@t0#0", "group@t0#1"]
    assert all(c.status == SENDING and c.claimed_by == "w1" and c.attempts == 1 for c in claimed)
    assert claimed[0].claim_expires_at == T0 + timedelta(minutes=3) + LEASE
    again = outbox.claim_due(T0 + timedelta(minutes=3), "w2", 10, LEASE)
    assert [c.idempotency_key for c in again] == ["group@t0#2", "group@t0#3"]
    assert outbox.depth() == 5


def test_claim_can_be_limited_to_receivers(outbox: OutboxRepository) -> None:
    outbox.enqueue_now([note(1, "pager"), note(2, "email"), note(3, "chat")])
    assert outbox.due_receivers(T0) == {"pager", "email", "chat"}
    claimed = outbox.claim_due(T0, "w1", 10, LEASE, receivers=["email", "chat"])
    assert sorted(c.receiver for c in claimed) == ["chat", "email"]
    assert outbox.claim_due(T0, "w1", 10, LEASE, receivers=[]) == []
    assert outbox.due_receivers(T0) == {"pager"}


def test_two_workers_claiming_concurrently_never_share_a_row(
    outbox: OutboxRepository, store: Store
) -> None:
    total = 120
    outbox.enqueue_now([note(i) for i in range(total)])
    claims: dict[str, list[int]] = {f"w{n}": [] for n in range(4)}
    errors: list[BaseException] = []
    start = threading.Barrier(len(claims))

    def work(worker: str) -> None:
        repo = OutboxRepository(store.engine)
        try:
            start.wait()
            while batch := repo.claim_due(T0, worker, 3, LEASE):
                claims[worker].extend(entry.id for entry in batch)
                time.sleep(0.005)  # "sending": lets the other workers in between claims
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in claims]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    every = [i for ids in claims.values() for i in ids]
    assert len(every) == len(set(every)) == total
    assert sum(1 for ids in claims.values() if ids) >= 2, "the claims were not concurrent"
    with store.engine.connect() as conn:
        attempts = conn.execute(select(func.sum(notifications.c.attempts))).scalar_one()
    assert attempts == total


def test_an_expired_claim_is_taken_over_and_the_lost_attempt_recorded(
    outbox: OutboxRepository,
) -> None:
    outbox.enqueue_now([note(1)])
    [first] = outbox.claim_due(T0, "crashed-worker", 10, LEASE)
    assert outbox.claim_due(T0 + LEASE - timedelta(seconds=1), "w2", 10, LEASE) == []
    [again] = outbox.claim_due(T0 + LEASE, "w2", 10, LEASE)
    assert again.id == first.id and again.claimed_by == "w2" and again.attempts == 2
    assert "crashed-worker did not finish within its lease" in (again.last_error or "")
    [lost] = outbox.attempts(first.id)
    assert (lost.attempt, lost.worker, lost.ok) == (1, "crashed-worker", False)
    assert lost.duration_ms == LEASE.total_seconds() * 1000
    # The first worker comes back late: its outcome is refused, the new owner's counts.
    assert not outbox.mark_delivered(first.id, "crashed-worker", T0 + LEASE, timedelta(1))
    assert outbox.mark_delivered(first.id, "w2", T0 + LEASE, timedelta(milliseconds=40))
    entry = outbox.get(first.id)
    assert entry is not None and entry.status == DELIVERED and entry.delivered_at == T0 + LEASE
    assert [(a.attempt, a.ok) for a in outbox.attempts(first.id)] == [(1, False), (2, True)]


def test_backoff_schedule_then_give_up(outbox: OutboxRepository) -> None:
    outbox.enqueue_now([note(1)])
    now = T0
    waits = []
    for attempt in range(1, POLICY.max_attempts + 1):
        [entry] = outbox.claim_due(now, "w1", 1, LEASE)
        assert entry.attempts == attempt
        status = outbox.mark_failed_attempt(
            entry.id, "w1", now, "HTTP 503 Service Unavailable", True, POLICY, timedelta(0.1)
        )
        entry = outbox.get(entry.id)  # type: ignore[assignment]
        if attempt < POLICY.max_attempts:
            assert status == PENDING
            waits.append(entry.next_attempt_at - now)
            assert (
                outbox.claim_due(entry.next_attempt_at - timedelta(milliseconds=1), "w1", 1, LEASE)
                == []
            )
            now = entry.next_attempt_at
        else:
            assert status == FAILED
            assert entry.last_error == "gave up (5 attempts): HTTP 503 Service Unavailable"
    bases = [timedelta(seconds=s) for s in (5, 10, 20, 30)]
    for wait, base in zip(waits, bases, strict=True):
        assert base / 2 <= wait <= base, (wait, base)
    assert outbox.depth() == 0
    assert outbox.claim_due(now + timedelta(days=1), "w1", 10, LEASE) == []


def test_a_permanent_error_fails_at_once_with_the_reason(outbox: OutboxRepository) -> None:
    outbox.enqueue_now([note(1)])
    [entry] = outbox.claim_due(T0, "w1", 1, LEASE)
    status = outbox.mark_failed_attempt(
        entry.id, "w1", T0, "HTTP 400 Bad Request: unknown field", False, POLICY
    )
    assert status == FAILED
    failed = outbox.get(entry.id)
    assert failed is not None
    assert failed.last_error == "gave up (permanent error): HTTP 400 Bad Request: unknown field"
    assert [e.id for e in outbox.list(status=FAILED)] == [entry.id]


def test_attempts_are_recorded_with_worker_duration_and_error(outbox: OutboxRepository) -> None:
    outbox.enqueue_now([note(1)])
    [entry] = outbox.claim_due(T0, "w1", 1, LEASE)
    outbox.mark_failed_attempt(
        entry.id,
        "w1",
        T0 + timedelta(seconds=2),
        "timed out after 10s",
        True,
        POLICY,
        timedelta(seconds=2),
    )
    later = T0 + timedelta(minutes=5)
    [entry] = outbox.claim_due(later, "w2", 1, LEASE)
    outbox.mark_delivered(entry.id, "w2", later, timedelta(milliseconds=35))
    first, second = outbox.attempts(entry.id)
    assert (first.attempt, first.worker, first.ok, first.error) == (
        1,
        "w1",
        False,
        "timed out after 10s",
    )
    assert first.started_at == T0 and first.duration_ms == 2000
    assert (second.attempt, second.worker, second.ok, second.error) == (2, "w2", True, None)
    assert second.duration_ms == pytest.approx(35)


def test_outcomes_need_the_claim(outbox: OutboxRepository) -> None:
    outbox.enqueue_now([note(1)])
    [entry] = outbox.claim_due(T0, "w1", 1, LEASE)
    assert outbox.mark_failed_attempt(entry.id, "w2", T0, "x", True, POLICY) is None
    assert not outbox.mark_delivered(entry.id, "w2", T0, timedelta(0))
    assert not outbox.finish_without_sending(entry.id, "w2", SKIPPED, "x")
    assert outbox.attempts(entry.id) == []
    assert outbox.finish_without_sending(entry.id, "w1", SKIPPED, "only resolved alerts")
    skipped = outbox.get(entry.id)
    assert skipped is not None and (skipped.status, skipped.last_error) == (
        SKIPPED,
        "only resolved alerts",
    )
    with pytest.raises(ValueError):
        outbox.finish_without_sending(entry.id, "w1", DELIVERED, "x")


def test_consecutive_failures_count_since_the_last_success(outbox: OutboxRepository) -> None:
    outbox.enqueue_now([note(i, "pager") for i in range(4)] + [note(9, "email")])
    now = T0

    def attempt(ok: bool, receiver: str = "pager") -> None:
        nonlocal now
        now += timedelta(seconds=1)
        [entry] = outbox.claim_due(now, "w1", 1, LEASE, [receiver])
        if ok:
            outbox.mark_delivered(entry.id, "w1", now, timedelta(0))
        else:
            outbox.mark_failed_attempt(entry.id, "w1", now, "HTTP 500", True, POLICY)

    assert outbox.consecutive_failures("pager") == 0
    attempt(False)
    attempt(False)
    attempt(False, "email")
    assert outbox.consecutive_failures("pager") == 2
    attempt(True)
    assert outbox.consecutive_failures("pager") == 0
    attempt(False)
    assert outbox.consecutive_failures("pager") == 1
    assert outbox.consecutive_failures("email") == 1
    assert outbox.consecutive_failures("nobody") == 0


def test_depth_next_due_and_listing(outbox: OutboxRepository) -> None:
    assert outbox.depth() == 0 and outbox.next_due_at() is None
    outbox.enqueue_now([note(1, minutes=2), note(2, minutes=1), note(3, "email")])
    assert outbox.next_due_at() == T0
    [entry] = outbox.claim_due(T0, "w1", 1, LEASE)
    assert outbox.next_due_at() == T0 + LEASE  # the claim's expiry comes first
    outbox.mark_delivered(entry.id, "w1", T0, timedelta(0))
    assert outbox.next_due_at() == T0 + timedelta(minutes=1)
    assert outbox.depth() == 2
    assert [e.idempotency_key for e in outbox.list()] == ["group@t0#3", "group@t0#2", "group@t0#1"]
    assert [e.idempotency_key for e in outbox.list(receiver="team", limit=1)] == ["group@t0#2"]
    assert [e.idempotency_key for e in outbox.list(status=DELIVERED)] == ["group@t0#3"]


def test_a_group_is_delivered_in_order(outbox: OutboxRepository) -> None:
    """A later notification of a group waits while an earlier one is undelivered (even
    in backoff), so a receiver never sees "resolved" before the "firing" it ends."""
    first = make_notification(make_alert(), key="g#1", group_key="g", created_at=T0)
    later = make_notification(make_alert(), key="g#2", group_key="g", created_at=T0)
    other = make_notification(make_alert(), key="h#1", group_key="h", created_at=T0)
    elsewhere = make_notification(make_alert(), key="g#1@email", group_key="g", receiver="email")
    outbox.enqueue_now([first, later, other, elsewhere])
    claimed = outbox.claim_due(T0 + timedelta(minutes=10), "w1", 10, LEASE)
    assert sorted(c.idempotency_key for c in claimed) == ["g#1", "g#1@email", "h#1"]
    g1 = next(c for c in claimed if c.idempotency_key == "g#1")
    outbox.mark_failed_attempt(g1.id, "w1", T0, "HTTP 503", True, POLICY)
    assert outbox.claim_due(T0 + timedelta(minutes=10), "w1", 10, LEASE)[0].idempotency_key == "g#1"
    assert outbox.claim_due(T0 + timedelta(minutes=10), "w1", 10, LEASE) == []  # g#2 waits
    outbox.mark_delivered(g1.id, "w1", T0 + timedelta(minutes=10), timedelta(0))
    [next_one] = outbox.claim_due(T0 + timedelta(minutes=10), "w1", 10, LEASE)
    assert next_one.idempotency_key == "g#2"


def test_a_failed_notification_does_not_block_its_group(outbox: OutboxRepository) -> None:
    outbox.enqueue_now(
        [make_notification(key=f"g#{i}", group_key="g", created_at=T0) for i in (1, 2)]
    )
    [entry] = outbox.claim_due(T0, "w1", 10, LEASE)
    outbox.mark_failed_attempt(entry.id, "w1", T0, "HTTP 400", False, POLICY)
    assert [c.idempotency_key for c in outbox.claim_due(T0, "w1", 10, LEASE)] == ["g#2"]


def test_a_restarted_worker_takes_back_its_own_claims_at_once(outbox: OutboxRepository) -> None:
    outbox.enqueue_now([note(1), note(2), note(3)])
    mine = outbox.claim_due(T0, "node-a", 2, LEASE)
    [theirs] = outbox.claim_due(T0, "node-b", 2, LEASE)
    later = T0 + timedelta(seconds=5)  # well within the leases
    assert outbox.release_claims("node-a", later) == 2
    assert outbox.release_claims("node-a", later) == 0
    for entry in mine:
        released = outbox.get(entry.id)
        assert released is not None
        assert (released.status, released.next_attempt_at) == (PENDING, later)
        [lost] = outbox.attempts(entry.id)
        assert (lost.worker, lost.ok, lost.duration_ms) == ("node-a", False, 5000)
        assert "node-a restarted before finishing" in (lost.error or "")
    assert outbox.get(theirs.id).status == SENDING  # type: ignore[union-attr]
    again = outbox.claim_due(later, "node-a", 10, LEASE)
    assert sorted(e.id for e in again) == sorted(e.id for e in mine)
    assert all(e.attempts == 2 for e in again)
