"""Turn pydantic validation errors into located, human messages.

pydantic says "Input should be a valid integer" at ``('checks', 3, 'http', 'timeout')``;
users need ``opsbook.yaml:42:7 checks[3].http.timeout: expected a duration like '5s'``
and, for a typo, the key they meant.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from opsbook.config.redact import Redactor
from opsbook.config.yaml_source import Path_, SourceMap, format_path
from opsbook.errors import ConfigIssue

_TYPE_NAMES = {
    dict: "a mapping",
    list: "a list",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true/false",
    type(None): "nothing (null)",
}


def _describe(value: Any, redactor: Redactor) -> str:
    kind = _TYPE_NAMES.get(type(value), type(value).__name__)
    if isinstance(value, dict | list) or value is None:
        return kind
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{kind} {redactor(text)}"


def _data_path(loc: tuple[int | str, ...], data: Any) -> Path_:
    """Drop pydantic's union/tag segments from a loc so it follows the YAML data.

    The last segment is kept even when absent from the data: it names a missing key.
    """
    path: list[str | int] = []
    current = data
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        in_dict = isinstance(current, dict) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if in_dict or in_list:
            path.append(part)
            current = current[part]
        elif last and isinstance(part, str) and isinstance(current, dict):
            path.append(part)
        # anything else is a union member name or validator tag, not part of the data
    return tuple(path)


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation can hold (Optional/Union/Annotated peeled)."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        out: list[Any] = []
        for arg in get_args(annotation):
            out.extend(_unwrap(arg))
        return out
    return [annotation]


def _models_at(root: type[BaseModel], path: Path_) -> list[type[BaseModel]]:
    """Models that could describe the mapping at `path` (used to suggest keys)."""
    current: list[Any] = [root]
    for part in path:
        following: list[Any] = []
        for candidate in current:
            for concrete in _unwrap(candidate):
                origin = get_origin(concrete)
                if isinstance(concrete, type) and issubclass(concrete, BaseModel):
                    field = _fields_by_key(concrete).get(str(part))
                    if field is not None:
                        following.append(field.annotation)
                elif origin is list and isinstance(part, int):
                    following.append(get_args(concrete)[0])
                elif origin is dict and isinstance(part, str):
                    following.append(get_args(concrete)[1])
        current = following
    models = []
    for candidate in current:
        for concrete in _unwrap(candidate):
            if isinstance(concrete, type) and issubclass(concrete, BaseModel):
                models.append(concrete)
    return models


def _fields_by_key(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """Fields by the key users write in YAML (the alias where one is set)."""
    return {field.alias or name: field for name, field in model.model_fields.items()}


def allowed_keys(root: type[BaseModel], parent: Path_) -> list[str]:
    keys: list[str] = []
    for model in _models_at(root, parent):
        keys.extend(k for k in _fields_by_key(model) if k not in keys)
    return keys


def suggest_key(root: type[BaseModel], parent: Path_, key: str) -> str | None:
    matches = difflib.get_close_matches(key, allowed_keys(root, parent), n=1, cutoff=0.6)
    return matches[0] if matches else None


_MESSAGES = {
    "string_type": "expected a string",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list",
    "dict_type": "expected a mapping (key: value)",
    "model_type": "expected a mapping (key: value)",
    "model_attributes_type": "expected a mapping (key: value)",
    "url_parsing": "expected a URL",
    "url_scheme": "expected a URL",
}


def _message(error: ErrorDetails, root: type[BaseModel], path: Path_, redactor: Redactor) -> str:
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        key = str(path[-1])
        hint = suggest_key(root, path[:-1], key)
        if hint:
            return f"unknown key {key!r}; did you mean {hint!r}?"
        keys = allowed_keys(root, path[:-1])
        return (
            f"unknown key {key!r}; allowed: {', '.join(keys)}" if keys else f"unknown key {key!r}"
        )
    if kind == "missing":
        return f"missing required key {path[-1]!r}"
    if kind in ("value_error", "assertion_error"):
        message = str(error["msg"])
        for prefix in ("Value error, ", "Assertion failed, "):
            message = message.removeprefix(prefix)
        return redactor(message)
    if kind == "string_pattern_mismatch":
        pattern = str((error.get("ctx") or {}).get("pattern", ""))
        if pattern.startswith("^[A-Za-z0-9][A-Za-z0-9_.-]"):
            return (
                f"invalid name {redactor(repr(value))}: use letters, digits, '_', '.' and '-', "
                "starting with a letter or digit (at most 100 characters)"
            )
        return f"{redactor(repr(value))} does not match the pattern {pattern}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind in _MESSAGES:
        return f"{_MESSAGES[kind]}, got {_describe(value, redactor)}"
    message = str(error["msg"])
    message = message.replace("Input should be", "should be")
    if kind in ("literal_error", "enum"):
        return f"{message}, got {_describe(value, redactor)}"
    return redactor(message[0].lower() + message[1:]) if message else kind


def translate(
    exc: ValidationError,
    root: type[BaseModel],
    data: Any,
    source: SourceMap,
    redactor: Redactor,
) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    seen: set[tuple[str, str]] = set()
    for error in exc.errors(include_url=False):
        path = _data_path(error["loc"], data)
        message = _message(error, root, path, redactor)
        is_key = error["type"] == "extra_forbidden"
        locate_at = path if is_key or error["type"] != "missing" else path[:-1]
        issue = source.issue(locate_at, message, key=is_key)
        issue = ConfigIssue(issue.file, issue.line, issue.column, format_path(path), message)
        marker = (issue.path, message)
        if marker not in seen:
            seen.add(marker)
            issues.append(issue)
    return issues
