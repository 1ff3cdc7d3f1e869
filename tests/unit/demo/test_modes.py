"""The demo service's decisions: what each mode answers, the fault pattern, the mode switch."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsbook.demo.modes import (
    HTML,
    ITEMS,
    JSON,
    MAX_DELAY_MS,
    MAX_MODE_BODY,
    Mode,
    ModeRequestError,
    ModeSettings,
    Reply,
    Vitals,
    delay_s,
    detailed_health_reply,
    drops_connection,
    health_reply,
    is_failing,
    item_reply,
    items_reply,
    log_level,
    log_record,
    parse_mode_change,
    trace_id_for,
)

VITALS = Vitals(uptime_s=12.34, database_ms=2.26, redis_ms=0.51, memory_used_pct=41.27)


def settings(mode: Mode, **kwargs: float) -> ModeSettings:
    return ModeSettings(mode=mode, **kwargs)  # type: ignore[arg-type]


def is_json(reply: Reply) -> bool:
    try:
        json.loads(reply.text())
    except ValueError:
        return False
    return True


# --- health -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "status", "body"),
    [
        (Mode.HEALTHY, 200, {"status": "ok"}),
        (Mode.SLOW, 200, {"status": "ok"}),
        (Mode.DEGRADED, 200, {"status": "ok"}),  # liveness: a dependency outage is not "down"
        (Mode.DOWN, 503, {"status": "down"}),
        (Mode.DOWN_HARD, 503, {"status": "down"}),
        (Mode.ERRORING, 500, {"status": "error"}),
    ],
)
def test_health_answer_per_mode(mode: Mode, status: int, body: dict[str, str]) -> None:
    reply = health_reply(settings(mode))
    assert (reply.status, reply.body, reply.content_type) == (status, body, JSON)


def test_bad_json_health_is_a_200_html_page() -> None:
    reply = health_reply(settings(Mode.BAD_JSON))
    assert reply.status == 200
    assert reply.content_type == HTML
    assert not is_json(reply)
    assert "<html>" in reply.text()


def test_detailed_health_has_the_runbook_shape_when_healthy() -> None:
    reply = detailed_health_reply(settings(Mode.HEALTHY), VITALS)
    assert reply.status == 200
    assert reply.body == {
        "status": "ok",
        "version": reply.body["version"],
        "uptime_s": 12.3,
        "components": {
            "database": {"status": "up", "latency_ms": 2.3},
            "redis": {"status": "up", "latency_ms": 0.5},
            "memory": {"status": "ok", "used_pct": 41.3},
        },
    }
    assert isinstance(reply.body["version"], str) and reply.body["version"]


def test_slow_mode_shows_in_the_database_latency() -> None:
    reply = detailed_health_reply(settings(Mode.SLOW, delay_ms=800), VITALS)
    assert reply.status == 200
    assert reply.body["status"] == "ok"
    assert reply.body["components"]["database"] == {"status": "up", "latency_ms": 802.3}


def test_degraded_mode_reports_the_database_down_with_http_200() -> None:
    reply = detailed_health_reply(settings(Mode.DEGRADED), VITALS)
    assert reply.status == 200
    assert reply.body["status"] == "degraded"
    assert reply.body["components"]["database"]["status"] == "down"
    assert reply.body["components"]["redis"]["status"] == "up"


def test_high_memory_degrades_detailed_health() -> None:
    vitals = Vitals(uptime_s=1, database_ms=1, redis_ms=1, memory_used_pct=93.0)
    reply = detailed_health_reply(settings(Mode.HEALTHY), vitals)
    assert reply.status == 200
    assert reply.body["status"] == "degraded"
    assert reply.body["components"]["memory"] == {"status": "critical", "used_pct": 93.0}


@pytest.mark.parametrize(
    ("mode", "status", "body"),
    [
        (Mode.DOWN, 503, {"status": "down"}),
        (Mode.DOWN_HARD, 503, {"status": "down"}),
        (Mode.ERRORING, 500, {"status": "error"}),
    ],
)
def test_detailed_health_failures(mode: Mode, status: int, body: dict[str, str]) -> None:
    reply = detailed_health_reply(settings(mode), VITALS)
    assert (reply.status, reply.body) == (status, body)


def test_detailed_health_bad_json() -> None:
    reply = detailed_health_reply(settings(Mode.BAD_JSON), VITALS)
    assert reply.status == 200 and not is_json(reply)


# --- app endpoints ------------------------------------------------------------------------


def test_items_when_healthy() -> None:
    reply = items_reply(settings(Mode.HEALTHY), failing=False)
    assert reply.status == 200
    assert reply.body["count"] == len(ITEMS) == len(reply.body["items"])
    assert reply.body["source"] == "database"


def test_failing_flag_only_matters_when_erroring() -> None:
    assert items_reply(settings(Mode.HEALTHY), failing=True).status == 200
    assert items_reply(settings(Mode.ERRORING), failing=False).status == 200
    failed = items_reply(settings(Mode.ERRORING), failing=True)
    assert (failed.status, failed.body) == (500, {"error": "internal server error"})


@pytest.mark.parametrize("mode", [Mode.DOWN, Mode.DOWN_HARD])
def test_items_when_down(mode: Mode) -> None:
    assert items_reply(settings(mode), failing=False).status == 503


def test_items_bad_json_and_degraded() -> None:
    bad = items_reply(settings(Mode.BAD_JSON), failing=False)
    assert bad.status == 200 and not is_json(bad)
    cached = items_reply(settings(Mode.DEGRADED), failing=False)
    assert cached.status == 200 and cached.body["source"] == "cache"


def test_single_item_and_unknown_item() -> None:
    found = item_reply(settings(Mode.HEALTHY), False, "2")
    assert found.status == 200 and found.body["id"] == 2
    missing = item_reply(settings(Mode.HEALTHY), False, "x" * 200)
    assert missing.status == 404
    assert len(missing.body["error"]) < 60  # the id is not echoed in full
    assert item_reply(settings(Mode.DOWN), False, "2").status == 503


# --- timing and fault pattern -------------------------------------------------------------


def test_only_slow_mode_delays_and_only_down_hard_drops() -> None:
    for mode in Mode:
        assert delay_s(settings(mode, delay_ms=250)) == (0.25 if mode is Mode.SLOW else 0.0)
        assert drops_connection(settings(mode)) == (mode is Mode.DOWN_HARD)


def test_failure_pattern_examples() -> None:
    assert [is_failing(i, 0.5) for i in range(4)] == [False, True, False, True]
    assert not any(is_failing(i, 0.0) for i in range(100))
    assert all(is_failing(i, 1.0) for i in range(100))
    assert sum(is_failing(i, 0.05) for i in range(100)) == 5  # the runbooks' 5 % error rate


@given(st.floats(min_value=0, max_value=1), st.integers(min_value=0, max_value=5000))
def test_failure_share_is_exact_over_any_prefix(share: float, count: int) -> None:
    failures = sum(is_failing(i, share) for i in range(count))
    assert failures == count * round(share * 1000) // 1000


# --- mode switch --------------------------------------------------------------------------


def body(data: object) -> bytes:
    return json.dumps(data).encode()


def test_mode_change_keeps_unset_parameters() -> None:
    current = ModeSettings(mode=Mode.HEALTHY, delay_ms=700, error_share=0.2)
    assert parse_mode_change(body({"mode": "slow"}), current) == ModeSettings(Mode.SLOW, 700, 0.2)
    changed = parse_mode_change(body({"mode": "erroring", "error_share": 1}), current)
    assert changed == ModeSettings(Mode.ERRORING, 700, 1.0)
    slow = parse_mode_change(body({"mode": "slow", "delay_ms": 300}), current)
    assert slow == ModeSettings(Mode.SLOW, 300, 0.2)


@pytest.mark.parametrize("mode", list(Mode))
def test_every_mode_can_be_set(mode: Mode) -> None:
    assert parse_mode_change(body({"mode": mode.value}), ModeSettings()).mode is mode


@pytest.mark.parametrize(
    ("raw", "status", "reason"),
    [
        (b"not json", 400, "not JSON"),
        (b"\xff\xfe", 400, "not JSON"),
        (b"", 400, "not JSON"),
        (b'["down"]', 400, "JSON object"),
        (body({"mode": "down", "colour": "red"}), 400, "unknown field 'colour'"),
        (body({"delay_ms": 5}), 400, "missing 'mode'"),
        (body({"mode": "exploded"}), 400, 'unknown mode "exploded"; expected one of healthy'),
        (body({"mode": 3}), 400, "unknown mode 3"),
        (body({"mode": "slow", "delay_ms": True}), 400, "delay_ms must be a number"),
        (body({"mode": "slow", "delay_ms": "9"}), 400, "delay_ms must be a number"),
        (body({"mode": "slow", "delay_ms": -1}), 400, "whole number from 0"),
        (body({"mode": "slow", "delay_ms": 1.5}), 400, "whole number from 0"),
        (body({"mode": "slow", "delay_ms": MAX_DELAY_MS + 1}), 400, "whole number from 0"),
        (b'{"mode": "slow", "delay_ms": NaN}', 400, "whole number from 0"),
        (body({"mode": "erroring", "error_share": 1.01}), 400, "error_share must be from 0"),
        (b'{"mode": "erroring", "error_share": Infinity}', 400, "error_share must be from 0"),
        (b" " * (MAX_MODE_BODY + 1), 413, f"larger than {MAX_MODE_BODY} bytes"),
    ],
)
def test_bad_mode_requests_are_refused_with_a_reason(raw: bytes, status: int, reason: str) -> None:
    with pytest.raises(ModeRequestError) as caught:
        parse_mode_change(raw, ModeSettings())
    assert caught.value.status == status
    assert reason in caught.value.reason


def test_body_of_exactly_the_limit_is_accepted() -> None:
    raw = body({"mode": "down"})
    padded = raw + b" " * (MAX_MODE_BODY - len(raw))
    assert parse_mode_change(padded, ModeSettings()).mode is Mode.DOWN


@given(st.binary(max_size=200))
def test_any_bytes_give_settings_or_a_refusal(raw: bytes) -> None:
    try:
        result = parse_mode_change(raw, ModeSettings())
    except ModeRequestError as exc:
        assert exc.status in (400, 413)
    else:
        assert isinstance(result, ModeSettings)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "mode": st.sampled_from([m.value for m in Mode]) | json_values,
            "delay_ms": json_values | st.integers(0, MAX_DELAY_MS),
            "error_share": json_values | st.floats(0, 1),
        },
    )
)
def test_accepted_settings_are_always_in_range(data: dict[str, object]) -> None:
    try:
        result = parse_mode_change(json.dumps(data).encode(), ModeSettings())
    except ModeRequestError as exc:
        assert exc.status == 400
        return
    assert 0 <= result.delay_ms <= MAX_DELAY_MS
    assert 0 <= result.error_share <= 1 and not math.isnan(result.error_share)


# --- logging and tracing ------------------------------------------------------------------


def test_trace_id_is_kept_when_it_looks_like_one() -> None:
    assert trace_id_for("abc-123-def-456", "fresh") == "abc-123-def-456"
    for bad in (None, "short", "has space here", "line\nbreak-injected", "x" * 65, "ünïcode-id"):
        assert trace_id_for(bad, "fresh") == "fresh"


def test_log_record_has_the_content_service_fields() -> None:
    when = datetime(2025, 3, 4, 5, 6, 7, 891234, tzinfo=UTC)
    record = log_record(when, "GET", "/api/v1/items", 200, 12.345, "t" * 32)
    assert record == {
        "time": "2025-03-04T05:06:07.891Z",
        "level": "INFO",
        "method": "GET",
        "path": "/api/v1/items",
        "status": 200,
        "duration_ms": 12.3,
        "trace_id": "t" * 32,
    }
    other_zone = datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=2)))
    assert log_record(other_zone, "GET", "/", 200, 0, "t")["time"].endswith("+02:00")


@pytest.mark.parametrize(
    ("status", "level"), [(200, "INFO"), (302, "INFO"), (404, "WARN"), (500, "ERROR")]
)
def test_log_level_follows_status(status: int, level: str) -> None:
    assert log_level(status) == level
