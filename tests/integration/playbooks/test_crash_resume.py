"""`kill -9` an `opsbook run` in the middle of a step, then resume it: the finished step
is not repeated, the interrupted one runs again, the rest once. And hostile parameters
reach commands as data only."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from opsbook.store import Store

CONFIG = """
project: {name: review-engine}
playbooks:
  - name: sync-conflicts
    params:
      - {name: gate, required: true}
    steps:
      - name: check-queue
        shell: {argv: [sh, -c, 'echo check >> steps.log']}
      - name: process
        shell: {shell: true, script: 'echo process >> steps.log; test -f "$OPSBOOK_PARAM_GATE" || sleep 60'}
      - name: verify
        shell: {argv: [sh, -c, 'echo verify >> steps.log']}
  - name: echo-user
    params:
      - {name: user_id}
    steps:
      - name: argv
        shell: {argv: [python3, -c, "import sys; print(repr(sys.argv[1:]))", "{{ params.user_id }}"]}
      - name: script
        shell: {shell: true, script: 'printf "%s\\n" "$OPSBOOK_PARAM_USER_ID"'}
"""


def opsbook(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opsbook", *args, "-c", str(directory / "opsbook.yaml")],
        capture_output=True, text=True, timeout=120, cwd=directory,
    )  # fmt: skip


def test_a_killed_run_resumes_from_the_first_unfinished_step(tmp_path: Path) -> None:
    (tmp_path / "opsbook.yaml").write_text(CONFIG)
    gate = tmp_path / "gate"
    args = [sys.executable, "-m", "opsbook", "run", "sync-conflicts", "-p", f"gate={gate}",
            "-c", str(tmp_path / "opsbook.yaml")]  # fmt: skip
    process = subprocess.Popen(
        args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    log = tmp_path / "steps.log"
    deadline = time.monotonic() + 30
    while "process" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait()

    listed = opsbook(tmp_path, "runs", "list", "--json")
    assert json.loads(listed.stdout)[0]["status"] == "interrupted"
    gate.touch()
    resumed = opsbook(tmp_path, "runs", "resume", "1", "--as", "bob")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert log.read_text().split() == ["check", "process", "process", "verify"]
    shown = json.loads(opsbook(tmp_path, "runs", "show", "1", "--json").stdout)
    assert shown["status"] == "succeeded"
    assert [s["status"] for s in shown["steps"]] == ["ok", "ok", "ok"]
    assert shown["steps"][0]["attempts"] == 1  # not repeated


@pytest.mark.parametrize(
    "hostile",
    ["; touch {p}", "$(touch {p})", "`touch {p}`", "a\ntouch {p}", "' ; touch {p} '",
     '" && touch {p} "', "--help", "*"],
)  # fmt: skip
def test_parameters_reach_commands_as_data(tmp_path: Path, hostile: str) -> None:
    (tmp_path / "opsbook.yaml").write_text(CONFIG)
    pwned = tmp_path / f"pwned-{uuid.uuid4().hex}"
    value = hostile.format(p=pwned)
    done = opsbook(tmp_path, "run", "echo-user", "-p", f"user_id={value}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not pwned.exists()
    with Store.open(f"sqlite:///{tmp_path / 'opsbook.db'}") as store:
        argv_step, script_step = store.runs.steps(1)
    assert argv_step.output.strip() == repr([value])
    assert script_step.output.rstrip("\n") == value
