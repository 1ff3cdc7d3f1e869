"""The log check on real files: the content-service's structured request log, a journal
export and an access log, followed across runs, restarts and rotations."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from opsbook.checks.context import ProbeContext
from opsbook.checks.log import LogCheck, decode_state, state_key
from opsbook.status import Status
from opsbook.store import Store
from tests.checkutil import run

NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
CONTENT = {"format": "json", "duration_field": "duration_ms"}


def request(
    at: datetime, status: int = 200, duration_ms: int = 123, level: str = "info", n: int = 0
) -> str:
    """One line of the content-service's structured log."""
    return json.dumps(
        {
            "time": at.isoformat().replace("+00:00", "Z"),
            "level": level,
            "status": status,
            "duration_ms": duration_ms,
            "trace_id": f"{n:032x}",
        }
    )


def append(path: Path, lines: Iterable[str]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(f"{line}\n" for line in lines)


def traffic(count: int, errors: int = 0, start: datetime | None = None, **fields: Any) -> list[str]:
    """`count` requests one second apart from `start` (default: ending now), the first
    `errors` of them 500s."""
    start = start or NOW - timedelta(seconds=count)
    return [
        request(start + timedelta(seconds=i), 500 if i < errors else 200, n=i, **fields)
        for i in range(count)
    ]


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def context(tmp_path: Path, clock: Callable[[], datetime] | None = None, **kw: Any) -> ProbeContext:
    return ProbeContext(tmp_path, clock=clock or Clock(), **kw)


def saved_state(ctx: ProbeContext, path: Path, spec: dict[str, Any]) -> Any:
    cfg = LogCheck.model_validate({"path": str(path), **spec})
    return decode_state(ctx.state.load(state_key(cfg, path)))


async def test_content_service_log_error_rate_and_latency(tmp_path: Path) -> None:
    log = tmp_path / "content-service.log"
    durations = [100 + 10 * i for i in range(40)]  # 100..490 ms
    append(
        log,
        [
            request(NOW - timedelta(seconds=60 - i), 500 if i < 3 else 200, d, n=i)
            for i, d in enumerate(durations)
        ],
    )
    async with context(tmp_path) as ctx:
        result = await run("log", {"path": str(log), **CONTENT}, ctx)
    assert result.samples == {
        "lines": 40,
        "unparsed": 0,
        "error_rate_pct": 7.5,  # 3 of 40
        "duration_ms_p95": 470,  # nearest rank 38 of 40
        "duration_ms_p50": 290,  # nearest rank 20 of 40
    }
    # The kind's default (runbook "Error Rate > 5%" critical) applies.
    assert result.status is Status.CRITICAL
    assert result.message.startswith("error_rate_pct 7.5 > 5; 40 lines in last 5m")


async def test_runbook_thresholds_on_error_rate_and_p95(tmp_path: Path) -> None:
    log = tmp_path / "content-service.log"
    append(log, traffic(100, errors=2, duration_ms=6000))
    thresholds = {
        "error_rate_pct": {"warning": "> 1", "critical": "> 5"},  # practice-app "Error Rate"
        "duration_ms_p95": {"critical": "> 5000"},  # content-service "P95 Latency > 5s"
    }
    async with context(tmp_path) as ctx:
        result = await run("log", {"path": str(log), **CONTENT}, ctx, thresholds=thresholds)
    assert result.status is Status.CRITICAL
    assert "duration_ms_p95 6000 > 5000" in result.message
    assert "error_rate_pct 2 > 1" in result.message


async def test_healthy_log_is_ok(tmp_path: Path) -> None:
    log = tmp_path / "content-service.log"
    append(log, traffic(200, errors=1))
    async with context(tmp_path) as ctx:
        result = await run("log", {"path": str(log), **CONTENT}, ctx)
    assert result.status is Status.OK, result.message
    assert result.samples["error_rate_pct"] == 0.5


async def test_second_run_reads_only_the_appended_part(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, traffic(10))
    spec = {"path": str(log), **CONTENT}
    async with context(tmp_path) as ctx:
        first = await run("log", spec, ctx)
        cursor, entries = saved_state(ctx, log, CONTENT)
        assert cursor.offset == log.stat().st_size
        assert len(entries) == 10
        # Rewrite the already-read bytes in place as 500s: a rescan would count them.
        text = log.read_text()
        log.write_text(text.replace('"status": 200', '"status": 500'))
        assert cursor.inode == log.stat().st_ino
        append(log, traffic(5, start=NOW - timedelta(seconds=30)))
        second = await run("log", spec, ctx)
        cursor2, _ = saved_state(ctx, log, CONTENT)
    assert first.samples["lines"] == 10
    assert second.samples["lines"] == 15
    assert second.samples["error_rate_pct"] == 0  # the rewritten 500s were not read again
    assert cursor2.offset == log.stat().st_size


async def test_restart_with_store_backed_state_resumes(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, traffic(20, errors=4))
    spec = {"path": str(log), **CONTENT}
    url = f"sqlite:///{tmp_path / 'opsbook.db'}"
    with Store.open(url) as store:
        async with context(tmp_path, state=store.probe_state) as ctx:
            first = await run("log", spec, ctx)
    log.write_text(log.read_text().replace('"status": 500', '"status": 200'))
    append(log, traffic(5, start=NOW - timedelta(seconds=10)))
    with Store.open(url) as store:  # a new process: only the store remembers
        async with context(tmp_path, state=store.probe_state) as ctx:
            second = await run("log", spec, ctx)
    assert first.samples["error_rate_pct"] == 20
    assert second.samples["lines"] == 25
    assert second.samples["error_rate_pct"] == 16  # the 4 errors remembered, not rescanned


async def test_rotation_starts_at_the_beginning_of_the_new_file(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, traffic(30, errors=3))
    spec = {"path": str(log), **CONTENT}
    async with context(tmp_path) as ctx:
        await run("log", spec, ctx)
        log.rename(tmp_path / "app.log.1")  # logrotate's default: move, create anew
        append(log, traffic(2, errors=2, start=NOW - timedelta(seconds=5)))
        rotated = await run("log", spec, ctx)
        cursor, _ = saved_state(ctx, log, CONTENT)
    assert rotated.samples["lines"] == 32
    assert rotated.samples["error_rate_pct"] == pytest.approx(5 / 32 * 100)
    assert "file rotated" in rotated.message
    assert cursor.offset == log.stat().st_size


async def test_truncation_in_place_counts_as_rotation(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, traffic(30))
    spec = {"path": str(log), **CONTENT}
    async with context(tmp_path) as ctx:
        await run("log", spec, ctx)
        with log.open("r+") as handle:  # logrotate copytruncate
            handle.truncate(0)
        append(log, traffic(3, errors=3, start=NOW - timedelta(seconds=5)))
        result = await run("log", spec, ctx)
    assert result.samples["lines"] == 33
    assert result.samples["error_rate_pct"] == pytest.approx(3 / 33 * 100)
    assert "file rotated" in result.message


async def test_window_excludes_old_entries(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    old = traffic(10, errors=10, start=NOW - timedelta(minutes=30))
    append(log, [*old, *traffic(10)])
    clock = Clock()
    spec = {"path": str(log), **CONTENT}
    async with context(tmp_path, clock) as ctx:
        now = await run("log", spec, ctx)
        clock.now = NOW + timedelta(minutes=6)  # the recent entries leave the 5m window
        later = await run("log", spec, ctx)
        _, kept = saved_state(ctx, log, CONTENT)
        wider = await run("log", {**spec, "window": "1h"}, ctx)
    assert now.samples["lines"] == 10
    assert now.samples["error_rate_pct"] == 0
    assert later.samples["lines"] == 0
    assert "error_rate_pct" not in later.samples
    assert "duration_ms_p95" not in later.samples
    assert kept == []  # nothing outside the window is kept
    assert wider.samples["lines"] == 20  # another config: its own state, reads the tail anew
    assert wider.samples["error_rate_pct"] == 50


async def test_first_run_reads_only_the_tail_of_a_big_file(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    lines = [request(NOW - timedelta(seconds=i % 200), n=i) for i in range(60_000)]
    append(log, lines)
    size = log.stat().st_size
    assert size > 7_000_000
    spec = {"path": str(log), **CONTENT, "max_read": "64KiB"}
    async with context(tmp_path) as ctx:
        result = await run("log", spec, ctx)
        cursor, _ = saved_state(ctx, log, {**CONTENT, "max_read": "64KiB"})
    line_size = size / 60_000
    assert 64 * 1024 / line_size - 2 <= result.samples["lines"] <= 64 * 1024 / line_size
    assert result.samples["unparsed"] == 0  # it started at a full line
    assert cursor.offset == size
    assert "skipped" not in result.message


async def test_falling_behind_more_than_max_read_skips_ahead(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, traffic(5))
    spec = {"path": str(log), **CONTENT, "max_read": "4KB"}
    async with context(tmp_path) as ctx:
        await run("log", spec, ctx)
        append(log, traffic(100, start=NOW - timedelta(seconds=100)))
        result = await run("log", spec, ctx)
    assert 5 + 20 <= result.samples["lines"] < 105
    assert result.samples["unparsed"] == 0
    assert "over max_read" in result.message


async def test_missing_file(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    spec = {"path": "later.log", **CONTENT}  # relative to the config directory
    async with context(tmp_path) as ctx:
        missing = await run("log", spec, ctx)
        tolerated = await run("log", {**spec, "missing_ok": True}, ctx)
        append(log, traffic(7, errors=7))
        appeared = await run("log", {**spec, "missing_ok": True}, ctx)
    assert missing.status is Status.CRITICAL
    assert missing.message == f"log file not found: {log}"
    assert tolerated.status is Status.OK
    assert tolerated.samples["lines"] == 0
    assert appeared.samples["lines"] == 7
    assert "rotated" not in appeared.message
    assert appeared.status is Status.CRITICAL  # 100% errors


async def test_directory_instead_of_file_is_critical(tmp_path: Path) -> None:
    async with context(tmp_path) as ctx:
        result = await run("log", {"path": str(tmp_path)}, ctx)
    assert result.status is Status.CRITICAL
    assert "is a directory" in result.message


async def test_malformed_lines_are_counted_not_fatal(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    valid = traffic(3)
    with log.open("wb") as handle:
        handle.write(valid[0].encode() + b"\n")
        handle.write(b"panic: runtime error \xff\xfe invalid utf-8\n")
        handle.write(b'{"status": 500, "time": \n')
        handle.write(b"\n")  # blank lines are not entries
        handle.write(valid[1].encode() + b"\r\n")  # CRLF
        long = json.loads(valid[2])
        long["detail"] = "x" * 100_000  # truncated at max_line: no longer valid JSON
        handle.write(json.dumps(long).encode() + b"\n")
    spec = {"path": str(log), **CONTENT, "matches": {"panics": "panic", "bad_bytes": "\ufffd"}}
    async with context(tmp_path) as ctx:
        result = await run("log", spec, ctx, thresholds={"unparsed": {"warning": "> 0"}})
    assert result.samples["lines"] == 5
    assert result.samples["unparsed"] == 3
    assert result.samples["panics"] == 1
    assert result.samples["bad_bytes"] == 1
    assert result.samples["error_rate_pct"] == 0  # 2 statuses read, both 200
    assert result.status is Status.WARNING


async def test_partial_last_line_waits_for_its_newline(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    line = request(NOW - timedelta(seconds=1), 500)
    append(log, traffic(4))
    with log.open("a") as handle:
        handle.write(line[:20])
    spec = {"path": str(log), **CONTENT}
    async with context(tmp_path) as ctx:
        first = await run("log", spec, ctx)
        with log.open("a") as handle:
            handle.write(line[20:] + "\n")
        second = await run("log", spec, ctx)
    assert first.samples["lines"] == 4
    assert first.samples["unparsed"] == 0
    assert second.samples["lines"] == 5
    assert second.samples["error_rate_pct"] == 20


async def test_journal_export_error_count_like_practice_app(tmp_path: Path) -> None:
    # journalctl -u subjunctive-backend --since "1 hour ago" | grep -i error | wc -l
    log = tmp_path / "backend.log"
    append(
        log,
        [
            "Mar 14 09:20:01 web1 subjunctive-backend[812]: GET /api/health 200",
            "Mar 14 09:20:02 web1 subjunctive-backend[812]: ERROR database timeout",
            "Mar 14 09:20:03 web1 subjunctive-backend[812]: error: redis unreachable",
            "Mar 14 09:20:04 web1 subjunctive-backend[812]: Slow query took 812 ms",
        ],
    )
    spec = {
        "path": str(log),
        "window": "1h",
        "matches": {"errors": "(?i)error", "slow": "(?i)slow|timeout"},
    }
    async with context(tmp_path) as ctx:
        result = await run("log", spec, ctx, thresholds={"errors": {"warning": "> 1"}})
    assert result.samples == {"lines": 4, "errors": 2, "slow": 2}
    assert result.status is Status.WARNING
    assert result.message.startswith("errors 2 > 1; 4 lines in last 1h")


async def test_access_log_with_regex(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    stamp = (NOW - timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    append(
        log,
        [
            f'127.0.0.1 [{stamp}] "GET /api/health" 200 12',
            f'127.0.0.1 [{stamp}] "GET /api/notes" 503 2300',
            f'127.0.0.1 [{stamp}] "POST /api/notes" 201 48',
            "garbage line",
        ],
    )
    spec = {
        "path": str(log),
        "format": "regex",
        "pattern": r'\[(?P<time>[^\]]+)\] "\w+ \S+" (?P<status>\d{3}) (?P<took_ms>\d+)',
        "duration_field": "took_ms",
    }
    async with context(tmp_path) as ctx:
        result = await run("log", spec, ctx)
    assert result.samples == {
        "lines": 4,
        "unparsed": 1,
        "error_rate_pct": pytest.approx(100 / 3),
        "took_ms_p95": 2300,
        "took_ms_p50": 48,
    }


async def test_entries_without_timestamps_count_as_read_now(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, [json.dumps({"status": 500, "msg": "no time field"})])
    clock = Clock()
    spec = {"path": str(log), "format": "json"}
    async with context(tmp_path, clock) as ctx:
        first = await run("log", spec, ctx)
        clock.now = NOW + timedelta(minutes=6)
        later = await run("log", spec, ctx)
    assert first.samples["error_rate_pct"] == 100
    assert later.samples["lines"] == 0
