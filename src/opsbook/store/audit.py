"""The audit log: who did what, to what, from where. Rows are appended, never changed."""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from opsbook.store.tables import audit_log
from opsbook.store.transaction import write_transaction

MAX_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any] = field(default_factory=dict)
    ip: str | None = None


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


class AuditRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(
        self,
        actor: str,
        action: str,
        target: str,
        now: datetime,
        *,
        detail: dict[str, Any] | None = None,
        ip: str | None = None,
    ) -> None:
        """Append one entry. `detail` must never hold a secret (no passwords, no tokens)."""
        with write_transaction(self._engine) as conn:
            conn.execute(
                audit_log.insert().values(
                    at=now,
                    actor=_clip(actor, 200),
                    action=_clip(action, 50),
                    target=_clip(target, 500),
                    detail=json.dumps(detail or {}, sort_keys=True, default=str),
                    ip=ip[:64] if ip else None,
                )
            )

    def list(self, limit: int = 100, action: str | None = None) -> builtins.list[AuditEntry]:
        """The newest `limit` entries (of `action`, or of an action prefix ending in '.'),
        newest first."""
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(min(limit, MAX_LIMIT))
        if action is not None and action.endswith("."):
            query = query.where(audit_log.c.action.startswith(action, autoescape=True))
        elif action is not None:
            query = query.where(audit_log.c.action == action)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            AuditEntry(r.id, r.at, r.actor, r.action, r.target, json.loads(r.detail), r.ip)
            for r in rows
        ]
