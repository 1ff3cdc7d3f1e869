"""The JSON profile every inbound body must satisfy, and the paths errors point at."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from opsbook.inbound.limits import (
    MAX_BODY,
    MAX_JSON_DEPTH,
    InboundError,
    check_content_type,
    json_path,
    parse_timestamp,
    read_json,
)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        "application/json;charset=UTF8",
    ],
)
def test_json_content_types_are_accepted(content_type: str) -> None:
    check_content_type(content_type)


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        (None, "none was sent"),
        ("", "none was sent"),
        ("text/plain", "'text/plain'"),
        ("application/x-www-form-urlencoded", "application/json"),
        ("application/json; charset=latin-1", "UTF-8"),
        ("application/jsonp", "application/json"),
    ],
)
def test_other_content_types_are_415(content_type: str | None, message: str) -> None:
    with pytest.raises(InboundError) as caught:
        check_content_type(content_type)
    assert caught.value.status == 415
    assert message in caught.value.message


def test_size_is_checked_before_anything_else() -> None:
    with pytest.raises(InboundError) as caught:
        read_json(b" " * (MAX_BODY + 1), "text/plain")
    assert caught.value.status == 413
    assert str(MAX_BODY) in caught.value.message


def test_a_body_of_exactly_the_limit_is_read() -> None:
    body = b'{"a":"' + b"x" * (MAX_BODY - 8) + b'"}'
    assert len(body) == MAX_BODY
    assert read_json(body, "application/json")["a"].startswith("xxx")


def test_a_utf8_byte_order_mark_is_tolerated() -> None:
    assert read_json(b'\xef\xbb\xbf{"a": 1}', "application/json") == {"a": 1}


def test_nesting_at_the_limit_is_read_and_one_more_is_refused() -> None:
    depth = MAX_JSON_DEPTH - 1  # plus the top-level object
    ok = b'{"a":' + b"[" * depth + b"]" * depth + b"}"
    assert read_json(ok, "application/json")
    with pytest.raises(InboundError) as caught:
        read_json(b'{"a":' + b"[" * (depth + 1) + b"]" * (depth + 1) + b"}", "application/json")
    assert caught.value.status == 400 and "nested deeper" in caught.value.message


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = '{"a": "' + "[" * 1000 + '\\"[[[" }'
    assert read_json(text.encode(), "application/json")["a"].startswith("[[[")


def test_errors_carry_the_path() -> None:
    with pytest.raises(InboundError) as caught:
        read_json(b'{"a": [{"b": "x\\u0000"}]}', "application/json")
    assert caught.value.path == "$.a[0].b"
    assert caught.value.message == "$.a[0].b: string contains a NUL character"


def test_keys_are_checked_like_values() -> None:
    with pytest.raises(InboundError) as caught:
        read_json(b'{"a\\u0000": 1}', "application/json")
    assert caught.value.status == 422


def test_json_path_quotes_hostile_keys() -> None:
    assert json_path(["alerts", 3, "labels", "severity"]) == "$.alerts[3].labels.severity"
    assert json_path(["a b"]) == '$["a b"]'
    assert json_path(["x\n]"]) == '$["x\\n]"]'
    assert json_path(["k" * 200]).endswith('..."]')


def test_only_4xx_statuses() -> None:
    with pytest.raises(ValueError, match="4xx"):
        InboundError(500, "no")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23T08:55:12Z", datetime(2026, 11, 23, 8, 55, 12, tzinfo=UTC)),
        ("2026-11-23T08:55:12.345678901Z", datetime(2026, 11, 23, 8, 55, 12, 345678, tzinfo=UTC)),
        ("2026-11-23T09:55:12+01:00", datetime(2026, 11, 23, 8, 55, 12, tzinfo=UTC)),
        ("2015-07-17T08:42:58.315+0000", datetime(2015, 7, 17, 8, 42, 58, 315000, tzinfo=UTC)),
        ("2026-11-23 08:55:12z", datetime(2026, 11, 23, 8, 55, 12, tzinfo=UTC)),
    ],
)
def test_rfc3339_timestamps(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text, ["t"])
    assert parsed == expected and parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-11-23", "RFC 3339"),
        ("2026-11-23T08:55:12", "RFC 3339"),  # no offset: ambiguous
        ("20261123T085512Z", "RFC 3339"),
        ("2026-13-01T00:00:00Z", "not a valid date"),
        ("2026-02-29T00:00:00Z", "not a valid date"),
        ("2026-11-23T23:59:60Z", "not a valid date"),
        ("2026-11-23T08:55:12+24:00", "not a valid date"),
        ("1969-12-31T23:59:59Z", "out of range"),
        ("2200-01-01T00:00:00Z", "out of range"),
        ("9999-12-31T23:59:59-14:00", "out of range"),
        ("0001-01-01T00:00:00Z", "out of range"),
        ("2026-11-23T08:55:12.1234567890Z", "RFC 3339"),
        ("２０２６-11-23T08:55:12Z", "RFC 3339"),
    ],
)
def test_bad_timestamps_are_422(text: str, message: str) -> None:
    with pytest.raises(InboundError) as caught:
        parse_timestamp(text, ["startsAt"])
    assert caught.value.status == 422
    assert caught.value.message.startswith("$.startsAt: ")
    assert message in caught.value.message


def test_offsets_are_kept_exactly() -> None:
    parsed = parse_timestamp("2026-11-23T02:00:00-05:30", ["t"])
    assert parsed == datetime(2026, 11, 23, 2, 0, tzinfo=timezone(-timedelta(hours=5, minutes=30)))


PATHOLOGICAL = {
    "unclosed brackets": b"[" * MAX_BODY,
    "unclosed objects": b'{"a":' * (MAX_BODY // 5),
    "quote-backslash pairs": b'"\\' * (MAX_BODY // 2),
    "unterminated escapes": b'{"a":"' + b"\\a" * (MAX_BODY // 2 - 4),
    "one huge number": b'{"a":' + b"1" * (MAX_BODY - 6) + b"}",
    "one huge exponent": b'{"a":1e' + b"1" * (MAX_BODY - 8) + b"}",
    "a key repeated": b"{" + b'"k":1,' * (MAX_BODY // 6 - 1) + b'"k":1}',
}


@pytest.mark.parametrize("body", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_bodies_are_refused_quickly(body: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(InboundError) as caught:
        read_json(body[:MAX_BODY], "application/json")
    assert caught.value.status == 400
    assert time.perf_counter() - started < 2.0  # linear work: milliseconds, not minutes


def test_syntax_errors_say_where() -> None:
    with pytest.raises(InboundError) as caught:
        read_json(b'{"a": 1,\n "b": }', "application/json")
    assert caught.value.message == "invalid JSON: Expecting value (line 2, column 7)"
