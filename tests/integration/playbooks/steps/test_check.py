"""The check step running real checks: an HTTP health endpoint and a Nagios plugin."""

from __future__ import annotations

import sys
from pathlib import Path

from aiohttp import web

from opsbook.playbooks.steps.base import StepStatus
from tests.integration.httpserver import serve
from tests.unit.playbooks.steps.stepctx import config, context, run

state = {"status": 200}


async def health(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok" if state["status"] == 200 else "down"},
                             status=state["status"])  # fmt: skip


# A Nagios plugin whose exit code (0-3) is read from a file the test writes.
PLUGIN = (
    "import sys; s = int(open(sys.argv[1]).read()); "
    "print(['OK', 'slow', 'down', '?'][s]); sys.exit(s)"
)


def checks(base: str, state_file: Path) -> str:
    return f"""
    checks:
      - name: api-health
        http: {{url: "{base}/api/v1/health", json: ['$.status == "ok"']}}
      - name: queue-worker
        command: {{argv: ["{sys.executable}", "-c", "{PLUGIN}", "{state_file}"]}}
    """


async def test_required_status_decides_the_step(tmp_path: Path) -> None:
    # api-backend "Rollback Cloud Run Deployment", step 4: verify rollback via the health URL
    async with serve({"/api/v1/health": health}) as base:
        ctx = context(config(checks(base, tmp_path / "state")))
        state["status"] = 200
        healthy = await run("check", {"check": "api-health"}, ctx)
        state["status"] = 503
        down = await run("check", {"check": "api-health"}, ctx)
        confirmed_down = await run("check", {"check": "api-health", "expect": "critical"}, ctx)
    assert healthy.status is StepStatus.OK, healthy.summary
    assert healthy.summary.startswith("api-health is OK: HTTP 200 in ")
    assert healthy.vars["check_status"] == "ok"
    assert down.status is StepStatus.FAILED
    assert down.summary.startswith("api-health is CRITICAL: HTTP 503 in ")
    assert down.summary.endswith("(expected 200-299) (required: ok)")
    assert down.vars["check_status"] == "critical"
    assert confirmed_down.status is StepStatus.OK


async def test_warning_and_not_critical(tmp_path: Path) -> None:
    state_file = tmp_path / "state"
    ctx = context(config(checks("http://127.0.0.1:9", state_file)))
    outcome = {}
    for value in range(4):
        state_file.write_text(str(value))
        for expect in ("warning", "not_critical"):
            result = await run("check", {"check": "queue-worker", "expect": expect}, ctx)
            outcome[value, expect] = result.status
    ok, failed = StepStatus.OK, StepStatus.FAILED
    assert outcome == {
        (0, "warning"): failed, (0, "not_critical"): ok,
        (1, "warning"): ok, (1, "not_critical"): ok,
        (2, "warning"): failed, (2, "not_critical"): failed,
        (3, "warning"): failed, (3, "not_critical"): failed,  # unknown is no evidence
    }  # fmt: skip


async def test_output_is_the_check_message(tmp_path: Path) -> None:
    state_file = tmp_path / "state"
    state_file.write_text("1")
    lines: list[str] = []
    ctx = context(config(checks("http://127.0.0.1:9", state_file)), lines=lines)
    result = await run("check", {"check": "queue-worker"}, ctx)
    assert result.output == "queue-worker is WARNING: slow"
    assert lines == [result.output]
    assert result.summary == "queue-worker is WARNING: slow (required: ok)"


async def test_a_check_missing_from_the_config_fails_the_step() -> None:
    result = await run("check", {"check": "api-health"})
    assert result.status is StepStatus.FAILED
    assert result.summary == "unknown check 'api-health'"
