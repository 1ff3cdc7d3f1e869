"""The file_age kind's pure parts: judging a scan, human units, config validation."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from opsbook.checks.file_age import FileAgeCheck, Scan, human_duration, human_size, judge
from opsbook.config.loader import load_config_text
from opsbook.config.schema import config_json_schema
from opsbook.errors import ConfigError
from opsbook.status import Status

DOC = Path(__file__).parents[3] / "docs" / "checks" / "file_age.md"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
BACKUPS = "/backups/subjunctive/backup_*.dump.gz"


def cfg(**fields: object) -> FileAgeCheck:
    return FileAgeCheck.model_validate({"path": BACKUPS, "max_age": "26h", **fields})


def scan_of(age: timedelta, size: int = 5_000_000, files: int = 30, capped: bool = False) -> Scan:
    mtime = (NOW - age).timestamp()
    return Scan(files, capped, "/backups/subjunctive/backup_20261120_020000.dump.gz", mtime, size)


def test_fresh_backup_is_ok() -> None:
    result = judge(cfg(), scan_of(timedelta(hours=7, minutes=5)), NOW)
    assert result.status is Status.OK
    assert result.message == "newest backup_20261120_020000.dump.gz is 7h 5m old, 5.0 MB; 30 files"
    assert result.samples == {"age_s": 7 * 3600 + 300, "size_bytes": 5_000_000, "files": 30}


def test_stale_backup_is_critical_with_age_and_limit() -> None:
    result = judge(cfg(), scan_of(timedelta(days=3, hours=4, minutes=10)), NOW)
    assert result.status is Status.CRITICAL
    assert result.message == (
        "newest backup_20261120_020000.dump.gz is 3d 4h old (limit 1d 2h); 30 files"
    )


def test_exactly_at_the_limit_is_still_ok() -> None:
    assert judge(cfg(), scan_of(timedelta(hours=26)), NOW).status is Status.OK
    late = judge(cfg(), scan_of(timedelta(hours=26, seconds=1)), NOW)
    assert late.status is Status.CRITICAL


def test_empty_and_small_files_are_critical() -> None:
    empty = judge(cfg(), scan_of(timedelta(hours=1), size=0), NOW)
    assert empty.status is Status.CRITICAL
    assert "is 0 B (minimum 1 B)" in empty.message
    small = judge(cfg(min_size="1MB"), scan_of(timedelta(hours=1), size=20_480), NOW)
    assert small.status is Status.CRITICAL
    assert "is 20.5 KB (minimum 1.0 MB)" in small.message


def test_stale_and_empty_reports_both() -> None:
    result = judge(cfg(), scan_of(timedelta(days=2), size=0), NOW)
    assert result.status is Status.CRITICAL
    assert "is 2d old (limit 1d 2h) and is 0 B (minimum 1 B)" in result.message


def test_no_match_is_critical_and_counts_zero_files() -> None:
    result = judge(cfg(), Scan(0, False), NOW)
    assert result.status is Status.CRITICAL
    assert result.message == f"no file matches {BACKUPS}"
    assert result.samples == {"files": 0}


def test_capped_scan_is_never_a_clean_ok() -> None:
    result = judge(cfg(max_files=30), scan_of(timedelta(hours=1), capped=True), NOW)
    assert result.status is Status.WARNING
    assert "scan stopped at max_files 30" in result.message


def test_file_from_the_future() -> None:
    result = judge(cfg(), scan_of(timedelta(minutes=-5)), NOW)
    assert result.status is Status.OK
    assert result.samples["age_s"] == -300
    assert "backup_20261120_020000.dump.gz is dated 5m in the future, 5.0 MB" in result.message


@pytest.mark.parametrize(
    "seconds,text",
    [
        (0, "0s"),
        (0.7, "0s"),
        (12, "12s"),
        (243, "4m 3s"),
        (3600, "1h"),
        (18_720, "5h 12m"),
        (86_400 + 30, "1d"),
        (86_400 + 120, "1d"),
        (86_400 + 3600 * 5 + 120, "1d 5h"),
        (3600 + 5, "1h"),
        (3 * 86_400 + 4 * 3600 + 59, "3d 4h"),
        (-90, "1m 30s in the future"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_human_duration_with_more_units() -> None:
    assert human_duration(93_784, 4) == "1d 2h 3m 4s"


@pytest.mark.parametrize(
    "size,text",
    [(0, "0 B"), (999, "999 B"), (1000, "1.0 KB"), (12_345_678, "12.3 MB"), (5e15, "5000.0 TB")],
)
def test_human_size(size: float, text: str) -> None:
    assert human_size(size) == text


@given(st.floats(min_value=0, max_value=1e10))
def test_human_duration_has_at_most_two_parts(seconds: float) -> None:
    parts = human_duration(seconds).split(" ")
    assert 1 <= len(parts) <= 2
    assert all(re.fullmatch(r"\d+[dhms]", p) for p in parts)


@pytest.mark.parametrize(
    "block,path,message",
    [
        ("      path: x\n", "checks[0].file_age.max_age", "missing required key"),
        ("      max_age: 1d\n", "checks[0].file_age.path", "missing required key"),
        ("      path: ''\n      max_age: 1d\n", "checks[0].file_age.path", "must not be empty"),
        ("      path: x\n      max_age: 24\n", "checks[0].file_age.max_age", "add a unit"),
        ("      path: x\n      max_age: 0s\n", "checks[0].file_age.max_age", "longer than 0s"),
        (
            "      path: x\n      max_age: 1d\n      min_size: -1\n",
            "checks[0].file_age.min_size",
            "",
        ),
        (
            "      path: x\n      max_age: 1d\n      max_files: 0\n",
            "checks[0].file_age.max_files",
            "",
        ),
        ("      path: x\n      max_age: 1d\n      newest: true\n", "checks[0].file_age.newest", ""),
    ],
)
def test_config_errors(block: str, path: str, message: str) -> None:
    text = f"project:\n  name: t\nchecks:\n  - name: c\n    file_age:\n{block}"
    with pytest.raises(ConfigError) as caught:
        load_config_text(text)
    assert [i.path for i in caught.value.issues] == [path]
    assert message in caught.value.issues[0].message


def test_threshold_names_are_checked() -> None:
    text = (
        "project:\n  name: t\nchecks:\n  - name: c\n    file_age: {path: x, max_age: 1d}\n"
        "    thresholds:\n      age: {warning: 3600}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config_text(text)
    assert "did you mean 'age_s'?" in caught.value.issues[0].message


def test_doc_example_validates_with_loader_and_schema() -> None:
    schema = config_json_schema()
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    assert blocks
    for block in blocks:
        jsonschema.validate(yaml.safe_load(block), schema)
        config = load_config_text(block)
        assert any(c.kind == "file_age" for c in config.checks)
