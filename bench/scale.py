"""Engine scale: 10,000 HTTP checks at 30 s intervals in one `opsbook serve`: scheduler
lateness, memory, CPU, and the store's size per check.

    python bench/scale.py [--checks N] [--interval S] [--warmup S] [--duration S]
                          [--keepalive] [--no-baseline] [--profile S] [--markdown]
                          [--workdir DIR]

The target is bench/http_target.py in its own process. The bench writes an opsbook.yaml
with N http checks (and a few rules over some of them), runs ``opsbook serve`` on a fresh
SQLite file as a child process and, after ``--warmup`` seconds (start-up, config load,
the first rounds of every check, and the first roll-ups: the engine rolls up a minute
once it is five minutes old, so the default warm-up is seven minutes), measures for
``--duration`` seconds:

* scheduler lateness, twice: the engine's histogram ``opsbook_scheduler_lateness_seconds``
  at /metrics (bucket deltas over the window: the p99 is known to lie within one bucket),
  and exactly, from the stored results: each result's ``started_at`` against its
  schedule (start + the check's fixed phase + k × interval), which also counts the time
  from the scheduler's decision to the probe's first line;
* the engine process' RSS and CPU time, sampled with psutil every second;
* the SQLite file's growth (pages in use, read with ``dbstat``) per stored result, and
  from it the raw bytes per check per day and the steady-state size under the default
  retention (raw 48 h, 1-minute roll-ups 30 d, hourly roll-ups 400 d), with roll-up row
  sizes measured by rolling up the run's own data afterwards.

The baseline is N bare asyncio timers (``loop.call_at``) on the same phases and interval
in a fresh process, each measuring its own lateness for the same duration after one
round: what the default event loop costs before any check does anything.

Checks open a fresh connection per run (the http probe's default); ``--keepalive`` sets
``keepalive: true`` on every check instead. ``--profile S`` runs py-spy on the engine for
S seconds after the measurement, counting only samples where a thread holds the GIL (what
keeps the event loop waiting), and prints who holds it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
from prometheus_client.parser import text_string_to_metric_families
from rich import box
from rich.table import Table
from sqlalchemy import select

from common import (
    BENCH_DIR,
    BenchError,
    Child,
    children,
    console,
    free_port,
    percentile,
    start_child,
    start_serve,
    wait_until,
    work_directory,
)
from opsbook.engine.rollup import Summary, from_row
from opsbook.engine.schedule import phase
from opsbook.store import Store
from opsbook.store.rollups import HOUR, MINUTE
from opsbook.store.tables import check_results, sample_rollups
from opsbook.store.upsert import upsert

LATENESS = "opsbook_scheduler_lateness_seconds"
MAX_SPREAD = timedelta(seconds=30)  # engine.max_spread default: phases spread over this
DAY = 86_400
RETENTION = {"raw": 2 * DAY, "minutes": 30 * DAY, "hours": 400 * DAY}  # the defaults


@dataclass(frozen=True)
class Settings:
    checks: int
    interval: float
    warmup: float
    duration: float
    keepalive: bool = False


def check_name(i: int) -> str:
    return f"http-{i:05d}"


def config_text(url: str, settings: Settings) -> str:
    interval = f"{round(settings.interval * 1000)}ms"
    # The default timeout (10s) unless the interval is shorter than that.
    timeout = f"{round(min(10.0, settings.interval / 2) * 1000)}ms"
    keepalive = ", keepalive: true" if settings.keepalive else ""
    lines = ["project: {name: bench-scale}", "checks:"]
    lines += [
        f"  - {{name: {check_name(i)}, interval: {interval}, "
        f'http: {{url: "{url}", timeout: {timeout}{keepalive}}}}}'
        for i in range(settings.checks)
    ]
    a, b, c = check_name(0), check_name(1 % settings.checks), check_name(2 % settings.checks)
    lines += [
        "rules:",
        f'  - {{name: first-down, expr: "last({a}.up)", critical: "< 1"}}',
        f'  - {{name: first-slow, expr: "p95({a}.latency_ms, 5m)", critical: "> 500"}}',
        f'  - {{name: second-failing, expr: "failures({b})", critical: ">= 3"}}',
        f'  - {{name: second-errors, expr: "max({b}.status_code, 5m)", critical: ">= 500"}}',
        f'  - {{name: third-slow, expr: "avg({c}.latency_ms, 1m)", critical: "> 1000"}}',
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- sampling


@dataclass
class Sample:
    at: float  # time.monotonic()
    rss: int
    cpu: float  # user + system seconds so far


def sample(process: psutil.Process) -> Sample:
    times = process.cpu_times()
    return Sample(time.monotonic(), process.memory_info().rss, times.user + times.system)


def scrape_buckets(port: int) -> dict[float, float]:
    """Cumulative bucket counts of the lateness histogram, by upper bound."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    buckets = {}
    for family in text_string_to_metric_families(text):
        if family.name != LATENESS:
            continue
        for metric in family.samples:
            if metric.name == f"{LATENESS}_bucket":
                buckets[float(metric.labels["le"])] = metric.value
    if not buckets:
        raise BenchError(f"{LATENESS} not found at /metrics")
    return buckets


@dataclass(frozen=True)
class StoreSize:
    results: int
    bytes_by_table: dict[str, int]  # pages of each table with its indexes
    used_by_table: dict[str, int]  # of those, the bytes that hold data
    rolled_up: dict[str, str]  # roll-up watermarks: "rollup:60" / "rollup:3600" -> until


def store_size(db: Path) -> StoreSize:
    """Pages in use (dbstat) and stored results, through a read-only connection."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as conn:
        results = conn.execute("SELECT count(*) FROM check_results").fetchone()[0]
        rows = conn.execute(
            "SELECT coalesce(m.tbl_name, s.name), sum(s.pgsize), sum(s.pgsize - s.unused) "
            "FROM dbstat s LEFT JOIN sqlite_schema m ON m.name = s.name GROUP BY 1"
        ).fetchall()
        marks = conn.execute(
            "SELECT key, value FROM probe_state WHERE key LIKE 'rollup:%'"
        ).fetchall()
    return StoreSize(
        int(results),
        {str(name): int(pages) for name, pages, _ in rows},
        {str(name): int(used) for name, _, used in rows},
        {str(key): str(json.loads(value)["until"]) for key, value in marks},
    )


def rollups_in_window(run: EngineRun) -> str:
    """What the engine's roll-up passes covered during the window (they stall the loop)."""
    parts = []
    for key, label in (("rollup:60", "1-minute"), ("rollup:3600", "hourly")):
        start, end = run.size_start.rolled_up.get(key), run.size_end.rolled_up.get(key)
        if end is None or start == end:
            parts.append(f"no {label} roll-up pass")
        else:
            since = f"from {start[11:16]} " if start else ""
            parts.append(f"{label} roll-ups {since}to {end[11:16]} UTC")
    return "in the window, the engine's housekeeping ran " + "; ".join(parts)


# --------------------------------------------------------------------------- engine run


def verdict(run: EngineRun, exact: Lateness) -> list[str]:
    """Each target, met or not."""
    rss = max(x.rss for x in run.samples)
    cpu = run.cpu_share()
    return [
        f"scheduler lateness p99 {exact.p99 * 1000:.1f} ms vs ≤ 20 ms: "
        + ("met" if exact.p99 <= 0.020 else "MISSED"),
        f"engine RSS {rss / 1e6:.0f} MB vs ≤ 200 MB: " + ("met" if rss <= 200e6 else "MISSED"),
        f"engine CPU {100 * cpu:.1f} % vs ≤ 25 % of one core: "
        + ("met" if cpu <= 0.25 else "MISSED"),
    ]


@dataclass
class EngineRun:
    settings: Settings
    samples: list[Sample]
    buckets_start: dict[float, float]
    buckets_end: dict[float, float]
    window: tuple[datetime, datetime]  # wall-clock measurement window
    size_start: StoreSize
    size_end: StoreSize
    db: Path
    target_cpu: float  # seconds of CPU the target server used in the window
    profile: list[str] = field(default_factory=list)

    def cpu_share(self) -> float:
        """The engine's CPU time over the window, as a share of one core."""
        first, last = self.samples[0], self.samples[-1]
        return (last.cpu - first.cpu) / (last.at - first.at)


def start_http_target(directory: Path) -> tuple[Child, str]:
    log = directory / "http_target.log"
    child = start_child(
        "http target", [sys.executable, str(BENCH_DIR / "http_target.py"), "--port", "0"], log
    )
    wait_until(lambda: child.tail().strip().split("\n")[0].isdigit(), "http target", 20, child)
    return child, f"http://127.0.0.1:{child.tail().split()[0]}/health"


def run_engine(settings: Settings, directory: Path, profile_s: float) -> EngineRun:
    db = directory / "scale.db"
    with children() as kids:
        target, url = start_http_target(directory)
        kids.append(target)
        config = directory / "opsbook.yaml"
        config.write_text(config_text(url, settings))
        port = free_port()
        launched = time.monotonic()
        serve = start_serve(directory, config, f"sqlite:///{db}", port)
        kids.append(serve)
        up = time.monotonic()
        console.print(f"engine up after {up - launched:.1f} s; warming up")
        process, target_process = psutil.Process(serve.pid), psutil.Process(target.pid)
        samples: list[Sample] = []
        # At least one full round of every check after start-up, whatever --warmup says.
        measure_from = max(launched + settings.warmup, up + settings.interval + 5)
        time.sleep(max(0.0, measure_from - time.monotonic()))
        buckets_start, size_start = scrape_buckets(port), store_size(db)
        target_cpu = sum(target_process.cpu_times()[:2])
        started = datetime.now(UTC)
        end = time.monotonic() + settings.duration
        next_tick = time.monotonic()
        while time.monotonic() < end:
            if not serve.alive():
                raise BenchError(f"opsbook serve exited:\n{serve.tail()}")
            samples.append(sample(process))
            next_tick += 1.0
            time.sleep(max(0.0, min(next_tick, end) - time.monotonic()))
        samples.append(sample(process))
        buckets_end = scrape_buckets(port)
        ended = datetime.now(UTC)
        size_end = store_size(db)
        target_cpu = sum(target_process.cpu_times()[:2]) - target_cpu
        profile = py_spy(serve.pid, profile_s, directory) if profile_s > 0 else []
    return EngineRun(
        settings,
        samples,
        buckets_start,
        buckets_end,
        (started, ended),
        size_start,
        size_end,
        db,
        target_cpu,
        profile,
    )


# --------------------------------------------------------------------------- lateness


@dataclass(frozen=True)
class Lateness:
    count: int
    p50: float
    p99: float
    max: float
    bucket_p99: tuple[float, float] | None = None  # (lower, upper] bucket bounds


def bucket_quantile(
    start: dict[float, float], end: dict[float, float], q: float
) -> tuple[float, float, int]:
    """The histogram bucket (lower, upper] the q-quantile of the window falls in."""
    bounds = sorted(end)
    counts = [end[b] - start.get(b, 0.0) for b in bounds]  # cumulative
    total = counts[-1]
    if total <= 0:
        raise BenchError("no scheduler lateness observed in the window")
    lower = 0.0
    for bound, cumulative in zip(bounds, counts, strict=True):
        if cumulative >= q * total:
            return lower, bound, int(total)
        lower = bound
    return lower, math.inf, int(total)


def exact_lateness(run: EngineRun) -> Lateness:
    """Lateness of every probe start in the window, from the stored results.

    A check's n-th run is due at start + phase(check) + n × interval. `start` (the engine's
    clock when it built the schedule) is not recorded, so it is taken as the value that
    makes the smallest lateness in the window zero: every figure is then at most that
    smallest true lateness (well under a millisecond) too low."""
    interval = timedelta(seconds=run.settings.interval)
    phases = {
        check_name(i): phase(check_name(i), interval, MAX_SPREAD).total_seconds()
        for i in range(run.settings.checks)
    }
    with Store.open(f"sqlite:///{run.db}") as store, store.engine.connect() as conn:
        rows = conn.execute(select(check_results.c.check_name, check_results.c.started_at)).all()
    shifted = [(row.started_at.timestamp() - phases[row.check_name], row) for row in rows]
    reference = min(x for x, _ in shifted)
    step = run.settings.interval
    late = []
    for x, row in shifted:
        offset = x - reference
        late.append((offset - round(offset / step) * step, row.started_at))
    start, end = run.window
    window = [value for value, at in late if start <= at < end]
    if not window:
        raise BenchError("no results stored in the measurement window")
    floor = min(window)
    window = [value - floor for value in window]
    return Lateness(len(window), percentile(window, 50), percentile(window, 99), max(window))


def baseline_child(settings: Settings) -> None:
    """Run in a fresh process: N timers on the engine's phases; print lateness as JSON."""

    async def timers() -> list[float]:
        loop = asyncio.get_running_loop()
        interval = timedelta(seconds=settings.interval)
        origin = loop.time()
        measure_from = origin + settings.warmup  # the caller passes one round
        stop_at = measure_from + settings.duration
        late: list[float] = []
        done = loop.create_future()

        def fire(due: float) -> None:
            now = loop.time()
            if now >= stop_at:
                if not done.done():
                    done.set_result(None)
                return
            if now >= measure_from:
                late.append(now - due)
            loop.call_at(due + settings.interval, fire, due + settings.interval)

        for i in range(settings.checks):
            due = origin + phase(check_name(i), interval, MAX_SPREAD).total_seconds()
            loop.call_at(due, fire, due)
        await done
        return late

    late = asyncio.run(timers())
    print(json.dumps(late))


def run_baseline(settings: Settings) -> Lateness:
    argv = [sys.executable, str(Path(__file__).resolve()), "--baseline-child"]
    argv += ["--checks", str(settings.checks), "--interval", str(settings.interval)]
    warmup = settings.interval + 5  # one full round; timers need nothing else to settle
    argv += ["--warmup", str(warmup), "--duration", str(settings.duration)]
    budget = warmup + settings.duration + 120
    done = subprocess.run(argv, capture_output=True, text=True, timeout=budget, check=True)
    late = json.loads(done.stdout)
    if not late:
        raise BenchError("the baseline timers recorded nothing")
    bounds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0, 5.0]
    cumulative = {b: float(sum(1 for v in late if v <= b)) for b in [*bounds, math.inf]}
    lower, upper, _ = bucket_quantile({}, cumulative, 0.99)
    return Lateness(
        len(late), percentile(late, 50), percentile(late, 99), max(late), (lower, upper)
    )


# --------------------------------------------------------------------------- storage


@dataclass(frozen=True)
class Storage:
    raw_per_result: float  # bytes in use per stored result (row, samples, indexes)
    raw_by_table: dict[str, float]
    minute_row: float  # bytes per 1-minute roll-up row
    hour_row: float
    series_per_check: int  # roll-up series per check (samples + up)
    values_per_hour_row: float  # values the measured hour rows summarise
    results_per_day: float

    @property
    def raw_per_day(self) -> float:
        return self.raw_per_result * self.results_per_day

    def steady_state(self) -> dict[str, float]:
        """Bytes per check once every retention period is full."""
        per_minute_rows = self.series_per_check * DAY / MINUTE
        per_hour_rows = self.series_per_check * DAY / HOUR
        return {
            "raw (48 h)": self.raw_per_day * RETENTION["raw"] / DAY,
            "1-minute roll-ups (30 d)": per_minute_rows * self.minute_row * 30,
            "hourly roll-ups (400 d)": per_hour_rows * self.hour_row * 400,
        }


def measure_storage(run: EngineRun) -> Storage:
    grown = {
        name: size - run.size_start.bytes_by_table.get(name, 0)
        for name, size in run.size_end.bytes_by_table.items()
    }
    results = run.size_end.results - run.size_start.results
    if results <= 0:
        raise BenchError("no results stored in the measurement window")
    raw_tables = ("check_results", "samples")
    raw = sum(grown.get(name, 0) for name in raw_tables)
    with Store.open(f"sqlite:///{run.db}") as store:
        # Roll up every minute the run has: the engine has stopped, so the newest minutes
        # (which it leaves for late results) and the last, partial one are complete.
        until = datetime.now(UTC) + timedelta(minutes=1)
        store.rollups.roll_minutes(until, max_span=timedelta(days=1), lag=timedelta(0))
        minute_rows = _count_rollups(store, MINUTE)
        if minute_rows == 0:
            raise BenchError("roll-up produced no rows")
        # The table (with its primary key index) holds only minute rows so far.
        before = store_size(run.db)
        minutes = before.bytes_by_table.get("sample_rollups", 0)
        fill = minutes / before.used_by_table.get("sample_rollups", 1)
        hour_rows, values_per_hour_row = hourly_rows(store, run.settings.interval)
        # A few hour rows may fit in pages the table already has: count the bytes they
        # use, at the fill factor of the table's pages.
        used = store_size(run.db).used_by_table.get("sample_rollups", 0)
        hours = (used - before.used_by_table.get("sample_rollups", 0)) * fill
        series = _series_per_check(store)
    return Storage(
        raw_per_result=raw / results,
        raw_by_table={name: grown.get(name, 0) / results for name in raw_tables},
        minute_row=minutes / minute_rows,
        hour_row=hours / hour_rows,
        values_per_hour_row=values_per_hour_row,
        series_per_check=series,
        results_per_day=DAY / run.settings.interval,
    )


def _count_rollups(store: Store, resolution: int) -> int:
    with store.engine.connect() as conn:
        return len(
            conn.execute(
                select(sample_rollups.c.bucket).where(sample_rollups.c.resolution == resolution)
            ).all()
        )


def _series_per_check(store: Store) -> int:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(sample_rollups.c.check_name, sample_rollups.c.name).distinct()
        ).all()
    per_check = Counter(row.check_name for row in rows)
    return max(per_check.values())


def hourly_rows(store: Store, interval: float, checks: int = 1000) -> tuple[int, float]:
    """Write hour roll-ups as a full hour of this run would give them; return their count
    and the mean number of values each summarises.

    A run of minutes has no complete hour, so each hour row merges the run's minute rows
    of several checks (same target, same distribution) until it holds one hour of values
    (3600 / interval); a short run gives fewer rows, or one row of fewer values. They are
    stored under a far-future hour, so no real row is touched."""
    per_hour = round(HOUR / interval)
    with store.engine.connect() as conn:
        minute_rows = conn.execute(
            select(sample_rollups).where(sample_rollups.c.resolution == MINUTE)
        ).all()
    by_series: dict[str, list[Any]] = defaultdict(list)
    for row in minute_rows:
        by_series[row.name].append(row._mapping)
    bucket = datetime(2100, 1, 1, tzinfo=UTC)
    rows_out: list[dict[str, Any]] = []
    for name, rows in by_series.items():
        summaries = [Summary()]
        for values in rows:
            if summaries[-1].count >= per_hour:
                if len(summaries) == checks:
                    break
                summaries.append(Summary())
            summaries[-1].merge(
                from_row(
                    values["count"],
                    values["sum"],
                    values["min"],
                    values["max"],
                    values["histogram"],
                )
            )
        if len(summaries) > 1 and summaries[-1].count < per_hour:
            summaries.pop()  # a partial hour, when full ones exist
        rows_out += [
            {
                "check_name": f"hour-{i:05d}",
                "name": name,
                "resolution": HOUR,
                "bucket": bucket,
                "count": summary.count,
                "sum": summary.total,
                "min": summary.low,
                "max": summary.high,
                "histogram": summary.histogram_json(),
            }
            for i, summary in enumerate(summaries)
        ]
    with store.engine.begin() as conn:
        upsert(conn, sample_rollups, rows_out, ["check_name", "name", "resolution", "bucket"])
    return len(rows_out), statistics.fmean(row["count"] for row in rows_out)


# --------------------------------------------------------------------------- profile


def py_spy(pid: int, seconds: float, directory: Path) -> list[str]:
    """Who holds the GIL in the engine: py-spy for `seconds` (only samples where a thread
    holds the GIL, which is what keeps the event loop from running), by thread, by
    function (own time) and by area (inclusive)."""
    binary = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(binary).exists():
        return ["py-spy not installed (pip install py-spy): no profile"]
    out = directory / "profile.txt"
    rate = 100
    argv = [binary, "record", "--pid", str(pid), "--duration", str(int(seconds))]
    argv += ["--format", "raw", "--output", str(out), "--rate", str(rate)]
    argv += ["--gil", "--threads", "--nonblocking"]
    subprocess.run(argv, capture_output=True, timeout=seconds + 60, check=True)
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = [f for f in stack.split(";") if not f.startswith("process")]
        if frames and frames[0].startswith("thread"):
            label = frames.pop(0)
            threads["event loop" if "MainThread" in label else "worker threads"] += n
        if not frames:
            continue
        total += n
        own[_frame(frames[-1])] += n
        for area in {_area(f) for f in frames}:
            inclusive[area] += n
    if not total:
        return ["py-spy recorded no samples"]
    held = total / (rate * seconds)
    lines = [
        f"py-spy --gil, {seconds:.0f} s: the GIL was held {100 * held:.0f} % of the time; "
        + ", ".join(f"{name} {100 * n / total:.0f} %" for name, n in threads.most_common()),
        "own time by function (share of GIL-holding samples):",
    ]
    lines += [f"  {100 * n / total:5.1f} %  {name}" for name, n in own.most_common(12)]
    lines.append("inclusive, by area:")
    lines += [
        f"  {100 * n / total:5.1f} %  {name}"
        for name, n in inclusive.most_common()
        if name != "other"
    ]
    return lines


def _frame(frame: str) -> str:
    """'func (path/to/module.py:123)' -> 'func (module.py)'."""
    name, _, where = frame.partition(" (")
    return f"{name} ({Path(where.split(':')[0]).name})" if where else name


AREAS = (
    "opsbook/store/rollups",
    "opsbook/store/results",
    "opsbook/checks",
    "opsbook/engine",
    "opsbook/rules",
    "opsbook/notify",
    "aiohttp",
    "sqlalchemy",
    "prometheus_client",
    "asyncio",
    "uvicorn",
)


def _area(frame: str) -> str:
    where = frame.partition(" (")[2]
    return next((key for key in AREAS if key in where), "other")


# --------------------------------------------------------------------------- report


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _bucket(bounds: tuple[float, float] | None) -> str:
    if bounds is None:
        return "-"
    lower, upper = bounds
    return f"({lower * 1000:g}, {upper * 1000:g}] ms"


def report(
    run: EngineRun,
    exact: Lateness,
    histogram: Lateness,
    baseline: Lateness | None,
    storage: Storage,
    table_box: box.Box,
) -> list[Table]:
    s = run.settings
    span = run.samples[-1].at - run.samples[0].at
    cpu = run.cpu_share()
    per_second = [
        (b.cpu - a.cpu) / (b.at - a.at) for a, b in itertools.pairwise(run.samples) if b.at > a.at
    ]
    rss = [x.rss for x in run.samples]
    connections = "keep-alive" if s.keepalive else "a fresh connection per run"
    lateness = Table(
        title=f"{s.checks:,} http checks every {s.interval:g} s ({connections}), "
        f"measured {s.duration:g} s after {s.warmup:g} s warm-up",
        title_justify="left",
        box=table_box,
    )
    lateness.add_column("measure")
    for name in ("value", "target", "note"):
        lateness.add_column(name, justify="right" if name != "note" else "left")
    lateness.add_row(
        "lateness p99, exact",
        _ms(exact.p99),
        "≤ 20 ms",
        f"{exact.count:,} probe starts vs their schedule; p50 {_ms(exact.p50)}, "
        f"max {_ms(exact.max)}",
    )
    lateness.add_row(
        "lateness p99, histogram",
        _bucket(histogram.bucket_p99),
        "≤ 20 ms",
        f"{histogram.count:,} scheduler decisions, /metrics bucket deltas",
    )
    if baseline is not None:
        lateness.add_row(
            "baseline: bare asyncio timers, p99",
            _ms(baseline.p99),
            "",
            f"{baseline.count:,} firings; p50 {_ms(baseline.p50)}, max {_ms(baseline.max)}; "
            f"bucket {_bucket(baseline.bucket_p99)}",
        )
    lateness.add_row(
        "engine RSS, max",
        f"{max(rss) / 1e6:.0f} MB",
        "≤ 200 MB",
        f"= {max(rss) / 2**20:.0f} MiB; mean {statistics.fmean(rss) / 1e6:.0f} MB, "
        f"end {rss[-1] / 1e6:.0f} MB",
    )
    lateness.add_row(
        "engine CPU, mean",
        f"{100 * cpu:.1f} %",
        "≤ 25 %",
        f"of one core; per-second p95 {100 * percentile(per_second, 95):.1f} %; "
        f"{s.checks / s.interval:.0f} checks/s; {1e6 * cpu * s.interval / s.checks:.0f} µs "
        "CPU per check",
    )
    lateness.add_row(
        "target server CPU, mean",
        f"{100 * run.target_cpu / span:.1f} %",
        "",
        "bench/http_target.py, its own process",
    )

    size = Table(title="Store size per check (SQLite)", title_justify="left", box=table_box)
    size.add_column("what")
    size.add_column("bytes", justify="right")
    size.add_column("note")
    size.add_row(
        "raw, per result",
        f"{storage.raw_per_result:,.0f}",
        ", ".join(f"{k} {v:,.0f}" for k, v in storage.raw_by_table.items()) + " (with indexes)",
    )
    size.add_row(
        "raw, per check per day",
        f"{storage.raw_per_day:,.0f}",
        f"{storage.results_per_day:,.0f} results a day at {s.interval:g} s",
    )
    size.add_row(
        "1-minute roll-up row",
        f"{storage.minute_row:,.0f}",
        f"{storage.series_per_check} series per check (samples + up)",
    )
    size.add_row(
        "hourly roll-up row",
        f"{storage.hour_row:,.0f}",
        f"built from the run's minute rows, {storage.values_per_hour_row:,.0f} values each "
        f"(a full hour: {HOUR / s.interval:,.0f}); bytes in use × the pages' fill factor",
    )
    steady = storage.steady_state()
    for name, value in steady.items():
        size.add_row(f"steady state: {name}", f"{value:,.0f}", "per check")
    total = sum(steady.values())
    size.add_row(
        "steady state, total",
        f"{total:,.0f}",
        f"per check; {s.checks:,} checks: {total * s.checks / 2**30:.1f} GiB",
    )
    return [lateness, size]


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=10_000, help="http checks in the config")
    parser.add_argument("--interval", type=float, default=30.0, help="check interval, seconds")
    parser.add_argument("--warmup", type=float, default=420.0, help="seconds before measuring")
    parser.add_argument("--duration", type=float, default=300.0, help="seconds measured")
    parser.add_argument("--keepalive", action="store_true", help="checks keep connections alive")
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare timers")
    parser.add_argument("--profile", type=float, default=0.0, help="py-spy seconds afterwards")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--workdir", type=Path, help="keep config, logs and the store here")
    parser.add_argument("--baseline-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    settings = Settings(args.checks, args.interval, args.warmup, args.duration, args.keepalive)
    if args.baseline_child:
        baseline_child(settings)
        return 0
    if args.checks < 3 or args.interval <= 0 or args.duration < args.interval:
        parser.error("need ≥ 3 checks, a positive interval and --duration ≥ --interval")
    table_box = box.MARKDOWN if args.markdown else box.SIMPLE_HEAD
    with contextlib.ExitStack() as stack:
        directory = work_directory(stack, args.workdir, "opsbook-scale-")
        try:
            started = datetime.now(UTC)
            load = ", ".join(f"{x:.2f}" for x in psutil.getloadavg())
            console.print(
                f"run {started:%Y-%m-%d %H:%M} UTC, {psutil.cpu_count()} CPUs, "
                f"load average {load} (1, 5, 15 min) at the start"
            )
            run = run_engine(settings, directory, args.profile)
            lower, upper, count = bucket_quantile(run.buckets_start, run.buckets_end, 0.99)
            histogram = Lateness(count, math.nan, math.nan, math.nan, (lower, upper))
            exact = exact_lateness(run)
            storage = measure_storage(run)
            baseline = None if args.no_baseline else run_baseline(settings)
        except (BenchError, subprocess.SubprocessError) as exc:
            console.print(f"[bold red]bench failed:[/] {exc}")
            return 1
        load = ", ".join(f"{x:.2f}" for x in psutil.getloadavg())
        console.print(f"load average {load} at the end")
        for table in report(run, exact, histogram, baseline, storage, table_box):
            console.print(table)
        for line in [rollups_in_window(run), *verdict(run, exact), *run.profile]:
            console.print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
