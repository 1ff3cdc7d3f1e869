"""Helpers to reach the real servers tests use (PostgreSQL, Redis) or to skip/fail.

With OPSBOOK_REQUIRE_SERVICES=1 (set by CI) a missing server fails the test instead of
skipping it, so a green CI run always means the integration tests really ran.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_HOST = os.environ.get("OPSBOOK_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("OPSBOOK_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("OPSBOOK_TEST_PG_USER", "postgres")
REDIS_HOST = "127.0.0.1"
REDIS_PORT = int(os.environ.get("OPSBOOK_TEST_REDIS_PORT", "6379"))


def services_required() -> bool:
    return os.environ.get("OPSBOOK_REQUIRE_SERVICES") == "1"


def unavailable(reason: str) -> None:
    """Skip locally, fail on CI."""
    if services_required():
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port, 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"{host}:{port} did not open within {timeout}s")


def pg_url(database: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


@contextlib.contextmanager
def temporary_pg_database(prefix: str = "opsbook_test") -> Iterator[str]:
    """A fresh, empty PostgreSQL database; yields its URL and drops it afterwards."""
    import psycopg

    if not port_open(PG_HOST, PG_PORT):
        unavailable(f"PostgreSQL not answering on {PG_HOST}:{PG_PORT}")
    name = f"{prefix}_{os.getpid()}_{time.monotonic_ns() % 10**9}"
    admin = f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url(name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def private_redis(tmp_path: Path, *extra: str) -> Iterator[int]:
    """A redis-server of our own on a free port, for tests that change server config."""
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server binary not installed")
        raise AssertionError  # unreachable; keeps type checkers calm
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
