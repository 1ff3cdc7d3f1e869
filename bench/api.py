"""HTTP latency of what people look at: the overview, the incident list and the status
page, with 1,000 checks configured and 10,000 incidents and alerts stored.

    python bench/api.py [--checks N] [--incidents N] [--alerts N] [--clients C]
                        [--seconds S] [--wrk-seconds S] [--db sqlite|postgresql|URL]
                        [--markdown] [--workdir DIR]

One ``opsbook serve`` (its own process) has ``--checks`` http checks (20 public services,
a one-hour interval, each probing the server's own /healthz: their first runs are spread
over five seconds, then the checks are idle and every check has a result). Before it
starts, ``--incidents`` incidents (one in twenty still open) and ``--alerts`` alerts (one
in a hundred firing) are written straight into the store through its repositories, as
months of history would have left them. Once every check has a stored result, the bench
measures:

* **overview**: the dashboard's ``GET /`` (as an admin API token, which pages accept).
  Where the app has no such page, the two API calls a dashboard would make for it are
  measured instead, ``GET /api/v1/checks?limit=50`` and
  ``GET /api/v1/incidents?status=open``, and the table says so;
* **incident list**: ``GET /api/v1/incidents`` (the newest 50, with the total);
* **status page**: ``GET /status``, when the app has one (it is served from a cache).

Each is measured with ``--clients`` aiohttp clients (keep-alive, each sending its next
request when the last is answered) for ``--seconds`` after a one-second warm-up: p50,
p99 and max latency and the requests per second they got; then by one client alone for
two seconds (its p50 is the work per request, without waiting behind other requests).
``GET /api/v1/checks?limit=50`` is measured too, whatever pages exist. With wrk installed, wrk then
measures the same URL with as many connections: its requests per second is the ceiling
(a C client costs the host less than Python, which shares this host's CPUs with the
server) and its own p50/p99. Any answer but 200 fails the bench.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from rich import box
from rich.table import Table

from common import (
    BenchError,
    Child,
    children,
    console,
    free_port,
    percentile,
    start_serve,
    store_url,
    wait_until,
    work_directory,
)
from opsbook.alerts.model import Alert, AlertState, Level, fingerprint
from opsbook.incidents.model import Incident, IncidentStatus
from opsbook.store import Store
from opsbook.store.api_tokens import Role
from opsbook.store.transaction import write_transaction

SERVICES = 20
SEVERITIES = ("P1", "P2", "P3", "P4")
ALONE_SECONDS = 2.0  # one client alone per page, for the latency without queueing
FIRST_ROUND = 5  # seconds over which the checks' first runs are spread
OVERVIEW_TARGET = 0.200  # seconds, p99
STATUS_TARGET = 0.050  # seconds, p99, served from the cache


@dataclass(frozen=True)
class Settings:
    checks: int
    incidents: int
    alerts: int
    clients: int
    seconds: float
    wrk_seconds: int
    db: str


@dataclass(frozen=True)
class Target:
    """One URL to measure and the page it stands for."""

    page: str
    path: str
    note: str = ""
    goal: float | None = None  # p99 target in seconds
    present: bool = True  # False: this app has no such page; shown, not measured


@dataclass
class Measured:
    target: Target
    latencies: list[float]
    seconds: float
    alone: list[float] = field(default_factory=list)  # one client: the work, no queueing
    wrk_rate: float | None = None
    wrk_p50: float | None = None
    wrk_p99: float | None = None

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


def opsbook_config(settings: Settings, port: int) -> str:
    lines = ["project: {name: bench-api}", "services:"]
    lines += [f"  - {{name: svc-{i:02d}, public: true}}" for i in range(SERVICES)]
    lines.append("checks:")
    lines += [
        f"  - {{name: check-{i:05d}, service: svc-{i % SERVICES:02d}, interval: 1h, "
        f'http: {{url: "http://127.0.0.1:{port}/healthz"}}}}'
        for i in range(settings.checks)
    ]
    lines += ["incidents:", f'  public_url: "http://127.0.0.1:{port}"', "  reminders: false"]
    lines += ["engine:", f"  max_spread: {FIRST_ROUND}s"]
    return "\n".join(lines) + "\n"


def history(settings: Settings, now: datetime) -> tuple[list[Incident], list[Alert]]:
    """Incidents (one in twenty open) and alerts (one in a hundred firing), newest first."""
    incidents = []
    for i in range(settings.incidents):
        opened = now - timedelta(minutes=37 * i)
        still_open = i % 20 == 0
        incidents.append(
            Incident(
                id=0,
                title=f"Checkout errors above 5 % on svc-{i % SERVICES:02d} ({i})",
                severity=SEVERITIES[i % len(SEVERITIES)],
                status=IncidentStatus.INVESTIGATING if still_open else IncidentStatus.RESOLVED,
                opened_at=opened,
                detected_at=opened,
                services=(f"svc-{i % SERVICES:02d}",),
                resolved_at=None if still_open else opened + timedelta(minutes=25),
                impact="Some customers cannot pay",
                created_by="bench",
            )
        )
    alerts = []
    for i in range(settings.alerts):
        labels = {
            "alertname": f"HighErrorRate{i % 50}",
            "service": f"svc-{i % SERVICES:02d}",
            "severity": SEVERITIES[i % len(SEVERITIES)],
            "instance": f"web-{i}",
        }
        fired = now - timedelta(minutes=53 * i)
        firing = i % 100 == 0
        alerts.append(
            Alert(
                fingerprint=fingerprint(labels),
                rule=f"bench:{labels['alertname']}",
                level=Level.CRITICAL,
                labels=labels,
                annotations={"summary": f"5xx above 5 % on {labels['instance']}"},
                state=AlertState.FIRING if firing else AlertState.RESOLVED,
                active_since=fired if firing else None,
                fired_at=fired,
                resolved_at=None if firing else fired + timedelta(minutes=12),
                last_true_at=fired,
                value=7.5,
                fired_value=7.5,
                updated_at=fired,
            )
        )
    return incidents, alerts


def fill_store(url: str, settings: Settings) -> str:
    """Write the history into the store at `url`; the text of an admin API token (pages
    accept it like a signed-in user)."""
    now = datetime.now(UTC)
    incidents, alerts = history(settings, now)
    with Store.open(url) as store:
        with write_transaction(store.engine) as conn:
            for incident in reversed(incidents):  # oldest first: ids grow with time
                store.incidents.create(conn, incident, now)
            store.alerts.save(conn, alerts)
        _, token = store.api_tokens.create("bench", Role.ADMIN, "bench/api.py", now)
    return token


# --------------------------------------------------------------------------- measuring


async def status_of(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url, allow_redirects=False) as response:
        await response.read()
        return response.status


async def targets(session: aiohttp.ClientSession, base: str) -> list[Target]:
    """What to measure, depending on which pages this app has."""
    found = []
    if await status_of(session, base + "/") == 200:
        found.append(Target("overview", "/", "the dashboard page", OVERVIEW_TARGET))
    else:
        note = "no dashboard page (GET / is not 200): the API calls it would make"
        found.append(Target("overview", "/api/v1/checks?limit=50", note, OVERVIEW_TARGET))
        found.append(Target("overview", "/api/v1/incidents?status=open", note, OVERVIEW_TARGET))
    found.append(Target("incident list", "/api/v1/incidents", "newest 50 and the total"))
    found.append(Target("checks (API)", "/api/v1/checks?limit=50", "first 50, latest status"))
    if await status_of(session, base + "/status") == 200:
        found.append(Target("status page", "/status", "HTML, cached", STATUS_TARGET))
    else:
        note = "not in this app (GET /status is not 200)"
        found.append(Target("status page", "/status", note, STATUS_TARGET, present=False))
    return found


async def hammer(
    session: aiohttp.ClientSession, url: str, clients: int, seconds: float
) -> list[float]:
    """`clients` loops sending GET `url` back to back for `seconds`; each latency."""
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + seconds
    latencies: list[float] = []
    refused: list[int] = []

    async def client() -> None:
        while loop.time() < stop_at:
            started = time.perf_counter()
            async with session.get(url, allow_redirects=False) as response:
                await response.read()
                if response.status != 200:
                    refused.append(response.status)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(client() for _ in range(clients)))
    if refused:
        raise BenchError(f"{url}: {len(refused)} answers were not 200 (e.g. {refused[0]})")
    return latencies


_WRK_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
_WRK_PERCENTILE = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def run_wrk(url: str, token: str, clients: int, seconds: int) -> tuple[float, float, float] | None:
    """(requests/s, p50, p99) from wrk, or None without wrk; fails on errors."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    threads = min(clients, os.cpu_count() or 1)
    command = [wrk, f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--timeout", "10s"]
    command += ["--latency", "-H", f"Authorization: Bearer {token}", url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise BenchError(f"wrk saw errors on {url}:\n{output}")
    rate = _WRK_RATE.search(output)
    quantiles = {int(q): float(v) * _UNITS[u] for q, v, u in _WRK_PERCENTILE.findall(output)}
    if rate is None or set(quantiles) != {50, 99}:
        raise BenchError(f"cannot read wrk output:\n{output}")
    return float(rate.group(1)), quantiles[50], quantiles[99]


async def measure(settings: Settings, directory: Path) -> tuple[list[Measured], str]:
    with children() as kids, store_url(directory, settings.db, "api") as (db_url, db_label):
        port = free_port()
        config = directory / "opsbook.yaml"
        config.write_text(opsbook_config(settings, port))
        started = time.monotonic()
        token = await asyncio.to_thread(fill_store, db_url, settings)
        console.print(
            f"stored {settings.incidents:,} incidents and {settings.alerts:,} alerts "
            f"in {time.monotonic() - started:.1f} s"
        )
        serve = await asyncio.to_thread(start_serve, directory, config, db_url, port)
        kids.append(serve)
        await asyncio.to_thread(wait_for_results, db_url, settings.checks, serve)
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        connector = aiohttp.TCPConnector(limit=settings.clients)
        timeout = aiohttp.ClientTimeout(total=30)
        results = []
        async with aiohttp.ClientSession(
            headers=headers, connector=connector, timeout=timeout
        ) as session:
            for target in await targets(session, base):
                if not target.present:
                    results.append(Measured(target, [], 1.0))
                    continue
                url = base + target.path
                await hammer(session, url, settings.clients, 1.0)  # warm-up
                latencies = await hammer(session, url, settings.clients, settings.seconds)
                alone = await hammer(session, url, 1, min(settings.seconds, ALONE_SECONDS))
                measured = Measured(target, latencies, settings.seconds, alone)
                wrk = await asyncio.to_thread(
                    run_wrk, url, token, settings.clients, settings.wrk_seconds
                )
                if wrk is not None:
                    measured.wrk_rate, measured.wrk_p50, measured.wrk_p99 = wrk
                results.append(measured)
        return results, db_label


def wait_for_results(db_url: str, checks: int, serve: Child) -> None:
    """Until every check has run once (each first runs within FIRST_ROUND seconds)."""
    with Store.open(db_url) as store:
        wait_until(lambda: store.results.count() >= checks, "every check's first run", 300, serve)


# --------------------------------------------------------------------------- the report


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def verdict(row: Measured) -> str:
    if row.target.goal is None:
        return "-"
    p99 = percentile(row.latencies, 99)
    met = p99 <= row.target.goal
    return f"p99 ≤ {row.target.goal * 1000:.0f} ms: " + ("met" if met else "MISSED")


def results_table(
    rows: Sequence[Measured], settings: Settings, label: str, table_box: box.Box
) -> Table:
    table = Table(
        title=f"GET latency, {settings.clients} concurrent clients, {settings.checks:,} checks, "
        f"{settings.incidents:,} incidents, {settings.alerts:,} alerts, {label}",
        title_justify="left",
        box=table_box,
    )
    table.add_column("page")
    table.add_column("path")
    names = ("requests", "p50", "p99", "max", "req/s", "1 client p50")
    for name in (*names, "wrk req/s", "wrk p50", "wrk p99"):
        table.add_column(name, justify="right")
    table.add_column("target")
    table.add_column("note")
    wrk_missing = shutil.which("wrk") is None
    for row in rows:
        if not row.latencies:
            table.add_row(row.target.page, row.target.path, *["-"] * 9, "-", row.target.note)
            continue
        table.add_row(
            row.target.page,
            row.target.path,
            str(len(row.latencies)),
            _ms(percentile(row.latencies, 50)),
            _ms(percentile(row.latencies, 99)),
            _ms(max(row.latencies)),
            f"{row.rate:.0f}",
            _ms(percentile(row.alone, 50)) if row.alone else "-",
            "wrk not installed" if wrk_missing else f"{row.wrk_rate:.0f}",
            _ms(row.wrk_p50),
            _ms(row.wrk_p99),
            verdict(row),
            row.target.note,
        )
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=10.0, help="aiohttp run per page")
    parser.add_argument("--wrk-seconds", type=int, default=10, help="wrk run per page")
    parser.add_argument(
        "--db", default="sqlite", help="sqlite, postgresql (a fresh database), or a store URL"
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--workdir", type=Path, help="keep the config, log and store here")
    args = parser.parse_args(argv)
    if min(args.checks, args.clients, args.wrk_seconds) < 1 or args.seconds <= 0:
        parser.error("--checks, --clients, --seconds and --wrk-seconds must be positive")
    if min(args.incidents, args.alerts) < 0:
        parser.error("--incidents and --alerts cannot be negative")
    settings = Settings(
        args.checks,
        args.incidents,
        args.alerts,
        args.clients,
        args.seconds,
        args.wrk_seconds,
        args.db,
    )
    table_box = box.MARKDOWN if args.markdown else box.SIMPLE_HEAD
    with contextlib.ExitStack() as stack:
        directory = work_directory(stack, args.workdir, "opsbook-api-")
        try:
            rows, label = asyncio.run(measure(settings, directory))
        except BenchError as exc:
            console.print(f"[bold red]bench failed:[/] {exc}")
            return 1
        console.print(f"run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPUs")
        console.print(results_table(rows, settings, label, table_box))
        for row in rows:
            if row.target.goal is not None and row.latencies:
                console.print(f"{row.target.page} {row.target.path}: {verdict(row)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
