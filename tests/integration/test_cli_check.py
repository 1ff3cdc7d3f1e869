"""`opsbook check` end to end: a real HTTP server, the real CLI process, the real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsbook.status import Status
from opsbook.store import Store
from tests.services import free_port, wait_for_port

OPSBOOK = [sys.executable, "-m", "opsbook"]


@pytest.fixture
def web_root(tmp_path: Path) -> Iterator[str]:
    """`python -m http.server` serving health.json: a real, independent HTTP server."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "health.json").write_text(
        '{"status": "ok", "components": {"database": {"status": "up"}}}'
    )
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "-d", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def write_config(directory: Path, base: str) -> Path:
    dead = f"http://127.0.0.1:{free_port()}"
    path = directory / "opsbook.yaml"
    path.write_text(
        f"""
project: {{name: shop}}
services:
  - name: api
    depends_on: [database]
  - name: database
checks:
  - name: api-health
    service: api
    http:
      url: {base}/health.json
      json: ['$.status == "ok"', '$.components.database.status == "up"']
  - name: api-missing-page
    service: api
    http: {{url: {base}/nope}}
  - name: db-proxy
    service: database
    http: {{url: {dead}/}}
  - name: disabled
    enabled: false
    http: {{url: {dead}/}}
"""
    )
    return path


def opsbook(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}  # a wide table keeps each message on one line
    return subprocess.run(
        [*OPSBOOK, *args], cwd=cwd, capture_output=True, text=True, timeout=60, env=env
    )


def test_report_table_exit_code_and_stored_results(tmp_path: Path, web_root: str) -> None:
    config = write_config(tmp_path, web_root)
    done = opsbook("check", "-c", str(config), cwd=tmp_path)
    assert done.returncode == Status.CRITICAL, done.stderr
    assert "shop health check" in done.stdout
    for name in ("api-health", "api-missing-page", "db-proxy"):
        assert name in done.stdout
    assert "disabled" not in done.stdout
    assert "HTTP 404" in done.stdout and "cannot connect" in done.stdout
    assert "CRITICAL: 3 checks, 1 ok, 2 critical" in done.stderr
    with Store.open(f"sqlite:///{tmp_path / 'opsbook.db'}") as store:
        latest = store.results.latest()
    assert latest["api-health"].status is Status.OK
    assert latest["db-proxy"].status is Status.CRITICAL
    assert latest["api-health"].samples["status_code"] == 200


def test_json_output_and_selection(tmp_path: Path, web_root: str) -> None:
    config = write_config(tmp_path, web_root)
    done = opsbook("check", "-c", str(config), "--json", "api-health", cwd=tmp_path)
    assert done.returncode == Status.OK, done.stderr
    document = json.loads(done.stdout)
    assert document["status"] == "ok" and document["exit_code"] == 0
    (entry,) = document["results"]
    assert entry["check"] == "api-health" and entry["service"] == "api"
    assert entry["samples"]["status_code"] == 200
    assert set(entry) >= {"message", "started_at", "duration_ms"}


def test_service_filter_and_named_disabled_check(tmp_path: Path, web_root: str) -> None:
    config = write_config(tmp_path, web_root)
    done = opsbook("check", "-c", str(config), "--json", "--service", "database", cwd=tmp_path)
    assert [r["check"] for r in json.loads(done.stdout)["results"]] == ["db-proxy"]
    done = opsbook("check", "-c", str(config), "--json", "--no-store", "disabled", cwd=tmp_path)
    assert json.loads(done.stdout)["results"][0]["check"] == "disabled"


def test_config_found_through_env_and_cwd(tmp_path: Path, web_root: str) -> None:
    config = write_config(tmp_path, web_root)
    done = opsbook("check", "--no-store", "api-health", cwd=tmp_path)  # ./opsbook.yaml
    assert done.returncode == 0, done.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env_run = subprocess.run(
        [*OPSBOOK, "check", "--no-store", "api-health"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env={**os.environ, "OPSBOOK_CONFIG": str(config)},
        timeout=60,
    )
    assert env_run.returncode == 0, env_run.stderr


def test_unknown_check_name_is_unknown_status_with_hint(tmp_path: Path, web_root: str) -> None:
    config = write_config(tmp_path, web_root)
    done = opsbook("check", "-c", str(config), "api-helth", cwd=tmp_path)
    assert done.returncode == Status.UNKNOWN
    assert "unknown check 'api-helth' (did you mean 'api-health'?)" in done.stderr


def test_bad_config_is_unknown_for_check_and_starts_nothing(tmp_path: Path) -> None:
    (tmp_path / "opsbook.yaml").write_text("project: {name: x}\nchecks: [{name: a}]\n")
    done = opsbook("check", cwd=tmp_path)
    assert done.returncode == Status.UNKNOWN
    assert "opsbook.yaml:2:10 checks[0]: a check needs one kind block" in done.stderr
    assert not (tmp_path / "opsbook.db").exists()


def test_store_on_postgresql(tmp_path: Path, web_root: str, pg_database: str) -> None:
    config = write_config(tmp_path, web_root)
    done = opsbook("check", "-c", str(config), "--db", pg_database, "api-health", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with Store.open(pg_database) as store:
        assert store.results.latest()["api-health"].status is Status.OK
    assert not (tmp_path / "opsbook.db").exists()
