"""bench/scale.py runs end to end with 200 checks for a few seconds, so the benchmark
cannot silently rot.

The recorded run (10,000 checks for minutes) is made by hand, see docs/benchmarks.md;
this only proves that every measurement still yields a figure.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.integration.test_bench_smoke import run_bench, table_rows

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "scale.py"


def number(cell: str) -> float:
    """The first number in a cell: '1.23 ms' -> 1.23, '1,234' -> 1234."""
    match = re.search(r"-?[\d,]+(?:\.\d+)?", cell)
    assert match is not None, cell
    return float(match.group(0).replace(",", ""))


def test_scale_bench_runs_every_measurement_with_small_numbers(tmp_path: Path) -> None:
    args = ["--checks", "200", "--interval", "5", "--warmup", "5", "--duration", "12"]
    done = run_bench(BENCH, *args, "--markdown", "--workdir", str(tmp_path), timeout=300)
    rows = table_rows(done.stdout)
    value, _, note = rows["lateness p99, exact"]
    assert value.endswith(" ms") and number(value) >= 0
    # 200 checks every 5 s for 12 s: about 480 probe starts in the window.
    assert 300 <= number(note) <= 700, note
    assert re.fullmatch(r"\([\d.]+, [\d.]+\] ms", rows["lateness p99, histogram"][0])
    assert number(rows["baseline: bare asyncio timers, p99"][0]) >= 0
    assert 20 < number(rows["engine RSS, max"][0]) < 2000  # MiB
    assert 0 < number(rows["engine CPU, mean"][0]) < 200  # % of one core
    # A result with three samples cannot take less than ~100 bytes, nor 100 kB.
    assert 100 < number(rows["raw, per result"][0]) < 100_000
    per_day = number(rows["raw, per check per day"][0])
    # 17,280 results a day at 5 s; the per-result figure is printed rounded to a byte.
    assert abs(per_day - 17_280 * number(rows["raw, per result"][0])) <= 17_280 / 2
    assert number(rows["1-minute roll-up row"][0]) > 0
    assert number(rows["hourly roll-up row"][0]) > 0
    assert number(rows["steady state, total"][0]) > per_day
    # Every target gets a verdict, and the roll-up passes in the window are named.
    assert "in the window, the engine's housekeeping ran" in done.stdout
    for target in ("scheduler lateness p99", "engine RSS", "engine CPU"):
        assert re.search(rf"^{target} .*: (met|MISSED)$", done.stdout, re.MULTILINE), target
