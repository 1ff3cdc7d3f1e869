"""What every inbound body must satisfy before any of it is believed, and the error for
breaking it.

Webhook bodies come from anything that can reach the port. The rules here are the
narrow JSON profile opsbook accepts: bounded size and nesting, UTF-8 only, no duplicate
keys, no NaN/Infinity, no numbers a database column or `int()` would choke on, no NUL
or unpaired surrogate in any string (PostgreSQL rejects both, and a hash of the label
set could not even be computed). A body that breaks one is refused whole, with the
HTTP status the route should answer and the JSON path of the first problem, so the
sender can fix it and nothing partial is ever written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from pydantic import ValidationError

from opsbook.errors import OpsbookError

MAX_BODY = 256 * 1024
"""Bytes; the route stops reading past this and answers 413."""
MAX_JSON_DEPTH = 32
"""Nesting of arrays and objects in a whole body (the real formats need fewer than 6)."""
MAX_NUMBER_DIGITS = 20
"""Characters in one JSON number literal: an int64 fits, a 4,300-digit integer does not."""
MAX_ALERTS = 1000
"""Alerts in one Alertmanager request; its ``max_alerts`` setting keeps batches below."""
MAX_LABELS = 64
"""Labels (and, separately, annotations) on one alert."""
MAX_LABEL_NAME = 128
MAX_LABEL_VALUE = 1024
MAX_ANNOTATION = 16 * 1024
MAX_DETAILS_DEPTH = 8
"""Nesting of an event's ``custom_details`` (the object itself is level 1)."""
MAX_DETAILS_KEYS = 200
"""Keys in an event's ``custom_details``, counted at every level."""
MIN_TIME = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TIME = datetime(2200, 1, 1, tzinfo=UTC)
"""Timestamps outside [MIN_TIME, MAX_TIME) are refused: arithmetic on them (+ grace,
+ repeat interval) must never overflow, and no real alert starts before 1970."""

LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_JSON_MEDIA_TYPE = "application/json"
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # Cc but tab, LF, CR
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))",
    re.ASCII,
)


class InboundError(OpsbookError):
    """An inbound request that is refused; `status` is the HTTP status to answer with.

    `message` is safe to send back: it names the JSON path and the rule broken, and
    quotes sender-controlled text only escaped and shortened.
    """

    def __init__(self, status: int, message: str, path: str | None = None) -> None:
        if not 400 <= status < 500:
            raise ValueError(f"an inbound error is a 4xx, not {status}")
        super().__init__(message)
        self.status = status
        self.message = message
        self.path = path

    def __str__(self) -> str:
        return self.message


def problem(status: int, path: Sequence[str | int], message: str) -> InboundError:
    """The error for a rule broken at `path` (keys and indexes from the document root)."""
    where = json_path(path)
    return InboundError(status, f"{where}: {message}", where)


def json_path(path: Sequence[str | int]) -> str:
    """``$.alerts[3].labels.severity``; odd keys are quoted (and shortened) so a hostile
    key cannot forge a path or smuggle control characters into the message."""
    parts = ["$"]
    for item in path:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif LABEL_NAME.fullmatch(item) and len(item) <= MAX_LABEL_NAME:
            parts.append(f".{item}")
        else:
            shown = item if len(item) <= 40 else item[:40] + "..."
            parts.append(f"[{json.dumps(shown)}]")
    return "".join(parts)


def check_content_type(content_type: str | None) -> None:
    """``application/json``, optionally with ``charset=utf-8`` (any case); else 415."""
    media, _, params = (content_type or "").partition(";")
    if media.strip().lower() != _JSON_MEDIA_TYPE:
        got = f"got {_shorten(media.strip())!r}" if media.strip() else "none was sent"
        raise InboundError(415, f"Content-Type must be application/json, {got}")
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            raise InboundError(415, "the body must be UTF-8 (charset=utf-8)")


class _RefusedError(Exception):
    """Raised inside json.loads hooks; carries the 400 message out of the parser."""


def _no_constants(name: str) -> Any:
    raise _RefusedError(f"{name} is not valid JSON (numbers must be finite)")


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _RefusedError(f"a number has more than {MAX_NUMBER_DIGITS} digits")
    return int(text)


def _real(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS + 10:
        raise _RefusedError(f"a number literal is longer than {MAX_NUMBER_DIGITS + 10} characters")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _RefusedError("a number is too large for a 64-bit float")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RefusedError(f"duplicate key {_shorten(key)!r} in an object")
            seen.add(key)
    return result


def _check_document(document: Any) -> None:
    """Nesting (400), and every key and string value: no NUL (422), no unpaired
    surrogate (400). Iterative, so a deep document cannot exhaust the stack here."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict | list) and len(path) >= MAX_JSON_DEPTH:
            raise problem(400, path, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(node, dict):
            for key, value in node.items():
                _check_string(key, (*path, key))
                stack.append((value, (*path, key)))
        elif isinstance(node, list):
            stack.extend((value, (*path, index)) for index, value in enumerate(node))
        elif isinstance(node, str):
            _check_string(node, path)


def _check_string(value: str, path: tuple[str | int, ...]) -> None:
    if _SURROGATE.search(value):
        raise problem(400, path, "string contains an unpaired surrogate (\\ud800-\\udfff)")
    if "\x00" in value:
        raise problem(422, path, "string contains a NUL character")


def read_json(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The body as a JSON object, or the 4xx saying why not (413, 415, 400, 422)."""
    if len(body) > MAX_BODY:
        raise InboundError(413, f"body of {len(body)} bytes exceeds the {MAX_BODY}-byte limit")
    check_content_type(content_type)
    if not body.strip():
        raise InboundError(400, "empty body; expected a JSON object")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InboundError(400, f"body is not valid UTF-8 (byte {exc.start})") from None
    text = text.removeprefix("\ufeff")
    try:
        document = json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constants,
            parse_int=_integer,
            parse_float=_real,
        )
    except _RefusedError as exc:
        raise InboundError(400, f"invalid JSON: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InboundError(
            400, f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        # The C parser guards its own recursion; a body this deep is far past the limit.
        raise InboundError(400, f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:  # anything else the parser refuses
        raise InboundError(400, f"invalid JSON: {type(exc).__name__}") from None
    if not isinstance(document, dict):
        raise InboundError(400, f"expected a JSON object, got {_json_type(document)}")
    _check_document(document)
    return document


_EXPECTED = {
    "model_type": "an object",
    "dict_type": "an object",
    "list_type": "an array",
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "a boolean",
}


def from_validation_error(exc: ValidationError) -> InboundError:
    """The first problem pydantic found, as a 422 located by its JSON path."""
    first = exc.errors(include_url=False)[0]
    location = [item for item in first["loc"] if item != "[key]"]
    message = first["msg"]
    if first["type"] == "missing":
        message = "required field is missing"
    elif first["type"] in _EXPECTED:
        message = f"expected {_EXPECTED[first['type']]}, got {_json_type(first['input'])}"
    return problem(422, [p if isinstance(p, int) else str(p) for p in location], message)


def check_labels(labels: Mapping[str, str], path: Sequence[str | int]) -> None:
    """Prometheus label rules plus opsbook's bounds; values carry no control characters
    (they end up in log lines, mail headers and chat messages)."""
    if len(labels) > MAX_LABELS:
        raise problem(422, path, f"{len(labels)} labels; at most {MAX_LABELS} are allowed")
    for name, value in labels.items():
        if not LABEL_NAME.fullmatch(name):
            raise problem(422, [*path, name], "label name must match [a-zA-Z_][a-zA-Z0-9_]*")
        if len(name) > MAX_LABEL_NAME:
            raise problem(422, [*path, name], f"label name longer than {MAX_LABEL_NAME}")
        check_label_value(value, [*path, name])


def check_label_value(value: str, path: Sequence[str | int]) -> None:
    if len(value) > MAX_LABEL_VALUE:
        raise problem(422, path, f"longer than {MAX_LABEL_VALUE} characters")
    if _has_control(value, text=False):
        raise problem(422, path, "contains a control character")


def check_annotations(annotations: Mapping[str, str], path: Sequence[str | int]) -> None:
    if len(annotations) > MAX_LABELS:
        raise problem(
            422, path, f"{len(annotations)} annotations; at most {MAX_LABELS} are allowed"
        )
    for name, value in annotations.items():
        if not LABEL_NAME.fullmatch(name) or len(name) > MAX_LABEL_NAME:
            raise problem(422, [*path, name], "annotation name must match [a-zA-Z_][a-zA-Z0-9_]*")
        check_text(value, [*path, name])


def check_text(value: str, path: Sequence[str | int], limit: int = MAX_ANNOTATION) -> None:
    """Free text (summaries, descriptions): line breaks and tabs allowed, other control
    characters not (they can rewrite a terminal or forge log lines)."""
    if len(value) > limit:
        raise problem(422, path, f"longer than {limit} characters")
    if _has_control(value, text=True):
        raise problem(422, path, "contains a control character")


def parse_timestamp(value: str, path: Sequence[str | int]) -> datetime:
    """RFC 3339 (also ``+0000`` offsets, as PagerDuty's examples write them); nanoseconds
    are cut to microseconds. Returns an aware UTC datetime within [MIN_TIME, MAX_TIME)."""
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise problem(422, path, "expected an RFC 3339 timestamp like 2026-11-23T09:00:00Z")
    year, month, day, hour, minute, second = (int(g) for g in match.group(1, 2, 3, 4, 5, 6))
    micros = int((match.group(7) or "0").ljust(6, "0")[:6])
    try:
        if match.group(8):
            zone = UTC
        else:
            offset = timedelta(hours=int(match.group(10)), minutes=int(match.group(11)))
            zone = timezone(-offset if match.group(9) == "-" else offset)
        moment = datetime(year, month, day, hour, minute, second, micros, tzinfo=zone)
    except ValueError:
        raise problem(422, path, "not a valid date and time") from None
    if not MIN_TIME <= moment < MAX_TIME:
        raise problem(422, path, "timestamp out of range (1970 to 2199)")
    return moment.astimezone(UTC)


def _has_control(value: str, text: bool) -> bool:
    pattern = _TEXT_CONTROL if text else _CONTROL
    return pattern.search(value) is not None


def _json_type(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
