"""Detection latency: from a fault injected at a random moment to the firing notification
arriving at a webhook, for opsbook and for Prometheus + blackbox exporter + Alertmanager.

    python bench/detection.py [--faults N] [--interval S] [--mode down|down_hard]
                              [--quick] [--opsbook-only] [--markdown] [--seed N]

Both systems watch the same demo target (``python -m opsbook.demo.target``, its own
process) at the same probe interval, at the same time, and post to webhook paths of one
receiver in this process, which timestamps each arrival:

* opsbook: ``opsbook serve`` with one http check (``interval``), the rule
  ``last(api-health.up) < 1``, a webhook receiver, ``group_wait: 0s``,
  ``group_interval: 1s``;
* the peer, from the Debian packages ``prometheus``, ``prometheus-blackbox-exporter`` and
  ``prometheus-alertmanager``, set up to be as fast as they go: the blackbox exporter's
  ``http_2xx`` module probes the target when Prometheus scrapes it (``scrape_interval`` =
  ``interval``), the rule ``probe_success == 0`` with ``for: 0s`` is evaluated every 1 s
  (the smallest useful ``evaluation_interval``), Alertmanager has ``group_wait: 0s``,
  ``group_interval: 1s`` and a webhook receiver with ``send_resolved``.

One fault schedule serves both: wait a random time (at least ``--settle`` plus a uniform
share of one interval, so the fault lands at a uniformly random phase of either prober),
switch the target down, wait until both receivers got the firing notification (or the
timeout: counted as missed), switch it back, wait until both sent the resolution, repeat.
Every firing notification after the first within one fault counts as a duplicate.

After the run, each detection is split into stages: for opsbook from its store (the
failing result's start and duration, the outbox row's creation, claim and send) and its
JSON log (when the outbox row was committed); for the peer from Prometheus' own samples
(when the failing scrape ran) and the alert's ``startsAt`` (the rule evaluation that saw
it). Times are wall-clock times of this one host.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import random
import re
import shutil
import statistics
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from rich import box
from rich.table import Table
from sqlalchemy import select

from common import (
    BenchError,
    Child,
    Hook,
    WebhookReceiver,
    children,
    console,
    free_port,
    http_ok,
    percentile,
    serve_log,
    start_child,
    start_demo_target,
    start_serve,
    wait_until,
    work_directory,
)
from opsbook.status import Status
from opsbook.store import Store
from opsbook.store.tables import check_results, notification_attempts, notifications

ALERT = "api-down"
CHECK = "api-health"
OPSBOOK_PATH = "/opsbook"
PEER_PATH = "/peer"
OPSBOOK = "opsbook"
PEER = "Prometheus + blackbox + Alertmanager"

# Debian names first, then the upstream ones.
BINARIES = {
    "prometheus": ("prometheus",),
    "alertmanager": ("prometheus-alertmanager", "alertmanager"),
    "blackbox": ("prometheus-blackbox-exporter", "blackbox_exporter"),
}


@dataclass(frozen=True)
class Settings:
    faults: int
    interval: float  # seconds between probes, both systems
    mode: str  # the demo target's failure mode
    settle: float  # at least this long healthy between a resolution and the next fault
    seed: int | None
    peer: bool

    @property
    def timeout(self) -> float:
        """How long a fault (or a recovery) may take to be notified before it counts as missed."""
        return max(15.0, 4 * self.interval + 10)

    @property
    def probe_timeout(self) -> float:
        return min(2.0, 0.8 * self.interval)

    @property
    def target_p95(self) -> float:
        return 0.95 * self.interval + 0.5


def duration(seconds: float) -> str:
    """A duration both opsbook.yaml and Prometheus/Alertmanager configs accept."""
    return f"{round(seconds * 1000)}ms"


def parse_time(text: str) -> float:
    """RFC 3339 with up to nanoseconds (Go) or microseconds (Python) -> epoch seconds."""
    match = re.fullmatch(r"(.+?T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text)
    if match is None:
        raise BenchError(f"unreadable time {text!r}")
    whole, fraction, zone = match.groups()
    stamp = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    return stamp.timestamp() + float(f"0.{fraction or 0}")


def fires(hook: Hook) -> bool:
    return any(a.get("labels", {}).get("alertname") == ALERT for a in hook.alerts("firing"))


def resolves(hook: Hook) -> bool:
    return hook.status == "resolved" and any(
        a.get("labels", {}).get("alertname") == ALERT for a in hook.alerts("resolved")
    )


# --------------------------------------------------------------------------- the systems


def opsbook_config(target: str, hook_url: str, settings: Settings) -> str:
    interval = duration(settings.interval)
    return f"""\
project: {{name: bench-detection}}
services: [{{name: api}}]
engine:
  # The bench flips the alert every few seconds on purpose; flap damping would (rightly)
  # stop notifying after four flips. Alertmanager has no such damping.
  flapping: {{flips: 0}}
checks:
  - name: {CHECK}
    service: api
    interval: {interval}
    http: {{url: "{target}/health", timeout: {duration(settings.probe_timeout)}}}
rules:
  - {{name: {ALERT}, expr: "last({CHECK}.up)", critical: "< 1"}}
receivers:
  - {{name: hook, webhook: {{url: "{hook_url}"}}}}
route: {{receiver: hook, group_wait: 0s, group_interval: 1s}}
"""


def peer_binaries() -> dict[str, str] | None:
    found = {}
    for role, names in BINARIES.items():
        path = next((p for p in map(shutil.which, names) if p), None)
        if path is None:
            return None
        found[role] = path
    return found


@dataclass
class Peer:
    prometheus_url: str
    children: list[Child]

    def query(self, promql: str, at: float | None = None) -> list[Any]:
        params = {"query": promql}
        if at is not None:
            params["time"] = f"{at:.3f}"
        address = f"{self.prometheus_url}/api/v1/query?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(address, timeout=10) as response:
            answer = json.load(response)
        if answer.get("status") != "success":
            raise BenchError(f"Prometheus query {promql!r} failed: {answer}")
        return list(answer["data"]["result"])


def start_peer(
    directory: Path, binaries: dict[str, str], target: str, hook_url: str, settings: Settings
) -> Peer:
    """Blackbox exporter, Alertmanager and Prometheus on free ports, in `directory`."""
    started: list[Child] = []
    try:
        return _start_peer(directory, binaries, target, hook_url, settings, started)
    except BaseException:
        for child in reversed(started):
            child.stop()
        raise


def _start_peer(
    directory: Path,
    binaries: dict[str, str],
    target: str,
    hook_url: str,
    settings: Settings,
    started: list[Child],
) -> Peer:
    interval = duration(settings.interval)
    blackbox_port, am_port, prom_port = free_port(), free_port(), free_port()

    blackbox_config = directory / "blackbox.yml"
    blackbox_config.write_text(
        yaml.safe_dump(
            {
                "modules": {
                    "http_2xx": {
                        "prober": "http",
                        "timeout": duration(settings.probe_timeout),
                        "http": {"preferred_ip_protocol": "ip4"},
                    }
                }
            }
        )
    )
    blackbox = start_child(
        "blackbox exporter",
        [
            binaries["blackbox"],
            f"--config.file={blackbox_config}",
            f"--web.listen-address=127.0.0.1:{blackbox_port}",
            "--log.level=warn",
        ],
        directory / "blackbox.log",
    )
    started.append(blackbox)

    am_config = directory / "alertmanager.yml"
    am_config.write_text(
        yaml.safe_dump(
            {
                "route": {
                    "receiver": "hook",
                    "group_by": ["alertname"],
                    "group_wait": "0s",
                    "group_interval": "1s",
                    "repeat_interval": "4h",
                },
                "receivers": [
                    {"name": "hook", "webhook_configs": [{"url": hook_url, "send_resolved": True}]}
                ],
            },
            sort_keys=False,
        )
    )
    alertmanager = start_child(
        "alertmanager",
        [
            binaries["alertmanager"],
            f"--config.file={am_config}",
            f"--storage.path={directory / 'alertmanager-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",  # no HA gossip: one instance, no settle wait
            "--log.level=warn",
        ],
        directory / "alertmanager.log",
    )
    started.append(alertmanager)

    rules = directory / "rules.yml"
    rules.write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {
                        "name": "bench",
                        "interval": "1s",
                        "rules": [{"alert": ALERT, "expr": "probe_success == 0", "for": "0s"}],
                    }
                ]
            },
            sort_keys=False,
        )
    )
    prom_config = directory / "prometheus.yml"
    prom_config.write_text(
        yaml.safe_dump(
            {
                "global": {
                    "scrape_interval": interval,
                    "scrape_timeout": duration(min(settings.interval, 2.5)),
                    "evaluation_interval": "1s",
                },
                "rule_files": [str(rules)],
                "alerting": {
                    "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
                },
                "scrape_configs": [
                    {
                        "job_name": "blackbox",
                        "metrics_path": "/probe",
                        "params": {"module": ["http_2xx"]},
                        "static_configs": [{"targets": [f"{target}/health"]}],
                        "relabel_configs": [
                            {"source_labels": ["__address__"], "target_label": "__param_target"},
                            {"source_labels": ["__param_target"], "target_label": "instance"},
                            {
                                "target_label": "__address__",
                                "replacement": f"127.0.0.1:{blackbox_port}",
                            },
                        ],
                    }
                ],
            },
            sort_keys=False,
        )
    )
    prometheus = start_child(
        "prometheus",
        [
            binaries["prometheus"],
            f"--config.file={prom_config}",
            f"--storage.tsdb.path={directory / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
            "--log.level=warn",
        ],
        directory / "prometheus.log",
    )
    started.append(prometheus)

    wait_until(
        lambda: http_ok(f"http://127.0.0.1:{blackbox_port}/-/healthy"), "blackbox", 30, blackbox
    )
    wait_until(
        lambda: http_ok(f"http://127.0.0.1:{am_port}/-/ready"), "alertmanager", 30, alertmanager
    )
    wait_until(
        lambda: http_ok(f"http://127.0.0.1:{prom_port}/-/ready"), "prometheus", 60, prometheus
    )
    return Peer(f"http://127.0.0.1:{prom_port}", list(started))


# --------------------------------------------------------------------------- the run


@dataclass
class Fault:
    index: int
    injected: float  # time.time() just before the target was told to fail
    restored: float = 0.0  # just before it was told to recover


@dataclass
class Run:
    settings: Settings
    faults: list[Fault]
    hooks: list[Hook]
    ended: float
    started: float
    opsbook_db: str
    serve_log: Path
    peer: Peer | None
    peer_samples: list[tuple[float, float]] = field(default_factory=list)  # probe_success


async def set_mode(session: aiohttp.ClientSession, target: str, mode: str) -> None:
    async with session.post(f"{target}/_demo/mode", json={"mode": mode}) as response:
        if response.status != 200:
            raise BenchError(f"demo target refused mode {mode}: HTTP {response.status}")


async def metric_total(session: aiohttp.ClientSession, url: str, name: str, **labels: str) -> float:
    """Sum of the samples of one metric (with these labels) on a /metrics page."""
    async with session.get(url) as response:
        text = await response.text()
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total


async def warm_up(
    session: aiohttp.ClientSession, serve_metrics: str, peer: Peer | None, interval: float
) -> None:
    """Until opsbook has run its check OK and Prometheus has a successful probe."""
    deadline = time.monotonic() + 30 + 3 * interval
    while time.monotonic() < deadline:
        ok = await metric_total(session, serve_metrics, "opsbook_checks_run_total", status="ok")
        peer_ok = peer is None or bool(await asyncio.to_thread(peer.query, "probe_success == 1"))
        if ok >= 1 and peer_ok:
            return
        await asyncio.sleep(0.2)
    raise BenchError("the probes did not see the healthy target during warm-up")


def systems(peer: Peer | None) -> list[str]:
    return [OPSBOOK_PATH, PEER_PATH] if peer is not None else [OPSBOOK_PATH]


async def run_faults(
    settings: Settings,
    receiver: WebhookReceiver,
    target: str,
    peer: Peer | None,
    session: aiohttp.ClientSession,
) -> list[Fault]:
    rng = random.Random(settings.seed)
    faults = []
    paths = systems(peer)
    for index in range(1, settings.faults + 1):
        await asyncio.sleep(settings.settle + rng.uniform(0, settings.interval))
        fault = Fault(index, time.time())
        await set_mode(session, target, settings.mode)
        await receiver.wait(notified(receiver, paths, fires, fault.injected), settings.timeout)
        fault.restored = time.time()
        await set_mode(session, target, "healthy")
        firing = [p for p in paths if notified(receiver, [p], fires, fault.injected)()]
        await receiver.wait(notified(receiver, firing, resolves, fault.restored), settings.timeout)
        faults.append(fault)
        seen = []
        for path in paths:
            first = next((h for h in receiver.on(path, fault.injected) if fires(h)), None)
            took = f"{first.at - fault.injected:.2f}s" if first else "missed"
            seen.append(f"{label(path)} {took}")
        console.print(f"fault {index}/{settings.faults}: " + ", ".join(seen))
    # Late repeats of the last fault arrive within a few group intervals, if at all.
    await asyncio.sleep(3.0)
    return faults


def notified(
    receiver: WebhookReceiver, paths: Sequence[str], kind: Callable[[Hook], bool], since: float
) -> Callable[[], bool]:
    """A test: has every path received a notification of this kind since `since`?"""

    def done() -> bool:
        return all(any(kind(h) for h in receiver.on(path, since)) for path in paths)

    return done


def label(path: str) -> str:
    return OPSBOOK if path == OPSBOOK_PATH else "peer"


async def measure(settings: Settings, directory: Path) -> Run:
    binaries = peer_binaries() if settings.peer else None
    if settings.peer and binaries is None:
        console.print(
            "peer binaries not found (prometheus, prometheus-alertmanager, "
            "prometheus-blackbox-exporter): measuring opsbook only"
        )
    async with WebhookReceiver() as receiver, aiohttp.ClientSession() as session:
        with children() as kids:
            target_child, target = await asyncio.to_thread(start_demo_target, directory)
            kids.append(target_child)
            config = directory / "opsbook.yaml"
            config.write_text(opsbook_config(target, receiver.url(OPSBOOK_PATH), settings))
            db_url = f"sqlite:///{directory / 'opsbook.db'}"
            serve_port = free_port()
            kids.append(await asyncio.to_thread(start_serve, directory, config, db_url, serve_port))
            peer = None
            if binaries is not None:
                peer = await asyncio.to_thread(
                    start_peer, directory, binaries, target, receiver.url(PEER_PATH), settings
                )
                kids.extend(peer.children)
            await warm_up(
                session, f"http://127.0.0.1:{serve_port}/metrics", peer, settings.interval
            )
            started = time.time()
            faults = await run_faults(settings, receiver, target, peer, session)
            ended = time.time()
            run = Run(
                settings,
                faults,
                list(receiver.hooks),
                ended,
                started,
                db_url,
                directory / "serve.log",
                peer,
            )
            if peer is not None:
                run.peer_samples = await asyncio.to_thread(peer_probe_samples, peer, started, ended)
    return run


def peer_probe_samples(peer: Peer, started: float, ended: float) -> list[tuple[float, float]]:
    """Every probe_success sample Prometheus stored during the run (scrape time, value)."""
    window = int(ended - started) + 60
    result = peer.query(f"probe_success[{window}s]", at=ended + 1)
    if not result:
        return []
    return [(float(ts), float(value)) for ts, value in result[0]["values"]]


# --------------------------------------------------------------------------- analysis


@dataclass
class Outcome:
    """One system's notifications for one fault."""

    latency: float | None  # None: missed
    duplicates: int
    first: Hook | None


def outcomes(run: Run, path: str) -> list[Outcome]:
    out = []
    for i, fault in enumerate(run.faults):
        window_end = run.faults[i + 1].injected if i + 1 < len(run.faults) else run.ended
        firing = [
            h
            for h in run.hooks
            if h.path == path and fires(h) and fault.injected <= h.at < window_end
        ]
        first = firing[0] if firing and firing[0].at <= fault.restored else None
        latency = first.at - fault.injected if first is not None else None
        out.append(Outcome(latency, max(0, len(firing) - 1), first))
    return out


def spurious(run: Run, path: str) -> int:
    """Firing notifications before the first fault (the target was healthy)."""
    start = run.faults[0].injected if run.faults else run.ended
    return sum(1 for h in run.hooks if h.path == path and fires(h) and h.at < start)


@dataclass
class Summary:
    system: str
    faults: int
    latencies: list[float]
    missed: int
    duplicates: int
    spurious: int

    def quantile(self, q: float) -> float:
        return percentile(self.latencies, q)


def summarise(run: Run, path: str, name: str) -> Summary:
    results = outcomes(run, path)
    latencies = [r.latency for r in results if r.latency is not None]
    return Summary(
        name,
        len(results),
        latencies,
        sum(1 for r in results if r.latency is None),
        sum(r.duplicates for r in results),
        spurious(run, path),
    )


def _ts(at: datetime | None) -> float | None:
    return at.timestamp() if at is not None else None


def opsbook_stages(run: Run) -> dict[str, list[float]]:
    """Each detection split at the points opsbook's store and log record."""
    with Store.open(run.opsbook_db) as store, store.engine.connect() as conn:
        results = conn.execute(
            select(check_results.c.started_at, check_results.c.duration_ms, check_results.c.status)
            .where(check_results.c.check_name == CHECK)
            .order_by(check_results.c.started_at)
        ).all()
        rows = {
            row.idempotency_key: row
            for row in conn.execute(
                select(
                    notifications.c.id,
                    notifications.c.idempotency_key,
                    notifications.c.created_at,
                    notifications.c.claimed_at,
                )
            )
        }
        attempts = {
            row.notification_id: row.started_at
            for row in conn.execute(
                select(
                    notification_attempts.c.notification_id, notification_attempts.c.started_at
                ).where(notification_attempts.c.attempt == 1)
            )
        }
    queued = sorted(
        parse_time(record["timestamp"])
        for record in serve_log(run.serve_log)
        if str(record.get("event", "")).startswith("notification queued")
        and "firing" in str(record.get("event"))
    )
    stages: dict[str, list[float]] = {name: [] for name in OPSBOOK_STAGES}
    for fault, outcome in zip(run.faults, outcomes(run, OPSBOOK_PATH), strict=True):
        if outcome.first is None:
            continue
        failing = next(
            (
                r
                for r in results
                if r.status != Status.OK and r.started_at.timestamp() >= fault.injected
            ),
            None,
        )
        row = rows.get(outcome.first.key or "")
        if failing is None or row is None:
            continue
        probe_start = failing.started_at.timestamp()
        probe_end = probe_start + failing.duration_ms / 1000
        created = _ts(row.created_at)
        committed = next((t for t in queued if created is not None and t >= created), None)
        claimed = _ts(row.claimed_at)
        if created is None or committed is None or claimed is None:
            continue
        send_start = _ts(attempts.get(row.id)) or claimed
        points = [
            fault.injected,
            probe_start,
            probe_end,
            created,
            committed,
            claimed,
            send_start,
            outcome.first.at,
        ]
        for name, (a, b) in zip(OPSBOOK_STAGES, itertools.pairwise(points), strict=True):
            stages[name].append(b - a)
    return stages


OPSBOOK_STAGES = (
    "wait for the next probe",
    "probe (HTTP request)",
    "result → rule evaluation",
    "evaluation → outbox row committed",
    "committed → deliverer awake",
    "claim (two store calls in threads)",
    "render + POST → received",
)

PEER_STAGES = (
    "wait for the next scrape (probe)",
    "scrape → rule evaluation (startsAt)",
    "evaluation → Prometheus → Alertmanager → received",
)


def peer_stages(run: Run) -> dict[str, list[float]]:
    stages: dict[str, list[float]] = {name: [] for name in PEER_STAGES}
    failing = [ts for ts, value in run.peer_samples if value == 0]
    for fault, outcome in zip(run.faults, outcomes(run, PEER_PATH), strict=True):
        if outcome.first is None:
            continue
        scrape = next((ts for ts in failing if ts >= fault.injected), None)
        alert = next((a for a in outcome.first.alerts("firing")), None)
        if scrape is None or alert is None:
            continue
        evaluated = parse_time(alert["startsAt"])
        points = [fault.injected, scrape, evaluated, outcome.first.at]
        for name, (a, b) in zip(PEER_STAGES, itertools.pairwise(points), strict=True):
            stages[name].append(b - a)
    return stages


# --------------------------------------------------------------------------- tables


def _s(value: float) -> str:
    return "-" if value != value else f"{value:.2f} s"  # NaN: nothing measured


def latency_table(summaries: Sequence[Summary], settings: Settings, table_box: box.Box) -> Table:
    table = Table(
        title=f"Fault → firing notification received, {settings.interval:g} s probe interval, "
        f"target mode {settings.mode!r}",
        title_justify="left",
        box=table_box,
    )
    table.add_column("system")
    for name in ("faults", "p50", "p95", "max", "mean", "missed", "duplicates"):
        table.add_column(name, justify="right")
    for s in summaries:
        mean = statistics.fmean(s.latencies) if s.latencies else float("nan")
        dup = f"{s.duplicates}" + (f" (+{s.spurious} before the first fault)" if s.spurious else "")
        table.add_row(
            s.system,
            str(s.faults),
            _s(s.quantile(50)),
            _s(s.quantile(95)),
            _s(max(s.latencies, default=float("nan"))),
            _s(mean),
            str(s.missed),
            dup,
        )
    if len(summaries) == 2 and summaries[0].latencies and summaries[1].latencies:
        ours, peer = summaries
        ratio = [
            ours.quantile(50) / peer.quantile(50),
            ours.quantile(95) / peer.quantile(95),
            max(ours.latencies) / max(peer.latencies),
            statistics.fmean(ours.latencies) / statistics.fmean(peer.latencies),
        ]
        table.add_row("ratio opsbook / peer", "", *(f"{r:.2f}×" for r in ratio), "", "")
    return table


def stage_table(title: str, stages: dict[str, list[float]], table_box: box.Box) -> Table:
    table = Table(title=title, title_justify="left", box=table_box)
    table.add_column("stage")
    for name in ("n", "p50", "p95", "max"):
        table.add_column(name, justify="right")
    for name, values in stages.items():
        table.add_row(
            name,
            str(len(values)),
            *(f"{percentile(values, q) * 1000:.1f} ms" if values else "-" for q in (50, 95, 100)),
        )
    return table


def verdict(summaries: Sequence[Summary], settings: Settings) -> list[str]:
    ours = summaries[0]
    lines = []
    p95 = ours.quantile(95)
    goal = settings.target_p95
    lines.append(
        f"opsbook p95 {p95:.2f} s vs target ≤ 0.95 × {settings.interval:g} s + 0.5 s "
        f"= {goal:.2f} s: " + ("met" if p95 <= goal else "MISSED")
    )
    if len(summaries) == 2 and summaries[1].latencies:
        limit = 0.6 * summaries[1].quantile(95)
        lines.append(
            f"opsbook p95 {p95:.2f} s vs ≤ 0.6 × peer p95 = {limit:.2f} s: "
            + ("met" if p95 <= limit else "MISSED")
        )
    clean = ours.missed == 0 and ours.duplicates == 0 and ours.spurious == 0
    lines.append(
        f"opsbook missed {ours.missed}, duplicates {ours.duplicates + ours.spurious}: "
        + ("met" if clean else "MISSED")
    )
    return lines


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--faults", type=int, default=30, help="faults to inject (≥ 20 for the record)"
    )
    parser.add_argument("--interval", type=float, default=5.0, help="probe interval, seconds")
    parser.add_argument(
        "--mode",
        choices=("down", "down_hard"),
        default="down",
        help="the target's fault: HTTP 503 (down) or dropped connections",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=1.0,
        help="minimum healthy time between a resolution and the next fault",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the fault schedule")
    parser.add_argument("--opsbook-only", action="store_true", help="do not run the peer")
    parser.add_argument("--quick", action="store_true", help="3 faults, 1 s interval (smoke test)")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--workdir", type=Path, help="keep configs, logs and data here")
    args = parser.parse_args(argv)
    if args.quick:
        args.faults, args.interval = 3, 1.0
    if args.faults < 1 or args.interval < 0.5:
        parser.error("--faults must be ≥ 1 and --interval ≥ 0.5")
    settings = Settings(
        args.faults, args.interval, args.mode, args.settle, args.seed, peer=not args.opsbook_only
    )
    table_box = box.MARKDOWN if args.markdown else box.SIMPLE_HEAD
    with contextlib.ExitStack() as stack:
        directory = work_directory(stack, args.workdir, "opsbook-detect-")
        try:
            run = asyncio.run(measure(settings, directory))
        except BenchError as exc:
            console.print(f"[bold red]bench failed:[/] {exc}")
            return 1
        summaries = [summarise(run, OPSBOOK_PATH, OPSBOOK)]
        if run.peer is not None:
            summaries.append(summarise(run, PEER_PATH, PEER))
        console.print(
            f"run {datetime.fromtimestamp(run.started, UTC):%Y-%m-%d %H:%M} UTC, "
            f"{run.ended - run.started:.0f} s, seed {settings.seed}"
        )
        console.print(latency_table(summaries, settings, table_box))
        console.print(stage_table("opsbook: where the time goes", opsbook_stages(run), table_box))
        if run.peer is not None:
            console.print(stage_table("peer: where the time goes", peer_stages(run), table_box))
        for line in verdict(summaries, settings):
            console.print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
