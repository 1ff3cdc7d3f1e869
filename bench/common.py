"""What bench/detection.py and bench/scale.py share: free ports, child processes stopped by
their PID, a webhook receiver that timestamps arrivals, `opsbook serve` and the demo
target as child processes, percentiles, and a Rich console.

The benches run as scripts (``python bench/detection.py``), so this module is imported by
its bare name from the scripts' own directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from rich.console import Console

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent

# Wide enough that table rows stay on one line when the output goes to a file.
console = Console(highlight=False, width=shutil.get_terminal_size(fallback=(160, 24)).columns)


class BenchError(Exception):
    """The bench could not measure what it claims to (a server did not start, ...)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): always one of the measured values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


# --------------------------------------------------------------------------- child processes


@dataclass
class Child:
    """A process the bench started; stopped by its PID (SIGTERM, then SIGKILL)."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, chars: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is not None:
            return
        os.kill(self.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self.process.wait()


def start_child(
    name: str, argv: Sequence[str], log: Path, env: dict[str, str] | None = None
) -> Child:
    with log.open("ab") as handle:
        process = subprocess.Popen(
            list(argv),
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    return Child(name, process, log)


@contextlib.contextmanager
def children() -> Iterator[list[Child]]:
    """A list to put started children in; all are stopped (newest first) on the way out."""
    started: list[Child] = []
    try:
        yield started
    finally:
        for child in reversed(started):
            child.stop()


def wait_until(
    ready: Callable[[], bool], what: str, timeout: float, child: Child | None = None
) -> None:
    """Poll `ready` until it holds; fail early if `child` exits. On failure `child` is
    stopped: the caller never got hold of it to stop it later."""
    try:
        _poll(ready, what, timeout, child)
    except BaseException:
        if child is not None:
            child.stop()
        raise


def _poll(ready: Callable[[], bool], what: str, timeout: float, child: Child | None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None and not child.alive():
            raise BenchError(
                f"{child.name} exited with {child.process.returncode}:\n{child.tail()}"
            )
        with contextlib.suppress(OSError):
            if ready():
                return
        time.sleep(0.1)
    tail = f":\n{child.tail()}" if child is not None else ""
    raise BenchError(f"{what} not ready within {timeout:.0f}s{tail}")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def start_demo_target(directory: Path) -> tuple[Child, str]:
    """`python -m opsbook.demo.target --port 0` in its own process; returns it and its URL."""
    log = directory / "target.log"
    child = start_child(
        "demo target", [sys.executable, "-m", "opsbook.demo.target", "--port", "0"], log
    )
    found: list[str] = []

    def listening() -> bool:
        match = re.search(r"listening on (http://\S+)", child.tail(10_000))
        if match:
            found.append(match.group(1))
        return bool(found)

    wait_until(listening, "demo target", 20, child)
    return child, found[0]


def start_serve(directory: Path, config: Path, db_url: str, port: int) -> Child:
    """`opsbook serve` in its own process, JSON logs in serve.log; waits for /healthz."""
    argv = [sys.executable, "-m", "opsbook", "serve", "-c", str(config), "--db", db_url]
    argv += ["--listen", f"127.0.0.1:{port}"]
    child = start_child("opsbook serve", argv, directory / "serve.log")
    wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/healthz"), "opsbook serve", 120, child)
    return child


def serve_log(path: Path) -> list[dict[str, Any]]:
    """The JSON lines `opsbook serve` wrote (other lines skipped)."""
    records = []
    for line in path.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict):
                records.append(record)
    return records


# --------------------------------------------------------------------------- webhook receiver


@dataclass(frozen=True)
class Hook:
    """One request a receiver got."""

    path: str
    key: str | None  # Idempotency-Key header (opsbook sends one; Alertmanager does not)
    payload: dict[str, Any]
    at: float  # time.time() on arrival

    @property
    def status(self) -> str:
        return str(self.payload.get("status", ""))

    def alerts(self, status: str) -> list[dict[str, Any]]:
        return [a for a in self.payload.get("alerts", []) if a.get("status") == status]


@dataclass
class WebhookReceiver:
    """An aiohttp server on the bench's loop that answers 200 and records every POST."""

    hooks: list[Hook] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    base_url: str = ""
    _runner: web.AppRunner | None = None

    async def __aenter__(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def url(self, path: str) -> str:
        return self.base_url + path

    def on(self, path: str, since: float = 0.0) -> list[Hook]:
        return [h for h in self.hooks if h.path == path and h.at >= since]

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        at = time.time()
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {"unreadable": body[:200].decode(errors="replace")}
        self.hooks.append(Hook(request.path, request.headers.get("Idempotency-Key"), payload, at))
        self.arrived.set()
        return web.json_response({"status": "ok"})

    async def wait(self, done: Callable[[], bool], within: float) -> bool:
        """Until `done()` holds (checked on every arrival) or `within` seconds pass."""
        deadline = time.monotonic() + within
        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), remaining)
        return True


def work_directory(stack: contextlib.ExitStack, workdir: Path | None, prefix: str) -> Path:
    """`--workdir` (created, and kept afterwards), else a temporary directory that `stack`
    removes: where a bench keeps configs, logs and stores."""
    if workdir is not None:
        directory = workdir.resolve()
        directory.mkdir(parents=True, exist_ok=True)
        return directory
    return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))


PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_URL = "postgresql://postgres@127.0.0.1:5432/{name}"


@contextlib.contextmanager
def store_url(directory: Path, db: str, bench: str) -> Iterator[tuple[str, str]]:
    """The store URL for `--db` and a label for the report; a fresh PostgreSQL database
    is created for "postgresql" and dropped on the way out."""
    if db == "sqlite":
        yield f"sqlite:///{directory / 'opsbook.db'}", "SQLite"
        return
    if db != "postgresql":
        yield db, db.split(":", 1)[0]
        return
    import psycopg

    name = f"opsbook_bench_{bench}_{os.getpid()}"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        raise BenchError(f"cannot create a PostgreSQL database ({PG_ADMIN}): {exc}") from exc
    try:
        yield PG_URL.format(name=name), "PostgreSQL"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
