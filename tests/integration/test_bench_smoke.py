"""bench/checks.py runs end to end with tiny numbers, so the benchmark cannot silently rot.

The bench itself is run by hand (see docs/benchmarks.md); this only proves that every
measurement still runs and yields a figure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "checks.py"

HTTP_METHODS = (
    "bare aiohttp loop, keep-alive",
    "bare aiohttp loop, fresh",
    "opsbook run_checks, fresh",
    "opsbook run_checks, keep-alive",
    "opsbook run_checks + SQLite store, fresh",
    "SQLite store alone (one batch)",
)


def table_rows(output: str) -> dict[str, list[str]]:
    """Markdown table rows of the bench's output, by their first cell."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] and not set(cells[0]) <= {"-"}:
            rows[cells[0]] = cells[1:]
    return rows


def run_bench(script: Path, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """A bench script run as a user runs it, with a terminal wide enough that every
    table row stays on one line; fails the test if the bench fails."""
    done = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "250"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_bench_runs_every_measurement_with_tiny_numbers() -> None:
    done = run_bench(BENCH, "--requests", "200", "--quick", "--markdown", timeout=600)
    rows = table_rows(done.stdout)
    for method in HTTP_METHODS:
        requests, seconds, rate = rows[method][:3]
        assert requests == "200", (method, rows[method])
        assert float(seconds) > 0 and float(rate.replace(",", "")) > 0, (method, rows[method])
    ceiling = next(name for name in rows if name.startswith("wrk"))
    assert ceiling == "wrk not installed (apt-get install wrk)" or float(rows[ceiling][1]) > 0
    wall = float(rows["opsbook check, wall time"][0])
    inside = float(rows["running the checks and storing"][0])
    assert 0 < inside < wall
    assert float(rows["imports of opsbook check"][0]) > 0
