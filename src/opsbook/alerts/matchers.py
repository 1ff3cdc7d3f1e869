"""Label matchers in Alertmanager syntax: `name="v"`, `name!="v"`, `name=~"re"`, `name!~"re"`.

One parser and one matching rule serve silences, routes, maintenance windows and
inhibition, so a matcher means the same thing everywhere. Regexes are anchored, as in
Alertmanager: `service=~"api|web"` does not match "api-gateway".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

_SYNTAX = re.compile(
    r'^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*(?P<value>"(?:[^"\\]|\\.)*"|[^"\s]\S*|)\s*$'
)
MAX_REGEX = 1000


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str  # "=", "!=", "=~", "!~"
    value: str
    pattern: re.Pattern[str] | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")  # a missing label matches like the empty string
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self.pattern is not None
        found = self.pattern.fullmatch(actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def parse_matcher(text: object) -> Matcher:
    if isinstance(text, Matcher):
        return text
    if not isinstance(text, str):
        raise ValueError('expected a matcher like service="api" or severity=~"P0|P1"')
    match = _SYNTAX.match(text)
    if not match:
        raise ValueError(
            f'expected a matcher like service="api" or severity=~"P0|P1", got {text!r}'
        )
    name, op, value = match.group("name"), match.group("op"), _unquote(match.group("value"))
    pattern = None
    if op in ("=~", "!~"):
        if len(value) > MAX_REGEX:
            raise ValueError(f"regular expression longer than {MAX_REGEX} characters")
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
    return Matcher(name, op, value, pattern)


def equality_matchers(labels: Mapping[str, str]) -> list[Matcher]:
    """`{service: api}` shorthand → [service="api"]."""
    return [Matcher(k, "=", v) for k, v in labels.items()]


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


def _validate_list(value: Any) -> list[Matcher]:
    """Accept a list of matcher strings or a {label: value} mapping of equalities."""
    if isinstance(value, Mapping):
        return [Matcher(str(k), "=", str(v)) for k, v in value.items()]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ValueError("expected matchers: a list like ['service=\"api\"'] or a mapping")
    return [parse_matcher(item) for item in value]


Matchers = Annotated[
    list[Matcher],
    PlainValidator(_validate_list),
    PlainSerializer(lambda ms: [str(m) for m in ms], return_type=list[str]),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "array", "items": {"type": "string"}},
                {"type": "object", "additionalProperties": {"type": "string"}},
            ],
            "examples": [['service="api"', 'severity=~"P0|P1"'], {"service": "api"}],
        }
    ),
]
