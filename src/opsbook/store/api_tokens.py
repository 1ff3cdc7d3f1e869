"""API tokens: created once (the secret is shown then and never again), checked on
every API request, revocable."""

from __future__ import annotations

import builtins
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Engine, select, update

from opsbook.store.tables import api_tokens
from opsbook.store.transaction import write_transaction

PREFIX = "obk"


class Role(StrEnum):
    """viewer reads; responder acts on incidents and alerts; admin does everything."""

    VIEWER = "viewer"
    RESPONDER = "responder"
    ADMIN = "admin"

    def allows(self, needed: Role) -> bool:
        order = list(Role)
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: str
    name: str
    role: Role
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiTokenRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, name: str, role: Role, created_by: str, now: datetime) -> tuple[ApiToken, str]:
        """The new token and its full secret text (``obk_<id>_<secret>``)."""
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        with write_transaction(self._engine) as conn:
            conn.execute(
                api_tokens.insert().values(
                    id=token_id,
                    name=name,
                    role=role.value,
                    secret_hash=_hash(secret),
                    created_by=created_by,
                    created_at=now,
                )
            )
        token = ApiToken(token_id, name, role, created_by, now, None, None)
        return token, f"{PREFIX}_{token_id}_{secret}"

    def authenticate(self, text: str, now: datetime) -> ApiToken | None:
        """The live token `text` proves, or None (unknown, wrong secret, revoked)."""
        prefix, _, rest = text.partition("_")
        token_id, _, secret = rest.partition("_")
        if prefix != PREFIX or len(token_id) != 16 or not secret or len(text) > 200:
            return None
        with self._engine.connect() as conn:
            row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.secret_hash, _hash(secret)):
            return None
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            with write_transaction(self._engine) as conn:  # at most once a minute
                conn.execute(
                    update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now)
                )
        return ApiToken(row.id, row.name, Role(row.role), row.created_by, row.created_at, now, None)

    def list(self) -> builtins.list[ApiToken]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(api_tokens).order_by(api_tokens.c.created_at)).all()
        return [
            ApiToken(
                r.id, r.name, Role(r.role), r.created_by, r.created_at, r.last_used_at, r.revoked_at
            )
            for r in rows
        ]

    def revoke(self, token_id: str, now: datetime) -> bool:
        with write_transaction(self._engine) as conn:
            result = conn.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return bool(result.rowcount)
