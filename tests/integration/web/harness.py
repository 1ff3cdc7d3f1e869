"""The real engine and its HTTP server (`serve_engine`, uvicorn) on 127.0.0.1, in this
process and on the test's event loop, plus what the web tests check on every refusal:
an RFC 9457 body and a store that did not change."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from opsbook.cli.serve_cmd import serve_engine
from opsbook.config.loader import load_config
from opsbook.store import Store, tables
from tests.services import free_port

PROBLEM_JSON = "application/problem+json"

# Everything an accepted request can write. A refused one must leave all of it as it was.
WRITTEN_BY_REQUESTS = (
    tables.alerts,
    tables.alert_events,
    tables.incidents,
    tables.incident_alerts,
    tables.incident_events,
    tables.incident_actions,
    tables.notifications,
    tables.heartbeat_state,
    tables.used_tokens,
)


@dataclass
class Served:
    base_url: str
    config_path: Path
    store: Store  # a second connection pool on the server's database, for assertions

    def url(self, path: str) -> str:
        return self.base_url + path


def reserve_port() -> tuple[int, str]:
    port = free_port()
    return port, f"http://127.0.0.1:{port}"


@contextlib.asynccontextmanager
async def serving(config_path: Path, port: int, db_url: str | None = None) -> AsyncIterator[Served]:
    """`serve_engine` for the config at `config_path` on `port` until the block ends; the
    store is `db_url`, by default SQLite next to the config (where the CLI looks too)."""
    config = load_config(config_path, environ={})
    db_url = db_url or f"sqlite:///{config_path.with_suffix('.db')}"
    store = Store.open(db_url)
    stop = asyncio.Event()
    task = asyncio.create_task(serve_engine(config, store, f"127.0.0.1:{port}", stop))
    base_url = f"http://127.0.0.1:{port}"
    inspect = Store.open(db_url)
    try:
        await _wait_ready(base_url, task)
        yield Served(base_url, config_path, inspect)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        inspect.close()
        store.close()


async def _wait_ready(base_url: str, task: asyncio.Task[None], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if task.done():
                task.result()
                raise AssertionError("the server stopped before it was ready")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{base_url}/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.05)
    raise TimeoutError(f"{base_url} not ready within {timeout}s")


def store_rows(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table a request can write, in a comparable form."""
    with store.engine.connect() as conn:
        return {
            table.name: sorted(
                (tuple(map(repr, row)) for row in conn.execute(select(table))), key=repr
            )
            for table in WRITTEN_BY_REQUESTS
        }


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)

    def problem(self, status: int) -> dict[str, Any]:
        """The RFC 9457 body of a refusal with `status`; fails the test otherwise."""
        assert self.status == status, f"expected {status}, got {self.status}: {self.text[:500]}"
        media = self.headers.get("content-type", "").split(";")[0].strip()
        assert media == PROBLEM_JSON, f"Content-Type {media!r}: {self.text[:200]}"
        body = self.json()
        assert body["status"] == status, body
        assert isinstance(body["title"], str) and body["title"], body
        assert isinstance(body["detail"], str) and body["detail"], body
        return body  # type: ignore[no-any-return]


async def send(
    method: str,
    url: str,
    *,
    data: Any = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """One request on a fresh connection; `data` may be bytes or an async iterator of
    bytes (sent with chunked transfer encoding)."""
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, data=data, headers=headers, allow_redirects=False) as response,
    ):
        body = await response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.headers.items()}, body)
