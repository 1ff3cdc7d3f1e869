"""The structured `value:` of a rule: one series, a ratio of two, or consecutive failures.

Each shape compiles to the same expression tree as the text form (`compile_value`), so
``value: {consecutive_failures: api}`` and ``expr: "failures(api)"`` are one rule.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from opsbook.config.base import Name, Section
from opsbook.config.types import Duration
from opsbook.rules.nodes import Aggregate, BinaryOp, Expr, Failures, Number

_SAMPLE_PATTERN = r"^[a-z_][a-z0-9_]{0,99}$"


def _sample_name(value: str) -> str:
    if not re.match(_SAMPLE_PATTERN, value):
        raise ValueError(
            f"invalid sample name {value!r}: lowercase letters, digits and '_', starting with "
            "a letter or '_' (like latency_ms)"
        )
    return value


SampleName = Annotated[
    str,
    AfterValidator(_sample_name),
    WithJsonSchema({"type": "string", "pattern": _SAMPLE_PATTERN}),
]
AggregateName = Literal[
    "last", "avg", "min", "max", "sum", "count", "p50", "p90", "p95", "p99", "rate", "increase"
]


def _check_window(aggregate: str, window: timedelta | None) -> None:
    if aggregate == "last":
        if window is not None:
            raise ValueError(
                "aggregate 'last' takes no window (it reads the newest point); "
                "pick an aggregate such as avg or max, or drop the window"
            )
        return
    if window is None:
        if aggregate in ("rate", "increase"):
            raise ValueError(
                f"aggregate {aggregate!r} needs a window to measure the counter's growth over, "
                "e.g. window: 1h"
            )
        raise ValueError(f"aggregate {aggregate!r} needs a window, e.g. window: 5m")
    if window <= timedelta(0):
        raise ValueError("the window must be longer than 0s")


class SeriesSpec(Section):
    """One check's sample, aggregated over a window ending `offset` ago."""

    check: Name = Field(description="The check whose results are read.")
    sample: SampleName = Field(
        description="A sample the check emits (latency_ms, ...), or `status` (0 ok .. 3 "
        "unknown) or `up` (1 when the result is ok, else 0)."
    )
    aggregate: AggregateName = Field(
        default="last",
        description="last, avg, min, max, sum, count, p50, p90, p95, p99, rate or increase.",
    )
    window: Duration | None = Field(
        default=None,
        validate_default=True,
        description="How far back the aggregate looks; required for all but `last`.",
    )
    offset: Duration = Field(
        default=timedelta(0), description="Evaluate the window ending this long ago."
    )

    @field_validator("window")
    @classmethod
    def _window_matches_aggregate(
        cls, window: timedelta | None, info: ValidationInfo
    ) -> timedelta | None:
        aggregate = info.data.get("aggregate")
        if aggregate is not None:
            _check_window(aggregate, window)
        return window


class Ratio(Section):
    numerator: SeriesSpec
    denominator: SeriesSpec


class Baseline(Section):
    """What the current value is divided by: the same aggregate somewhere in the past."""

    offset: Duration | None = Field(
        default=None, description="The same window this long ago (7d: same time last week)."
    )
    window: Duration | None = Field(
        default=None, description="The same aggregate over this long a window just before."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Baseline:
        if (self.offset is None) == (self.window is None):
            raise ValueError("a baseline has either `offset` (7d) or `window` (7d), not both")
        chosen = self.offset if self.offset is not None else self.window
        if chosen is not None and chosen <= timedelta(0):
            raise ValueError("the baseline must reach back longer than 0s")
        return self


class ValueSpec(Section):
    """The structured form of a rule's value; exactly one of three shapes."""

    check: Name | None = Field(default=None, description="Series form: the check to read.")
    sample: SampleName | None = Field(default=None, description="Series form: the sample.")
    aggregate: AggregateName = "last"
    window: Duration | None = Field(default=None, validate_default=True)
    offset: Duration = timedelta(0)
    baseline: Baseline | None = Field(
        default=None, description="Divide by the same aggregate in the past (2 = twice normal)."
    )
    ratio: Ratio | None = Field(default=None, description="numerator / denominator.")
    consecutive_failures: Name | None = Field(
        default=None, description="A check: how many of its latest results in a row failed."
    )
    scale: float | None = Field(
        default=None, gt=0, description="Multiply the value, e.g. 100 for a percentage."
    )

    @field_validator("window")
    @classmethod
    def _window_matches_aggregate(
        cls, window: timedelta | None, info: ValidationInfo
    ) -> timedelta | None:
        aggregate = info.data.get("aggregate")
        if info.data.get("check") is not None and aggregate is not None:
            _check_window(aggregate, window)
        return window

    @model_validator(mode="after")
    def _one_form(self) -> ValueSpec:
        forms = [
            name
            for name, present in (
                ("check", self.check is not None),
                ("ratio", self.ratio is not None),
                ("consecutive_failures", self.consecutive_failures is not None),
            )
            if present
        ]
        if not forms:
            raise ValueError(
                "a value needs one of: check + sample (one series), ratio (numerator and "
                "denominator) or consecutive_failures (a check name)"
            )
        if len(forms) > 1:
            raise ValueError(f"a value has exactly one form, found {' and '.join(forms)}")
        if self.check is not None:
            if self.sample is None:
                raise ValueError("missing required key 'sample' (a sample name, status or up)")
            if self.baseline is not None and self.baseline.window and self.aggregate == "last":
                raise ValueError(
                    "baseline.window needs an aggregate with a window (avg, max, ...); "
                    "with 'last' use baseline.offset"
                )
            return self
        stray = [
            key
            for key in ("sample", "aggregate", "window", "offset", "baseline")
            if key in self.model_fields_set
        ]
        if stray:
            where = "numerator/denominator" if forms[0] == "ratio" else "a series value"
            raise ValueError(f"{stray[0]!r} does not apply to {forms[0]}; it belongs in {where}")
        return self


def _series(spec: SeriesSpec | ValueSpec) -> Aggregate:
    assert spec.check is not None and spec.sample is not None  # guaranteed by validation
    return Aggregate(spec.aggregate, spec.check, spec.sample, spec.window, spec.offset)


def compile_value(spec: ValueSpec) -> Expr:
    """The expression tree of a structured value (the same tree `expr` text would give)."""
    node: Expr
    if spec.consecutive_failures is not None:
        node = Failures(spec.consecutive_failures)
    elif spec.ratio is not None:
        node = BinaryOp("/", _series(spec.ratio.numerator), _series(spec.ratio.denominator))
    else:
        current = _series(spec)
        node = current
        if spec.baseline is not None:
            if spec.baseline.offset is not None:
                past = Aggregate(
                    current.fn,
                    current.check,
                    current.sample,
                    current.window,
                    current.offset + spec.baseline.offset,
                )
            else:
                assert spec.baseline.window is not None and current.window is not None
                past = Aggregate(
                    current.fn,
                    current.check,
                    current.sample,
                    spec.baseline.window,
                    current.offset + current.window,
                )
            node = BinaryOp("/", current, past)
    if spec.scale is not None:
        node = BinaryOp("*", node, Number(spec.scale))
    return node
