"""The demo end to end: the real demo.yaml checks follow the service through every mode,
and `opsbook demo` runs, prints its table, records results and stops cleanly."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from opsbook.checks.base import CheckResult
from opsbook.checks.context import ProbeContext
from opsbook.checks.runner import run_checks
from opsbook.config.loader import load_config
from opsbook.config.models import Config
from opsbook.demo import demo_config_path
from opsbook.demo.target import running_target
from opsbook.status import Status
from opsbook.store import Store
from opsbook.store.engine import normalise_url

OK, WARNING, CRITICAL = Status.OK, Status.WARNING, Status.CRITICAL
CHECKS = (
    "api-health",
    "api-items",
    "api-detailed-health",
    "database-status",
    "cache-status",
    "api-port",
    "api-metrics",
)
ALL_OK = dict.fromkeys(CHECKS, OK)
OPSBOOK = str(Path(sys.executable).with_name("opsbook"))


def expect(**changed: Status) -> dict[str, Status]:
    """ALL_OK with some checks changed (underscores stand for dashes)."""
    return {**ALL_OK, **{name.replace("_", "-"): s for name, s in changed.items()}}


@pytest.fixture
async def demo() -> AsyncIterator[tuple[str, Config]]:
    """The demo service plus the real demo.yaml pointed at it."""
    async with running_target() as base:
        port = base.rsplit(":", 1)[1]
        environ = {"OPSBOOK_DEMO_URL": base, "OPSBOOK_DEMO_PORT": port}
        config = load_config(demo_config_path(), environ=environ)
        yield base, config


async def run_round(config: Config) -> dict[str, CheckResult]:
    async with ProbeContext(config.base_dir, config.redactor) as ctx:
        results = await run_checks(config.checks, ctx)
    return {r.check: r for r in results}


def statuses(results: dict[str, CheckResult]) -> dict[str, Status]:
    return {name: result.status for name, result in results.items()}


async def switch(base: str, **body: Any) -> None:
    async with (
        aiohttp.ClientSession() as client,
        client.post(f"{base}/_demo/mode", data=json.dumps(body)) as response,
    ):
        assert response.status == 200, await response.text()


def test_demo_config_lists_the_checks_and_services() -> None:
    config = load_config(demo_config_path(), environ={})
    assert [c.name for c in config.checks] == list(CHECKS)
    assert {c.kind for c in config.checks} == {"http", "tcp"}
    api = config.service("api")
    assert api is not None and set(api.depends_on) == {"database", "cache"}
    checked = {c.service for c in config.checks}
    assert {s.name for s in config.services} == checked  # only services that are checked
    health = next(c for c in config.checks if c.name == "api-health")
    bounds = health.effective_thresholds()["latency_ms"]
    assert bounds.model_dump(mode="json") == {"warning": "> 200", "critical": "> 500"}


def test_demo_config_defaults_to_the_documented_address() -> None:
    config = load_config(demo_config_path(), environ={})
    specs = {c.name: c.spec.model_dump() for c in config.checks}
    port = specs.pop("api-port")
    assert (port["host"], port["port"]) == ("127.0.0.1", 8081)
    assert all(spec["url"].startswith("http://127.0.0.1:8081/") for spec in specs.values())


def test_validate_command_accepts_the_demo_config() -> None:
    result = subprocess.run(
        [OPSBOOK, "validate", str(demo_config_path())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (
        "OK (3 services, 7 checks, 5 severities, 3 rules, 1 receiver, 0 maintenance windows, "
        "1 person, 1 escalation policy)" in result.stdout
    )


async def test_healthy_service_passes_every_check(demo: tuple[str, Config]) -> None:
    _, config = demo
    results = await run_round(config)
    assert statuses(results) == ALL_OK, {n: r.message for n, r in results.items()}


BROKEN = {
    "down": expect(
        api_health=CRITICAL,
        api_items=CRITICAL,
        api_detailed_health=CRITICAL,
        database_status=CRITICAL,
        cache_status=CRITICAL,
    ),
    "erroring": expect(
        api_health=CRITICAL,
        api_items=CRITICAL,
        api_detailed_health=CRITICAL,
        database_status=CRITICAL,
        cache_status=CRITICAL,
    ),
    "slow": expect(
        api_health=CRITICAL,
        api_items=CRITICAL,
        api_detailed_health=CRITICAL,
        database_status=CRITICAL,  # its reported query time is over 500 ms
    ),
    "degraded": expect(api_detailed_health=CRITICAL, database_status=CRITICAL),
}
BROKEN["down_hard"] = BROKEN["down"]
BROKEN["bad_json"] = BROKEN["down"]


@pytest.mark.parametrize("mode", sorted(BROKEN))
async def test_breaking_and_fixing_the_service(demo: tuple[str, Config], mode: str) -> None:
    base, config = demo
    assert statuses(await run_round(config)) == ALL_OK
    await switch(base, mode=mode, error_share=1)
    broken = await run_round(config)
    assert statuses(broken) == BROKEN[mode], {n: r.message for n, r in broken.items()}
    await switch(base, mode="healthy")
    assert statuses(await run_round(config)) == ALL_OK


async def test_failure_messages_say_what_was_seen(demo: tuple[str, Config]) -> None:
    base, config = demo
    seen = {}
    for mode in ("down", "down_hard", "bad_json", "degraded", "slow"):
        await switch(base, mode=mode)
        seen[mode] = await run_round(config)
    assert "HTTP 503" in seen["down"]["api-health"].message
    assert "ServerDisconnected" in seen["down_hard"]["api-health"].message
    assert "connected to 127.0.0.1:" in seen["down_hard"]["api-port"].message
    assert "not valid JSON" in seen["bad_json"]["api-health"].message
    database = seen["degraded"]["database-status"].message
    assert '$.components.database.status is "down", expected == "up"' in database
    assert "latency_ms" in seen["slow"]["api-health"].message
    assert "$.components.database.latency_ms is 15" in seen["slow"]["database-status"].message


async def test_stopped_service_fails_every_check() -> None:
    async with running_target() as base:
        port = base.rsplit(":", 1)[1]
        environ = {"OPSBOOK_DEMO_URL": base, "OPSBOOK_DEMO_PORT": port}
        config = load_config(demo_config_path(), environ=environ)
    results = await run_round(config)  # the service is gone: connection refused
    assert statuses(results) == dict.fromkeys(CHECKS, CRITICAL)
    assert "Connection refused" in results["api-port"].message
    assert "cannot connect" in results["api-health"].message


async def test_mildly_slow_service_is_a_warning(demo: tuple[str, Config]) -> None:
    base, config = demo
    await switch(base, mode="slow", delay_ms=300)  # between the runbook's 200 and 500 ms
    results = await run_round(config)
    assert statuses(results) == expect(
        api_health=WARNING, api_items=WARNING, api_detailed_health=WARNING
    )
    assert "latency_ms" in results["api-health"].message
    await switch(base, mode="healthy")
    assert statuses(await run_round(config)) == ALL_OK


async def test_partial_errors_fail_the_app_check_only_on_failed_requests(
    demo: tuple[str, Config],
) -> None:
    base, config = demo
    await switch(base, mode="erroring", error_share=0)  # health says error, app requests succeed
    results = await run_round(config)
    assert results["api-items"].status is OK
    assert results["api-health"].status is CRITICAL


# --- the `opsbook demo` command -----------------------------------------------------------


def run_demo(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("OPSBOOK_DEMO_URL", None)
    return subprocess.run(
        [OPSBOOK, "demo", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def results_path(output: str) -> Path:
    match = re.search(r"^  results  (\S+)", output, re.MULTILINE)
    assert match, output
    return Path(match.group(1))


def test_demo_once_prints_the_table_and_exits_ok() -> None:
    result = run_demo("--once", "--port", "0")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    url = re.search(r"^  service  (http://127\.0\.0\.1:\d+)$", out, re.MULTILINE)
    assert url, out
    down = '{"mode": "down"}'
    assert f"curl -X POST {url.group(1)}/_demo/mode -d '{down}'" in out
    assert "demo health check" in out
    for name in CHECKS:
        seen = r"(HTTP 200|connected to 127\.0\.0\.1:\S+) in [\d.]+ ms"
        assert re.search(rf"│ {name} +│ OK +│ {seen}", out), name
    assert "OK: 7 checks, 7 ok in" in out
    # The temporary results database is gone with the demo.
    assert not results_path(out).parent.exists()


def test_demo_once_exits_with_the_worst_status() -> None:
    result = run_demo("--once", "--port", "0", "--mode", "down")
    assert result.returncode == int(CRITICAL), result.stdout + result.stderr
    assert "the service starts in mode 'down'" in result.stdout
    assert "CRITICAL: 7 checks, 2 ok, 5 critical" in result.stdout


def test_demo_falls_back_to_a_free_port() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_demo("--once", "--port", str(port))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"port {port} is in use, so the service took port" in result.stdout
    assert f"127.0.0.1:{port}/" not in result.stdout


def test_demo_keeps_results_in_a_named_database(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = run_demo("--once", "--port", "0", "--db", str(db))
    assert result.returncode == 0, result.stdout + result.stderr
    assert results_path(result.stdout) == db
    with Store.open(f"sqlite:///{db}") as store:
        latest = store.results.latest()
    assert set(latest) == set(CHECKS)
    assert all(r.status is OK for r in latest.values())


def test_demo_records_in_postgresql_without_printing_the_password(pg_database: str) -> None:
    with_password = pg_database.replace("://postgres@", "://postgres:hunter2-secret@")
    assert with_password != pg_database
    result = run_demo("--once", "--port", "0", "--db", with_password)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hunter2-secret" not in result.stdout + result.stderr
    assert "postgres:***@" in result.stdout
    with Store.open(normalise_url(pg_database)) as store:
        assert set(store.results.latest()) == set(CHECKS)


def test_demo_refuses_a_bad_interval() -> None:
    result = run_demo("--interval", "fast")
    assert result.returncode == 2
    assert "--interval" in result.stderr and "expected a duration" in result.stderr


class DemoProcess:
    """`opsbook demo` as a user runs it, read line by line."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "COLUMNS": "200"}
        self.proc = subprocess.Popen(
            [OPSBOOK, "demo", "--port", "0", "--listen-port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.seen: list[str] = []

    def wait_for(self, pattern: str) -> re.Match[str]:
        """The first line (from now on) matching `pattern`; fails if the demo exits first."""
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            assert line, "".join(self.seen) + (self.proc.stderr.read() if self.proc.stderr else "")
            self.seen.append(line)
            if found := re.search(pattern, line):
                return found

    def stop(self, signum: signal.Signals = signal.SIGTERM) -> tuple[str, str]:
        self.proc.send_signal(signum)
        rest, err = self.proc.communicate(timeout=30)
        return "".join(self.seen) + rest, err

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_demo_runs_the_engine_until_signalled(signum: signal.Signals) -> None:
    demo = DemoProcess("--interval", "1s")
    try:
        listen = demo.wait_for(r"engine\s+http://(127\.0\.0\.1:\d+)/metrics").group(1)
        demo.wait_for(r"checks\s+OK 7 checks")
        with urllib.request.urlopen(f"http://{listen}/metrics", timeout=10) as response:
            metrics = response.read().decode()
        assert "opsbook_checks_run_total" in metrics
        out, err = demo.stop(signum)
    finally:
        demo.kill()
    assert demo.proc.returncode == 0, err
    assert "Traceback" not in err
    assert out.rstrip().endswith("demo stopped")
    assert "checked by the engine every 5s" in out
    assert not results_path(out).parent.exists()


def test_breaking_the_service_fires_an_alert_and_fixing_it_resolves_it() -> None:
    """The README's walk-through: break it with curl, see the notification, fix it."""
    demo = DemoProcess("--interval", "2s")
    try:
        base = demo.wait_for(r"service\s+(http://127\.0\.0\.1:\d+)").group(1)
        demo.wait_for(r"checks\s+OK 7 checks")
        post_mode(base, "down")
        fired = demo.wait_for(r"notification\s+FIRING\s+(\S+)")
        assert fired.group(1) == "api-health-failures"
        assert "4 health checks in a row failed" in demo.seen[-1]
        post_mode(base, "healthy")
        demo.wait_for(r"notification\s+RESOLVED\s+api-health-failures")
        out, err = demo.stop()
    finally:
        demo.kill()
    assert demo.proc.returncode == 0, err
    assert out.count("FIRING   api-health-failures") == 1, out


def post_mode(base: str, mode: str) -> None:
    body = json.dumps({"mode": mode}).encode()
    request = urllib.request.Request(f"{base}/_demo/mode", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
