"""Playbook runs in the store: created with their lock, step by step, resumable."""

from __future__ import annotations

import builtins
import json
import os
import socket
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, delete, func, insert, select, update

from opsbook.errors import OpsbookError
from opsbook.playbooks.records import RunRecord, RunStatus, StepRecord
from opsbook.store.tables import playbook_approvals, playbook_locks, playbook_runs, playbook_steps
from opsbook.store.transaction import write_transaction
from opsbook.store.upsert import insert_for


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead_here(worker: str) -> bool:
    """True when `worker` is a process on this host that no longer exists: its run was
    interrupted, whatever its last heartbeat says (no need to wait for it to go stale)."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class RunLockedError(OpsbookError):
    """Another run of the playbook holds the same target."""

    def __init__(self, key: str, holder: int) -> None:
        super().__init__(f"run #{holder} is already working on {key!r}; wait for it or abandon it")
        self.key = key
        self.holder = holder


def _run(row: Any) -> RunRecord:
    return RunRecord(
        id=row.id,
        playbook=row.playbook,
        status=RunStatus(row.status),
        params=json.loads(row.params),
        started_by=row.started_by,
        started_at=row.started_at,
        heartbeat_at=row.heartbeat_at,
        finished_at=row.finished_at,
        lock_key=row.lock_key,
        incident_id=row.incident_id,
        alert=row.alert,
        parent_id=row.parent_id,
        error=row.error,
    )


def _step(row: Any) -> StepRecord:
    return StepRecord(
        run_id=row.run_id,
        position=row.position,
        name=row.name,
        kind=row.kind,
        status=row.status,
        rendered=row.rendered,
        output=row.output,
        exit_code=row.exit_code,
        vars=json.loads(row.vars),
        attempts=row.attempts,
        started_at=row.started_at,
        finished_at=row.finished_at,
        error=row.error,
        confirmed_by=row.confirmed_by,
    )


class RunRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(
        self,
        playbook: str,
        params: Mapping[str, Any],
        started_by: str,
        now: datetime,
        *,
        lock_key: str | None,
        incident_id: int | None = None,
        alert: str | None = None,
        parent_id: int | None = None,
    ) -> RunRecord:
        """A new running run; with a lock key, the lock is taken in the same transaction
        or `RunLockedError` names the run holding it."""
        with write_transaction(self._engine) as conn:
            run_id = conn.execute(
                insert(playbook_runs)
                .values(
                    playbook=playbook,
                    status=RunStatus.RUNNING.value,
                    params=json.dumps(dict(params), sort_keys=True, default=str),
                    started_by=started_by[:200],
                    started_at=now,
                    heartbeat_at=now,
                    worker=this_worker(),
                    lock_key=lock_key,
                    incident_id=incident_id,
                    alert=alert,
                    parent_id=parent_id,
                )
                .returning(playbook_runs.c.id)
            ).scalar_one()
            if lock_key is not None:
                taken = conn.execute(
                    insert_for(self._engine)(playbook_locks)
                    .values(key=lock_key, run_id=run_id, acquired_at=now)
                    .on_conflict_do_nothing()
                    .returning(playbook_locks.c.key)
                ).first()
                if not taken:
                    holder = conn.execute(
                        select(playbook_locks.c.run_id).where(playbook_locks.c.key == lock_key)
                    ).scalar_one()
                    raise RunLockedError(lock_key, int(holder))  # rolls the run back too
        found = self.get(int(run_id))
        assert found is not None
        return found

    def get(self, run_id: int) -> RunRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(playbook_runs).where(playbook_runs.c.id == run_id)).first()
        return _run(row) if row is not None else None

    def list(
        self, *, playbook: str | None = None, status: str | None = None, limit: int = 50
    ) -> builtins.list[RunRecord]:
        query = select(playbook_runs).order_by(playbook_runs.c.id.desc()).limit(limit)
        if playbook:
            query = query.where(playbook_runs.c.playbook == playbook)
        if status:
            query = query.where(playbook_runs.c.status == status)
        with self._engine.connect() as conn:
            return [_run(r) for r in conn.execute(query)]

    def steps(self, run_id: int) -> builtins.list[StepRecord]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(playbook_steps)
                .where(playbook_steps.c.run_id == run_id)
                .order_by(playbook_steps.c.position)
            )
            return [_step(r) for r in rows]

    def record_step(self, step: StepRecord) -> None:
        values = asdict(step)
        values["vars"] = json.dumps(dict(step.vars), sort_keys=True, default=str)
        insert_ = insert_for(self._engine)(playbook_steps).values(**values)
        keys = ("run_id", "position")
        statement = insert_.on_conflict_do_update(
            index_elements=list(keys),
            set_={k: insert_.excluded[k] for k in values if k not in keys},
        )
        with write_transaction(self._engine) as conn:
            conn.execute(statement)

    def set_status(
        self, run_id: int, status: RunStatus, now: datetime, error: str | None = None
    ) -> None:
        values: dict[str, Any] = {"status": status.value, "heartbeat_at": now, "error": error}
        if status.finished:
            values["finished_at"] = now
        with write_transaction(self._engine) as conn:
            conn.execute(update(playbook_runs).where(playbook_runs.c.id == run_id).values(**values))
            if status.finished:
                conn.execute(delete(playbook_locks).where(playbook_locks.c.run_id == run_id))

    def heartbeat(self, run_id: int, now: datetime) -> None:
        with write_transaction(self._engine) as conn:
            conn.execute(
                update(playbook_runs).where(playbook_runs.c.id == run_id).values(heartbeat_at=now)
            )

    def claim_for_resume(self, run_id: int, now: datetime) -> bool:
        """Take an interrupted or waiting run back to running (only one process wins)."""
        resumable = (RunStatus.INTERRUPTED.value, RunStatus.WAITING.value)
        with write_transaction(self._engine) as conn:
            done = conn.execute(
                update(playbook_runs)
                .where(playbook_runs.c.id == run_id, playbook_runs.c.status.in_(resumable))
                .values(
                    status=RunStatus.RUNNING.value,
                    heartbeat_at=now,
                    error=None,
                    worker=this_worker(),
                )
            ).rowcount
        return bool(done)

    def mark_interrupted(self, stale_before: datetime) -> builtins.list[int]:
        """Runs whose process died (it stopped beating, or it was on this host and is
        gone): marked interrupted. Their lock is kept: the target may be half-changed
        until someone resumes or abandons the run."""
        with write_transaction(self._engine) as conn:
            running = conn.execute(
                select(
                    playbook_runs.c.id, playbook_runs.c.heartbeat_at, playbook_runs.c.worker
                ).where(playbook_runs.c.status == RunStatus.RUNNING.value)
            ).all()
            ids = [
                int(r.id) for r in running if r.heartbeat_at < stale_before or _dead_here(r.worker)
            ]
            if ids:
                conn.execute(
                    update(playbook_runs)
                    .where(playbook_runs.c.id.in_(ids))
                    .values(status=RunStatus.INTERRUPTED.value)
                )
                conn.execute(
                    update(playbook_steps)
                    .where(playbook_steps.c.run_id.in_(ids), playbook_steps.c.status == "running")
                    .values(status="interrupted")
                )
        return ids

    def approve(self, run_id: int, step: str, person: str, now: datetime) -> bool:
        with write_transaction(self._engine) as conn:
            added = conn.execute(
                insert_for(self._engine)(playbook_approvals)
                .values(run_id=run_id, step=step, person=person[:200], at=now)
                .on_conflict_do_nothing()
                .returning(playbook_approvals.c.person)
            ).first()
        return added is not None

    def approvals(self, run_id: int, step: str) -> builtins.list[str]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(playbook_approvals.c.person)
                .where(playbook_approvals.c.run_id == run_id, playbook_approvals.c.step == step)
                .order_by(playbook_approvals.c.at)
            )
            return [r.person for r in rows]

    def confirm(self, run_id: int, position: int, person: str) -> bool:
        """A person says a waiting manual step is done."""
        with write_transaction(self._engine) as conn:
            return bool(
                conn.execute(
                    update(playbook_steps)
                    .where(
                        and_(
                            playbook_steps.c.run_id == run_id,
                            playbook_steps.c.position == position,
                            playbook_steps.c.status == "waiting",
                        )
                    )
                    .values(confirmed_by=person[:200])
                ).rowcount
            )

    def recent(self, playbook: str, alert: str, since: datetime) -> int:
        """Runs of `playbook` started for `alert` since `since` (the auto-run rate limit)."""
        with self._engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(playbook_runs)
                    .where(
                        playbook_runs.c.playbook == playbook,
                        playbook_runs.c.alert == alert,
                        playbook_runs.c.started_at >= since,
                    )
                ).scalar_one()
            )
