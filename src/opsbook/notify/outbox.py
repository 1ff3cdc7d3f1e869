"""The durable notification outbox: rows written with the alert state that caused them,
claimed by delivery workers, and finished as delivered, failed or skipped.

Claiming is safe with several workers on one database: on PostgreSQL due rows are
selected ``FOR UPDATE SKIP LOCKED`` (a row another worker is claiming is skipped, not
waited for); on SQLite the whole claim runs in a ``BEGIN IMMEDIATE`` transaction, which
takes the write lock before reading. A claim is a lease: a worker that dies leaves its
rows ``sending`` until the lease expires, then any worker takes them again (the lost
attempt is recorded), so nothing is lost and a delivery may repeat. Every outcome is
conditional on still holding the claim, so a worker whose lease ran out cannot
overwrite the outcome of the worker that took over.
"""

from __future__ import annotations

import builtins
import random
from collections.abc import Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, not_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from opsbook.notify.model import Notification, bounded_key
from opsbook.notify.receivers import RetryPolicy

PENDING = "pending"
SENDING = "sending"
DELIVERED = "delivered"
FAILED = "failed"
SKIPPED = "skipped"
STATUSES = (PENDING, SENDING, DELIVERED, FAILED, SKIPPED)
MAX_ERROR_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    id: int
    idempotency_key: str
    receiver: str
    group_key: str
    kind: str
    status: str
    attempts: int  # attempts started so far, including the one a claim starts
    next_attempt_at: datetime
    claimed_by: str | None
    claimed_at: datetime | None
    claim_expires_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    payload: str

    @property
    def notification(self) -> Notification:
        return Notification.loads(self.payload)


@dataclass(frozen=True, slots=True)
class Attempt:
    notification_id: int
    attempt: int
    receiver: str
    worker: str
    started_at: datetime
    duration_ms: float
    ok: bool
    error: str | None


def _entry(row: Any) -> OutboxEntry:
    return OutboxEntry(**{name: row[name] for name in OutboxEntry.__slots__})


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 3] + "..."


def _ms(duration: timedelta) -> float:
    return max(0.0, duration.total_seconds() * 1000)


class OutboxRepository:
    def __init__(self, engine: Engine, rng: random.Random | None = None) -> None:
        self._engine = engine
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not secrets)

    @property
    def _postgres(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    def _write(self) -> AbstractContextManager[Connection]:
        # Imported here: opsbook.store's package imports this module.
        from opsbook.store.transaction import write_transaction

        return write_transaction(self._engine)

    # -- writing -----------------------------------------------------------------------

    @staticmethod
    def enqueue(conn: Connection, items: Iterable[Notification]) -> int:
        """Add notifications inside the caller's transaction; a key already present is
        left as it is (insert-or-ignore). Returns how many rows were new."""
        table = notifications
        if conn.dialect.name == "postgresql":
            base: Any = pg_insert(table)
        else:
            base = sqlite_insert(table)
        statement = base.on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(
            table.c.id
        )
        added = 0
        for notification in items:
            result = conn.execute(
                statement,
                {
                    "idempotency_key": notification.idempotency_key,
                    "receiver": notification.receiver,
                    "group_key": bounded_key(notification.group_key),
                    "kind": notification.kind,
                    "payload": notification.dumps(),
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt_at": notification.created_at,
                    "created_at": notification.created_at,
                },
            )
            added += len(result.all())  # no row comes back for an ignored duplicate
        return added

    def enqueue_now(self, items: Iterable[Notification]) -> int:
        """`enqueue` in a transaction of its own (tests, `opsbook notify` commands)."""
        with self._write() as conn:
            return self.enqueue(conn, items)

    def claim_due(
        self,
        now: datetime,
        worker_id: str,
        limit: int,
        lease: timedelta,
        receivers: Collection[str] | None = None,
    ) -> builtins.list[OutboxEntry]:
        """Claim up to `limit` due rows for `worker_id` until `now + lease`: pending rows
        whose time has come, and rows whose previous claim expired (a dead worker's).
        Oldest first; optionally only for some receivers.

        Within one alert group a receiver gets its notifications in order: a row is not
        claimed while an older row of the same group and receiver is undelivered, so a
        "resolved" never overtakes the "firing" it follows (even across retries)."""
        if limit <= 0 or (receivers is not None and not receivers):
            return []
        t = notifications.c
        older = notifications.alias("older")
        waiting_behind = (
            select(older.c.id)
            .where(
                older.c.receiver == t.receiver,
                older.c.group_key == t.group_key,
                older.c.id < t.id,
                older.c.status.in_((PENDING, SENDING)),
            )
            .exists()
        )
        due = and_(
            or_(
                and_(t.status == PENDING, t.next_attempt_at <= now),
                and_(t.status == SENDING, t.claim_expires_at <= now),
            ),
            not_(waiting_behind),
        )
        query = select(
            t.id,
            t.status,
            t.attempts,
            t.receiver,
            t.claimed_by,
            t.claimed_at,
            t.claim_expires_at,
        ).where(due)
        if receivers is not None:
            query = query.where(t.receiver.in_(sorted(receivers)))
        query = query.order_by(t.next_attempt_at, t.id).limit(limit)
        if self._postgres:
            query = query.with_for_update(skip_locked=True, of=notifications)
        with self._write() as conn:
            rows = conn.execute(query).all()
            if not rows:
                return []
            self._record_abandoned(conn, [r for r in rows if r.status == SENDING], now)
            ids = [r.id for r in rows]
            conn.execute(
                update(notifications)
                .where(t.id.in_(ids))
                .values(
                    status=SENDING,
                    claimed_by=worker_id,
                    claimed_at=now,
                    claim_expires_at=now + lease,
                    attempts=t.attempts + 1,
                )
            )
            claimed = conn.execute(
                select(notifications).where(t.id.in_(ids)).order_by(t.next_attempt_at, t.id)
            )
            return [_entry(row) for row in claimed.mappings()]

    def release_claims(self, worker_id: str, now: datetime) -> int:
        """Make the rows `worker_id` still holds due again at once, recording their
        attempts as lost. For a worker that restarts under the same id: its earlier run
        is known to be dead, so there is no need to wait for the leases to run out.
        Returns how many rows were released."""
        t = notifications.c
        query = select(
            t.id, t.attempts, t.receiver, t.claimed_by, t.claimed_at, t.claim_expires_at
        ).where(t.status == SENDING, t.claimed_by == worker_id)
        if self._postgres:
            query = query.with_for_update()
        with self._write() as conn:
            rows = conn.execute(query).all()
            if not rows:
                return 0
            reason = f"no outcome: worker {worker_id} restarted before finishing; trying again"
            self._record_abandoned(conn, rows, now, reason, ended=now)
            conn.execute(
                update(notifications)
                .where(t.id.in_([r.id for r in rows]))
                .values(status=PENDING, next_attempt_at=now, claim_expires_at=None)
            )
            return len(rows)

    @staticmethod
    def _record_abandoned(
        conn: Connection,
        rows: Sequence[Any],
        now: datetime,
        reason: str | None = None,
        ended: datetime | None = None,
    ) -> None:
        """A claim that ended without an outcome is a failed attempt: record it."""
        for row in rows:
            started = row.claimed_at or row.claim_expires_at or now
            expired = ended or row.claim_expires_at or now
            error = reason or (
                f"no outcome: worker {row.claimed_by} did not finish within its lease "
                "(crashed, stopped or too slow); trying again"
            )
            conn.execute(
                notification_attempts.insert().values(
                    notification_id=row.id,
                    attempt=row.attempts,
                    receiver=row.receiver,
                    worker=row.claimed_by or "",
                    started_at=started,
                    duration_ms=_ms(expired - started),
                    ok=False,
                    error=error,
                )
            )
            conn.execute(
                update(notifications).where(notifications.c.id == row.id).values(last_error=error)
            )

    def _claimed(self, conn: Connection, entry_id: int, worker_id: str) -> Any:
        t = notifications.c
        query = select(t.attempts, t.receiver).where(
            t.id == entry_id, t.claimed_by == worker_id, t.status == SENDING
        )
        if self._postgres:
            query = query.with_for_update()
        return conn.execute(query).first()

    def _attempt(
        self,
        conn: Connection,
        entry_id: int,
        row: Any,
        worker_id: str,
        now: datetime,
        duration: timedelta,
        error: str | None,
    ) -> None:
        conn.execute(
            notification_attempts.insert().values(
                notification_id=entry_id,
                attempt=row.attempts,
                receiver=row.receiver,
                worker=worker_id,
                started_at=now - duration,
                duration_ms=_ms(duration),
                ok=error is None,
                error=_clip(error) if error is not None else None,
            )
        )

    def mark_delivered(
        self, entry_id: int, worker_id: str, now: datetime, duration: timedelta
    ) -> bool:
        """Record a successful attempt; False when the claim was lost (another worker took
        the row over after the lease expired), in which case nothing is written."""
        with self._write() as conn:
            row = self._claimed(conn, entry_id, worker_id)
            if row is None:
                return False
            conn.execute(
                update(notifications)
                .where(notifications.c.id == entry_id)
                .values(status=DELIVERED, delivered_at=now, claim_expires_at=None, last_error=None)
            )
            self._attempt(conn, entry_id, row, worker_id, now, duration, None)
            return True

    def mark_failed_attempt(
        self,
        entry_id: int,
        worker_id: str,
        now: datetime,
        error: str,
        retryable: bool,
        policy: RetryPolicy,
        duration: timedelta = timedelta(0),
    ) -> str | None:
        """Record a failed attempt. A retryable error with attempts left goes back to
        pending after the policy's backoff; otherwise the row is failed for good.
        Returns the new status, or None when the claim was lost."""
        with self._write() as conn:
            row = self._claimed(conn, entry_id, worker_id)
            if row is None:
                return None
            self._attempt(conn, entry_id, row, worker_id, now, duration, error)
            if retryable and row.attempts < policy.max_attempts:
                values: dict[str, Any] = {
                    "status": PENDING,
                    "next_attempt_at": now + policy.delay(row.attempts, self._rng),
                }
            else:
                reason = "permanent error" if not retryable else f"{row.attempts} attempts"
                values = {"status": FAILED, "last_error": _clip(f"gave up ({reason}): {error}")}
            values.setdefault("last_error", _clip(error))
            conn.execute(
                update(notifications)
                .where(notifications.c.id == entry_id)
                .values(claim_expires_at=None, **values)
            )
            return str(values["status"])

    def finish_without_sending(
        self, entry_id: int, worker_id: str, status: str, reason: str
    ) -> bool:
        """End a claimed row without an attempt: `skipped` (nothing to send, e.g. only
        resolved alerts for a receiver with send_resolved off) or `failed` (e.g. attempts
        used up by workers that died mid-send)."""
        if status not in (SKIPPED, FAILED):
            raise ValueError(f"status must be {SKIPPED!r} or {FAILED!r}")
        with self._write() as conn:
            if self._claimed(conn, entry_id, worker_id) is None:
                return False
            conn.execute(
                update(notifications)
                .where(notifications.c.id == entry_id)
                .values(status=status, claim_expires_at=None, last_error=_clip(reason))
            )
            return True

    # -- reading -----------------------------------------------------------------------

    def depth(self) -> int:
        """Rows still to be delivered (pending or being sent): the engine's backlog gauge."""
        query = (
            select(func.count())
            .select_from(notifications)
            .where(notifications.c.status.in_((PENDING, SENDING)))
        )
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def due_receivers(self, now: datetime) -> set[str]:
        """Receivers with at least one row `claim_due` would take now (a cheap read that
        lets a worker claim per receiver without writing when nothing is due)."""
        t = notifications.c
        due = or_(
            and_(t.status == PENDING, t.next_attempt_at <= now),
            and_(t.status == SENDING, t.claim_expires_at <= now),
        )
        with self._engine.connect() as conn:
            return {r for (r,) in conn.execute(select(t.receiver).where(due).distinct())}

    def next_due_at(self) -> datetime | None:
        """The earliest time a pending row or an expired claim becomes due."""
        t = notifications.c
        with self._engine.connect() as conn:
            pending = conn.execute(
                select(func.min(t.next_attempt_at)).where(t.status == PENDING)
            ).scalar_one_or_none()
            sending = conn.execute(
                select(func.min(t.claim_expires_at)).where(t.status == SENDING)
            ).scalar_one_or_none()
        candidates = [d for d in (pending, sending) if d is not None]
        return min(candidates) if candidates else None

    def get(self, entry_id: int) -> OutboxEntry | None:
        with self._engine.connect() as conn:
            row = (
                conn.execute(select(notifications).where(notifications.c.id == entry_id))
                .mappings()
                .first()
            )
        return _entry(row) if row is not None else None

    def get_by_key(self, idempotency_key: str) -> OutboxEntry | None:
        query = select(notifications).where(notifications.c.idempotency_key == idempotency_key)
        with self._engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _entry(row) if row is not None else None

    def list(
        self,
        status: str | None = None,
        receiver: str | None = None,
        limit: int = 100,
    ) -> builtins.list[OutboxEntry]:
        """Newest first, optionally filtered."""
        query = select(notifications).order_by(notifications.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(notifications.c.status == status)
        if receiver is not None:
            query = query.where(notifications.c.receiver == receiver)
        with self._engine.connect() as conn:
            return [_entry(row) for row in conn.execute(query).mappings()]

    def attempts(self, entry_id: int) -> builtins.list[Attempt]:
        a = notification_attempts.c
        query = select(notification_attempts).where(a.notification_id == entry_id)
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(a.attempt)).mappings()
            return [Attempt(**{name: row[name] for name in Attempt.__slots__}) for row in rows]

    def consecutive_failures(self, receiver: str) -> int:
        """Failed attempts to this receiver since its last successful one (all of them if
        it never succeeded): feeds "a channel that keeps failing raises an alert"."""
        a = notification_attempts.c
        with self._engine.connect() as conn:
            last_ok = conn.execute(
                select(func.max(a.started_at)).where(a.receiver == receiver, a.ok)
            ).scalar_one_or_none()
            query = select(func.count()).where(a.receiver == receiver, not_(a.ok))
            if last_ok is not None:
                query = query.where(a.started_at > last_ok)
            return int(conn.execute(query).scalar_one())


# Imported last on purpose: `opsbook.store` exposes this repository as `Store.outbox`, so
# importing the store package from the top of this module would be circular when this
# module is imported first. At this point `OutboxRepository` exists for the store to use.
from opsbook.store.tables import notification_attempts, notifications  # noqa: E402
