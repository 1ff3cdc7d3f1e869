"""Table definitions (SQLAlchemy Core). Alembic migrations create and evolve them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
)

# Naming convention so Alembic autogenerate and hand-written migrations agree on names.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite has no BIGINT autoincrement; INTEGER PRIMARY KEY is its 64-bit rowid.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: identical behaviour on SQLite and PostgreSQL."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stamp = datetime.fromisoformat(value) if isinstance(value, str) else value
        assert isinstance(stamp, datetime)
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


check_results = Table(
    "check_results",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("check_name", String(100), nullable=False),
    Column("service", String(100), nullable=True),
    Column("status", SmallInteger, nullable=False),
    Column("message", Text, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("duration_ms", Float, nullable=False),
    Index(None, "check_name", "started_at"),
    Index(None, "started_at"),
)

samples = Table(
    "samples",
    metadata,
    Column(
        "result_id",
        Id,
        ForeignKey("check_results.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("name", String(100), primary_key=True),
    Column("check_name", String(100), nullable=False),
    Column("ts", UTCDateTime, nullable=False),
    Column("value", Float, nullable=False),
    Index(None, "check_name", "name", "ts"),
)

probe_state = Table(
    "probe_state",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
