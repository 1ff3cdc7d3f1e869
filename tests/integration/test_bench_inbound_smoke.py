"""bench/inbound.py runs end to end with tiny numbers (5 events/s for 3 s), so the
benchmark cannot silently rot.

The recorded run (50 events/s for 60 s) is made by hand (see docs/benchmarks.md); this
only proves that every measurement still yields figures and that, at this gentle rate,
every event is answered and notified exactly once.
"""

from __future__ import annotations

from pathlib import Path

from tests.integration.test_bench_smoke import run_bench, table_rows

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "inbound.py"
LATENCIES = (
    "event → 202 answer",
    "event → notification",
    "event sent → outbox row planned",
    "planned → claimed by the deliverer",
    "claimed → delivery attempt started",
    "attempt started → received",
)


def milliseconds(cell: str) -> float:
    assert cell.endswith(" ms"), cell
    return float(cell.removesuffix(" ms"))


def test_inbound_bench_with_tiny_numbers(tmp_path: Path) -> None:
    args = ["--rate", "5", "--seconds", "3", "--markdown", "--workdir", str(tmp_path)]
    done = run_bench(BENCH, *args, timeout=300)
    rows = table_rows(done.stdout)
    for name in LATENCIES:
        n, p50, p95, p99, worst, _mean = rows[name]
        assert n == "15", (name, rows[name])
        assert 0 <= milliseconds(p50) <= milliseconds(p95) <= milliseconds(p99), rows[name]
        assert milliseconds(p99) <= milliseconds(worst), (name, rows[name])
    # 15 events on an idle engine: each notification within a few seconds at worst.
    assert 0 < milliseconds(rows["event → notification"][4]) < 5000
    assert rows["events sent"][0] == "15"
    assert rows["HTTP errors"][0] == "0"
    assert rows["notifications received"][0] == "15"
    assert rows["lost"][0] == "0" and rows["duplicates"][0] == "0"
    rate = float(rows["achieved rate"][0].removesuffix("/s"))
    assert 4.5 <= rate <= 5.5, rate
    slices = [name for name in rows if name.endswith(" s") and "–" in name]
    assert len(slices) == 6 and sum(int(rows[name][0]) for name in slices) == 15, slices
    assert rows["late"][0] == "0" and rows["stored without a 202"][0] == "0"
    assert "lost 0, duplicates 0: met" in done.stdout
    assert "HTTP errors 0, late 0: met" in done.stdout
    # The bench kept what it ran on: the config, the JSON log and the store.
    assert (tmp_path / "opsbook.yaml").is_file() and (tmp_path / "opsbook.db").is_file()
    assert (tmp_path / "serve.log").is_file()
