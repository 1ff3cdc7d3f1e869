"""JSON-path assertions on a response body: ``$.status == "ok"``, ``$.components.db``.

Parsed once at config load into `JsonAssertion` objects (never `eval`-ed); evaluating one
returns the failure text or None, so messages can show the actual value.
"""

from __future__ import annotations

import functools
import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from jsonpath_ng import JSONPath
from jsonpath_ng.exceptions import JsonPathParserError
from jsonpath_ng.ext import parser as _ext_parser
from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

_SYNTAX = re.compile(
    r"^\s*(?P<path>\$\S*)\s*(?:(?P<op>==|!=|>=|<=|>|<|=~|contains)\s*(?P<value>.+?))?\s*$"
)
_ORDERED: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_MISSING = object()


def _literal(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text  # a bare word: compared as a string


@dataclass(frozen=True)
class JsonAssertion:
    source: str
    path: JSONPath
    op: str | None
    expected: Any
    pattern: re.Pattern[str] | None

    def failure(self, document: Any) -> str | None:
        """None when the assertion holds, else a one-line reason with the actual value."""
        found = [m.value for m in self.path.find(document)]
        path = self.source.split()[0]
        if not found:
            return f"{path} not found"
        actual = found[0] if len(found) == 1 else found
        if self.op is None:
            return None
        if self._holds(actual):
            return None
        return (
            f"{path} is {json.dumps(actual)[:80]}, expected {self.op} {json.dumps(self.expected)}"
        )

    def _holds(self, actual: Any) -> bool:
        if self.op == "==":
            return bool(actual == self.expected)
        if self.op == "!=":
            return bool(actual != self.expected)
        if self.op == "=~":
            assert self.pattern is not None
            return isinstance(actual, str) and self.pattern.search(actual) is not None
        if self.op == "contains":
            if isinstance(actual, str):
                return isinstance(self.expected, str) and self.expected in actual
            return isinstance(actual, list) and self.expected in actual
        compare = _ORDERED[str(self.op)]
        numbers = (int, float)
        if isinstance(actual, bool) or not isinstance(actual, numbers):
            return False
        return isinstance(self.expected, numbers) and compare(actual, self.expected)

    def __str__(self) -> str:
        return self.source


# Renamed from the misspelt "Extented..." in newer jsonpath-ng releases.
_PARSER: Any = getattr(_ext_parser, "ExtendedJsonPathParser", None) or getattr(
    _ext_parser, "ExtentedJsonPathParser", None
)


@functools.lru_cache(maxsize=4096)
def parse_jsonpath(text: str) -> JSONPath:
    """Parse a JSON path once per distinct text: jsonpath-ng builds a new parser (slow) per
    call, and a config repeats the same paths across many checks."""
    parsed: JSONPath = _PARSER().parse(text)
    return parsed


def parse_assertion(value: object) -> JsonAssertion:
    if isinstance(value, JsonAssertion):
        return value
    if not isinstance(value, str):
        raise ValueError("expected an assertion like '$.status == \"ok\"'")
    match = _SYNTAX.match(value)
    if not match:
        raise ValueError(
            f"expected an assertion like '$.status == \"ok\"' or '$.components.db', got {value!r}"
        )
    try:
        path = parse_jsonpath(match.group("path"))
    except (JsonPathParserError, Exception) as exc:  # jsonpath-ng raises bare Exceptions too
        raise ValueError(f"invalid JSON path {match.group('path')!r}: {exc}") from None
    op = match.group("op")
    expected = _literal(match.group("value")) if op else None
    pattern = None
    if op == "=~":
        if not isinstance(expected, str):
            raise ValueError("=~ needs a regular expression string")
        try:
            pattern = re.compile(expected)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {expected!r}: {exc}") from None
    return JsonAssertion(value.strip(), path, op, expected, pattern)


JsonAssertionType = Annotated[
    JsonAssertion,
    PlainValidator(parse_assertion),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "examples": ['$.status == "ok"', "$.components.database.status"],
        }
    ),
]
