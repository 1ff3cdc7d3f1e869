"""Bring a database to the newest schema; called automatically whenever a store opens."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).parent / "migrations"
# Arbitrary constant: serialises concurrent migrations from several engine nodes.
_PG_LOCK_ID = 0x0B5B00C


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


_REVISION = re.compile(r'^revision = "([^"]+)"', re.MULTILINE)
_DOWN = re.compile(r'^down_revision = (?:"([^"]+)"|None)', re.MULTILINE)


@cache
def head_revision() -> str | None:
    """The newest migration, read from the files without importing Alembic (slow to
    import, and not needed at all when the database is already up to date)."""
    revisions: dict[str, str | None] = {}
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text_ = path.read_text(encoding="utf-8")
        found = _REVISION.search(text_)
        down = _DOWN.search(text_)
        if found and down:
            revisions[found.group(1)] = down.group(1)
    parents = {down for down in revisions.values() if down}
    heads = [rev for rev in revisions if rev not in parents]
    if len(heads) != 1:
        raise RuntimeError(f"migrations must form one line, found heads {heads}")
    return heads[0]


def current_revision(connection: Connection) -> str | None:
    """What `alembic current` says, read directly (one query, no Alembic import)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine) -> None:
    """Upgrade to head. Cheap when already there (one query, Alembic not invoked)."""
    head = head_revision()
    with engine.connect() as connection:
        if current_revision(connection) == head:
            return
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
        from alembic import command

        command.upgrade(alembic_config(connection), "head")
