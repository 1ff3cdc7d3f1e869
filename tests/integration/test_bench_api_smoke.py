"""bench/api.py runs end to end with tiny numbers (20 checks, 200 incidents and alerts,
5 clients for a second per page), so the benchmark cannot silently rot.

The recorded run (1,000 checks, 10,000 incidents and alerts, 50 clients) is made by hand
(see docs/benchmarks.md); this only proves that every page is found and measured and
yields figures in order.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.integration.test_bench_smoke import run_bench

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "api.py"


def milliseconds(cell: str) -> float:
    assert cell.endswith(" ms"), cell
    return float(cell.removesuffix(" ms"))


def measured_rows(output: str) -> dict[tuple[str, str], list[str]]:
    """The result table's rows by (page, path); the other cells in order."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        header = cells[0] in ("", "page") or set(cells[0]) <= {"-"}
        if line.startswith("|") and len(cells) > 2 and not header:
            rows[(cells[0], cells[1])] = cells[2:]
    return rows


def test_api_bench_with_tiny_numbers(tmp_path: Path) -> None:
    args = ["--checks", "20", "--incidents", "200", "--alerts", "200", "--clients", "5"]
    args += ["--seconds", "1", "--wrk-seconds", "1", "--markdown", "--workdir", str(tmp_path)]
    done = run_bench(BENCH, *args, timeout=300)
    rows = measured_rows(done.stdout)
    pages = {page for page, _ in rows}
    assert pages == {"overview", "incident list", "checks (API)", "status page"}, rows
    assert ("incident list", "/api/v1/incidents") in rows
    for (page, path), cells in rows.items():
        if cells[0] == "-":  # a page this app does not have
            assert page == "status page" and "not in this app" in cells[-1], cells
            continue
        requests, p50, p99, worst, rate, alone, wrk_rate, wrk_p50, wrk_p99, target = cells[:10]
        assert int(requests) > 0 and float(rate) > 0, (path, cells)
        assert 0 < milliseconds(p50) <= milliseconds(p99) <= milliseconds(worst), (path, cells)
        assert milliseconds(alone) > 0, (path, cells)
        if shutil.which("wrk"):
            assert float(wrk_rate) > 0 and milliseconds(wrk_p50) <= milliseconds(wrk_p99)
        else:
            assert wrk_rate == "wrk not installed", cells
        if page in ("overview", "status page"):
            assert target.endswith(("met", "MISSED")), cells
    assert "stored 200 incidents and 200 alerts" in done.stdout
    assert (tmp_path / "opsbook.yaml").is_file() and (tmp_path / "serve.log").is_file()
