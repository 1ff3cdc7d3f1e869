"""What a step's answer must show (`expect:`) and what it keeps for later steps (`save:`).

Shared by the kinds that read text or JSON (shell output, HTTP bodies), so `contains`,
`regex`, `json` and `save` mean the same in both, and JSON assertions are the http
check's own: one syntax to learn, one parser, evaluated without `eval`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from jsonpath_ng import JSONPath
from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from opsbook.checks.jsonassert import JsonAssertionType, parse_jsonpath
from opsbook.config.base import Section
from opsbook.playbooks.templating import TemplateText

VarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
"""A saved variable: usable as `{{ vars.NAME }}`, `steps.STEP.vars.NAME` and in an
environment variable name, so letters, digits and `_` only."""

MAX_SAVED = 4096
"""Characters kept per saved value: variables travel in environment variables and
templates, not as bulk data."""


ITEM_SCHEMA: dict[str, object] = {"anyOf": [{"type": "string"}, {"type": "integer"}]}
"""What `text_item` accepts, for the JSON Schema: text, or an integer YAML read as one."""
ITEMS_SCHEMA = WithJsonSchema({"type": "array", "items": ITEM_SCHEMA, "minItems": 1})
ITEM_MAP_SCHEMA = WithJsonSchema({"type": "object", "additionalProperties": ITEM_SCHEMA})


def text_item(value: object, what: str) -> object:
    """YAML turns `6379` into an int, which is unambiguous; floats and booleans are not
    (`1.10` becomes 1.1, `yes` becomes true), so they must be quoted to arrive as written."""
    if isinstance(value, bool | float) or value is None:
        raise ValueError(
            f"{what} is {value!r} after YAML parsing; quote it so it is passed exactly "
            "as you wrote it"
        )
    return str(value) if isinstance(value, int) else value


def _regex(value: str | None) -> re.Pattern[str] | None:
    if value is None:
        return None
    try:
        return re.compile(value, re.MULTILINE)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from None


def _json_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


class TextExpect(Section):
    """Assertions on a text answer; every one given must hold."""

    contains: TemplateText | None = Field(
        default=None, description="Text that must appear (templates allowed)."
    )
    regex: str | None = Field(
        default=None, description="A regular expression that must match (^ and $ match lines)."
    )
    json_assertions: Annotated[list[JsonAssertionType], BeforeValidator(_json_list)] = Field(
        default_factory=list,
        alias="json",
        description="JSON-path assertions on the answer parsed as JSON, e.g. "
        "'$.status == \"ok\"'; one or a list.",
    )

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        _regex(value)
        return value

    def failures(self, text: str, render: Callable[[str], str]) -> list[str]:
        """Why the answer does not meet the expectation (empty when it does)."""
        problems: list[str] = []
        if self.contains is not None:
            wanted = render(self.contains)
            if wanted not in text:
                problems.append(f"output lacks {wanted!r}")
        pattern = _regex(self.regex)
        if pattern is not None and pattern.search(text) is None:
            problems.append(f"output does not match /{self.regex}/")
        if self.json_assertions:
            try:
                document = json.loads(text)
            except ValueError:
                return [*problems, "output is not valid JSON"]
            problems += [f for a in self.json_assertions if (f := a.failure(document)) is not None]
        return problems

    def summary(self) -> str:
        parts = []
        if self.contains is not None:
            parts.append(f"contains {self.contains!r}")
        if self.regex is not None:
            parts.append(f"matches /{self.regex}/")
        parts += [str(a) for a in self.json_assertions]
        return ", ".join(parts)


@dataclass(frozen=True)
class Extraction:
    """Where a saved variable comes from: a JSON path (text starting with `$`) into the
    answer parsed as JSON, or a regular expression whose one group is the value."""

    source: str
    path: JSONPath | None
    pattern: re.Pattern[str] | None

    def value(self, text: str, document: Callable[[], Any]) -> Any:
        """The extracted value; LookupError with the reason when there is none."""
        if self.pattern is not None:
            match = self.pattern.search(text)
            if match is None:
                raise LookupError(f"/{self.source}/ does not match the output")
            return match.group(1)[:MAX_SAVED]
        assert self.path is not None
        found = [m.value for m in self.path.find(document())]
        if not found:
            raise LookupError(f"{self.source} not found")
        value = found[0]
        if isinstance(value, dict | list):
            return json.dumps(value, separators=(",", ":"))[:MAX_SAVED]
        return value[:MAX_SAVED] if isinstance(value, str) else value

    def __str__(self) -> str:
        return self.source


def parse_extraction(value: object) -> Extraction:
    if isinstance(value, Extraction):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a JSON path like '$.version' or a regex with one group")
    if value.startswith("$"):
        try:
            return Extraction(value, parse_jsonpath(value), None)
        except Exception as exc:  # jsonpath-ng raises bare Exceptions for bad syntax
            raise ValueError(f"invalid JSON path {value!r}: {exc}") from None
    pattern = _regex(value)
    assert pattern is not None
    if pattern.groups != 1:
        raise ValueError(
            f"the regex {value!r} has {pattern.groups} groups; it needs exactly one, "
            "around the value to save, e.g. 'version: (\\S+)'"
        )
    return Extraction(value, None, pattern)


ExtractionType = Annotated[
    Extraction,
    PlainValidator(parse_extraction),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["$.revision", "version: (\\S+)"]}),
]

SaveMap = dict[VarName, ExtractionType]


def extract_vars(save: Mapping[str, Extraction], text: str) -> tuple[dict[str, Any], list[str]]:
    """The saved variables and the problems of those that could not be found."""
    parsed: list[Any] = []

    def document() -> Any:
        if not parsed:
            try:
                parsed.append(json.loads(text))
            except ValueError:
                raise LookupError("output is not valid JSON") from None
        return parsed[0]

    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, extraction in save.items():
        try:
            values[name] = extraction.value(text, document)
        except LookupError as exc:
            problems.append(f"cannot save {name}: {exc.args[0]}")
    return values, problems
