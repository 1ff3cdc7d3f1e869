"""A real Prometheus server for integration tests, and a /metrics endpoint it can scrape.

`running_prometheus` starts the `prometheus` binary on a free port with a temporary config
(scrape and evaluation interval 1s, storage under the given directory) and stops it by PID.
`metrics_endpoint` serves a prometheus_client registry from an aiohttp server on its own
thread and event loop, so Prometheus can scrape it whatever the test's loop is doing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from tests.integration.daemon import START_TIMEOUT_S, ready_daemon
from tests.services import free_port, unavailable


@dataclass(frozen=True)
class PrometheusServer:
    url: str  # base URL, e.g. http://127.0.0.1:41234
    pid: int
    directory: Path  # config, TSDB and the server's log live here

    def query(self, promql: str) -> dict[str, Any]:
        """The raw JSON answer of GET /api/v1/query (error answers included)."""
        address = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
        try:
            with urllib.request.urlopen(address, timeout=5) as response:
                return dict(json.load(response))
        except urllib.error.HTTPError as exc:
            return dict(json.load(exc))

    def wait_for_data(self, promql: str, timeout: float = START_TIMEOUT_S) -> list[Any]:
        """Poll until `promql` returns a non-empty result; returns that result."""
        deadline = time.monotonic() + timeout
        answer: dict[str, Any] = {}
        while time.monotonic() < deadline:
            answer = self.query(promql)
            result = answer.get("data", {}).get("result")
            if answer.get("status") == "success" and result:
                return list(result)
            time.sleep(0.2)
        raise TimeoutError(f"no data for {promql!r} within {timeout}s; last answer {answer}")

    def log(self) -> str:
        return (self.directory / "prometheus.log").read_text(errors="replace")


def _config(targets: Mapping[str, str], self_target: str, extra: Mapping[str, Any]) -> str:
    jobs = [{"job_name": "prometheus", "static_configs": [{"targets": [self_target]}]}]
    for job, url in targets.items():
        parsed = urllib.parse.urlsplit(url)
        jobs.append(
            {
                "job_name": job,
                "scheme": parsed.scheme,
                "metrics_path": parsed.path or "/metrics",
                "static_configs": [{"targets": [parsed.netloc]}],
            }
        )
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": jobs,
        **extra,
    }
    return yaml.safe_dump(config, sort_keys=False)


@contextlib.contextmanager
def running_prometheus(
    directory: Path,
    targets: Mapping[str, str],
    extra_config: Mapping[str, Any] | None = None,
) -> Iterator[PrometheusServer]:
    """Run Prometheus scraping `targets` (job name -> /metrics URL) and itself (job
    "prometheus"). `extra_config` adds top-level config keys (rule_files, alerting...)."""
    binary = shutil.which("prometheus")
    if binary is None:
        unavailable("prometheus binary not installed (Debian package prometheus)")
        raise AssertionError  # unreachable; keeps type checkers calm
    port = free_port()
    address = f"127.0.0.1:{port}"
    config_file = directory / "prometheus.yml"
    config_file.write_text(_config(targets, address, extra_config or {}))
    argv = [
        binary,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={directory / 'tsdb'}",
        f"--web.listen-address={address}",
        "--log.level=warn",
    ]
    url = f"http://{address}"
    log_path = directory / "prometheus.log"
    with ready_daemon("prometheus", argv, log_path, f"{url}/-/ready") as pid:
        yield PrometheusServer(url, pid, directory)


@contextlib.contextmanager
def metrics_endpoint(
    registry: CollectorRegistry, on_scrape: Callable[[], None] | None = None
) -> Iterator[str]:
    """Serve `registry` at /metrics on a free port; yields the URL. `on_scrape` runs first
    on every request (e.g. to make a counter grow at a known pace)."""

    async def metrics(_: web.Request) -> web.Response:
        if on_scrape is not None:
            on_scrape()
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def start() -> tuple[web.AppRunner, int]:
        app = web.Application()
        app.router.add_get("/metrics", metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, int(runner.addresses[0][1])

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="metrics-endpoint", daemon=True)
    thread.start()
    try:
        runner, port = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
        try:
            yield f"http://127.0.0.1:{port}/metrics"
        finally:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
