"""Check results and their samples: batch writes, recent reads, sample series."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, func, insert, select

from opsbook.checks.base import CheckResult
from opsbook.status import Status
from opsbook.store.tables import check_results, samples


class ResultRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(self, results: Sequence[CheckResult]) -> None:
        """Write a batch of results with their samples in one transaction."""
        if not results:
            return
        rows = [
            {
                "check_name": r.check,
                "service": r.service,
                "status": int(r.status),
                "message": r.message,
                "started_at": r.started_at,
                "duration_ms": r.duration_s * 1000,
            }
            for r in results
        ]
        with self._engine.begin() as conn:
            ids = (
                conn.execute(
                    insert(check_results).returning(
                        check_results.c.id, sort_by_parameter_order=True
                    ),
                    rows,
                )
                .scalars()
                .all()
            )
            sample_rows = [
                {
                    "result_id": result_id,
                    "name": name,
                    "check_name": result.check,
                    "ts": result.started_at,
                    "value": value,
                }
                for result_id, result in zip(ids, results, strict=True)
                for name, value in result.samples.items()
                if value == value  # NaN cannot be compared or aggregated: skip it
            ]
            if sample_rows:
                conn.execute(insert(samples), sample_rows)

    def latest(self, checks: Iterable[str] | None = None) -> dict[str, CheckResult]:
        """The newest result of each check (optionally only the named ones)."""
        newest = select(
            check_results.c.check_name, func.max(check_results.c.id).label("id")
        ).group_by(check_results.c.check_name)
        if checks is not None:
            newest = newest.where(check_results.c.check_name.in_(list(checks)))
        latest = newest.subquery()
        query = select(check_results).join(latest, check_results.c.id == latest.c.id)
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
            by_id = self._samples_for(conn, [row["id"] for row in rows])
        return {row["check_name"]: _result(row, by_id.get(row["id"], {})) for row in rows}

    def history(self, check: str, limit: int = 100) -> list[CheckResult]:
        """Newest first."""
        query = (
            select(check_results)
            .where(check_results.c.check_name == check)
            .order_by(check_results.c.id.desc())
            .limit(limit)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
            by_id = self._samples_for(conn, [row["id"] for row in rows])
        return [_result(row, by_id.get(row["id"], {})) for row in rows]

    def series(
        self, check: str, name: str, since: datetime, until: datetime | None = None
    ) -> list[tuple[datetime, float]]:
        """(time, value) of one sample of one check, oldest first."""
        condition = and_(
            samples.c.check_name == check, samples.c.name == name, samples.c.ts >= since
        )
        if until is not None:
            condition = and_(condition, samples.c.ts <= until)
        query = select(samples.c.ts, samples.c.value).where(condition).order_by(samples.c.ts)
        with self._engine.connect() as conn:
            return [(row.ts, row.value) for row in conn.execute(query)]

    def statuses(self, check: str, since: datetime) -> list[tuple[datetime, Status]]:
        """(time, status) of one check's results since `since`, oldest first."""
        query = (
            select(check_results.c.started_at, check_results.c.status)
            .where(check_results.c.check_name == check, check_results.c.started_at >= since)
            .order_by(check_results.c.started_at)
        )
        with self._engine.connect() as conn:
            return [(row.started_at, Status(row.status)) for row in conn.execute(query)]

    def count(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(check_results)).scalar_one())

    @staticmethod
    def _samples_for(conn: Any, ids: list[int]) -> dict[int, dict[str, float]]:
        out: dict[int, dict[str, float]] = {}
        if not ids:
            return out
        query = select(samples.c.result_id, samples.c.name, samples.c.value).where(
            samples.c.result_id.in_(ids)
        )
        for row in conn.execute(query):
            out.setdefault(row.result_id, {})[row.name] = row.value
        return out


def _result(row: Any, values: dict[str, float]) -> CheckResult:
    return CheckResult(
        check=row["check_name"],
        service=row["service"],
        status=Status(row["status"]),
        message=row["message"],
        started_at=row["started_at"],
        duration_s=row["duration_ms"] / 1000,
        samples=values,
    )
