"""Playbooks as the importer builds them, before they become config dicts.

A draft keeps what the report needs and the config does not: the runbook line each
step came from, why a step is dangerous, which placeholder a parameter replaced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

StepKindName = Literal["shell", "sql", "manual"]


@dataclass
class DraftParam:
    name: str
    type: Literal["string", "int", "bool"]
    description: str
    line: int
    secret: bool = False
    optional_step: bool = False  # a yes/no switch for an "if needed" step (default false)


@dataclass
class DraftStep:
    kind: StepKindName
    spec: dict[str, Any]
    title: str
    line: int
    dangerous: list[str] = field(default_factory=list)  # the reasons; empty: not dangerous
    switch: str | None = None  # runs only when this yes/no parameter is true
    name_hint: str = ""  # what to name the step after when it has no title
    label: str = ""  # a short bold label ("**Acknowledge**") names the step before its title

    @property
    def form(self) -> str:
        """shell (argv), shell (script), sql or manual: what the report counts."""
        if self.kind == "shell":
            return "shell-script" if self.spec.get("shell") else "shell-argv"
        return self.kind


@dataclass
class Note:
    line: int
    message: str
    playbook: str = ""
    step: str = ""


@dataclass
class Unmapped:
    line: int
    kind: str  # section, table, code, list, reference, quote, html…
    section: str
    detail: str


@dataclass
class DraftPlaybook:
    path: list[str]
    line: int
    intro: str = ""
    steps: list[DraftStep] = field(default_factory=list)
    params: dict[str, DraftParam] = field(default_factory=dict)
    env: set[str] = field(default_factory=set)
    notes: list[Note] = field(default_factory=list)
    name: str = ""

    @property
    def heading(self) -> str:
        return self.path[-1] if self.path else ""

    def param(self, candidate: DraftParam) -> str:
        """Declare a parameter once; the same placeholder used twice is one value."""
        existing = self.params.get(candidate.name)
        if existing is None:
            self.params[candidate.name] = candidate
        elif existing.type != candidate.type and candidate.type == "string":
            existing.type = "string"
        return candidate.name

    def note(self, line: int, message: str, step_title: str = "") -> None:
        self.notes.append(Note(line, message, step=step_title))
