"""The demo service: a small web API that imitates a production service, with a fault switch.

It gives newcomers, tests and benchmarks something real to monitor:

- ``GET /health`` (also ``/api/v1/health``): liveness, ``{"status": "ok"}``;
- ``GET /api/v1/health/detailed``: component health shaped like the api-backend runbook's
  (database, redis, memory);
- ``GET /metrics``: Prometheus exposition (requests by route and status, a latency
  histogram, the current mode); it answers in every mode so the counters can be watched;
- ``GET /api/v1/items`` and ``/api/v1/items/{id}``: app endpoints that write one JSON log
  line per request (time, level, method, path, status, duration_ms, trace_id), as the
  content-service runbook greps them;
- ``GET``/``POST /_demo/mode``: read or switch the failure mode
  (``curl -X POST .../_demo/mode -d '{"mode": "down"}'``); see `opsbook.demo.modes`.

Run alone: ``python -m opsbook.demo.target --port 8081 [--log FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import psutil
from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from opsbook.demo.modes import (
    MAX_MODE_BODY,
    MODE_DESCRIPTIONS,
    Mode,
    ModeRequestError,
    ModeSettings,
    Reply,
    Vitals,
    delay_s,
    detailed_health_reply,
    drops_connection,
    health_reply,
    is_failing,
    item_reply,
    items_reply,
    log_record,
    parse_mode_change,
    trace_id_for,
)

DEFAULT_PORT = 8081
MODE_PATH = "/_demo/mode"
HEALTH_ROUTES = frozenset({"/health", "/api/v1/health", "/api/v1/health/detailed"})
APP_ROUTES = frozenset({"/api/v1/items", "/api/v1/items/{item_id}"})
# Routes the failure modes apply to; /metrics and the mode switch always answer.
SERVICE_ROUTES = HEALTH_ROUTES | APP_ROUTES
UNMATCHED = "unmatched"
# The classic text format that generate_latest writes; every Prometheus version reads it.
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
# A request held up by slow mode must not hold up shutdown for long.
SHUTDOWN_TIMEOUT_S = 1.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _route(request: web.Request) -> str:
    """The route template (bounded metric labels), not the raw path."""
    info = request.match_info.route.resource
    return info.canonical if info is not None else UNMATCHED


def _respond(reply: Reply) -> web.Response:
    return web.Response(status=reply.status, text=reply.text(), content_type=reply.content_type)


class DemoTarget:
    """The service's state (mode, counters, metrics, log) and its aiohttp application."""

    def __init__(
        self,
        settings: ModeSettings | None = None,
        log: TextIO | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings or ModeSettings()
        self._log = log
        self._now = clock or (lambda: datetime.now(UTC))
        self._rng = rng or random.Random()  # noqa: S311 - simulated latencies, not secrets
        self._started = time.monotonic()
        self._erroring_index = 0
        self._process = psutil.Process()
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "http_requests",
            "HTTP requests answered, by route and status.",
            ["path", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "http_request_duration_seconds",
            "Time to answer HTTP requests, by route.",
            ["path"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._mode = Gauge(
            "demo_mode",
            "1 for the current failure mode, 0 for the others.",
            ["mode"],
            registry=self.registry,
        )
        self._show_mode()

    def set_settings(self, settings: ModeSettings) -> None:
        if settings.mode is not self.settings.mode:
            self._erroring_index = 0
        self.settings = settings
        self._show_mode()

    def _show_mode(self) -> None:
        for mode in Mode:
            self._mode.labels(mode=mode.value).set(1 if mode is self.settings.mode else 0)

    def app(self) -> web.Application:
        @web.middleware
        async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
            return await self._observe(request, handler)

        app = web.Application(middlewares=[observe])
        for path in ("/health", "/api/v1/health"):
            app.router.add_get(path, self._health)
        app.router.add_get("/api/v1/health/detailed", self._detailed)
        app.router.add_get("/api/v1/items", self._items)
        app.router.add_get("/api/v1/items/{item_id}", self._item)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get(MODE_PATH, self._get_mode)
        app.router.add_post(MODE_PATH, self._set_mode)
        return app

    async def _observe(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        route = _route(request)
        started = time.perf_counter()
        if route in SERVICE_ROUTES:
            if drops_connection(self.settings):
                self._count(route, "dropped", started)
                if request.transport is not None:
                    request.transport.abort()
                raise web.HTTPServiceUnavailable()  # the client never sees it: it is gone
            await asyncio.sleep(delay_s(self.settings))
        trace_id = trace_id_for(request.headers.get("X-Trace-Id"), uuid.uuid4().hex)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            self._finish(request, route, exc.status, started, trace_id)
            raise
        response.headers["X-Trace-Id"] = trace_id
        self._finish(request, route, response.status, started, trace_id)
        return response

    def _count(self, route: str, status: str, started: float) -> None:
        self._requests.labels(path=route, status=status).inc()
        self._latency.labels(path=route).observe(time.perf_counter() - started)

    def _finish(
        self, request: web.Request, route: str, status: int, started: float, trace_id: str
    ) -> None:
        self._count(route, str(status), started)
        if self._log is not None and route in APP_ROUTES:
            duration_ms = (time.perf_counter() - started) * 1000
            record = log_record(
                self._now(), request.method, request.path, status, duration_ms, trace_id
            )
            self._log.write(json.dumps(record) + "\n")
            self._log.flush()

    def _vitals(self) -> Vitals:
        return Vitals(
            uptime_s=time.monotonic() - self._started,
            database_ms=self._rng.uniform(0.8, 4.0),
            redis_ms=self._rng.uniform(0.2, 1.5),
            memory_used_pct=self._process.memory_percent(),
        )

    def _next_failing(self) -> bool:
        if self.settings.mode is not Mode.ERRORING:
            return False
        index = self._erroring_index
        self._erroring_index += 1
        return is_failing(index, self.settings.error_share)

    async def _health(self, _: web.Request) -> web.Response:
        return _respond(health_reply(self.settings))

    async def _detailed(self, _: web.Request) -> web.Response:
        return _respond(detailed_health_reply(self.settings, self._vitals()))

    async def _items(self, _: web.Request) -> web.Response:
        return _respond(items_reply(self.settings, self._next_failing()))

    async def _item(self, request: web.Request) -> web.Response:
        item_id = request.match_info["item_id"]
        return _respond(item_reply(self.settings, self._next_failing(), item_id))

    async def _metrics(self, _: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})

    async def _get_mode(self, _: web.Request) -> web.Response:
        modes = {mode.value: text for mode, text in MODE_DESCRIPTIONS.items()}
        return web.json_response({**self.settings.to_json(), "modes": modes})

    async def _set_mode(self, request: web.Request) -> web.Response:
        try:
            if (request.content_length or 0) > MAX_MODE_BODY:
                raise ModeRequestError(413, f"body is larger than {MAX_MODE_BODY} bytes")
            raw = await _read_capped(request, MAX_MODE_BODY + 1)
            settings = parse_mode_change(raw, self.settings)
        except ModeRequestError as exc:
            return web.json_response({"error": exc.reason}, status=exc.status)
        self.set_settings(settings)
        return web.json_response(settings.to_json())


async def _read_capped(request: web.Request, limit: int) -> bytes:
    """Read the body, but never more than `limit` bytes (chunked bodies included)."""
    body = bytearray()
    while len(body) < limit:
        chunk = await request.content.read(limit - len(body))
        if not chunk:
            break
        body += chunk
    return bytes(body)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _open_log(path: Path) -> TextIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("a", encoding="utf-8", buffering=1)


@dataclass
class RunningTarget:
    """A started demo service; `close()` stops it and closes its log file."""

    base_url: str
    port: int
    target: DemoTarget
    _runner: web.AppRunner = field(repr=False)
    _log: TextIO | None = field(default=None, repr=False)

    async def close(self) -> None:
        await self._runner.cleanup()
        if self._log is not None:
            self._log.close()


async def start_target(
    port: int = 0,
    host: str = "127.0.0.1",
    *,
    log_path: Path | None = None,
    settings: ModeSettings | None = None,
) -> RunningTarget:
    """Start the service on host:port (0 picks a free port). Raises OSError if it is taken."""
    sock = _listen(host, port)
    log = _open_log(log_path) if log_path is not None else None
    target = DemoTarget(settings, log)
    runner = web.AppRunner(target.app(), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    try:
        await runner.setup()
        await web.SockSite(runner, sock).start()
    except BaseException:
        await runner.cleanup()
        sock.close()
        if log is not None:
            log.close()
        raise
    bound_host, bound_port = sock.getsockname()[:2]
    url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    return RunningTarget(f"http://{url_host}:{bound_port}", bound_port, target, runner, log)


@contextlib.asynccontextmanager
async def running_target(
    port: int = 0,
    host: str = "127.0.0.1",
    *,
    log_path: Path | None = None,
    settings: ModeSettings | None = None,
) -> AsyncIterator[str]:
    """Run the demo service for the duration of the block; yields its base URL."""
    running = await start_target(port, host, log_path=log_path, settings=settings)
    try:
        yield running.base_url
    finally:
        await running.close()


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m opsbook.demo.target",
        description="Run the opsbook demo service (an imitation production API).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="Port (0 picks a free one).")
    parser.add_argument("--log", type=Path, help="Append JSON request log lines to this file.")
    parser.add_argument(
        "--mode", choices=[m.value for m in Mode], default=Mode.HEALTHY.value, help="Start mode."
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be from 0 to 65535, got {args.port}")
    return args


async def _serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    settings = ModeSettings(mode=Mode(args.mode))
    async with running_target(args.port, args.host, log_path=args.log, settings=settings) as url:
        print(f"demo service listening on {url}", flush=True)
        down = '{"mode": "down"}'
        print(f"switch modes: curl -X POST {url}{MODE_PATH} -d '{down}'", flush=True)
        await stop.wait()
    print("demo service stopped", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        asyncio.run(_serve(args))
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
