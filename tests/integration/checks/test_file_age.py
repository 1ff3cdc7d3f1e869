"""The file_age kind on real files: the practice-app runbook's backup directory layout."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opsbook.checks.base import CheckResult
from opsbook.checks.context import ProbeContext
from opsbook.status import Status
from tests.checkutil import run

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PATTERN = "backups/subjunctive/backup_*.dump.gz"


def backup(directory: Path, age: timedelta, size: int = 2048, stamp: str | None = None) -> Path:
    """A file as backup-database.sh writes it, modified `age` before NOW."""
    when = NOW - age
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"backup_{stamp or when.strftime('%Y%m%d_%H%M%S')}.dump.gz"
    path.write_bytes(b"\x1f\x8b" + b"\0" * max(size - 2, 0) if size else b"")
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


async def check(base: Path, spec: dict[str, Any], **fields: Any) -> CheckResult:
    async with ProbeContext(base, clock=lambda: NOW) as ctx:
        return await run("file_age", spec, ctx, **fields)


async def test_fresh_backup_is_ok(tmp_path: Path) -> None:
    backup(tmp_path / "backups/subjunctive", timedelta(hours=7))
    result = await check(tmp_path, {"path": PATTERN, "max_age": "26h"})
    assert result.status is Status.OK, result.message
    assert result.samples == {"age_s": 7 * 3600, "size_bytes": 2048, "files": 1}
    assert result.message.endswith("is 7h old, 2.0 KB; 1 file")


async def test_stale_backup_is_critical(tmp_path: Path) -> None:
    backup(tmp_path / "backups/subjunctive", timedelta(days=3, hours=4))
    result = await check(tmp_path, {"path": PATTERN, "max_age": "26h"})
    assert result.status is Status.CRITICAL
    assert "is 3d 4h old (limit 1d 2h)" in result.message


async def test_empty_newest_backup_is_critical_even_if_older_ones_are_fine(tmp_path: Path) -> None:
    directory = tmp_path / "backups/subjunctive"
    backup(directory, timedelta(days=1, hours=1))
    newest = backup(directory, timedelta(hours=1), size=0)
    result = await check(tmp_path, {"path": PATTERN, "max_age": "26h"})
    assert result.status is Status.CRITICAL
    assert f"newest {newest.name} is 0 B (minimum 1 B)" in result.message
    assert result.samples["files"] == 2


async def test_no_files_is_critical(tmp_path: Path) -> None:
    (tmp_path / "backups/subjunctive").mkdir(parents=True)
    (tmp_path / "backups/subjunctive/backup_20261122.dump.gz.tmp").write_text("partial")
    result = await check(tmp_path, {"path": PATTERN, "max_age": "26h"})
    assert result.status is Status.CRITICAL
    assert result.message == f"no file matches {PATTERN}"
    assert result.samples == {"files": 0}


async def test_missing_directory_is_critical(tmp_path: Path) -> None:
    result = await check(tmp_path, {"path": "/nonexistent/opsbook/*.gz", "max_age": "1d"})
    assert result.status is Status.CRITICAL
    assert "no file matches /nonexistent/opsbook/*.gz" in result.message


async def test_newest_is_chosen_by_mtime_not_by_name(tmp_path: Path) -> None:
    directory = tmp_path / "backups/subjunctive"
    for day in range(1, 31):  # RETENTION_DAYS=30
        backup(directory, timedelta(days=day, hours=-2))
    # a later name with an older mtime (restored from elsewhere) must not win
    backup(directory, timedelta(days=40), stamp="20991231_000000")
    newest = backup(directory, timedelta(hours=3), size=4096)
    result = await check(tmp_path, {"path": PATTERN, "max_age": "26h"})
    assert result.status is Status.OK, result.message
    assert f"newest {newest.name} is 3h old" in result.message
    assert result.samples == {"age_s": 3 * 3600, "size_bytes": 4096, "files": 32}


async def test_directories_do_not_count(tmp_path: Path) -> None:
    directory = tmp_path / "backups/subjunctive"
    old = backup(directory, timedelta(days=5))
    (directory / "backup_new.dump.gz").mkdir()
    result = await check(tmp_path, {"path": PATTERN, "max_age": "26h"})
    assert result.samples["files"] == 1
    assert old.name in result.message and result.status is Status.CRITICAL


async def test_recursive_glob(tmp_path: Path) -> None:
    backup(tmp_path / "backups/a/2026/11", timedelta(days=2))
    newest = backup(tmp_path / "backups/b", timedelta(hours=2))
    backup(tmp_path / "backups", timedelta(days=9))
    result = await check(tmp_path, {"path": "backups/**/*.dump.gz", "max_age": "1d"})
    assert result.status is Status.OK, result.message
    assert result.samples["files"] == 3
    assert newest.name in result.message


async def test_absolute_pattern_and_config_dir_with_glob_characters(tmp_path: Path) -> None:
    base = tmp_path / "team [ops]*"
    backup(base / "backups/subjunctive", timedelta(hours=1))
    relative = await check(base, {"path": PATTERN, "max_age": "1d"})
    absolute = await check(
        tmp_path, {"path": f"{tmp_path}/team*/backups/subjunctive/*.gz", "max_age": "1d"}
    )
    assert relative.status is Status.OK and relative.samples["files"] == 1
    assert absolute.status is Status.OK and absolute.samples["files"] == 1


async def test_thresholds_on_age_s(tmp_path: Path) -> None:
    backup(tmp_path / "backups/subjunctive", timedelta(hours=2))
    spec = {"path": PATTERN, "max_age": "26h"}
    warn = await check(tmp_path, spec, thresholds={"age_s": {"warning": "> 3600"}})
    ok = await check(tmp_path, spec, thresholds={"age_s": {"warning": "> 10800"}})
    assert warn.status is Status.WARNING
    assert warn.message.startswith("age_s 7200 > 3600; newest")
    assert ok.status is Status.OK


async def test_max_files_stops_the_scan_and_says_so(tmp_path: Path) -> None:
    directory = tmp_path / "backups/subjunctive"
    for hours in range(1, 11):
        backup(directory, timedelta(hours=hours))
    result = await check(tmp_path, {"path": PATTERN, "max_age": "1d", "max_files": 4})
    assert result.status is Status.WARNING
    assert result.samples["files"] == 4
    assert "scan stopped at max_files 4" in result.message


async def test_real_clock_is_used_by_default(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat"
    path.write_text("alive")
    result = await run("file_age", {"path": str(path), "max_age": "1m"})
    assert result.status is Status.OK
    assert 0 <= result.samples["age_s"] < 60
