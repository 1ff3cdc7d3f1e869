"""`opsbook demo`: start the demo service and the engine against it, print what happens.

Nothing to set up: the service runs in this process on 127.0.0.1, the checks come from
the bundled ``demo.yaml`` and results go to a SQLite file in a temporary directory
(removed on exit) unless ``--db`` names a database to keep them in.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import secrets
import shutil
import signal
import socket
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any

import typer
from aiohttp import web
from rich.text import Text

from opsbook.checks.base import CheckResult
from opsbook.checks.context import ProbeContext
from opsbook.checks.runner import run_checks
from opsbook.cli.check_cmd import STATUS_STYLE, render_table, select_checks, summary_line
from opsbook.cli.common import fail, open_store, out, print_config_error
from opsbook.config.loader import load_config
from opsbook.config.models import Config
from opsbook.config.types import format_duration, parse_duration
from opsbook.demo import demo_config_path
from opsbook.demo.modes import Mode, ModeSettings
from opsbook.demo.sink import DemoSink
from opsbook.demo.target import DEFAULT_PORT, MODE_PATH, RunningTarget, start_target
from opsbook.errors import ConfigError, OpsbookError
from opsbook.status import Status, worst
from opsbook.store import Store

DEMO_URL_ENV = "OPSBOOK_DEMO_URL"
DEMO_HOOK_ENV = "OPSBOOK_DEMO_HOOK"
DEMO_LISTEN_ENV = "OPSBOOK_DEMO_LISTEN"
DEFAULT_LISTEN_PORT = 8080
DEMO_PORT_ENV = "OPSBOOK_DEMO_PORT"
MIN_INTERVAL = timedelta(seconds=1)
HOST = "127.0.0.1"


def parse_interval(text: str) -> timedelta:
    """`--interval`: a duration of at least one second."""
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--interval") from None
    if value < MIN_INTERVAL:
        raise typer.BadParameter(
            f"must be at least {format_duration(MIN_INTERVAL)}", param_hint="--interval"
        )
    return value


async def start_demo_target(
    port: int, mode: Mode = Mode.HEALTHY
) -> tuple[RunningTarget, str | None]:
    """Start the service on `port`, or on a free port when that one is taken."""
    settings = ModeSettings(mode=mode)
    try:
        return await start_target(port, HOST, settings=settings), None
    except OSError as exc:
        if port == 0 or exc.errno != errno.EADDRINUSE:
            fail(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}")
    running = await start_target(0, HOST, settings=settings)
    return running, f"port {port} is in use, so the service took port {running.port}"


def _load_demo_config() -> Config:
    try:
        return load_config(demo_config_path())
    except ConfigError as error:
        print_config_error(error)
        raise typer.Exit(2) from None
    except OpsbookError as exc:
        fail(str(exc))


def _temporary_store(stack: contextlib.ExitStack) -> str:
    directory = Path(tempfile.mkdtemp(prefix="opsbook-demo-"))
    stack.callback(shutil.rmtree, directory, ignore_errors=True)
    return str(directory / "demo.db")


def _print_header(
    base_url: str, config: Config, results_at: str, temporary: bool, cadence: str
) -> None:
    mode_url = f"{base_url}{MODE_PATH}"
    breaking = ", ".join(m.value for m in Mode if m is not Mode.HEALTHY)
    kept = "removed on exit; keep them with --db FILE" if temporary else "kept"
    down, healthy = '{"mode": "down"}', '{"mode": "healthy"}'
    lines = [
        f"opsbook demo: an imitation production API, {cadence}",
        f"  service  {base_url}",
        f"  checks   {config.path} ({len(config.checks)} checks)",
        f"  results  {config.redactor(results_at)} ({kept})",
        "",
        f"Break it:  curl -X POST {mode_url} -d '{down}'",
        f"           other modes: {breaking}",
        f"Fix it:    curl -X POST {mode_url} -d '{healthy}'",
        f"Now:       curl {mode_url}",
    ]
    for line in lines:
        out.print(line, markup=False)


def _print_round(config: Config, results: list[CheckResult], elapsed: float) -> None:
    overall = worst(r.status for r in results)
    out.rule(f"checks at {datetime.now().astimezone():%H:%M:%S}")
    out.print(render_table(config, results))
    out.print(Text(summary_line(results, elapsed), style=STATUS_STYLE[overall]))


def _stop_on_signals(stack: contextlib.ExitStack) -> asyncio.Event:
    """An event set by Ctrl-C (SIGINT) or SIGTERM while the demo runs."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # platforms without signal handlers
            loop.add_signal_handler(signum, stop.set)
            stack.callback(loop.remove_signal_handler, signum)
    return stop


async def _unless_stopped(
    round_: asyncio.Future[list[CheckResult]], stop: asyncio.Event
) -> list[CheckResult] | None:
    """The round's results, or None (round cancelled) when `stop` is set first."""
    stopped = asyncio.ensure_future(stop.wait())
    waiting: list[asyncio.Future[Any]] = [round_, stopped]
    try:
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if round_.done():
        return round_.result()
    round_.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await round_
    return None


async def _one_round(config: Config, store: Store) -> Status | None:
    """Every check once, recorded and printed: the worst status, or None on a signal."""
    loop = asyncio.get_running_loop()
    with contextlib.ExitStack() as signals:
        stop = _stop_on_signals(signals)
        began = loop.time()
        checks = select_checks(config, [], None)
        async with ProbeContext(config.base_dir, config.redactor, store.probe_state) as ctx:
            results = await _unless_stopped(asyncio.ensure_future(run_checks(checks, ctx)), stop)
        if results is None:
            return None
        elapsed = loop.time() - began
        await asyncio.to_thread(store.results.record, results)
        _print_round(config, results, elapsed)
        return worst(r.status for r in results)


async def _start_sink() -> tuple[web.AppRunner, str]:
    """The local webhook receiver that prints notifications as they arrive."""

    def show(lines: list[str]) -> None:
        stamp = f"{datetime.now().astimezone():%H:%M:%S}"
        for line in lines:
            style = "bold green" if line.startswith("RESOLVED") else "bold red"
            out.print(Text(f"[{stamp}] notification  {line}", style=style))

    runner = web.AppRunner(DemoSink(show).app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://{HOST}:{port}/hook"


def _free_listen(port: int) -> str:
    """127.0.0.1:port for the engine's HTTP server, or a free port when that one is taken."""
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            sock.bind((HOST, 0))
        return f"{HOST}:{sock.getsockname()[1]}"


async def _status_lines(
    store: Store, config: Config, every: timedelta, stop: asyncio.Event
) -> None:
    """A one-line health summary every `every`, from what the engine stored."""
    names = [c.name for c in config.checks]
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every.total_seconds())
            return
        latest = await asyncio.to_thread(store.results.latest)
        results = [latest[name] for name in names if name in latest]
        if results:
            overall = worst(r.status for r in results)
            stamp = f"{datetime.now().astimezone():%H:%M:%S}"
            failing = [
                f"{r.check} ({r.status.label})" for r in results if r.status is not Status.OK
            ]
            detail = f": {', '.join(failing)}" if failing else ""
            line = f"[{stamp}] checks      {overall.name} {len(results)} checks{detail}"
            out.print(Text(line, style=STATUS_STYLE[overall]))


@contextlib.asynccontextmanager
async def _demo_started(
    port: int,
    mode: Mode,
    db: str | None,
    cadence: Callable[[Config], str],
    environ: Mapping[str, str] = MappingProxyType({}),
) -> AsyncIterator[tuple[Config, Store]]:
    """The demo service running, demo.yaml loaded against it (with `environ` exported for
    its ${ENV:...} references) and the store open; the header printed. Everything is
    stopped, closed and (for a temporary store) removed on exit."""
    with contextlib.ExitStack() as files:
        running, note = await start_demo_target(port, mode)
        try:
            os.environ[DEMO_URL_ENV] = running.base_url
            os.environ[DEMO_PORT_ENV] = str(running.port)
            os.environ.update(environ)
            config = _load_demo_config()
            url = db or _temporary_store(files)
            store = open_store(url, config)
            files.callback(store.close)  # closed before its temporary directory is removed
            _print_header(running.base_url, config, url, db is None, cadence(config))
            if note:
                out.print(f"note: {note}", markup=False)
            if mode is not Mode.HEALTHY:
                out.print(f"note: the service starts in mode {mode.value!r}", markup=False)
            yield config, store
        finally:
            await running.close()


def _engine_cadence(config: Config) -> str:
    intervals = sorted({format_duration(c.interval) for c in config.checks})
    return f"checked by the engine every {', '.join(intervals)}"


async def run_engine_demo(
    port: int, every: timedelta, db: str | None, mode: Mode, listen_port: int
) -> None:
    """The full loop: the engine checks the service, alerts and notifies a local sink."""
    from opsbook.cli.serve_cmd import serve_engine

    sink, hook = await _start_sink()
    try:
        listen = _free_listen(listen_port)
        environ = {DEMO_HOOK_ENV: hook, DEMO_LISTEN_ENV: listen}
        async with _demo_started(port, mode, db, _engine_cadence, environ) as (config, store):
            out.print(f"  engine   http://{listen}/metrics  http://{listen}/readyz", markup=False)
            user, password = _demo_user(store)
            out.print(
                f"  dashboard http://{listen}/  sign in as {user}"
                + (f" / {password}" if password else " (password as set before)")
                + f"; public status page http://{listen}/status",
                markup=False,
            )
            out.print(
                "Alerts fire after a few failed checks (see rules in demo.yaml) and are "
                "delivered to a local webhook, printed here.",
                markup=False,
            )
            with contextlib.ExitStack() as signals:
                stop = _stop_on_signals(signals)
                printer = asyncio.create_task(_status_lines(store, config, every, stop))
                await serve_engine(config, store, listen, stop)
                await printer
    finally:
        await sink.cleanup()


def _demo_user(store: Store) -> tuple[str, str | None]:
    """An admin to sign in to the dashboard with: created with a random password the
    first time a demo store is used (printed once, like a token), kept after that."""
    from opsbook.store.api_tokens import Role

    name = "demo"
    if store.users.get(name) is not None:
        return name, None
    password = secrets.token_urlsafe(12)
    store.users.add(name, password, Role.ADMIN, datetime.now(UTC))
    return name, password


async def run_demo_once(port: int, db: str | None, mode: Mode = Mode.HEALTHY) -> Status | None:
    """One round of checks against the demo service, for scripts and CI."""
    async with _demo_started(port, mode, db, lambda _: "checked once") as (config, store):
        return await _one_round(config, store)


def demo(
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port for the demo service (0: any free one).")
    ] = DEFAULT_PORT,
    interval: Annotated[
        str, typer.Option(help="Time between the health summary lines, e.g. 5s or 1m.")
    ] = "5s",
    once: Annotated[
        bool, typer.Option("--once", help="Run one round; exit with its worst status (0-3).")
    ] = False,
    mode: Annotated[
        Mode, typer.Option(help="Mode the service starts in (switch it later with curl).")
    ] = Mode.HEALTHY,
    listen_port: Annotated[
        int,
        typer.Option(min=0, max=65535, help="Port for the engine's HTTP server (/metrics)."),
    ] = DEFAULT_LISTEN_PORT,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Keep results in this database (SQLite path or postgresql:// URL). "
            "Default: a temporary SQLite file, removed on exit.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run a local imitation production API and the engine against it; break it with curl.

    Starts the demo service on 127.0.0.1 and the engine with the bundled demo.yaml (checks,
    rules, a local webhook receiver whose notifications are printed here), with /metrics on
    --listen-port. --once runs one round of checks, prints the table and exits with its
    worst status. Ctrl-C or SIGTERM stops it.
    """
    every = parse_interval(interval)
    if not once:
        asyncio.run(run_engine_demo(port, every, db, mode, listen_port))
        out.print("demo stopped", markup=False)
        raise typer.Exit(0)
    status = asyncio.run(run_demo_once(port, db, mode))
    if status is None:
        out.print("demo stopped", markup=False)
        raise typer.Exit(0)
    raise typer.Exit(int(status))
