"""Escalation targets: the strings ``person:alice``, ``schedule:backend``,
``schedule:backend/secondary`` and ``receiver:team-chat``, parsed once at load time
into typed values so nothing downstream splits strings."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}"
_NAME_RE = re.compile(rf"^{_NAME}$")
KINDS = ("person", "schedule", "receiver")
TARGET_PATTERN = rf"^((person|receiver):{_NAME}|schedule:{_NAME}(/{_NAME})?)$"
_EXAMPLES = "'person:alice', 'schedule:backend', 'schedule:backend/secondary', 'receiver:chat'"


@dataclass(frozen=True, slots=True)
class PersonTarget:
    """Page one person through their contacts."""

    person: str

    def __str__(self) -> str:
        return f"person:{self.person}"


@dataclass(frozen=True, slots=True)
class ScheduleTarget:
    """Page whoever is on call on a schedule's layer (None: the first layer)."""

    schedule: str
    layer: str | None = None

    def __str__(self) -> str:
        return f"schedule:{self.schedule}" + (f"/{self.layer}" if self.layer else "")


@dataclass(frozen=True, slots=True)
class ReceiverTarget:
    """Notify a configured receiver (a team channel, a pager service)."""

    receiver: str

    def __str__(self) -> str:
        return f"receiver:{self.receiver}"


Target = PersonTarget | ScheduleTarget | ReceiverTarget


def _name(text: str, what: str, whole: str) -> str:
    if not _NAME_RE.match(text):
        raise ValueError(
            f"invalid {what} name {text!r} in target {whole!r}: use letters, digits, '_', "
            "'.' and '-', starting with a letter or digit"
        )
    return text


def parse_target(value: Any) -> Target:
    """'schedule:backend/secondary' -> ScheduleTarget('backend', 'secondary')."""
    if isinstance(value, PersonTarget | ScheduleTarget | ReceiverTarget):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a target string like {_EXAMPLES}")
    text = value.strip()
    kind, colon, rest = text.partition(":")
    if not colon:
        raise ValueError(f"expected a target like {_EXAMPLES}, got {value!r}")
    if kind not in KINDS:
        hint = difflib.get_close_matches(kind, KINDS, n=1, cutoff=0.6)
        known = f"did you mean '{hint[0]}:'?" if hint else f"use {', '.join(KINDS)}"
        raise ValueError(f"unknown target kind {kind!r} in {value!r}; {known}")
    if kind == "schedule":
        schedule, slash, layer = rest.partition("/")
        return ScheduleTarget(
            _name(schedule, "schedule", text), _name(layer, "layer", text) if slash else None
        )
    name = _name(rest, kind, text)
    return PersonTarget(name) if kind == "person" else ReceiverTarget(name)


def _format_target(value: Target) -> str:
    return str(value)


TargetField = Annotated[
    Target,
    PlainValidator(parse_target),
    PlainSerializer(_format_target, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": TARGET_PATTERN,
            "examples": ["schedule:backend", "schedule:backend/secondary", "person:manager"],
        }
    ),
]
