"""The wait step's config and what a dry run shows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from opsbook.playbooks.steps import wait
from tests.unit.playbooks.steps.stepctx import context, describe, spec


def error(block: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        spec("wait", block)
    return str(caught.value)


def test_exactly_one_way_of_waiting() -> None:
    assert "exactly one of duration:, until: or until_check:" in error({})
    assert "exactly one of duration:, until: or until_check:" in error(
        {"duration": "10m", "until_check": "api-health"}
    )
    assert "interval applies to until: and until_check: only" in error(
        {"duration": "10m", "interval": "5s"}
    )


def test_durations_need_units_and_conditions_must_parse() -> None:
    assert "add a unit" in error({"duration": 10})
    assert "must be longer than 0s" in error({"duration": "0s"})
    assert "cannot parse condition at column" in error({"until": "alert.status = resolved"})


def test_describe() -> None:
    # review-engine deploy: "Monitor for 10 minutes"
    assert describe("wait", {"duration": "10m"}) == "wait 10m"
    ctx = context(timeout=timedelta(minutes=5))
    assert describe("wait", {"until_check": "api-health", "interval": "30s"}, ctx) == (
        "wait until check api-health is OK (every 30s, at most 5m)"
    )
    assert describe("wait", {"until": 'alert.status == "resolved"'}, ctx) == (
        'wait until alert.status == "resolved" (every 10s, at most 5m)'
    )


def test_a_duration_gets_time_beyond_itself_and_polling_ten_minutes() -> None:
    assert wait.KIND.default_timeout is not None
    sleep = wait.WaitConfig.model_validate({"duration": "10m"})
    poll = wait.WaitConfig.model_validate({"until_check": "api"})
    assert wait.KIND.default_timeout(sleep) == timedelta(minutes=11)
    assert wait.KIND.default_timeout(poll) == timedelta(minutes=10)
    assert not wait.KIND.safe_in_dry_run
