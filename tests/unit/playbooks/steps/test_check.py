"""The check step's config and what a dry run shows."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from opsbook.errors import ConfigError
from opsbook.playbooks.steps import check
from tests.unit.playbooks.steps.stepctx import config, context, describe, spec

CHECKS = """
checks:
  - name: api-health
    http: {url: "https://api.guesslyfe.com/api/v1/health"}
"""


def test_expect_defaults_to_ok_and_takes_only_known_statuses() -> None:
    parsed = spec("check", {"check": "api-health"})
    assert isinstance(parsed, check.CheckStepConfig)
    assert parsed.expect == "ok"
    with pytest.raises(ValidationError, match="'ok', 'warning', 'critical' or 'not_critical'"):
        spec("check", {"check": "api-health", "expect": "healthy"})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        spec("check", {"check": "api-health", "status": "ok"})


def test_unknown_checks_are_config_errors() -> None:
    body = (
        CHECKS
        + """
playbooks:
  - name: verify
    steps:
      - name: health
        check: {check: api-healt}
"""
    )
    with pytest.raises(ConfigError, match="unknown check 'api-healt'"):
        config(body)


def test_describe_names_the_check_its_kind_and_the_status_required() -> None:
    ctx = context(config(CHECKS))
    assert describe("check", {"check": "api-health"}, ctx) == (
        "run check api-health (http) and require ok"
    )
    assert describe("check", {"check": "api-health", "expect": "not_critical"}, ctx) == (
        "run check api-health (http) and require not critical"
    )


def test_checks_run_in_a_dry_run_because_they_only_observe() -> None:
    assert check.KIND.safe_in_dry_run
