"""Check throughput: how many HTTP checks per second one opsbook process runs, and how long
`opsbook check` takes for 1,000 mixed checks.

    python bench/checks.py [--requests N] [--concurrency C] [--repeats R] [--mixed M]

The target is an aiohttp server in its own process (bench/http_target.py), so it does not
share the measured client's event loop or core. Against it, with the same number of
requests in flight:

* ``wrk``: what the server can answer at all (the ceiling; wrk always keeps connections
  alive and runs for a fixed time, not a fixed count);
* a bare aiohttp request loop, with keep-alive and with a fresh connection per request:
  what any Python client on the default asyncio loop pays at least (the floor);
* opsbook's ``run_checks`` over N http checks built through the real config model, with a
  fresh connection per check (the probe default) and with ``keepalive: true``;
* the same plus recording the results in a SQLite store in one batch, and that write alone.

Each method is warmed up, then timed for N requests; the methods take turns, and the
median of the repeats is reported, with the client's CPU time per request. Ratios compare
with the bare loop of the same connection mode: on a shared machine they hold where
absolute figures do not.

The second part writes an opsbook.yaml with mixed checks (http, tcp, redis, postgres, disk,
file_age, command) against local resources and times the real CLI
(``opsbook check -c FILE --json``, results stored in SQLite next to the config), and how
much of that is interpreter start-up and imports.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from rich import box
from rich.console import Console
from rich.table import Table

from opsbook.checks.base import CheckResult
from opsbook.checks.context import ProbeContext
from opsbook.checks.runner import run_checks
from opsbook.checks.spec import Check, CheckBase
from opsbook.config.loader import load_config
from opsbook.status import Status
from opsbook.store import Store

BENCH_DIR = Path(__file__).resolve().parent
TARGET = BENCH_DIR / "http_target.py"
OPSBOOK = Path(sys.executable).parent / "opsbook"

# Wide enough that table rows stay on one line when the output goes to a file.
console = Console(highlight=False, width=shutil.get_terminal_size(fallback=(160, 24)).columns)


class BenchError(Exception):
    """The bench could not measure what it claims to (a failed request, a missing server)."""


# --------------------------------------------------------------------------- target server


@contextlib.contextmanager
def target_server() -> Iterator[str]:
    """Start bench/http_target.py in its own process; yield its /health URL; stop it by PID."""
    process = subprocess.Popen(
        [sys.executable, str(TARGET), "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.isdigit():
            raise BenchError(f"target server did not start (exit {process.poll()})")
        yield f"http://127.0.0.1:{line}/health"
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


# --------------------------------------------------------------------------- HTTP throughput


@dataclass
class Settings:
    requests: int
    concurrency: int
    repeats: int
    warmup: int
    wrk_seconds: int


@dataclass
class Row:
    """One line of the throughput table."""

    method: str
    mode: str  # "keep-alive" or "fresh": the bare loop the ratio compares with; "" for none
    requests: int | None = None
    seconds: float | None = None
    cpu_us: float | None = None  # client CPU per request, this process (user + system)
    note: str = ""

    @property
    def rate(self) -> float | None:
        if self.requests is None or not self.seconds:
            return None
        return self.requests / self.seconds


Batch = Callable[[], Awaitable[None]]


@dataclass
class Method:
    """A way of making `settings.requests` requests, timed in turns with the others."""

    name: str
    mode: str
    batch: Batch
    note: str = ""
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)

    async def time_once(self) -> None:
        cpu, started = _cpu_s(), time.perf_counter()
        await self.batch()
        self.walls.append(time.perf_counter() - started)
        self.cpus.append(_cpu_s() - cpu)

    def row(self, requests: int) -> Row:
        cpu_us = statistics.median(self.cpus) / requests * 1e6
        return Row(self.name, self.mode, requests, statistics.median(self.walls), cpu_us, self.note)


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # all threads: includes store writes
    return usage.ru_utime + usage.ru_stime


def _gather_n(one: Callable[[], Awaitable[None]], concurrency: int) -> Callable[[int], Batch]:
    """`count` calls of `one`, at most `concurrency` at once: a semaphore, as users write it."""
    limit = asyncio.Semaphore(concurrency)

    async def bounded() -> None:
        async with limit:
            await one()

    def batch(count: int) -> Batch:
        async def run() -> None:
            await asyncio.gather(*(bounded() for _ in range(count)))

        return run

    return batch


async def bare_loop(
    stack: contextlib.AsyncExitStack, url: str, settings: Settings, *, keepalive: bool
) -> Method:
    """Plain aiohttp: one session, a semaphore, read each body. No opsbook code at all."""
    connector = aiohttp.TCPConnector(limit=0, force_close=not keepalive)
    session = await stack.enter_async_context(aiohttp.ClientSession(connector=connector))

    async def one() -> None:
        async with session.get(url) as response:
            await response.read()
            if response.status != 200:
                raise BenchError(f"bare loop got HTTP {response.status}")

    batch = _gather_n(one, settings.concurrency)
    await batch(settings.warmup)()
    mode = "keep-alive" if keepalive else "fresh"
    return Method(f"bare aiohttp loop, {mode}", mode, batch(settings.requests))


def http_checks(url: str, count: int, *, keepalive: bool) -> list[CheckBase]:
    """`count` http checks as opsbook.yaml would declare them, through the real model."""
    return [
        Check.model_validate(
            {"name": f"bench-http-{i}", "http": {"url": url, "keepalive": keepalive}}
        )
        for i in range(count)
    ]


def _require_ok(results: Sequence[CheckResult]) -> None:
    bad = [r for r in results if r.status is not Status.OK]
    if bad:
        raise BenchError(f"{len(bad)} of {len(results)} checks not OK, e.g. {bad[0].message}")


async def opsbook_loop(
    stack: contextlib.AsyncExitStack,
    url: str,
    settings: Settings,
    *,
    keepalive: bool,
    store: Store | None = None,
) -> Method:
    """`run_checks` over N http checks, as `opsbook check` runs them (optionally storing)."""
    checks = http_checks(url, settings.requests, keepalive=keepalive)
    ctx = await stack.enter_async_context(ProbeContext(Path.cwd()))

    async def batch() -> None:
        results = await run_checks(checks, ctx, settings.concurrency)
        _require_ok(results)
        if store is not None:  # as `opsbook check` does: one batch, off the event loop
            await asyncio.to_thread(store.results.record, results)

    _require_ok(await run_checks(checks[: settings.warmup], ctx, settings.concurrency))
    mode = "keep-alive" if keepalive else "fresh"
    if store is None:
        return Method(f"opsbook run_checks, {mode}", mode, batch)
    return Method(f"opsbook run_checks + SQLite store, {mode}", mode, batch)


async def store_alone(
    stack: contextlib.AsyncExitStack, url: str, settings: Settings, store: Store
) -> Method:
    """Recording N results (3 samples each) in one batch, without running them."""
    checks = http_checks(url, settings.requests, keepalive=True)
    async with ProbeContext(Path.cwd()) as ctx:
        results = await run_checks(checks, ctx, settings.concurrency)
    _require_ok(results)

    async def batch() -> None:
        await asyncio.to_thread(store.results.record, results)

    return Method("SQLite store alone (one batch)", "", batch, "results/s, 3 samples each")


_WRK_TOTAL = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b")
_WRK_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def wrk_command(url: str, settings: Settings, seconds: int) -> list[str] | None:
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    # wrk counts an answer slower than --timeout (2 s by default) as a socket error.
    return [wrk, "-t1", f"-c{settings.concurrency}", f"-d{seconds}s", "--timeout", "10s", url]


def run_wrk(command: list[str]) -> tuple[int, float]:
    """(requests, seconds) of one wrk run; fails on any socket error or non-2xx answer."""
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = _WRK_TOTAL.search(output)
    if match is None:
        raise BenchError(f"cannot read wrk output:\n{output}")
    if "Non-2xx" in output or "Socket errors" in output:
        raise BenchError(f"wrk saw errors:\n{output}")
    return int(match.group(1)), float(match.group(2)) * _WRK_UNITS[match.group(3)]


async def measure_http(url: str, settings: Settings, store: Store) -> list[Row]:
    """Every method warmed up, then timed in turns `settings.repeats` times."""
    wrk = wrk_command(url, settings, settings.wrk_seconds)
    wrk_warmup = wrk_command(url, settings, 1)
    wrk_runs: list[tuple[int, float]] = []
    async with contextlib.AsyncExitStack() as stack:
        methods = [
            await bare_loop(stack, url, settings, keepalive=True),
            await bare_loop(stack, url, settings, keepalive=False),
            await opsbook_loop(stack, url, settings, keepalive=False),
            await opsbook_loop(stack, url, settings, keepalive=True),
            await opsbook_loop(stack, url, settings, keepalive=False, store=store),
            await store_alone(stack, url, settings, store),
        ]
        if wrk_warmup is not None:
            run_wrk(wrk_warmup)
        for _ in range(settings.repeats):
            if wrk is not None:
                wrk_runs.append(run_wrk(wrk))
            for method in methods:
                await method.time_once()
    rows = [method.row(settings.requests) for method in methods]
    if wrk is None:
        ceiling = Row("wrk not installed (apt-get install wrk)", "keep-alive")
    else:
        requests, seconds = sorted(wrk_runs, key=lambda r: r[0] / r[1])[len(wrk_runs) // 2]
        note = f"C, 1 thread, keep-alive always; fixed {settings.wrk_seconds}s run"
        ceiling = Row(f"wrk -c{settings.concurrency}", "keep-alive", requests, seconds, None, note)
    return [ceiling, *rows]


def http_table(rows: Sequence[Row], settings: Settings, table_box: box.Box) -> Table:
    floor = {r.mode: r.rate for r in rows if r.method.startswith("bare aiohttp")}
    table = Table(
        title=f"HTTP checks, {settings.concurrency} in flight, median of {settings.repeats}",
        title_justify="left",
        box=table_box,
    )
    table.add_column("method")
    for name in ("requests", "seconds", "req/s", "vs bare loop", "client CPU/req"):
        table.add_column(name, justify="right")
    table.add_column("note")
    for row in rows:
        rate, base = row.rate, floor.get(row.mode)
        table.add_row(
            row.method,
            f"{row.requests:,}" if row.requests is not None else "-",
            f"{row.seconds:.3f}" if row.seconds is not None else "-",
            f"{rate:,.0f}" if rate is not None else "-",
            f"{rate / base:.2f}×" if rate is not None and base else "-",
            f"{row.cpu_us:.0f} µs" if row.cpu_us is not None else "-",
            row.note,
        )
    return table


# --------------------------------------------------------------------------- opsbook check

# Kinds in the mixed config, per 1,000 checks. Each postgres check opens a connection of
# its own and the server allows 100 in all, so they stay few.
MIX = {
    "http": 600,
    "tcp": 150,
    "redis": 100,
    "postgres": 50,
    "file_age": 40,
    "disk": 30,
    "command": 30,
}
REDIS = ("127.0.0.1", 6379)
POSTGRES = ("127.0.0.1", 5432)
POSTGRES_DSN = "postgresql://postgres@127.0.0.1/postgres"
BACKUPS = 10


def _listening(address: tuple[str, int]) -> bool:
    try:
        socket.create_connection(address, timeout=1).close()
    except OSError:
        return False
    return True


@dataclass
class Mix:
    counts: dict[str, int]
    notes: list[str]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def describe(self) -> str:
        return ", ".join(f"{n} {kind}" for kind, n in self.counts.items() if n)


def plan_mix(total: int) -> Mix:
    """How many checks of each kind; a kind whose local server is down becomes http."""
    counts = {kind: round(share * total / 1000) for kind, share in MIX.items()}
    counts["http"] += total - sum(counts.values())
    notes = []
    for kind, address in (("redis", REDIS), ("postgres", POSTGRES)):
        if counts[kind] and not _listening(address):
            notes.append(f"{kind} not reachable on {address[0]}:{address[1]}: checked http")
            counts["http"] += counts.pop(kind)
    return Mix(counts, notes)


def _check(kind: str, i: int, url: str, workdir: Path) -> dict[str, Any]:
    name = f"{kind.replace('_', '-')}-{i}"
    if kind == "http":
        spec: dict[str, Any] = {"url": url}
        if i % 2:
            spec["json"] = ['$.status == "ok"']
        return {"name": name, "http": spec}
    if kind == "tcp":  # half to the bench server, half to Redis
        port = REDIS[1] if i % 2 else urlsplit(url).port
        return {"name": name, "tcp": {"host": "127.0.0.1", "port": port}}
    if kind == "redis":
        return {"name": name, "redis": {"url": f"redis://{REDIS[0]}:{REDIS[1]}/0"}}
    if kind == "postgres":
        # The bench times checks; other clients' connections must not turn them WARNING.
        relaxed = {"connections_used_pct": {"critical": "> 100"}}
        return {"name": name, "postgres": {"dsn": POSTGRES_DSN}, "thresholds": relaxed}
    if kind == "file_age":
        glob = f"backups/backup_{i % BACKUPS}_*.dump"
        return {"name": name, "file_age": {"path": glob, "max_age": "1h"}}
    if kind == "disk":  # likewise: a full disk here is not what is measured
        path = "/" if i % 2 else str(workdir)
        return {"name": name, "disk": {"path": path}, "thresholds": {"used_pct": {}}}
    if kind == "command":
        return {"name": name, "command": {"argv": ["/bin/true"]}}
    raise ValueError(f"no check template for {kind!r}")


def write_mixed_config(workdir: Path, url: str, mix: Mix) -> Path:
    backups = workdir / "backups"
    backups.mkdir(exist_ok=True)
    for i in range(BACKUPS):
        (backups / f"backup_{i}_20260101_000000.dump").write_bytes(b"x" * 1024)
    checks = [_check(kind, i, url, workdir) for kind, n in mix.counts.items() for i in range(n)]
    path = workdir / "opsbook.yaml"
    # JSON is YAML: no quoting questions for URLs, globs or JSON-path strings.
    path.write_text(json.dumps({"project": {"name": "bench"}, "checks": checks}, indent=1))
    return path


@dataclass
class CliRun:
    wall_s: float
    elapsed_s: float  # what the command reports itself: running the checks and storing


def run_cli(config: Path, expected: int) -> CliRun:
    """One `opsbook check -c FILE --json` as a user runs it; every check must be OK."""
    command = [str(OPSBOOK), "check", "-c", str(config), "--json"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    wall = time.perf_counter() - started
    try:
        report = json.loads(done.stdout)
    except ValueError:
        detail = done.stderr[-2000:]
        message = f"opsbook check printed no JSON (exit {done.returncode}):\n{detail}"
        raise BenchError(message) from None
    results = report["results"]
    if len(results) != expected:
        raise BenchError(f"expected {expected} results, got {len(results)}")
    statuses = Counter(r["status"] for r in results)
    if statuses["ok"] != expected:
        bad = next(r for r in results if r["status"] != "ok")
        detail = f"{bad['check']}: {bad['message']}"
        raise BenchError(f"not all checks OK ({dict(statuses)}), e.g. {detail}")
    return CliRun(wall, float(report["elapsed_s"]))


def median_wall(command: Sequence[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, timeout=120)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def import_offenders(config: Path, top: int) -> tuple[float, list[tuple[str, float]]]:
    """Import time of one `opsbook check` run, in all and for the costliest packages (s)."""
    script = "import sys; from opsbook.cli import main; sys.argv[0] = 'opsbook'; main()"
    command = [sys.executable, "-X", "importtime", "-c", script]
    command += ["check", "-c", str(config), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    per_package: Counter[str] = Counter()
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _cumulative, name = line.removeprefix("import time:").split("|")
        per_package[name.strip().split(".")[0]] += int(own)  # microseconds
    costliest = [(package, us / 1e6) for package, us in per_package.most_common(top)]
    return sum(per_package.values()) / 1e6, costliest


def config_load_s(config: Path, runs: int) -> float:
    """Loading and validating the config alone, in this process (imports already done)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        load_config(config)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@dataclass
class CliReport:
    mix: Mix
    runs: list[CliRun]
    config_s: float
    python_s: float
    help_s: float
    imports_s: float
    offenders: list[tuple[str, float]]


def measure_cli(url: str, total: int, runs: int, workdir: Path, *, warmup: bool) -> CliReport:
    mix = plan_mix(total)
    config = write_mixed_config(workdir, url, mix)
    if warmup:  # creates and migrates the store next to the config, fills the OS caches
        run_cli(config, mix.total)
    measured = [run_cli(config, mix.total) for _ in range(runs)]
    config_s = config_load_s(config, runs)
    python_s = median_wall([sys.executable, "-c", "pass"], runs)
    help_s = median_wall([str(OPSBOOK), "--help"], runs)
    imports_s, offenders = import_offenders(config, 8)
    return CliReport(mix, measured, config_s, python_s, help_s, imports_s, offenders)


def cli_table(report: CliReport, table_box: box.Box) -> Table:
    table = Table(
        title=f"opsbook check -c FILE --json: {report.mix.total:,} checks "
        f"({report.mix.describe()}), median of {len(report.runs)}",
        title_justify="left",
        box=table_box,
    )
    table.add_column("what")
    table.add_column("seconds", justify="right")
    table.add_column("note")
    wall = statistics.median(r.wall_s for r in report.runs)
    inside = statistics.median(r.elapsed_s for r in report.runs)
    table.add_row("opsbook check, wall time", f"{wall:.3f}", "results stored in SQLite")
    table.add_row("  running the checks and storing", f"{inside:.3f}", "elapsed_s of the JSON")
    table.add_row("  the rest", f"{wall - inside:.3f}", "start-up, imports, config load, output")
    table.add_row("config load", f"{report.config_s:.3f}", "load_config alone, in process")
    table.add_row("python -c pass", f"{report.python_s:.3f}", "the interpreter alone")
    table.add_row("opsbook --help", f"{report.help_s:.3f}", "start-up of the CLI")
    table.add_row("imports of opsbook check", f"{report.imports_s:.3f}", "python -X importtime")
    for package, seconds in report.offenders:
        table.add_row(f"  {package}", f"{seconds:.3f}", "own import time of its modules")
    for note in report.mix.notes:
        table.add_row("note", "", note)
    return table


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="HTTP checks per run")
    parser.add_argument("--concurrency", type=int, default=100, help="requests in flight")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--mixed", type=int, default=1000, help="checks in the CLI run")
    parser.add_argument("--wrk-seconds", type=int, default=3, help="length of one wrk run")
    parser.add_argument(
        "--quick", action="store_true", help="one run of each, at most 100 mixed checks"
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.mixed, args.wrk_seconds = 1, min(args.mixed, 100), 1
    settings = Settings(
        requests=args.requests,
        concurrency=args.concurrency,
        repeats=args.repeats,
        warmup=min(2000, args.requests),
        wrk_seconds=args.wrk_seconds,
    )
    table_box = box.MARKDOWN if args.markdown else box.SIMPLE_HEAD
    try:
        with (
            tempfile.TemporaryDirectory(prefix="opsbook-bench-") as tmp,
            target_server() as url,
        ):
            workdir = Path(tmp)
            console.print(f"target {url} (own process); {os.cpu_count()} CPUs")
            with Store.open(f"sqlite:///{workdir / 'bench-http.db'}") as store:
                rows = asyncio.run(measure_http(url, settings, store))
            console.print(http_table(rows, settings, table_box))
            cli_dir = workdir / "cli"
            cli_dir.mkdir()
            report = measure_cli(url, args.mixed, args.repeats, cli_dir, warmup=not args.quick)
            console.print(cli_table(report, table_box))
    except BenchError as exc:
        console.print(f"[bold red]bench failed:[/] {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
