"""The disk kind on this machine's real filesystems, checked against shutil.disk_usage."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from opsbook.checks.context import ProbeContext
from opsbook.status import Status
from tests.checkutil import run

RELAXED = {"used_pct": {"warning": "> 100", "critical": "> 100"}}


def df_used_pct(path: Path | str) -> float:
    usage = shutil.disk_usage(path)
    return usage.used / (usage.used + usage.free) * 100


@pytest.mark.parametrize("path", ["/", "tmp"])
async def test_plausible_numbers(path: str, tmp_path: Path) -> None:
    where = "/" if path == "/" else tmp_path
    async with ProbeContext(tmp_path) as ctx:
        result = await run("disk", {"path": str(where)}, ctx, thresholds=RELAXED)
    assert result.status is Status.OK, result.message
    usage = shutil.disk_usage(where)
    samples = result.samples
    assert samples["total_bytes"] == usage.total
    assert samples["free_bytes"] == pytest.approx(usage.free, rel=0.01, abs=64 * 1024**2)
    assert 0 <= samples["used_pct"] <= 100
    assert samples["used_pct"] == pytest.approx(df_used_pct(where), abs=0.5)
    assert 0 <= samples["inodes_used_pct"] <= 100
    assert f"{samples['used_pct']:.0f}% used" in result.message


@pytest.mark.parametrize(
    "offset_warning,offset_critical,expected",
    [(5, 10, Status.OK), (-5, 10, Status.WARNING), (-10, -5, Status.CRITICAL)],
)
async def test_thresholds_around_the_real_value(
    offset_warning: float, offset_critical: float, expected: Status
) -> None:
    real = df_used_pct("/")
    thresholds = {
        "used_pct": {
            "warning": f"> {real + offset_warning:.3f}",
            "critical": f"> {real + offset_critical:.3f}",
        }
    }
    result = await run("disk", {"path": "/"}, thresholds=thresholds)
    assert result.status is expected, result.message
    if expected is not Status.OK:
        assert result.message.startswith("used_pct ")


async def test_default_thresholds_follow_the_runbook() -> None:
    result = await run("disk", {})
    used = result.samples["used_pct"]
    expected = Status.CRITICAL if used > 90 else Status.WARNING if used > 80 else Status.OK
    assert result.status is expected, result.message


async def test_relative_path_is_relative_to_the_config_dir(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    async with ProbeContext(tmp_path) as ctx:
        result = await run("disk", {"path": "data"}, ctx, thresholds=RELAXED)
    assert result.status is Status.OK
    assert result.message.startswith(f"{tmp_path / 'data'} ")


async def test_missing_path_is_critical(tmp_path: Path) -> None:
    result = await run("disk", {"path": str(tmp_path / "gone")})
    assert result.status is Status.CRITICAL
    assert result.message == f"{tmp_path / 'gone'} does not exist"
    assert result.samples == {}


async def test_inodes_skipped_where_the_filesystem_has_none() -> None:
    if not Path("/proc/self").exists():
        pytest.skip("no procfs")
    result = await run("disk", {"path": "/proc"})
    assert "inodes_used_pct" not in result.samples
    assert "inodes" not in result.message
