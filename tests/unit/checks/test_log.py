"""Pure parts of the log check: line parsing, timestamps, window statistics, percentiles,
the read plan, line splitting, probe state and config validation."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsbook.checks.log import (
    KIND,
    MAX_ENTRIES,
    MISSING,
    Cursor,
    Entry,
    LineParser,
    LogCheck,
    ReadPlan,
    decode_state,
    duration_prefix,
    encode_state,
    nearest_rank,
    parse_line,
    parse_timestamp,
    plan_read,
    retain,
    split_lines,
    window_stats,
)
from opsbook.config.loader import load_config_text
from opsbook.config.types import parse_bound
from opsbook.errors import ConfigError

T = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC).timestamp()
READ = T + 1000.0  # "read time" in these tests


def parser(**config: object) -> LineParser:
    return LineParser.from_config(LogCheck.model_validate({"path": "app.log", **config}))


JSON = parser(format="json", duration_field="duration_ms", matches={"errors": "(?i)error"})
ACCESS = parser(
    format="regex",
    pattern=r'\[(?P<time>[^\]]+)\] "(?P<method>\w+) \S+" (?P<status>\d{3}) (?P<ms>\d+)ms',
    duration_field="ms",
)


# --- timestamps -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-14T09:26:53Z", T),
        ("2026-03-14T09:26:53.250+00:00", T + 0.25),
        ("2026-03-14T10:26:53+01:00", T),
        ("2026-03-14 09:26:53", T),  # no zone: UTC
        ("2026-03-14 09:26:53,500", T + 0.5),  # Python logging's comma
        (T, T),
        (int(T), T),
        (T * 1000, T),  # epoch milliseconds (pino, JS Date.now())
        (T * 1_000_000, T),
        (T * 1_000_000_000, T),
        (str(T), T),
        ("yesterday", None),
        ("Mar 14 09:26:53", None),  # syslog has no year
        ("", None),
        (None, None),
        (True, None),
        (-5, None),
        (math.nan, None),
        ("inf", None),
        ({"t": 1}, None),
        (10**400, None),
        ("0001-01-01T00:00:00+01:00", -62135600400.0),  # parsed; far outside any window
    ],
)
def test_parse_timestamp(value: object, expected: float | None) -> None:
    got = parse_timestamp(value)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, abs=1e-3)


moments = st.datetimes(
    min_value=datetime(2001, 9, 10), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


@given(moments, st.integers(-14 * 60, 14 * 60))
def test_iso_and_epoch_forms_of_one_moment_agree(moment: datetime, offset_min: int) -> None:
    local = moment.astimezone(timezone(timedelta(minutes=offset_min)))
    epoch = moment.timestamp()
    assert parse_timestamp(local.isoformat()) == pytest.approx(epoch, abs=1e-6)
    assert parse_timestamp(epoch) == pytest.approx(epoch, abs=1e-6)
    assert parse_timestamp(round(epoch * 1000)) == pytest.approx(epoch, abs=1e-3)


@given(st.one_of(st.text(max_size=40), st.floats(), st.integers(), st.none(), st.booleans()))
def test_parse_timestamp_never_raises(value: object) -> None:
    got = parse_timestamp(value)
    assert got is None or math.isfinite(got)


# --- line parsing -------------------------------------------------------------------------


def content_line(**fields: object) -> str:
    """The content-service's structured request log line."""
    base = {
        "time": "2026-03-14T09:26:53Z",
        "level": "info",
        "status": 200,
        "duration_ms": 123,
        "trace_id": "4bf92f3577b34da6",
    }
    return json.dumps({**base, **fields})


def test_json_line() -> None:
    assert parse_line(content_line(), JSON, READ) == Entry(T, 200, 123.0, 0)
    assert parse_line(content_line(status="500", duration_ms="12.5"), JSON, READ) == Entry(
        T, 500, 12.5, 0
    )


def test_json_timestamp_autodetect_and_read_time_fallback() -> None:
    assert parse_line('{"ts": 1773480413000, "status": 200}', JSON, READ).ts == T
    assert parse_line('{"timestamp": "2026-03-14T09:26:53Z"}', JSON, READ).ts == T
    assert parse_line('{"status": 200}', JSON, READ).ts == READ
    assert parse_line('{"time": "soon", "status": 200}', JSON, READ).ts == READ


def test_json_fields_that_are_not_numbers_are_absent() -> None:
    entry = parse_line(content_line(status="OK", duration_ms=True), JSON, READ)
    assert (entry.status, entry.duration) == (None, None)
    assert parse_line(content_line(status=200.5), JSON, READ).status is None


def test_json_dotted_fields_reach_nested_objects() -> None:
    nested = parser(
        format="json",
        time_field="meta.at",
        status_field="http.status",
        duration_field="jsonPayload.duration_ms",
    )
    line = json.dumps(
        {"meta": {"at": T}, "http": {"status": 503}, "jsonPayload": {"duration_ms": 2100}}
    )
    assert parse_line(line, nested, READ) == Entry(T, 503, 2100.0, 0)


@pytest.mark.parametrize(
    "line", ["not json at all", '{"status": 500', "[1, 2]", "42", '"text"', "{'a': 1}"]
)
def test_malformed_json_is_unparsed_at_read_time(line: str) -> None:
    entry = parse_line(line, JSON, READ)
    assert entry == Entry(READ, None, None, 1)


def test_matches_set_flags_on_parsed_and_unparsed_lines() -> None:
    assert parse_line(content_line(level="ERROR"), JSON, READ).flags == 0b10
    assert parse_line("Traceback: Error in handler", JSON, READ).flags == 0b11


def test_regex_lines() -> None:
    line = '[2026-03-14T09:26:53Z] "GET /api/v1/health" 502 731ms'
    assert parse_line(line, ACCESS, READ) == Entry(T, 502, 731.0, 0)
    assert parse_line("upstream connect error", ACCESS, READ) == Entry(READ, None, None, 1)


def test_text_lines_only_count_and_match() -> None:
    text = parser(matches={"errors": "(?i)error", "timeouts": "timeout"})
    assert parse_line("ERROR: db timeout", text, READ) == Entry(READ, None, None, 0b110)
    assert parse_line("all good", text, READ) == Entry(READ, None, None, 0)


@given(st.text(max_size=200))
def test_parse_line_never_raises(line: str) -> None:
    for each in (JSON, ACCESS, parser()):
        entry = parse_line(line, each, READ)
        assert math.isfinite(entry.ts)


# --- percentiles and window statistics -------------------------------------------------------


def test_nearest_rank_examples() -> None:
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert nearest_rank(values, 95) == 19
    assert nearest_rank(values, 50) == 10
    assert nearest_rank(values, 100) == 20
    assert nearest_rank([7.0], 95) == 7
    assert nearest_rank([1.0, 2.0], 50) == 1


@given(
    st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=200),
    st.integers(1, 100),
)
def test_nearest_rank_definition(values: list[float], percent: int) -> None:
    ordered = sorted(values)
    got = nearest_rank(ordered, percent)
    assert got in ordered
    at_or_below = sum(v <= got for v in ordered)
    below = sum(v < got for v in ordered)
    assert at_or_below * 100 >= percent * len(ordered)  # at least p% are <= it
    assert below * 100 < percent * len(ordered)  # and it is the smallest such value


ERRORS = parse_bound(">= 500")


def test_window_stats_counts_only_the_window() -> None:
    entries = [
        Entry(T - 400, 500, 9000.0, 0b10),  # before the window: ignored
        Entry(T - 200, 200, 100.0, 0),
        Entry(T - 100, 500, 300.0, 0b10),
        Entry(T - 50, None, None, 1),
        Entry(T, 404, 200.0, 0),
        Entry(T + 10, 500, 1.0, 0),  # in the future: not yet
    ]
    stats = window_stats(entries, T - 300, T, ERRORS, 1)
    assert stats.lines == 4
    assert stats.unparsed == 1
    assert (stats.errors, stats.with_status) == (1, 3)
    assert stats.error_rate_pct == pytest.approx(100 / 3)
    assert stats.durations == (100.0, 200.0, 300.0)
    assert stats.match_counts == (1,)


def test_error_rate_is_absent_without_statuses_and_follows_the_bound() -> None:
    no_status = window_stats([Entry(T, None, None, 0)], T - 1, T, ERRORS, 0)
    assert no_status.error_rate_pct is None
    client_errors = window_stats(
        [Entry(T, 404, None, 0), Entry(T, 200, None, 0)], T - 1, T, parse_bound(">= 400"), 0
    )
    assert client_errors.error_rate_pct == 50


entries_strategy = st.lists(
    st.builds(
        Entry,
        st.floats(T - 1000, T + 100),
        st.one_of(st.none(), st.integers(100, 599)),
        st.one_of(st.none(), st.floats(0, 1e5)),
        st.integers(0, 0b111),
    ),
    max_size=100,
)


@given(entries_strategy, st.floats(1, 900))
def test_window_stats_invariants(entries: list[Entry], window: float) -> None:
    stats = window_stats(entries, T - window, T, ERRORS, 2)
    inside = [e for e in entries if T - window <= e.ts <= T]
    assert stats.lines == len(inside)
    assert stats.errors <= stats.with_status <= stats.lines
    assert stats.unparsed == sum(e.flags & 1 for e in inside)
    assert list(stats.durations) == sorted(e.duration for e in inside if e.duration is not None)
    assert all(count <= stats.lines for count in stats.match_counts)
    if stats.error_rate_pct is not None:
        assert 0 <= stats.error_rate_pct <= 100


@given(entries_strategy, st.floats(T - 1000, T), st.integers(1, 50))
def test_retain_keeps_the_newest_needed_entries(
    entries: list[Entry], oldest: float, limit: int
) -> None:
    kept = retain(entries, oldest, limit)
    needed = [e for e in entries if e.ts >= oldest]
    assert kept == needed[-limit:]


def test_retain_default_limit() -> None:
    many = [Entry(T, 200, None, 0)] * (MAX_ENTRIES + 5)
    assert len(retain(many, T - 1)) == MAX_ENTRIES


# --- reading plan and line splitting ------------------------------------------------------


def test_plan_read_cases() -> None:
    file = Cursor(1, 100, 5000)
    assert plan_read(None, Cursor(1, 100, 500), 1000) == ReadPlan(0, False, False, 0)
    assert plan_read(None, file, 1000) == ReadPlan(4000, True, False, 0)
    assert plan_read(Cursor(1, 100, 4500), file, 1000) == ReadPlan(4500, False, False, 0)
    assert plan_read(Cursor(1, 100, 2000), file, 1000) == ReadPlan(4000, True, False, 2000)
    assert plan_read(Cursor(1, 99, 4500), file, 1000) == ReadPlan(4000, True, True, 4000)
    assert plan_read(Cursor(1, 99, 10), Cursor(1, 100, 300), 1000) == ReadPlan(0, False, True, 0)
    assert plan_read(Cursor(1, 100, 900), Cursor(1, 100, 300), 1000) == ReadPlan(0, False, True, 0)
    assert plan_read(Cursor(1, 100, 300), Cursor(1, 100, 300), 1000) == ReadPlan(
        300, False, False, 0
    )
    # A file that was missing and now appeared: from its start, not a rotation.
    assert plan_read(MISSING, Cursor(1, 100, 300), 1000) == ReadPlan(0, False, False, 0)
    assert plan_read(MISSING, file, 1000) == ReadPlan(4000, True, False, 4000)


cursors = st.one_of(
    st.builds(Cursor, st.integers(0, 2), st.integers(0, 2), st.integers(0, 10_000)),
    st.just(MISSING),
)


@given(st.one_of(st.none(), cursors), cursors, st.integers(1, 5000))
def test_plan_read_never_reads_more_than_the_budget(
    previous: Cursor | None, current: Cursor, max_read: int
) -> None:
    plan = plan_read(previous, current, max_read)
    size = current.offset
    assert 0 <= plan.start <= size
    assert size - plan.start <= max_read
    same_file = previous is not None and previous[:2] == current[:2] and previous.offset <= size
    assert plan.rotated == (previous is not None and not same_file and previous != MISSING)
    base = previous.offset if same_file and previous is not None else 0
    assert plan.align == (size - base > max_read)
    if not plan.align:
        assert plan.start == base  # a follow-up run continues exactly where the last stopped
    expected_skip = size - max_read - base if plan.align and previous is not None else 0
    assert plan.skipped == expected_skip


def test_split_lines_cases() -> None:
    assert split_lines(b"a\nb\nc", align=False, at_budget=False) == ([b"a", b"b"], 4)
    assert split_lines(b"a\nb\n", align=False, at_budget=False) == ([b"a", b"b"], 4)
    assert split_lines(b"partial", align=False, at_budget=False) == ([], 0)
    assert split_lines(b"huge-line", align=False, at_budget=True) == ([b"huge-line"], 9)
    assert split_lines(b"tail-of-old\nnew\n", align=True, at_budget=False) == ([b"new"], 16)
    assert split_lines(b"\nnew\n", align=True, at_budget=False) == ([b"new"], 5)
    assert split_lines(b"no-newline", align=True, at_budget=True) == ([], 10)
    assert split_lines(b"", align=False, at_budget=False) == ([], 0)


@given(st.binary(max_size=300), st.booleans(), st.booleans())
def test_split_lines_consumes_whole_lines_only(data: bytes, align: bool, at_budget: bool) -> None:
    lines, consumed = split_lines(data, align=align, at_budget=at_budget)
    assert 0 <= consumed <= len(data)
    assert all(b"\n" not in line for line in lines)
    taken = data[:consumed]
    if lines:
        assert taken.endswith(b"\n".join(lines) + b"\n") or (at_budget and consumed == len(data))
    rest = data[consumed:]
    assert b"\n" not in rest or not rest  # nothing complete is left behind
    if not align and not at_budget:
        assert b"\n".join(lines) + (b"\n" if lines else b"") == taken


# --- state ----------------------------------------------------------------------------------


@given(st.one_of(st.none(), cursors), entries_strategy)
def test_state_round_trips_through_json(cursor: Cursor | None, entries: list[Entry]) -> None:
    state = json.loads(json.dumps(encode_state(cursor, entries)))
    got_cursor, got_entries = decode_state(state)
    assert got_cursor == cursor
    assert [e._replace(ts=round(e.ts, 3)) for e in entries] == got_entries


@pytest.mark.parametrize(
    "state",
    [
        None,
        {},
        {"v": 99, "cursor": [1, 2, 3], "ts": [], "status": [], "duration": [], "flags": []},
        {"v": 1, "cursor": [1, 2], "ts": [], "status": [], "duration": [], "flags": []},
        {"v": 1, "cursor": None, "ts": [1.0], "status": [], "duration": [], "flags": []},
        {"v": 1, "cursor": None, "ts": ["x"], "status": [1], "duration": [1], "flags": [0]},
        {"v": 1, "cursor": None},
    ],
)
def test_unreadable_state_means_a_fresh_start(state: dict[str, object] | None) -> None:
    assert decode_state(state) == (None, [])


# --- config ---------------------------------------------------------------------------------

HEAD = "project:\n  name: shop\nchecks:\n  - name: content-log\n    log:\n"


def issues(block: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(HEAD + block)
    return [f"{i.path}: {i.message}" for i in caught.value.issues]


def test_samples_follow_the_config() -> None:
    text = LogCheck(path="app.log", matches={"errors": "(?i)error"})
    assert KIND.samples(text) == frozenset({"lines", "errors"})
    structured = LogCheck(path="app.log", format="json", duration_field="duration_ms")
    assert KIND.samples(structured) == frozenset(
        {"lines", "unparsed", "error_rate_pct", "duration_ms_p95", "duration_ms_p50"}
    )


def test_duration_prefix() -> None:
    assert duration_prefix("duration_ms") == "duration_ms"
    assert duration_prefix("jsonPayload.duration_ms") == "duration_ms"
    assert duration_prefix("Response-Time") == "response_time"
    assert duration_prefix("%%") == "duration"


def test_config_defaults() -> None:
    cfg = LogCheck(path="app.log")
    assert cfg.window == timedelta(minutes=5)
    assert cfg.max_read == 1_000_000
    assert str(cfg.error_status) == ">= 500"
    assert cfg.format == "text"


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("      format: json\n", "missing required key 'path'"),
        ("      path: a.log\n      format: csv\n", "format"),
        ("      path: a.log\n      format: regex\n", "format regex needs a pattern"),
        ("      path: a.log\n      pattern: '(?P<s>.)'\n", "only used with format regex"),
        ("      path: a.log\n      format: regex\n      pattern: '(\\d+'\n", "invalid regular"),
        ("      path: a.log\n      format: regex\n      pattern: '\\d+'\n", "named groups"),
        (
            "      path: a.log\n      format: regex\n      pattern: '(?P<code>\\d+)'\n"
            "      status_field: status\n",
            "status_field 'status' is not a named group",
        ),
        ("      path: a.log\n      duration_field: ms\n", "format text has no fields"),
        ("      path: a.log\n      matches: {Errors: error}\n", "must be snake_case"),
        ("      path: a.log\n      matches: {lines: error}\n", "clashes with a built-in"),
        (
            "      path: a.log\n      format: json\n      duration_field: duration_ms\n"
            "      matches: {duration_ms_p95: slow}\n",
            "clashes with a duration sample",
        ),
        ("      path: a.log\n      matches: {errors: '(?i'}\n", "invalid regular expression"),
        ("      path: a.log\n      window: 5\n", "add a unit"),
        ("      path: a.log\n      window: 0s\n", "greater than zero"),
        ("      path: a.log\n      max_read: lots\n", "expected a size"),
        ("      path: a.log\n      error_status: many\n", "expected a bound"),
        ("      path: a.log\n      follow: true\n", "unknown key 'follow'"),
    ],
)
def test_config_errors_are_clear(block: str, message: str) -> None:
    found = issues(block)
    assert any(message in issue for issue in found), found


def test_threshold_on_unknown_sample_suggests_the_right_one() -> None:
    found = issues(
        "      path: a.log\n      format: json\n      duration_field: duration_ms\n"
        "    thresholds:\n      duration_ms_p59: {critical: 5000}\n"
    )
    assert any("duration_ms_p95" in issue for issue in found), found


def test_documented_example_validates() -> None:
    doc = Path(__file__).parents[3] / "docs" / "checks" / "log.md"
    blocks = re.findall(r"```yaml\n(.*?)```", doc.read_text(), re.DOTALL)
    assert len(blocks) == 1
    config = load_config_text(blocks[0], environ={})
    assert [c.kind for c in config.checks] == ["log"] * 3
