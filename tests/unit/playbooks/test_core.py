"""The pure core of playbooks: parameters, conditions, templates, model checks, guards."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsbook.alerts.model import Alert, AlertState, Level
from opsbook.config.loader import load_config_text
from opsbook.errors import ConfigError
from opsbook.playbooks.conditions import ConditionError, parse_condition
from opsbook.playbooks.params import Param, ParamError, resolve_params
from opsbook.playbooks.remediation import Remediation, should_run
from opsbook.playbooks.templating import TemplateError, render


def test_parameters_are_typed_and_checked() -> None:
    declared = [
        Param(name="user_id", pattern=r"[0-9]+", required=True),
        Param(name="workers", type="int", default=4, min=1, max=64),
        Param(name="force", type="bool", default=False),
        Param(name="env", type="choice", choices=["staging", "production"], default="staging"),
        Param(name="wait", type="duration", default="10m"),
    ]
    values = resolve_params(declared, {"user_id": "42", "force": "yes", "wait": "90s"})
    assert values == {"user_id": "42", "workers": 4, "force": True, "env": "staging",
                      "wait": timedelta(seconds=90)}  # fmt: skip
    with pytest.raises(ParamError) as caught:
        resolve_params(declared, {"user_id": "42; rm -rf /", "workers": "0", "env": "prod",
                                  "force": "maybe", "colour": "red"})  # fmt: skip
    message = str(caught.value)
    for part in ("does not match", "below the minimum", "not one of", "true or false",
                 "unknown parameter 'colour'"):  # fmt: skip
        assert part in message
    with pytest.raises(ParamError, match="missing required parameter 'user_id'"):
        resolve_params(declared, {})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "x", "type": "choice"}, "needs choices"),
        ({"name": "x", "type": "int", "pattern": "a"}, "string parameters only"),
        ({"name": "x", "required": True, "default": "a"}, "has no default"),
        ({"name": "x", "type": "int", "default": "many"}, "expected an integer"),
        ({"name": "x", "pattern": "("}, "invalid regular expression"),
    ],
)
def test_bad_parameter_declarations(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Param.model_validate(spec)


CONTEXT = {
    "params": {"threshold": 100, "env": "production", "force": False},
    "steps": {"queue": {"status": "ok", "exit_code": 0, "vars": {"length": "150"}}},
    "alert": {"labels": {"service": "api"}},
}


@pytest.mark.parametrize(
    ("text", "holds"),
    [
        ("steps.queue.vars.length > params.threshold", True),
        ('steps.queue.status == "ok" and not params.force', True),
        ("steps.queue.exit_code != 0 or params.env == 'staging'", False),
        ("steps.missing.vars.x > 1", False),  # skipped step: null, ordering is false
        ("steps.missing.vars.x == null", True),
        ('alert.labels.service == "api" and (params.threshold >= 100)', True),
        ("params.force", False),
        ("not (params.threshold < 50)", True),
    ],
)
def test_conditions(text: str, holds: bool) -> None:
    assert parse_condition(text).holds(CONTEXT) is holds


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('id')",
        "params.x ==",
        "steps.a.b > > 1",
        "lambda: 1",
        "params.x; rm -rf /",
        "x" * 1001,
        "os.system",
    ],
)
def test_conditions_are_parsed_never_evaluated_as_python(text: str) -> None:
    with pytest.raises(ConditionError):
        parse_condition(text)


@given(st.text(max_size=200))
def test_any_text_either_parses_or_is_a_condition_error(text: str) -> None:
    try:
        condition = parse_condition(text)
    except ConditionError:
        return
    assert condition.holds(CONTEXT) in (True, False)


def test_templates_render_one_value_and_refuse_the_unknown() -> None:
    values = {"params": {"user": "a; rm -rf / $(id) `x`\n\"'"}, "vars": {}}
    assert render("{{ params.user }}", values) == "a; rm -rf / $(id) `x`\n\"'"
    with pytest.raises(TemplateError, match=r"no attribute .nope."):
        render("{{ params.nope }}", values)
    with pytest.raises(TemplateError, match="sandbox"):
        render("{{ params.__class__.__mro__ }}", values)


BASE = """
project: {name: shop}
receivers: [{name: chat, webhook: {url: "http://127.0.0.1:9/"}}]
playbooks:
"""


@pytest.mark.parametrize(
    ("playbooks", "message"),
    [
        ("  - {name: a, steps: [{name: s, manual: {instruction: x}, notify: {receiver: chat, title: t}}]}",
         "exactly one kind"),
        ("  - {name: a, steps: [{name: s, manul: {instruction: x}}]}", "manul"),
        ("  - {name: a, steps: [{name: s, manual: {instruction: x}}, {name: s, manual: {instruction: y}}]}",
         "two steps are named 's'"),
        ("  - {name: a, steps: [{name: s, when: 'steps.t.status == \"ok\"', manual: {instruction: x}}, {name: t, manual: {instruction: y}}]}",
         "not an earlier step"),
        ("  - {name: a, steps: [{name: s, when: 'params.nope', manual: {instruction: x}}]}",
         "unknown parameter 'nope'"),
        ("  - {name: a, steps: [{name: s, notify: {receiver: chatt, title: t}}]}",
         "chatt"),
        ("  - {name: a, steps: [{name: s, playbook: {name: b}}]}\n  - {name: b, steps: [{name: s, playbook: {name: a}}]}",
         "in a loop"),
        ("  - {name: a, steps: [{name: s, manual: {instruction: x}, on_failure: {run: nope}}]}",
         "nope"),
        ("  - {name: a, steps: [{name: s, notify: {receiver: chat, title: '{{ params.x '}}]}",
         "template"),
    ],
)  # fmt: skip
def test_playbook_config_errors_are_located(playbooks: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config_text(BASE + playbooks + "\n", environ={})
    assert message in str(caught.value)
    assert "playbooks" in str(caught.value)


def alert(severity: str = "P1") -> Alert:
    labels = {"alertname": "api-down", "severity": severity, "service": "api"}
    return Alert("fp", "api-down", Level.CRITICAL, labels, state=AlertState.FIRING)


@pytest.mark.parametrize(
    ("severity", "muted", "recent", "reason"),
    [
        ("P1", None, 0, None),
        ("P3", None, 0, "not in"),
        ("P1", "maintenance window weekly-db", 0, "in maintenance window weekly-db"),
        ("P1", "silenced by 3f2c (alice: deploy)", 0, None),  # silence: notifications only
        ("P1", None, 2, "already ran 2 time(s)"),
    ],
)
def test_remediation_guards(
    severity: str, muted: str | None, recent: int, reason: str | None
) -> None:
    fix = Remediation(playbook="restart", severities=["P0", "P1"], max_per_hour=2)
    result = should_run(fix, alert(severity), muted, recent)
    if reason is None:
        assert result is None
    else:
        assert result is not None and reason in result


def test_the_json_schema_takes_what_the_loader_takes_for_arguments() -> None:
    """YAML reads `3600` and `8080` as integers; the loader passes them on as text, so an
    editor validating with `opsbook schema` must accept them too (and refuse a float,
    which the loader refuses: `1.10` would arrive as 1.1)."""
    import jsonschema
    import yaml

    from opsbook.config.schema import config_json_schema

    schema = config_json_schema()
    good = """
project: {name: x}
connections: [{name: cache, redis: {url: "redis://127.0.0.1:6379/0"}}]
playbooks:
  - name: p
    steps:
      - {name: a, redis: {connection: cache, command: [SET, emergency_cache_enabled, "true", EX, 3600]}}
      - {name: b, shell: {argv: [sleep, 1], env: {PORT: 8080}}}
"""
    jsonschema.validate(yaml.safe_load(good), schema)
    load_config_text(good, environ={})
    bad = yaml.safe_load(good.replace("[sleep, 1]", "[sleep, 1.5]"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
