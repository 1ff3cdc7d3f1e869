"""Commands, scripts and SQL as step specs: argv when possible, a script with
environment variables when a shell must read it, bind parameters in SQL."""

from __future__ import annotations

import os
import subprocess

import pytest

from opsbook.playbooks.importer.commands import ShellItem
from opsbook.playbooks.importer.drafts import DraftPlaybook
from opsbook.playbooks.importer.steps import (
    bash_script,
    command_step,
    escape_template,
    manual,
    script_step,
    sql_step,
)
from opsbook.playbooks.templating import render


def _playbook() -> DraftPlaybook:
    return DraftPlaybook(["Section"], 1)


def test_a_simple_command_is_argv_with_templates_for_placeholders() -> None:
    playbook = _playbook()
    item = ShellItem("command", "firebase-admin reset-sync --user <userId>", 283)
    step = command_step(item, "Reset user sync state", playbook)
    assert step.spec == {"argv": ["firebase-admin", "reset-sync", "--user", "{{ params.user_id }}"]}
    assert step.dangerous
    param = playbook.params["user_id"]
    assert (param.type, param.line, param.description) == (
        "string",
        283,
        "Fills <userId> (runbook line 283).",
    )


def test_a_placeholder_inside_an_argument_fills_part_of_it() -> None:
    item = ShellItem(
        "command",
        "gcloud run services update-traffic x \\\n  --to-revisions=PREVIOUS_REVISION=100",
        172,
    )
    step = command_step(item, "", _playbook())
    assert step.spec["argv"][-1] == "--to-revisions={{ params.previous_revision }}=100"


def test_shell_syntax_makes_a_script_and_placeholders_environment_variables() -> None:
    playbook = _playbook()
    item = ShellItem(
        "command",
        "gunzip -c backups/backup_TIMESTAMP.sql.gz | \\\n  PGPASSWORD=$DB_PASSWORD psql -h $DB_HOST",
        679,
    )
    step = command_step(item, "Restore database", playbook)
    assert step.spec == {
        "shell": True,
        "script": 'gunzip -c backups/backup_"${OPSBOOK_PARAM_TIMESTAMP}".sql.gz | \\\n'
        "  PGPASSWORD=$DB_PASSWORD psql -h $DB_HOST",
    }
    assert playbook.env == {"DB_PASSWORD", "DB_HOST"}
    assert step.dangerous == ["loads a dump into a database (a restore)"]


def test_a_placeholder_as_the_program_forces_a_script() -> None:
    step = command_step(ShellItem("command", "<tool> --version", 1), "", _playbook())
    assert step.spec == {"shell": True, "script": '"${OPSBOOK_PARAM_TOOL}" --version'}


def test_grep_at_the_end_accepts_no_match() -> None:
    step = command_step(ShellItem("command", "docker logs web | grep ERROR", 1), "", _playbook())
    assert step.spec["expect_exit"] == [0, 1]


def test_carried_state_becomes_cwd_env_and_lines_run_first() -> None:
    item = ShellItem("command", "pip install -r requirements.txt", 9, cwd="app",
                     env={"MODE": "prod"}, prelude=["source venv/bin/activate"])  # fmt: skip
    step = command_step(item, "Install", _playbook())
    assert step.spec["cwd"] == "app" and step.spec["env"] == {"MODE": "prod"}
    assert step.spec["script"] == ". venv/bin/activate\npip install -r requirements.txt"


def test_literal_braces_in_an_argument_are_kept_literal() -> None:
    item = ShellItem("command", "docker inspect --format '{{.State.Status}}' <container>", 1)
    step = command_step(item, "", _playbook())
    format_item, container = step.spec["argv"][3:]
    assert render(format_item, {}) == "{{.State.Status}}"
    assert render(container, {"params": {"container": "web"}}) == "web"


def test_a_script_with_template_markers_becomes_a_manual_step() -> None:
    playbook = _playbook()
    step = command_step(ShellItem("command", 'echo "${#items[@]}" | cat', 5), "Count", playbook)
    assert step.kind == "manual"
    assert "{#" in render(step.spec["instruction"], {})
    assert "manual step" in playbook.notes[0].message


def test_a_script_takes_its_arguments_as_parameters() -> None:
    playbook = _playbook()
    script = '#!/bin/bash\nBACKUP_FILE="$1"\necho "$2" \'$1\'\nrm -f "$BACKUP_FILE"\n'
    step = script_step(ShellItem("script", script, 771, "Restore"), "Restore", playbook)
    body = step.spec["script"]
    assert 'BACKUP_FILE="${OPSBOOK_PARAM_BACKUP_FILE}"' in body
    assert "echo \"${OPSBOOK_PARAM_ARG2}\" '$1'" in body
    assert body.startswith("exec bash -c")  # #!/bin/bash: run by bash
    assert list(playbook.params) == ["backup_file", "arg2"]
    assert step.dangerous == ["deletes files (rm)"]


def test_the_bash_wrapper_runs_the_script_unchanged_under_sh() -> None:
    script = (
        '#!/bin/bash\nif [[ "$OPSBOOK_PARAM_X" == a* ]]; then echo "yes ${OPSBOOK_PARAM_X}"; fi\n'
        "echo 'quote ) ( \" $(date)'"
    )
    result = subprocess.run(
        ["/bin/sh", "-c", bash_script(script)],
        capture_output=True,
        text=True,
        timeout=10,
        env={**os.environ, "OPSBOOK_PARAM_X": "abc"},
        check=True,
    )
    assert result.stdout == 'yes abc\nquote ) ( " $(date)\n'


def test_sql_placeholders_become_bind_parameters() -> None:
    playbook = _playbook()
    step = sql_step("SELECT pg_terminate_backend(PID);", "Kill blocking query", 294, playbook)
    assert step.spec == {
        "connection": "database",
        "query": "SELECT pg_terminate_backend(%(pid)s)",
        "params": {"pid": "{{ params.pid }}"},
        "write": True,
    }
    assert playbook.params["pid"].type == "int"
    assert step.dangerous == ["ends other sessions (pg_terminate_backend)"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT * FROM users WHERE id = '<userId>'", "SELECT * FROM users WHERE id = %(user_id)s"),
        ("SELECT * FROM t WHERE k LIKE 'user:<userId>%'",
         "SELECT * FROM t WHERE k LIKE 'user:' || %(user_id)s || '%%'"),
        ("SELECT 1 -- see <userId>", "SELECT 1 -- see <userId>"),
    ],
)  # fmt: skip
def test_sql_placeholders_in_literals_and_comments(query: str, expected: str) -> None:
    assert sql_step(query, "", 1, _playbook()).spec["query"] == expected


def test_sql_percent_signs_are_doubled_and_reads_stay_read_only() -> None:
    step = sql_step("SELECT 1 WHERE 'a' LIKE 'a%';", "", 1, _playbook())
    assert step.spec == {"connection": "database", "query": "SELECT 1 WHERE 'a' LIKE 'a%%'"}


@pytest.mark.parametrize(
    "text",
    ["plain", "Check `{{ 7*7 }}`", "{% if x %}", "{# comment", "{% raw %}", "a {% endraw %} b"],
)
def test_escaped_text_renders_to_itself(text: str) -> None:
    rendered = render(escape_template(text), {})
    assert rendered == text or ("endraw" in text and rendered.replace("{ ", "{") == text)


def test_long_instructions_are_shortened_with_a_note() -> None:
    playbook = _playbook()
    step = manual("x" * 6000, "Long", 3, playbook)
    assert len(step.spec["instruction"]) == 5000
    assert playbook.notes[0].message == "instruction shortened to 5000 characters"
