"""Which database a command uses: --db, $OPSBOOK_DB, else SQLite next to the config."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsbook.errors import StoreError
from opsbook.store.engine import normalise_url, open_engine, resolve_url


def test_default_is_sqlite_next_to_config(tmp_path: Path) -> None:
    assert (
        resolve_url(None, tmp_path / "opsbook.yaml", {}) == f"sqlite:///{tmp_path / 'opsbook.db'}"
    )
    assert resolve_url(None, tmp_path / "demo.yaml", {}).endswith("/demo.db")


def test_env_and_explicit_override(tmp_path: Path) -> None:
    env = {"OPSBOOK_DB": "postgres://u@h/db"}
    assert resolve_url(None, tmp_path / "x.yaml", env) == "postgresql+psycopg://u@h/db"
    assert resolve_url("sqlite:///other.db", tmp_path / "x.yaml", env) == "sqlite:///other.db"


@pytest.mark.parametrize(
    "given,expected",
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_normalise(given: str, expected: str) -> None:
    assert normalise_url(given) == expected


def test_unsupported_and_invalid_urls() -> None:
    with pytest.raises(StoreError, match="unsupported database 'mysql'"):
        open_engine("mysql://u@h/db")
    with pytest.raises(StoreError, match="invalid database URL"):
        open_engine("::not a url::")
