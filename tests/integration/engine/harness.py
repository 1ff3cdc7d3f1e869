"""Run a real engine (in this process, or as an `opsbook serve` subprocess) against the
demo target and real local receivers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp

from opsbook.config.loader import load_config
from opsbook.engine.core import Engine
from opsbook.store import Store
from tests.services import free_port


async def set_mode(base_url: str, mode: str) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{base_url}/_demo/mode", json={"mode": mode}) as response,
    ):
        assert response.status == 200, await response.text()


def write_config(directory: Path, text: str) -> Path:
    path = directory / "opsbook.yaml"
    path.write_text(text)
    return path


@contextlib.asynccontextmanager
async def engine_running(config_path: Path, db_url: str | None = None) -> AsyncIterator[Engine]:
    """The engine in this process, on this event loop, stopped cleanly at the end."""
    config = load_config(config_path, environ={})
    store = Store.open(db_url or f"sqlite:///{config_path.with_suffix('.db')}")
    engine = Engine(config, store)
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop))
    await asyncio.wait_for(engine.started.wait(), 10)
    try:
        yield engine
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        store.close()


class ServeProcess:
    """`opsbook serve` as a child process, so tests can kill -9 it like a crash would."""

    def __init__(self, config_path: Path, db_url: str | None = None) -> None:
        self.config_path = config_path
        self.db_url = db_url
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None
        self.log = config_path.parent / "serve.log"

    async def start(self) -> None:
        args = [sys.executable, "-m", "opsbook", "serve", "-c", str(self.config_path)]
        args += ["--listen", f"127.0.0.1:{self.port}"]
        if self.db_url:
            args += ["--db", self.db_url]
        handle = self.log.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            *args, stdout=handle, stderr=handle, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
        handle.close()
        await self.wait_ready()

    async def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.returncode is not None:
                    raise AssertionError(f"opsbook serve exited: {self.log.read_text()[-2000:]}")
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/healthz") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise TimeoutError(f"opsbook serve not ready: {self.log.read_text()[-2000:]}")

    async def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 30)
        return self.process.returncode if self.process.returncode is not None else -1


async def eventually(
    predicate: Callable[[], bool], timeout: float = 10, step: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(step)
