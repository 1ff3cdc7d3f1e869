"""Inbound latency: from a PagerDuty-style event posted to opsbook to the notification it
causes arriving at a webhook, under a sustained event rate.

    python bench/inbound.py [--rate N] [--seconds S] [--db sqlite|postgresql|URL]
                            [--drain S] [--timeout S] [--markdown] [--workdir DIR]

One ``opsbook serve`` (its own process) has an ``events`` integration and one webhook
receiver, a server in this process that timestamps each arrival. Its route groups by
``dedup_key`` with ``group_wait: 0s``, so every event becomes its own alert group and
yields exactly one notification:

* each event is a ``trigger`` with a distinct ``dedup_key`` and ``payload.severity``
  ``warning``, mapped to P3: below the incident threshold, so the path measured is the
  alert path (inbound → alert stored with its outbox row → deliverer → webhook), not
  paging;
* events are sent open-loop at ``--rate`` per second for ``--seconds`` (each on its own
  schedule, whatever the answers to earlier ones take), over one keep-alive HTTP client
  with ``Authorization: Bearer <token>``;
* per event the bench records the send time, the answer (202 and its ``dedup_key``, or
  the error) and the first notification whose alert carries that ``dedup_key`` label;
  later ones for the same key count as duplicates. An accepted event not notified within
  ``--drain`` seconds after the last answer is *late* when its outbox row is still
  waiting in opsbook's store, and *lost* when there is no row at all. A request without
  an answer within ``--timeout`` seconds (30, a common sender default) is an HTTP error,
  as it is for a real sender, even when opsbook stores the event later.

Before the measured run, five events are sent and their notifications awaited, so
connection set-up and first-use costs in the server stay out of the figures. Each
measured latency is then split at the points opsbook's store records: when the outbox
row was planned (the engine's clock as it stored the alert), when the deliverer claimed
it and when the delivery attempt began. Times are wall-clock times of this one host.

``--db sqlite`` (default) puts the store in the work directory; ``--db postgresql``
creates a fresh database on ``postgresql://postgres@127.0.0.1:5432`` and drops it
afterwards; any other value is used as the store URL as it is.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
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
    percentile,
    start_serve,
    store_url,
    work_directory,
)
from opsbook.store import Store
from opsbook.store.tables import notification_attempts, notifications

INTEGRATION = "bench-events"
TOKEN = "bench-inbound-5d1f0c9a7e3b2846"
HOOK_PATH = "/inbound"
WARMUP_EVENTS = 5

STAGES = (
    "event sent → outbox row planned",
    "planned → claimed by the deliverer",
    "claimed → delivery attempt started",
    "attempt started → received",
)


@dataclass(frozen=True)
class Settings:
    rate: float  # events per second
    seconds: float
    drain: float  # how long after the last answer a notification may still arrive
    timeout: float  # the client's limit for one request, as a sender's HTTP timeout
    db: str  # "sqlite", "postgresql" or a store URL

    @property
    def events(self) -> int:
        return max(1, round(self.rate * self.seconds))


@dataclass
class Sent:
    key: str
    at: float  # time.time() just before the request
    answered: float | None = None
    status: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 202 and self.error is None

    @property
    def failure(self) -> str | None:
        """What went wrong, in a word: "HTTP 503", "timeout", "ClientOSError", ..."""
        if self.ok:
            return None
        if self.status is not None:
            return f"HTTP {self.status}"
        return (self.error or "no answer").split(":", 1)[0]


@dataclass
class Run:
    settings: Settings
    db_label: str
    db_url: str
    sent: list[Sent]
    hooks: list[Hook]
    started: float
    ended: float
    serve_cpu: float  # opsbook serve's user + system CPU, share of one core, measured run
    serve_rss_mb: float  # at the end of the run
    stages: dict[str, list[float]] = field(default_factory=dict)
    outbox: dict[str, str] = field(default_factory=dict)  # dedup_key -> its row's status


def opsbook_config(hook_url: str) -> str:
    return f"""\
project: {{name: bench-inbound}}
integrations:
  - name: {INTEGRATION}
    kind: events
    token: "{TOKEN}"
    service: batch
    severity: P3
    severity_map: {{critical: P1, error: P2, warning: P3, info: P4}}
receivers:
  - {{name: hook, webhook: {{url: "{hook_url}"}}}}
route:
  receiver: hook
  group_by: [dedup_key]     # one alert group, and one notification, per event
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 4h
"""


def event_body(key: str, index: int) -> dict[str, Any]:
    return {
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {
            "summary": f"Backup Failed: job {index} exited 1",
            "source": f"batch-{index % 10:02d}",
            "severity": "warning",
            "component": "backup",
            "group": "backups",
            "class": "BackupFailed",
            "custom_details": {"exit_status": 1, "job": index},
        },
        "client": "bench/inbound.py",
    }


# --------------------------------------------------------------------------- the store


# --------------------------------------------------------------------------- the run


def first_arrivals(hooks: Sequence[Hook]) -> tuple[dict[str, Hook], Counter[str]]:
    """The first notification per dedup_key, and how many arrived for each key."""
    first: dict[str, Hook] = {}
    seen: Counter[str] = Counter()
    for hook in sorted(hooks, key=lambda h: h.at):
        for alert in hook.alerts("firing"):
            key = alert.get("labels", {}).get("dedup_key")
            if key is None:
                continue
            seen[key] += 1
            first.setdefault(key, hook)
    return first, seen


class Delivered:
    """The dedup_keys notified so far, updated from the receiver's new arrivals only (the
    check runs on every arrival, on the loop that timestamps them)."""

    def __init__(self, receiver: WebhookReceiver) -> None:
        self.receiver = receiver
        self.keys: set[str] = set()
        self._read = 0

    def covers(self, keys: set[str]) -> bool:
        for hook in self.receiver.hooks[self._read :]:
            for alert in hook.alerts("firing"):
                key = alert.get("labels", {}).get("dedup_key")
                if key is not None:
                    self.keys.add(key)
        self._read = len(self.receiver.hooks)
        return keys <= self.keys


async def send(session: aiohttp.ClientSession, url: str, record: Sent, index: int) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        async with session.post(url, json=event_body(record.key, index), headers=headers) as r:
            body = await r.read()
            record.answered = time.time()
            record.status = r.status
            if r.status != 202:
                record.error = body[:200].decode(errors="replace")
            elif json.loads(body).get("dedup_key") != record.key:
                record.error = f"answer names another dedup_key: {body[:200]!r}"
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        record.answered = time.time()
        record.error = (
            "timeout" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
        )


async def send_at_rate(
    session: aiohttp.ClientSession, url: str, prefix: str, count: int, rate: float
) -> list[Sent]:
    """`count` events, the i-th at start + i / rate (open loop), all awaited."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    records: list[Sent] = []
    tasks = []
    for index in range(count):
        delay = start + index / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        record = Sent(f"{prefix}-{index:06d}", time.time())
        records.append(record)
        tasks.append(asyncio.create_task(send(session, url, record, index)))
    await asyncio.gather(*tasks)
    return records


def cpu_seconds(child: Child) -> float:
    fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(child: Child) -> float:
    for line in Path(f"/proc/{child.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    return float("nan")


async def measure(settings: Settings, directory: Path) -> Run:
    async with WebhookReceiver() as receiver:
        with children() as kids, store_url(directory, settings.db, "inbound") as (db_url, db_label):
            config = directory / "opsbook.yaml"
            config.write_text(opsbook_config(receiver.url(HOOK_PATH)))
            port = free_port()
            serve = await asyncio.to_thread(start_serve, directory, config, db_url, port)
            kids.append(serve)
            url = f"http://127.0.0.1:{port}/api/v1/inbound/events/{INTEGRATION}"
            timeout = aiohttp.ClientTimeout(total=settings.timeout)
            connector = aiohttp.TCPConnector(limit=256)
            async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
                warm = await send_at_rate(session, url, "warmup", WARMUP_EVENTS, 10)
                if not all(s.ok for s in warm):
                    raise BenchError(f"warm-up events refused: {[s.error for s in warm]}")
                delivered = Delivered(receiver)
                keys = {s.key for s in warm}
                if not await receiver.wait(lambda: delivered.covers(keys), 30):
                    raise BenchError(f"warm-up notifications did not arrive:\n{serve.tail()}")
                measured_from = len(receiver.hooks)
                cpu_before, cpu_from = cpu_seconds(serve), time.monotonic()
                started = time.time()
                sent = await send_at_rate(session, url, "event", settings.events, settings.rate)
                ended = time.time()
                expected = {s.key for s in sent if s.ok}
                await receiver.wait(lambda: delivered.covers(expected), settings.drain)
                await asyncio.sleep(1.0)  # a duplicate would follow within a group interval
                cpu = (cpu_seconds(serve) - cpu_before) / (time.monotonic() - cpu_from)
                rss = rss_mb(serve)
            run = Run(
                settings,
                db_label,
                db_url,
                sent,
                list(receiver.hooks[measured_from:]),
                started,
                ended,
                cpu,
                rss,
            )
            await asyncio.to_thread(read_store, run)
    return run


def group_dedup_key(group_key: str) -> str | None:
    """The dedup_key of a group key like `root:{"dedup_key":"event-000001"}`."""
    with contextlib.suppress(ValueError, AttributeError):
        return str(json.loads(group_key.split(":", 1)[1])["dedup_key"])
    return None


def read_store(run: Run) -> None:
    """Each delivered event split at the outbox row's planning, claim and first attempt;
    and the outbox status of every event (by dedup_key) when the run ended."""
    first, _ = first_arrivals(run.hooks)
    with Store.open(run.db_url) as store, store.engine.connect() as conn:
        listed = conn.execute(
            select(
                notifications.c.id,
                notifications.c.idempotency_key,
                notifications.c.group_key,
                notifications.c.status,
                notifications.c.created_at,
                notifications.c.claimed_at,
            ).order_by(notifications.c.id)
        ).all()
        attempts = {
            row.notification_id: row.started_at
            for row in conn.execute(
                select(
                    notification_attempts.c.notification_id, notification_attempts.c.started_at
                ).where(notification_attempts.c.attempt == 1)
            )
        }
    rows = {row.idempotency_key: row for row in listed}
    for listed_row in listed:
        key = group_dedup_key(listed_row.group_key)
        if key is not None:
            run.outbox.setdefault(key, listed_row.status)
    result: dict[str, list[float]] = {name: [] for name in STAGES}
    for record in run.sent:
        hook = first.get(record.key)
        row = rows.get(hook.key or "") if hook is not None else None
        if hook is None or row is None or row.claimed_at is None or row.id not in attempts:
            continue
        points = [
            record.at,
            row.created_at.timestamp(),
            row.claimed_at.timestamp(),
            attempts[row.id].timestamp(),
            hook.at,
        ]
        for name, (a, b) in zip(STAGES, itertools.pairwise(points), strict=True):
            result[name].append(b - a)
    run.stages = result


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class Summary:
    sent: int
    http_errors: int
    failures: Counter[str]  # by kind
    stored_unanswered: int  # in the outbox although the sender saw an error
    received: int  # accepted events whose notification arrived
    late: int  # accepted, in the outbox, not received by the end of the drain
    lost: int  # accepted, and in neither the outbox nor the receiver
    duplicates: int
    achieved_rate: float
    answer: list[float]  # send → HTTP answer, accepted events
    latency: list[float]  # send → first notification received


def summarise(run: Run) -> Summary:
    first, seen = first_arrivals(run.hooks)
    sent = run.sent
    accepted = [s for s in sent if s.ok]
    latency = [first[s.key].at - s.at for s in accepted if s.key in first]
    keys = {s.key for s in sent}
    duplicates = sum(n - 1 for key, n in seen.items() if key in keys)
    repeated_ids = Counter(h.key for h in run.hooks if h.key is not None)
    duplicates += sum(n - 1 for n in repeated_ids.values())
    span = sent[-1].at - sent[0].at if len(sent) > 1 else 0.0
    return Summary(
        sent=len(sent),
        http_errors=len(sent) - len(accepted),
        failures=Counter(s.failure for s in sent if s.failure is not None),
        stored_unanswered=sum(
            1 for s in sent if not s.ok and (s.key in first or s.key in run.outbox)
        ),
        received=len(latency),
        late=sum(1 for s in accepted if s.key not in first and s.key in run.outbox),
        lost=sum(1 for s in accepted if s.key not in first and s.key not in run.outbox),
        duplicates=duplicates,
        achieved_rate=(len(sent) - 1) / span if span > 0 else float("nan"),
        answer=[s.answered - s.at for s in accepted if s.answered is not None],
        latency=latency,
    )


def _ms(values: Sequence[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:.1f} ms" if values else "-"


def latency_table(run: Run, summary: Summary, table_box: box.Box) -> Table:
    s = run.settings
    table = Table(
        title=f"Inbound event → notification received, {s.rate:g} events/s for {s.seconds:g} s, "
        f"{run.db_label}",
        title_justify="left",
        box=table_box,
    )
    table.add_column("measure")
    for name in ("n", "p50", "p95", "p99", "max", "mean"):
        table.add_column(name, justify="right")
    rows = [("event → 202 answer", summary.answer), ("event → notification", summary.latency)]
    rows += [(name, run.stages.get(name, [])) for name in STAGES]
    for name, values in rows:
        mean = f"{statistics.fmean(values) * 1000:.1f} ms" if values else "-"
        table.add_row(name, str(len(values)), *(_ms(values, q) for q in (50, 95, 99, 100)), mean)
    return table


def counts_table(run: Run, summary: Summary, table_box: box.Box) -> Table:
    table = Table(title="Events and notifications", title_justify="left", box=table_box)
    table.add_column("count")
    table.add_column("value", justify="right")
    table.add_column("note")
    rows = [
        (
            "events sent",
            f"{summary.sent}",
            f"{run.settings.seconds:g} s at {run.settings.rate:g}/s",
        ),
        ("achieved rate", f"{summary.achieved_rate:.2f}/s", "first to last send"),
        (
            "HTTP errors",
            f"{summary.http_errors}",
            ", ".join(f"{kind} {n}" for kind, n in summary.failures.most_common())
            or f"not 202, or no answer within {run.settings.timeout:g} s",
        ),
        (
            "stored without a 202",
            f"{summary.stored_unanswered}",
            "the sender saw an error, yet opsbook stored the event",
        ),
        ("notifications received", f"{summary.received}", "one per accepted event expected"),
        (
            "late",
            f"{summary.late}",
            f"accepted, still in the outbox {run.settings.drain:g} s after the last answer",
        ),
        ("lost", f"{summary.lost}", "accepted, in neither the outbox nor the receiver"),
        ("duplicates", f"{summary.duplicates}", "repeated dedup_key or Idempotency-Key"),
        (
            "opsbook serve CPU",
            f"{run.serve_cpu * 100:.1f} %",
            "of one core, mean from the first send to the last notification + 1 s",
        ),
        ("opsbook serve RSS", f"{run.serve_rss_mb:.0f} MB", "at the end"),
    ]
    for row in rows:
        table.add_row(*row)
    return table


def slices_table(run: Run, summary: Summary, table_box: box.Box, count: int = 6) -> Table:
    """Latency by when the event was sent: every event stays firing, so the k-th event
    meets k - 1 firing alerts (plus the warm-up's) in the engine."""
    table = Table(
        title="Event → notification by send time (all events stay firing)",
        title_justify="left",
        box=table_box,
    )
    table.add_column("sent at")
    for name in ("events", "firing before", "p50", "p99", "max"):
        table.add_column(name, justify="right")
    first, _ = first_arrivals(run.hooks)
    width = run.settings.seconds / count
    start = run.sent[0].at
    for index in range(count):
        low, high = index * width, (index + 1) * width
        chosen = [
            s
            for s in run.sent
            if low <= s.at - start < high or (index == count - 1 and s.at - start >= high)
        ]
        latency = [first[s.key].at - s.at for s in chosen if s.ok and s.key in first]
        before = sum(1 for s in run.sent if s.at - start < low) + WARMUP_EVENTS
        table.add_row(
            f"{low:g}–{high:g} s",
            str(len(chosen)),
            str(before),
            *(_ms(latency, q) for q in (50, 99, 100)),
        )
    return table


def verdict(summary: Summary) -> list[str]:
    clean = summary.lost == 0 and summary.duplicates == 0
    on_time = summary.late == 0 and summary.http_errors == 0
    return [
        f"lost {summary.lost}, duplicates {summary.duplicates}: " + ("met" if clean else "MISSED"),
        f"HTTP errors {summary.http_errors}, late {summary.late}: "
        + ("met" if on_time else "MISSED"),
    ]


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to send")
    parser.add_argument(
        "--drain", type=float, default=60.0, help="wait this long after the last answer"
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="the sender's timeout per request, seconds"
    )
    parser.add_argument(
        "--db", default="sqlite", help="sqlite, postgresql (a fresh database), or a store URL"
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--workdir", type=Path, help="keep the config, log and store here")
    args = parser.parse_args(argv)
    if min(args.rate, args.seconds, args.drain, args.timeout) <= 0:
        parser.error("--rate, --seconds, --drain and --timeout must be positive")
    settings = Settings(args.rate, args.seconds, args.drain, args.timeout, args.db)
    table_box = box.MARKDOWN if args.markdown else box.SIMPLE_HEAD
    with contextlib.ExitStack() as stack:
        directory = work_directory(stack, args.workdir, "opsbook-inbound-")
        try:
            run = asyncio.run(measure(settings, directory))
        except BenchError as exc:
            console.print(f"[bold red]bench failed:[/] {exc}")
            return 1
        summary = summarise(run)
        console.print(
            f"run {datetime.fromtimestamp(run.started, UTC):%Y-%m-%d %H:%M} UTC, store "
            f"{run.db_label}: {summary.sent} events sent, the last answer "
            f"{run.ended - run.started:.1f} s after the first send"
        )
        console.print(latency_table(run, summary, table_box))
        console.print(slices_table(run, summary, table_box))
        console.print(counts_table(run, summary, table_box))
        for line in verdict(summary):
            console.print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
