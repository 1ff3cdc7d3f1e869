"""The `rules:` entries of opsbook.yaml: the runbooks' "Key Metrics" and "Alert
Configuration" tables ("High Error Rate: > 5% error rate for 5 minutes").

A rule is written either as a structured ``value:`` block or as a text ``expr:``; both
compile, while the config loads, to one expression tree (`opsbook.rules.nodes`). Settings
that depend on the rest of the config (the severity scale, the checks' services and
intervals) are bound by the root `Config` right after validation, through `Rule.bind`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PrivateAttr,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from opsbook.alerts.lifecycle import Timing
from opsbook.alerts.model import Level, fingerprint
from opsbook.config.base import Name, Section
from opsbook.config.types import BOUND_PATTERN, Bound, BoundType, Duration
from opsbook.playbooks.remediation import Remediation
from opsbook.rules.expr import parse_expr
from opsbook.rules.nodes import Aggregate, Expr, references
from opsbook.rules.templates import check_template
from opsbook.rules.values import ValueSpec, compile_value

_LABEL_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,99}$"


def _label_name(value: str) -> str:
    if not re.match(_LABEL_PATTERN, value):
        raise ValueError(
            f"invalid label name {value!r}: letters, digits and '_', not starting with a digit"
        )
    return value


LabelName = Annotated[
    str, AfterValidator(_label_name), WithJsonSchema({"type": "string", "pattern": _LABEL_PATTERN})
]
NoData = Literal["keep", "ok", "critical"]
TemplateText = Annotated[str, AfterValidator(check_template)]

RESERVED_LABELS = ("alertname", "level", "severity", "service")
DEFAULT_STALENESS = timedelta(minutes=5)
DEFAULT_SEVERITY_SCALE = ("P0", "P1", "P2", "P3", "P4")
DEFAULT_SEVERITY_INDEX = {Level.CRITICAL: 1, Level.WARNING: 2}
"""Without an explicit severity, critical takes the 2nd entry of `severities` (P1) and
warning the 3rd (P2), clamped to the last entry of a shorter scale. P0 stays for humans
declaring an incident: an automatic rule cannot tell an outage from a bad probe."""


class LevelSpec(Section):
    when: BoundType = Field(description="The bound that triggers this level, e.g. '> 500'.")
    severity: Name | None = Field(
        default=None, description="A name from `severities`; default P1 critical, P2 warning."
    )


def _level_shorthand(value: Any) -> Any:
    if isinstance(value, str | int | float | Bound) and not isinstance(value, bool):
        return {"when": value}
    return value


_BOUND_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "number"}, {"type": "string", "pattern": BOUND_PATTERN}]
}
LevelField = Annotated[
    LevelSpec,
    BeforeValidator(_level_shorthand),
    WithJsonSchema(
        {
            "anyOf": [
                *_BOUND_SCHEMA["anyOf"],
                {
                    "type": "object",
                    "properties": {"when": _BOUND_SCHEMA, "severity": {"type": "string"}},
                    "required": ["when"],
                    "additionalProperties": False,
                },
            ],
            "examples": ["> 500", {"when": "> 500", "severity": "P1"}],
        }
    ),
]


@dataclass(frozen=True, slots=True)
class LevelRule:
    """One level of a rule, resolved: its bound, severity, and its alert's labels
    (`alertname`, `level`, `severity`, `service` when known, then the rule's labels)."""

    level: Level
    bound: Bound
    severity: str
    labels: Mapping[str, str]
    fingerprint: str


@dataclass(frozen=True, slots=True)
class CompiledRule:
    expression: Expr
    comparison: Bound | None  # the critical bound a trailing comparison in expr sets
    levels: tuple[LevelRule, ...]
    service: str | None
    staleness: timedelta
    timing: Timing

    def bound(self, level: Level) -> Bound | None:
        return next((lv.bound for lv in self.levels if lv.level is level), None)


class Rule(Section):
    """A condition over check samples that raises a warning and/or critical alert."""

    name: Name = Field(description="Unique; becomes the alert's `alertname` label.")
    service: Name | None = Field(
        default=None, description="Default: the service of the first check the rule reads."
    )
    value: ValueSpec | None = Field(default=None, description="The structured form.")
    expr: str | None = Field(
        default=None,
        description="The text form: 'p95(api-health.latency_ms, 5m)', optionally ending "
        "with a comparison that sets the critical bound ('... > 5').",
    )
    warning: LevelField | None = None
    critical: LevelField | None = None
    for_: Duration = Field(
        default=timedelta(0),
        alias="for",
        description="How long the condition must hold before the alert fires.",
    )
    keep_firing_for: Duration = Field(
        default=timedelta(0),
        description="How long a firing alert stays firing after the condition clears.",
    )
    no_data: NoData = Field(
        default="keep",
        description="Without a value: keep the alerts as they are, treat as ok, or as critical.",
    )
    staleness: Duration | None = Field(
        default=None,
        description="How old the newest point may be for `last`; default 5m, or twice the "
        "longest interval of the checks it reads if that is longer.",
    )
    labels: dict[LabelName, str] = Field(default_factory=dict)
    annotations: dict[LabelName, TemplateText] = Field(
        default_factory=dict,
        description="Jinja2 templates (sandboxed) with value, labels, level, threshold, rule.",
    )

    remediation: Remediation | None = Field(
        default=None,
        description="A playbook to run when the alert fires, with guards (docs/playbooks.md).",
    )

    _compiled: CompiledRule = PrivateAttr()

    @field_validator("expr")
    @classmethod
    def _parses(cls, text: str | None) -> str | None:
        if text is not None:
            parse_expr(text)  # raises with the column; cached, so compiling reuses it
        return text

    @field_validator("critical")
    @classmethod
    def _not_twice(cls, critical: LevelSpec | None, info: ValidationInfo) -> LevelSpec | None:
        text = info.data.get("expr")
        if critical is not None and text is not None:
            bound = parse_expr(text).bound
            if bound is not None:
                raise ValueError(
                    f"the comparison in expr already sets the critical bound ({bound}); "
                    "remove one of them"
                )
        return critical

    @field_validator("labels")
    @classmethod
    def _no_reserved_labels(cls, labels: dict[str, str]) -> dict[str, str]:
        for key in labels:
            if key in RESERVED_LABELS:
                raise ValueError(
                    f"label {key!r} is set by opsbook (alertname, level, severity, service); "
                    "use the rule's name, `service` or a level's `severity` instead"
                )
        return labels

    @field_validator("staleness")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("staleness must be longer than 0s")
        return value

    @model_validator(mode="after")
    def _compile(self) -> Rule:
        if (self.value is None) == (self.expr is None):
            raise ValueError(
                "a rule has either `value` (structured) or `expr` (text)"
                + (", not both" if self.value is not None else "; it has neither")
            )
        comparison = None
        if self.expr is not None:
            parsed = parse_expr(self.expr)
            expression, comparison = parsed.expr, parsed.bound
        else:
            assert self.value is not None
            expression = compile_value(self.value)
        if self.warning is None and self.critical is None and comparison is None:
            raise ValueError(
                "a rule needs a `warning` or `critical` bound (or a comparison at the end of expr)"
            )
        if self.no_data == "critical" and self.critical is None and comparison is None:
            raise ValueError("no_data: critical needs a critical bound to raise")
        self._compiled = self._resolve(expression, comparison, DEFAULT_SEVERITY_SCALE, None, [])
        return self

    def _resolve(
        self,
        expression: Expr,
        comparison: Bound | None,
        severities: Sequence[str],
        default_service: str | None,
        intervals: Sequence[timedelta],
    ) -> CompiledRule:
        service = self.service if self.service is not None else default_service
        levels = []
        for level, spec, bound in (
            (Level.WARNING, self.warning, self.warning.when if self.warning else None),
            (Level.CRITICAL, self.critical, self.critical.when if self.critical else comparison),
        ):
            if bound is None:
                continue
            severity = spec.severity if spec is not None and spec.severity else None
            severity = severity or default_severity(severities, level)
            labels = {"alertname": self.name, "level": level.value, "severity": severity}
            if service is not None:
                labels["service"] = service
            labels.update(self.labels)  # reserved names are refused above
            levels.append(
                LevelRule(level, bound, severity, MappingProxyType(labels), fingerprint(labels))
            )
        staleness = self.staleness or max([DEFAULT_STALENESS, *(2 * i for i in intervals)])
        return CompiledRule(
            expression=expression,
            comparison=comparison,
            levels=tuple(levels),
            service=service,
            staleness=staleness,
            timing=Timing(for_=self.for_, keep_firing_for=self.keep_firing_for),
        )

    def bind(
        self,
        severities: Sequence[str],
        check_services: Mapping[str, str | None],
        check_intervals: Mapping[str, timedelta],
    ) -> None:
        """Resolve what depends on the rest of the config (called by `Config`): default
        severities from its scale, the default service and the default staleness."""
        compiled = self._compiled
        refs = references(compiled.expression)
        service = next((check_services[r.check] for r in refs if check_services.get(r.check)), None)
        intervals = [
            check_intervals[r.check]
            for r in refs
            if isinstance(r, Aggregate) and r.fn == "last" and r.check in check_intervals
        ]
        self._compiled = self._resolve(
            compiled.expression, compiled.comparison, severities, service, intervals
        )

    # -- the compiled form ---------------------------------------------------------------

    @property
    def compiled(self) -> CompiledRule:
        """Everything evaluation needs, resolved once (read it once per evaluation)."""
        return self._compiled

    @property
    def expression(self) -> Expr:
        """The compiled tree, whichever form the rule was written in."""
        return self._compiled.expression

    @property
    def critical_bound(self) -> Bound | None:
        return self._compiled.bound(Level.CRITICAL)

    @property
    def warning_bound(self) -> Bound | None:
        return self._compiled.bound(Level.WARNING)

    @property
    def levels(self) -> tuple[LevelRule, ...]:
        """Warning then critical, each present level with its severity and alert labels."""
        return self._compiled.levels

    @property
    def effective_service(self) -> str | None:
        return self._compiled.service

    @property
    def effective_staleness(self) -> timedelta:
        return self._compiled.staleness

    @property
    def timing(self) -> Timing:
        return self._compiled.timing


def default_severity(severities: Sequence[str], level: Level) -> str:
    """Critical → the 2nd severity, warning → the 3rd, clamped to the last one."""
    if not severities:
        return ""
    return severities[min(DEFAULT_SEVERITY_INDEX.get(level, 0), len(severities) - 1)]
