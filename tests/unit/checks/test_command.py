"""The command kind's pure parts: config validation and reading a plugin's result."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import jsonschema
import pytest
import yaml

from opsbook.checks.command import CommandCheck, interpret
from opsbook.config.loader import load_config_text
from opsbook.config.schema import config_json_schema
from opsbook.errors import ConfigError, ConfigIssue
from opsbook.status import Status

DOC = Path(__file__).parents[3] / "docs" / "checks" / "command.md"


def issues(block: str) -> list[ConfigIssue]:
    text = f"project:\n  name: t\nchecks:\n  - name: c\n    command:\n{block}"
    with pytest.raises(ConfigError) as caught:
        load_config_text(text)
    return caught.value.issues


def test_argv_list_is_kept_verbatim_and_ints_become_text() -> None:
    cfg = CommandCheck.model_validate({"argv": ["check_tcp", "-H", "127.0.0.1", "-p", 6379]})
    assert cfg.command_line() == ["check_tcp", "-H", "127.0.0.1", "-p", "6379"]
    assert cfg.max_output == 64 * 1024 and cfg.shell is False


def test_script_runs_through_sh_only_with_shell_true() -> None:
    cfg = CommandCheck.model_validate({"shell": True, "script": "df -h | tail -1"})
    assert cfg.command_line() == ["/bin/sh", "-c", "df -h | tail -1"]


@pytest.mark.parametrize(
    "block,path,message",
    [
        ("      script: echo hi\n", "checks[0].command", "set shell: true"),
        ("      shell: false\n      script: echo hi\n", "checks[0].command", "set shell: true"),
        (
            "      shell: true\n      argv: [a]\n      script: b\n",
            "checks[0].command",
            "either argv or script, not both",
        ),
        ("      argv: [a]\n      script: b\n", "checks[0].command", "not both"),
        ("      shell: true\n      argv: [echo]\n", "checks[0].command", "needs script"),
        ("      timeout: 5s\n", "checks[0].command", "needs argv"),
        ("      argv: check_disk -w 20%\n", "checks[0].command.argv", "never split"),
        ("      argv: []\n", "checks[0].command.argv", "at least 1"),
        ("      argv: ['']\n", "checks[0].command.argv", "program (first item) is empty"),
        ("      argv: [check_load, -w, 1.5]\n", "checks[0].command.argv", "argument 2 is 1.5"),
        ("      argv: [echo, yes]\n", "checks[0].command.argv", "argument 1 is True"),
        ("      argv: [echo, {a: 1}]\n", "checks[0].command.argv[1]", "expected a string"),
        ("      argv: [echo]\n      env: {'A B': x}\n", "checks[0].command.env", "'A B'"),
        ("      argv: [echo]\n      env: {A: 0.5}\n", "checks[0].command.env", "env A is 0.5"),
        ("      argv: [echo]\n      env: [A]\n", "checks[0].command.env", ""),
        ("      argv: [echo]\n      max_output: 0\n", "checks[0].command.max_output", "equal to 1"),
        ("      argv: [echo]\n      max_output: lots\n", "checks[0].command.max_output", "size"),
        ("      argv: [echo]\n      timeout: 5\n", "checks[0].command.timeout", "add a unit"),
        ("      argv: [echo]\n      shell: maybe\n", "checks[0].command.shell", ""),
        ("      argv: [echo]\n      user: root\n", "checks[0].command.user", ""),
    ],
)
def test_config_errors_are_located_and_explained(block: str, path: str, message: str) -> None:
    found = issues(block)
    assert [i.path for i in found] == [path], found
    assert message in found[0].message
    assert found[0].line is not None


def test_nul_bytes_are_rejected() -> None:
    with pytest.raises(ValueError, match="NUL"):
        CommandCheck.model_validate({"argv": ["echo", "a\0b"]})
    with pytest.raises(ValueError, match="NUL"):
        CommandCheck.model_validate({"argv": ["echo"], "env": {"A": "x\0"}})


def test_thresholds_on_any_sample_name_are_accepted() -> None:
    # names come from the plugin's perfdata, so config validation cannot know them
    text = (
        "project:\n  name: t\nchecks:\n  - name: c\n    command:\n      argv: [/bin/true]\n"
        "    thresholds:\n      time_s: {warning: 0.5}\n"
    )
    (check,) = load_config_text(text).checks
    assert check.kind_info.samples(check.spec) is None


@pytest.mark.parametrize(
    "code,status", [(0, Status.OK), (1, Status.WARNING), (2, Status.CRITICAL), (3, Status.UNKNOWN)]
)
def test_nagios_exit_codes(code: int, status: Status) -> None:
    result = interpret(code, b"SERVICE STATUS: text | a=1\n", b"")
    assert result.status is status
    assert result.message == "SERVICE STATUS: text"
    assert result.samples == {"a": 1.0, "exit_code": float(code)}


def test_other_exit_codes_are_unknown_and_say_so() -> None:
    result = interpret(4, b"weird\n", b"")
    assert result.status is Status.UNKNOWN
    assert result.message == "exit code 4: weird"
    assert interpret(127, b"", b"").message == "exit code 127"


def test_signals_are_unknown_with_the_signal_name() -> None:
    result = interpret(-int(signal.SIGSEGV), b"", b"")
    assert result.status is Status.UNKNOWN
    assert result.message == "killed by SIGSEGV"
    assert result.samples["exit_code"] == 128 + signal.SIGSEGV
    assert (
        interpret(-int(signal.SIGTERM), b"partial\n", b"").message == "killed by SIGTERM: partial"
    )


def test_stderr_is_used_when_stdout_is_empty() -> None:
    result = interpret(2, b"\n", b"\nError: connection refused\nmore\n")
    assert result.message == "(no output on stdout) stderr: Error: connection refused"
    assert interpret(0, b"", b"").message == "(no output)"


def test_long_output_perfdata_becomes_samples() -> None:
    out = b"OK - 3 queues | depth=5;10;20\nqueue a\nqueue b | age=1500ms\nlag=2s\n"
    result = interpret(0, out, b"")
    assert result.message == "OK - 3 queues"
    assert result.samples == {"depth": 5.0, "age_s": 1.5, "lag_s": 2.0, "exit_code": 0.0}


def test_exit_code_sample_cannot_be_spoofed_by_perfdata() -> None:
    assert interpret(2, b"x | exit_code=0\n", b"").samples["exit_code"] == 2.0


def test_long_first_line_is_cut_and_truncation_is_reported() -> None:
    result = interpret(0, b"x" * 10_000, b"", truncated_at=65536)
    assert len(result.message) < 400
    assert result.message.endswith("[output truncated at 65536 bytes]")


def test_invalid_utf8_does_not_break_reading() -> None:
    result = interpret(1, b"WARN \xff\xfe | t=1s\n", b"")
    assert result.status is Status.WARNING
    assert result.message.startswith("WARN ")
    assert result.samples["t_s"] == 1.0


def test_doc_example_validates_with_loader_and_schema() -> None:
    schema = config_json_schema()
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    assert blocks, "docs/checks/command.md needs a yaml example"
    for block in blocks:
        jsonschema.validate(yaml.safe_load(block), schema)
        config = load_config_text(block)
        assert any(c.kind == "command" for c in config.checks)
