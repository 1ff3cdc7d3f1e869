"""Typed playbook parameters: declared in config, given as text (`--param k=v`, a form,
an alert label), checked and converted before anything runs."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, model_validator

from opsbook.config.base import Name, Section
from opsbook.config.types import format_duration, parse_duration, valid_regex

ParamValue = str | int | bool | timedelta
MAX_VALUE_LENGTH = 4096
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class ParamError(ValueError):
    """A parameter value that does not fit its declaration; the message says why."""


class Param(Section):
    name: Name = Field(description="Referenced as {{ params.NAME }} and $OPSBOOK_PARAM_NAME.")
    type: Literal["string", "int", "bool", "choice", "duration"] = "string"
    description: str = ""
    required: bool = Field(default=False, description="A value must be given (no default).")
    default: str | int | bool | None = None
    pattern: str | None = Field(
        default=None, description="string: the whole value must match this regex."
    )
    choices: list[str] = Field(default_factory=list, description="choice: the allowed values.")
    min: int | None = None
    max: int | None = None
    secret: bool = Field(default=False, description="Mask the value in output and records.")

    @model_validator(mode="after")
    def _consistent(self) -> Param:
        if self.pattern is not None:
            valid_regex(self.pattern)
            if self.type != "string":
                raise ValueError("pattern applies to string parameters only")
        if self.type == "choice" and not self.choices:
            raise ValueError("a choice parameter needs choices")
        if self.choices and self.type != "choice":
            raise ValueError("choices apply to choice parameters only")
        if (self.min is not None or self.max is not None) and self.type != "int":
            raise ValueError("min/max apply to int parameters only")
        if self.required and self.default is not None:
            raise ValueError("a required parameter has no default")
        if self.default is not None:
            try:
                self.coerce(self.default)
            except ParamError as exc:
                raise ValueError(f"default: {exc}") from None
        return self

    def coerce(self, raw: Any) -> ParamValue:
        """The typed value of `raw` (text or a YAML scalar), or ParamError."""
        text = (
            raw if isinstance(raw, str) else str(raw).lower() if isinstance(raw, bool) else str(raw)
        )
        if len(text) > MAX_VALUE_LENGTH:
            raise ParamError(f"{self.name}: longer than {MAX_VALUE_LENGTH} characters")
        if "\x00" in text:
            raise ParamError(f"{self.name}: contains a NUL character")
        if self.type == "int":
            if not re.fullmatch(r"-?\d{1,18}", text.strip()):
                raise ParamError(f"{self.name}: expected an integer, got {text!r}")
            number = int(text)
            if self.min is not None and number < self.min:
                raise ParamError(f"{self.name}: {number} is below the minimum {self.min}")
            if self.max is not None and number > self.max:
                raise ParamError(f"{self.name}: {number} is above the maximum {self.max}")
            return number
        if self.type == "bool":
            lowered = text.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ParamError(f"{self.name}: expected true or false, got {text!r}")
        if self.type == "duration":
            try:
                return parse_duration(text)
            except ValueError as exc:
                raise ParamError(f"{self.name}: {exc}") from None
        if self.type == "choice" and text not in self.choices:
            raise ParamError(f"{self.name}: {text!r} is not one of {', '.join(self.choices)}")
        if self.pattern is not None and not re.fullmatch(self.pattern, text):
            raise ParamError(f"{self.name}: {text!r} does not match {self.pattern}")
        return text


def resolve_params(declared: list[Param], given: dict[str, str]) -> dict[str, ParamValue]:
    """Every declared parameter's value: given, else default; unknown names and missing
    required ones are errors (all of them, in one message)."""
    known = {p.name: p for p in declared}
    problems = [f"unknown parameter {name!r}" for name in given if name not in known]
    values: dict[str, ParamValue] = {}
    for param in declared:
        if param.name in given:
            try:
                values[param.name] = param.coerce(given[param.name])
            except ParamError as exc:
                problems.append(str(exc))
        elif param.default is not None:
            values[param.name] = param.coerce(param.default)
        elif param.required:
            problems.append(f"missing required parameter {param.name!r}")
    if problems:
        raise ParamError("; ".join(problems))
    return values


def as_text(value: ParamValue) -> str:
    """How a value reaches a command: environment variables and argv items are text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        return format_duration(value)
    return str(value)
