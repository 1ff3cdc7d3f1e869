"""Checks' kind lookup and effective thresholds, which the runner reads on every run."""

from __future__ import annotations

import pytest

from opsbook.checks.thresholds import Threshold
from opsbook.config.types import Bound
from tests.checkutil import make_check


def test_defaults_apply_when_the_check_sets_none() -> None:
    check = make_check("http", {"url": "https://example.com/health"})
    thresholds = check.effective_thresholds()
    assert thresholds == {
        "cert_days_left": Threshold(warning=Bound("<", 14), critical=Bound("<", 7))
    }


def test_own_thresholds_replace_the_default_of_that_sample_and_add_others() -> None:
    check = make_check(
        "http",
        {"url": "https://example.com/health"},
        thresholds={"cert_days_left": {"critical": "< 3"}, "latency_ms": {"warning": 200}},
    )
    thresholds = check.effective_thresholds()
    assert thresholds["cert_days_left"] == Threshold(critical=Bound("<", 3))
    assert thresholds["latency_ms"] == Threshold(warning=Bound(">", 200))
    # The shared defaults are untouched by another check's own bounds.
    plain = make_check("http", {"url": "https://example.com/health"}).effective_thresholds()
    assert plain["cert_days_left"].warning == Bound("<", 14)


def test_effective_thresholds_cannot_be_changed_through_the_result() -> None:
    check = make_check("http", {"url": "https://example.com/health"})
    with pytest.raises(TypeError):
        check.effective_thresholds()["latency_ms"] = Threshold()  # type: ignore[index]
    assert "latency_ms" not in check.effective_thresholds()


def test_kind_and_spec_of_each_kind() -> None:
    check = make_check("command", {"argv": ["/bin/true"]})
    assert check.kind == "command"
    assert check.kind_info.name == "command"
    assert check.spec.argv == ["/bin/true"]  # type: ignore[attr-defined]
    # The looked-up kind is not a field: it neither serialises nor affects equality.
    assert "kind" not in check.model_dump()
    assert check == make_check("command", {"argv": ["/bin/true"]})
