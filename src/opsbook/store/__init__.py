"""The store: SQLAlchemy Core over SQLite (default) or PostgreSQL, migrated on open.

Callers get a `Store` and use its repositories; nothing reaches for a global connection.
"""

from __future__ import annotations

from sqlalchemy import Engine

from opsbook.notify.outbox import OutboxRepository
from opsbook.store.alerts import AlertRepository, GroupRepository, SilenceRepository
from opsbook.store.api_tokens import ApiTokenRepository
from opsbook.store.audit import AuditRepository
from opsbook.store.engine import open_engine, resolve_url
from opsbook.store.heartbeats import HeartbeatRepository
from opsbook.store.incidents import IncidentRepository
from opsbook.store.migrate import migrate
from opsbook.store.probe_state import ProbeStateRepository
from opsbook.store.results import ResultRepository
from opsbook.store.rollups import RollupRepository
from opsbook.store.runs import RunRepository
from opsbook.store.tokens import TokenRepository
from opsbook.store.users import UserRepository, WebSessionRepository


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.results = ResultRepository(engine)
        self.probe_state = ProbeStateRepository(engine)
        self.alerts = AlertRepository(engine)
        self.silences = SilenceRepository(engine)
        self.groups = GroupRepository(engine)
        self.rollups = RollupRepository(engine, self.probe_state)
        self.outbox = OutboxRepository(engine)
        self.incidents = IncidentRepository(engine)
        self.tokens = TokenRepository(engine)
        self.heartbeats = HeartbeatRepository(engine)
        self.api_tokens = ApiTokenRepository(engine)
        self.runs = RunRepository(engine)
        self.users = UserRepository(engine)
        self.web_sessions = WebSessionRepository(engine)
        self.audit = AuditRepository(engine)

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect and migrate to the newest schema."""
        engine = open_engine(url)
        migrate(engine)
        return cls(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Store", "resolve_url"]
