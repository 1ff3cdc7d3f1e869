"""bench/detection.py runs end to end in its quick mode (3 faults, 1 s probe interval), so
the benchmark cannot silently rot.

The peer (Prometheus + blackbox exporter + Alertmanager) runs when its Debian packages
are installed; without them only opsbook is measured, unless OPSBOOK_REQUIRE_SERVICES=1,
where the missing binaries fail the test. The recorded run is made by hand (see
docs/benchmarks.md); this only proves that every measurement still yields figures.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.integration.test_bench_smoke import run_bench, table_rows
from tests.services import unavailable

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "detection.py"
PEER_BINARIES = ("prometheus", "prometheus-alertmanager", "prometheus-blackbox-exporter")
OPSBOOK_STAGES = (
    "wait for the next probe",
    "probe (HTTP request)",
    "result → rule evaluation",
    "evaluation → outbox row committed",
    "committed → deliverer awake",
    "claim (two store calls in threads)",
    "render + POST → received",
)


def seconds(cell: str) -> float:
    assert cell.endswith(" s"), cell
    return float(cell.removesuffix(" s"))


def test_detection_bench_quick_mode_measures_every_fault(tmp_path: Path) -> None:
    missing = [name for name in PEER_BINARIES if shutil.which(name) is None]
    args = ["--quick", "--markdown", "--seed", "7", "--workdir", str(tmp_path)]
    if missing:
        if os.environ.get("OPSBOOK_REQUIRE_SERVICES") == "1":
            unavailable(f"peer binaries not installed: {', '.join(missing)}")
        args.append("--opsbook-only")
    done = run_bench(BENCH, *args, timeout=300)
    rows = table_rows(done.stdout)
    systems = ["opsbook"] if missing else ["opsbook", "Prometheus + blackbox + Alertmanager"]
    for system in systems:
        faults, p50, p95, worst, _mean, missed, duplicates = rows[system]
        assert faults == "3" and missed == "0" and duplicates == "0", (system, rows[system])
        # Each fault is seen by the next probe: within one interval plus delivery.
        assert 0 < seconds(p50) <= seconds(p95) <= seconds(worst) < 3.0, (system, rows[system])
    for stage in OPSBOOK_STAGES:
        assert rows[stage][0] == "3", (stage, rows[stage])
    if not missing:
        assert "ratio opsbook / peer" in rows
        assert rows["wait for the next scrape (probe)"][0] == "3"
    else:
        assert "ratio opsbook / peer" not in rows
    # The bench kept what it ran on: opsbook's config and JSON log, and its store.
    assert (tmp_path / "opsbook.yaml").is_file() and (tmp_path / "opsbook.db").is_file()
    assert '"notification queued for hook: firing' in (tmp_path / "serve.log").read_text()
