"""Fixtures shared by unit and integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.services import REDIS_HOST, REDIS_PORT, port_open, temporary_pg_database, unavailable

# Timing is not what these properties test: on a busy shared machine, data generation and
# single examples can be slow without anything being wrong, so neither fails a test.
settings.register_profile(
    "shared-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("shared-machine")


@pytest.fixture
def pg_database() -> Iterator[str]:
    """URL of a fresh PostgreSQL database, dropped after the test."""
    with temporary_pg_database() as url:
        yield url


@pytest.fixture
def redis_port() -> int:
    """Port of the machine's shared Redis (do not change its config; use private_redis)."""
    if not port_open(REDIS_HOST, REDIS_PORT):
        unavailable(f"Redis not answering on {REDIS_HOST}:{REDIS_PORT}")
    return REDIS_PORT


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every store test runs on both backends."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        with temporary_pg_database() as url:
            yield url
