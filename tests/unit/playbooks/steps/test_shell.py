"""The shell step's config and what a dry run shows for it."""

from __future__ import annotations

import shlex
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from opsbook.errors import ConfigError
from opsbook.playbooks.steps import shell
from tests.unit.playbooks.steps.stepctx import config, config_file, context, describe, spec


def error(block: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        spec("shell", block)
    return str(caught.value)


def test_argv_items_from_yaml_integers_become_text() -> None:
    parsed = spec("shell", {"argv": ["kubectl", "scale", "deployment", "--replicas", 10]})
    assert isinstance(parsed, shell.ShellConfig)
    assert parsed.argv == ["kubectl", "scale", "deployment", "--replicas", "10"]
    assert parsed.expect_exit == [0]


def test_argv_as_one_string_is_refused_because_it_would_need_splitting() -> None:
    assert "a single string is never split" in error({"argv": "systemctl restart review-engine"})


def test_yaml_floats_and_booleans_must_be_quoted() -> None:
    assert "quote it" in error({"argv": ["deploy", 1.10]})
    assert "quote it" in error({"argv": ["set-config", "enable_session_recovery", True]})


def test_script_needs_shell_true_and_shell_true_needs_script() -> None:
    assert "set shell: true" in error({"script": "systemctl restart review-engine"})
    assert "needs script" in error({"shell": True})
    assert "either argv or script" in error({"argv": ["ls"], "shell": True, "script": "ls"})
    assert "needs argv" in error({})


def test_templates_in_a_script_are_refused_with_the_safe_way() -> None:
    message = error({"shell": True, "script": "systemctl restart {{ params.service }}"})
    assert "script cannot contain templates" in message
    assert '"$OPSBOOK_PARAM_<NAME>"' in message


def test_the_program_itself_cannot_come_from_a_template() -> None:
    assert "cannot be a template" in error({"argv": ["{{ params.tool }}", "restart"]})


def test_cwd_is_fixed() -> None:
    assert "cwd cannot contain templates" in error({"argv": ["ls"], "cwd": "/srv/{{ params.x }}"})


def test_env_names_are_checked_and_opsbook_names_reserved() -> None:
    assert "not a valid environment variable name" in error({"argv": ["ls"], "env": {"A-B": "1"}})
    assert "set by opsbook" in error({"argv": ["ls"], "env": {"OPSBOOK_PARAM_SERVICE": "x"}})


def test_bad_templates_regexes_and_json_paths_are_load_errors() -> None:
    assert "unexpected end of template" in error({"argv": ["echo", "{{ params.x"]})
    assert "invalid regular expression" in error({"argv": ["ls"], "expect": {"regex": "("}})
    assert "invalid JSON path" in error({"argv": ["ls"], "expect": {"json": "$..[?"}})
    assert "needs exactly one" in error({"argv": ["ls"], "save": {"rev": "revision \\d+"}})
    assert "invalid JSON path" in error({"argv": ["ls"], "save": {"rev": "$.[[["}})
    assert "string_pattern_mismatch" in error({"argv": ["ls"], "save": {"1st": "$.a"}})


def test_exit_codes_are_bytes() -> None:
    assert "less than or equal to 255" in error({"argv": ["ls"], "expect_exit": [256]})


def test_unknown_keys_are_located_with_a_suggestion() -> None:
    with pytest.raises(ConfigError) as caught:
        config(
            """
            playbooks:
              - name: restart
                steps:
                  - name: restart
                    shell:
                      argvs: [systemctl, restart, review-engine]
            """
        )
    assert "playbooks[0].steps[0].shell.argvs: unknown key 'argvs'; did you mean 'argv'?" in str(
        caught.value
    )


def test_describe_shows_each_rendered_argument_quoted_for_a_shell() -> None:
    # review-engine "Manual Rollback": kubectl rollout undo deployment/review-engine --to-revision=42
    block = {
        "argv": ["kubectl", "rollout", "undo", "deployment/{{ params.service }}",
                 "--to-revision={{ params.revision }}"],
    }  # fmt: skip
    ctx = context(params={"service": "review-engine", "revision": 42})
    assert describe("shell", block, ctx) == (
        "kubectl rollout undo deployment/review-engine --to-revision=42"
    )


def test_describe_shows_hostile_values_as_the_single_arguments_they_are() -> None:
    ctx = context(params={"target": "previous; rm -rf /"})
    text = describe("shell", {"argv": ["./scripts/rollback.sh", "{{ params.target }}"]}, ctx)
    assert text == "./scripts/rollback.sh 'previous; rm -rf /'"


def test_describe_of_a_script_shows_the_variables_it_reads(tmp_path: Path) -> None:
    cfg = config_file(tmp_path)
    ctx = context(cfg, params={"service": "review-engine", "unused": "x"})
    block = {
        "shell": True,
        "script": 'systemctl restart "$OPSBOOK_PARAM_SERVICE"',
        "cwd": "scripts",
        "env": {"LOG_LEVEL": "{{ params.unused }}"},
    }
    assert describe("shell", block, ctx) == (
        f"cd {tmp_path}/scripts && LOG_LEVEL=x OPSBOOK_PARAM_SERVICE=review-engine "
        "/bin/sh -c 'systemctl restart \"$OPSBOOK_PARAM_SERVICE\"'"
    )


def test_describe_masks_secrets() -> None:
    cfg = config(
        """
        playbooks:
          - name: deploy
            steps:
              - name: push
                shell:
                  argv: [./scripts/deploy.sh]
                  env: {DEPLOY_TOKEN: "${ENV:DEPLOY_TOKEN}"}
        """,
        environ={"DEPLOY_TOKEN": "tok-9f8e7d6c5b4a"},
    )
    step = cfg.playbooks[0].steps[0]
    text = step.kind_info.describe(step.spec, context(cfg))
    assert text == "DEPLOY_TOKEN=*** ./scripts/deploy.sh"


def test_default_time_limit_is_five_minutes() -> None:
    parsed = shell.ShellConfig.model_validate({"argv": ["ls"]})
    assert shell.KIND.default_timeout is not None
    assert shell.KIND.default_timeout(parsed) == timedelta(minutes=5)


@given(st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=60))
def test_any_parameter_is_shown_as_exactly_one_argument(value: str) -> None:
    ctx = context(config(), params={"target": value})
    text = describe("shell", {"argv": ["./scripts/rollback.sh", "{{ params.target }}"]}, ctx)
    assert shlex.split(text) == ["./scripts/rollback.sh", value]
