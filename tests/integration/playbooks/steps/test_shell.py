"""The shell step running real programs: arguments stay arguments, the process group
dies on timeout, output streams and is capped, secrets are masked."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from opsbook.playbooks.steps.base import MAX_OUTPUT, StepStatus
from tests.unit.playbooks.steps.stepctx import config, config_file, context, run

PRINT_ARGS = [sys.executable, "-c", "import sys; print(repr(sys.argv[1:]))"]


def hostile_values(marker: Path) -> list[str]:
    return [
        "previous; rm -rf /",
        f"$(touch {marker})",
        f"`touch {marker}`",
        f"previous\ntouch {marker}",
        "it's \"quoted\" \\ and 'single'",
        f"x && touch {marker} || touch {marker}",
        "--to-revision=42 *",
        "",
    ]


@pytest.fixture
def marker() -> Iterator[Path]:
    path = Path(f"/tmp/pwned-{uuid.uuid4().hex}")
    yield path
    assert not path.exists(), "a parameter was executed as shell code"


async def test_each_hostile_parameter_arrives_as_exactly_one_argument(marker: Path) -> None:
    for value in hostile_values(marker):
        ctx = context(params={"target": value})
        result = await run("shell", {"argv": [*PRINT_ARGS, "{{ params.target }}", "end"]}, ctx)
        assert result.status is StepStatus.OK, result.summary
        assert result.output == repr([value, "end"])
        assert result.exit_code == 0


async def test_hostile_parameters_reach_a_script_only_as_environment_data(marker: Path) -> None:
    for value in hostile_values(marker):
        ctx = context(params={"target": value})
        # Unquoted on purpose too: expansion splits words, it never runs what it expands.
        script = 'printf "%s|" "$OPSBOOK_PARAM_TARGET"; echo $OPSBOOK_PARAM_TARGET >/dev/null'
        result = await run("shell", {"shell": True, "script": script}, ctx)
        assert result.status is StepStatus.OK, result.summary
        assert result.output == (value + "|").replace("\r", "")


async def test_a_runbook_script_runs_from_the_config_directory(tmp_path: Path) -> None:
    # review-engine "API Service Down", step 6: ./scripts/rollback.sh previous
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    rollback = scripts / "rollback.sh"
    rollback.write_text('#!/bin/sh\necho "rolling back to $1 from $(pwd)"\n')
    rollback.chmod(0o755)
    cfg = config_file(tmp_path)
    ctx = context(cfg, params={"target": "previous"})
    result = await run("shell", {"argv": ["./scripts/rollback.sh", "{{ params.target }}"]}, ctx)
    assert result.status is StepStatus.OK, result.summary
    assert result.output == f"rolling back to previous from {tmp_path}"
    inside = await run("shell", {"argv": ["pwd"], "cwd": "scripts"}, ctx)
    assert inside.output == str(scripts)


async def test_parameters_and_variables_are_in_every_environment() -> None:
    ctx = context(params={"service": "review-engine"}, vars={"revision": 42})
    block = {"argv": ["/bin/sh", "-c", 'echo "$OPSBOOK_PARAM_SERVICE@$OPSBOOK_VAR_REVISION $EXTRA"'],
             "env": {"EXTRA": "to {{ vars.revision }}"}}  # fmt: skip
    result = await run("shell", block, ctx)
    assert result.output == "review-engine@42 to 42"


async def test_exit_codes_decide_success_and_are_kept() -> None:
    failing = await run("shell", {"argv": ["/bin/sh", "-c", "echo boom >&2; exit 3"]})
    assert failing.status is StepStatus.FAILED
    assert failing.exit_code == 3
    assert failing.summary.startswith("exit 3 after ")
    assert failing.summary.endswith("expected exit 0")
    assert failing.output == "boom"
    allowed = await run("shell", {"argv": ["/bin/sh", "-c", "exit 3"], "expect_exit": [0, 3]})
    assert allowed.status is StepStatus.OK
    assert allowed.exit_code == 3


async def test_expectations_on_stdout() -> None:
    health = '{"status": "ok", "components": {"database": {"status": "up"}}}'
    block: dict[str, Any] = {"argv": ["echo", health]}
    ok = await run("shell", {**block, "expect": {
        "contains": '"status": "ok"', "regex": "^\\{", "json": '$.components.database.status == "up"',
    }})  # fmt: skip
    assert ok.status is StepStatus.OK, ok.summary
    bad = await run("shell", {**block, "expect": {"json": ['$.status == "degraded"']}})
    assert bad.status is StepStatus.FAILED
    assert bad.summary.endswith('$.status is "ok", expected == "degraded"')
    missing = await run("shell", {**block, "expect": {"contains": "{{ params.word }}"}},
                        context(params={"word": "healthy"}))  # fmt: skip
    assert missing.summary.endswith("output lacks 'healthy'")
    not_json = await run("shell", {"argv": ["echo", "OK"], "expect": {"json": "$.status"}})
    assert not_json.summary.endswith("output is not valid JSON")


async def test_save_extracts_variables_by_regex_and_json_path() -> None:
    script = "echo 'REVISION  CHANGE-CAUSE'; echo '41  deploy v1.4'; echo '42  deploy v1.5'"
    history = await run("shell", {"shell": True, "script": script,
                                  "save": {"last": "^(\\d+)\\s+deploy v1\\.5$"}})  # fmt: skip
    assert history.vars == {"last": "42"}
    described = await run("shell", {
        "argv": ["echo", '{"revision": 42, "image": "gcr.io/app:1.5", "tags": ["a"]}'],
        "save": {"revision": "$.revision", "image": "$.image", "tags": "$.tags"},
    })  # fmt: skip
    assert described.vars == {"revision": 42, "image": "gcr.io/app:1.5", "tags": '["a"]'}
    absent = await run("shell", {"argv": ["echo", "{}"], "save": {"revision": "$.revision"}})
    assert absent.status is StepStatus.FAILED
    assert absent.summary.endswith("cannot save revision: $.revision not found")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie waiting for init counts as gone
        return stat.read().split(") ")[1][0] != "Z"


async def gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_timeout_kills_the_whole_process_group() -> None:
    lines: list[str] = []
    ctx = context(timeout=timedelta(milliseconds=500), lines=lines)
    started = time.monotonic()
    result = await run("shell", {"shell": True, "script": "sleep 60 & echo $!; sleep 60"}, ctx)
    assert time.monotonic() - started < 5
    assert result.status is StepStatus.FAILED
    assert result.summary == "timed out after 500ms; the process group was killed"
    assert result.exit_code is None
    assert lines == [result.output]
    assert await gone(int(result.output)), "the background sleep survived"


async def test_what_a_program_leaves_running_is_killed_when_it_exits() -> None:
    started = time.monotonic()
    result = await run("shell", {"shell": True, "script": "sleep 60 & echo $!"})
    assert time.monotonic() - started < 5  # the leftover held stdout open: not waited for
    assert result.status is StepStatus.OK
    assert await gone(int(result.output))


async def test_output_streams_line_by_line_while_the_program_runs(tmp_path: Path) -> None:
    go_on = tmp_path / "go-on"
    lines: list[str] = []
    script = f'echo first; while [ ! -e "{go_on}" ]; do sleep 0.02; done; echo second >&2'
    task = asyncio.create_task(run("shell", {"shell": True, "script": script},
                                   context(lines=lines)))  # fmt: skip
    deadline = time.monotonic() + 5
    while lines != ["first"] and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert lines == ["first"] and not task.done()
    go_on.touch()
    result = await task
    assert lines == ["first", "second"]
    assert result.output == "first\nsecond"


async def test_output_is_capped_and_the_program_never_blocks() -> None:
    lines: list[str] = []
    code = "import sys\nfor i in range(40000): print('line', i)\nsys.stdout.write('x' * 300000)"
    result = await run("shell", {"argv": [sys.executable, "-c", code]}, context(lines=lines))
    assert result.status is StepStatus.OK
    assert len(lines) == 40000 + 300000 // MAX_OUTPUT + 1  # the endless line came in pieces
    kept, note = result.output.rsplit("\n", 1)
    assert len(kept) <= MAX_OUTPUT
    assert kept.startswith("line 0\nline 1\n")
    assert note.startswith("[… ") and note.endswith(" more characters not kept]")


async def test_a_secret_the_command_prints_is_masked_everywhere() -> None:
    cfg = config(
        """
        playbooks:
          - name: restore
            steps:
              - name: restore
                shell:
                  shell: true
                  script: 'echo "connecting with $PGPASSWORD"; echo "$PGPASSWORD" >&2; exit 1'
                  env: {PGPASSWORD: "${ENV:DB_PASSWORD}"}
        """,
        environ={"DB_PASSWORD": "s3cret-Passw0rd"},
    )
    step = cfg.playbooks[0].steps[0]
    lines: list[str] = []
    result = await step.kind_info.run(step.spec, context(cfg, lines=lines))
    assert result.output == "connecting with ***\n***"
    assert lines == ["connecting with ***", "***"]
    assert "s3cret" not in result.summary + str(result.error)


async def test_missing_program_and_directory_fail_with_the_reason() -> None:
    missing = await run("shell", {"argv": ["no-such-program-xyz", "--version"]})
    assert missing.status is StepStatus.FAILED
    assert missing.summary == "command not found: no-such-program-xyz"
    nowhere = await run("shell", {"argv": ["ls"], "cwd": "/nonexistent/scripts"})
    assert nowhere.summary == "working directory /nonexistent/scripts does not exist"


async def test_an_unknown_template_name_fails_the_step() -> None:
    result = await run("shell", {"argv": ["echo", "{{ params.nope }}"]})
    assert result.status is StepStatus.FAILED
    assert "'dict object' has no attribute 'nope'" in result.summary
