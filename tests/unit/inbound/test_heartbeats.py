"""Heartbeats: ping URLs, the state a ping leaves, and the verdict at a given time.

The cron schedules are the runbooks' own backup jobs:

- memoapp, "Daily Backup Procedure": ``0 2 * * * /path/to/memo-app/scripts/backup.sh backup``
- review-engine, "Daily Maintenance": ``# Run at 3 AM UTC`` / ``0 3 * * * /opt/maintenance/daily.sh``
  (whose step 3 is "Backup critical data")
- practice-app, "Automated Backup Script" ends with ``echo "$(date): ERROR - Backup failed!"``
  and ``exit 1``, and its alert table says "Backup Failed: Condition: Backup job failed".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from pydantic import ValidationError

from opsbook.alerts.model import AlertState, Level
from opsbook.config.loader import load_config_text
from opsbook.errors import ConfigError
from opsbook.inbound import (
    Heartbeat,
    HeartbeatState,
    HeartbeatStatus,
    InboundError,
    Ping,
    PingKind,
    Verdict,
    apply_ping,
    find_heartbeat,
    heartbeat_alerts,
    judge,
    parse_ping,
)

ID = "3f2c4c1e-8a5b-4d8e-9a0b-2f7f1c2e9d11"
UID = UUID(ID)
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

NIGHTLY = Heartbeat(
    name="nightly-backup",
    id=UID,
    period=DAY,
    grace=HOUR,
    service="database",
    severity="P2",
    description="Daily pg_dump at 02:00 (practice-app runbook, Backup Procedures)",
)
MEMOAPP = Heartbeat(  # memoapp: 0 2 * * * /path/to/memo-app/scripts/backup.sh backup
    name="memoapp-backup",
    id=UUID("6f1d8c2a-3b4e-4c5d-8e9f-0a1b2c3d4e5f"),
    schedule="0 2 * * *",
    timezone="Europe/Berlin",
    grace=HOUR,
    service="memoapp",
    severity="P2",
    max_runtime=2 * HOUR,
)
REVIEW_ENGINE = Heartbeat(  # review-engine: Run at 3 AM UTC / 0 3 * * * /opt/maintenance/daily.sh
    name="review-engine-daily",
    id=UUID("0b7e3a52-9c1d-4f6e-a2b8-5d4c3e2f1a09"),
    schedule="0 3 * * *",
    grace=timedelta(minutes=30),
    severity="P3",
)


def ping(state: HeartbeatState, suffix: str, at: datetime) -> HeartbeatState:
    return apply_ping(state, parse_ping(suffix), at)


# --- ping URLs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "kind", "code"),
    [
        (ID, PingKind.SUCCESS, None),
        (ID.upper(), PingKind.SUCCESS, None),
        (f"{ID}/start", PingKind.START, None),
        (f"{ID}/fail", PingKind.FAIL, None),
        (f"{ID}/0", PingKind.EXIT_CODE, 0),
        (f"{ID}/1", PingKind.EXIT_CODE, 1),
        (f"{ID}/255", PingKind.EXIT_CODE, 255),
    ],
)
def test_ping_urls(suffix: str, kind: PingKind, code: int | None) -> None:
    assert parse_ping(suffix) == Ping(UID, kind, code)


def test_exit_status_zero_is_success() -> None:
    assert not parse_ping(f"{ID}/0").failed
    assert parse_ping(f"{ID}/2").failed and parse_ping(f"{ID}/fail").failed


HOSTILE_PINGS: list[tuple[str, int]] = [
    ("", 404),
    ("not-a-uuid", 404),
    (ID[:-1], 404),
    (ID + "0", 404),
    (ID.replace("-", ""), 404),  # uuid.UUID would take it; the URL form is canonical
    ("{" + ID + "}", 404),
    ("urn:uuid:" + ID, 404),
    (ID + "/", 404),
    ("/" + ID, 404),
    (f"../{ID}", 404),
    (f"{ID}/START", 404),
    (f"{ID}/log", 404),
    (f"{ID}/start/extra", 404),
    (f"{ID}//start", 404),
    (f"{ID}\x00/start", 404),
    (f"{ID}/start\x00", 404),
    (f"{ID}/%30", 404),
    (f"{ID}/١", 404),  # ARABIC-INDIC DIGIT ONE: int() would take it
    (f"{ID}/1e2", 404),
    (f"{ID}/ 1", 404),
    (f"{ID}/0x1", 404),
    (ID + "/" + "9" * 200, 404),  # longer than any ping URL
    (f"{ID}/256", 400),
    (f"{ID}/-1", 400),
    (f"{ID}/+5", 400),
    (f"{ID}/007", 400),
    (f"{ID}/00", 400),
    (f"{ID}/99999999999999999999", 400),
]


@pytest.mark.parametrize(("suffix", "status"), HOSTILE_PINGS)
def test_hostile_ping_urls(suffix: str, status: int) -> None:
    with pytest.raises(InboundError) as caught:
        parse_ping(suffix)
    assert caught.value.status == status
    if status == 400:
        assert "0 to 255" in caught.value.message


def test_find_heartbeat() -> None:
    assert find_heartbeat([MEMOAPP, NIGHTLY], UID) is NIGHTLY
    with pytest.raises(InboundError) as caught:
        find_heartbeat([MEMOAPP], UID)
    assert caught.value.status == 404


# --- state -----------------------------------------------------------------------------


def test_apply_ping_records_each_kind() -> None:
    state = ping(HeartbeatState(), f"{ID}/start", T0)
    assert state.running and state.last_ping_at is None
    state = ping(state, ID, T0 + HOUR)
    assert not state.running
    assert (state.last_ping_at, state.last_outcome, state.last_exit_code) == (
        T0 + HOUR,
        "success",
        None,
    )
    state = ping(state, f"{ID}/3", T0 + 2 * HOUR)
    assert (state.last_outcome, state.last_exit_code, state.last_failure_at) == (
        "fail",
        3,
        T0 + 2 * HOUR,
    )
    state = ping(state, f"{ID}/0", T0 + 3 * HOUR)
    assert (state.last_outcome, state.last_exit_code) == ("success", 0)
    assert state.last_failure_at == T0 + 2 * HOUR  # history kept
    assert state.last_start_at == T0


# --- period ------------------------------------------------------------------------------


def test_never_pinged_goes_down_one_period_plus_grace_after_monitoring_began() -> None:
    state = HeartbeatState()
    new = judge(NIGHTLY, state, T0 + 23 * HOUR, started_at=T0)
    assert (new.status, new.due_at, new.changes_at) == (HeartbeatStatus.NEW, T0 + DAY, T0 + DAY)
    late = judge(NIGHTLY, state, T0 + DAY, started_at=T0)
    assert (late.status, late.changes_at) == (HeartbeatStatus.LATE, T0 + DAY + HOUR)
    down = judge(NIGHTLY, state, T0 + DAY + HOUR, started_at=T0)
    assert down.status is HeartbeatStatus.DOWN
    assert "never pinged since monitoring began 2026-11-23 12:00 UTC" in down.reason
    assert "grace ended 2026-11-24 13:00 UTC" in down.reason
    assert down.changes_at is None


def test_a_ping_moves_the_deadline() -> None:
    state = ping(HeartbeatState(), ID, T0 + 2 * HOUR)
    up = judge(NIGHTLY, state, T0 + DAY + HOUR, started_at=T0)
    assert (up.status, up.due_at) == (HeartbeatStatus.UP, T0 + DAY + 2 * HOUR)
    assert "last ping 2026-11-23 14:00 UTC" in up.reason
    assert (
        judge(NIGHTLY, state, T0 + DAY + 3 * HOUR - timedelta(seconds=1), started_at=T0).status
        is HeartbeatStatus.LATE
    )
    assert judge(NIGHTLY, state, T0 + DAY + 3 * HOUR, started_at=T0).status is HeartbeatStatus.DOWN


def test_a_start_alone_does_not_count_as_a_ping() -> None:
    state = ping(HeartbeatState(), f"{ID}/start", T0 + HOUR)
    running = judge(NIGHTLY, state, T0 + 2 * HOUR, started_at=T0)
    assert running.status is HeartbeatStatus.RUNNING
    assert (
        judge(NIGHTLY, state, T0 + DAY + 30 * timedelta(minutes=1), started_at=T0).status
        is HeartbeatStatus.RUNNING
    )
    assert judge(NIGHTLY, state, T0 + DAY + HOUR, started_at=T0).status is HeartbeatStatus.DOWN


def test_a_failure_is_failed_until_the_next_success() -> None:
    state = ping(HeartbeatState(), f"{ID}/1", T0 + HOUR)
    failed = judge(NIGHTLY, state, T0 + 2 * HOUR, started_at=T0)
    assert failed.status is HeartbeatStatus.FAILED
    assert failed.reason == "last run failed at 2026-11-23 13:00 UTC with exit status 1"
    assert judge(NIGHTLY, state, T0 + 5 * DAY, started_at=T0).status is HeartbeatStatus.FAILED
    recovered = ping(state, ID, T0 + 3 * HOUR)
    assert judge(NIGHTLY, recovered, T0 + 4 * HOUR, started_at=T0).status is HeartbeatStatus.UP


def test_fail_without_exit_status() -> None:
    state = ping(HeartbeatState(), f"{ID}/fail", T0)
    assert (
        judge(NIGHTLY, state, T0, started_at=T0).reason == "last run failed at 2026-11-23 12:00 UTC"
    )


# --- cron: the runbooks' backup jobs ------------------------------------------------------

BERLIN_0200 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 02:00 CET


def test_memoapp_backup_on_time_is_up_until_the_next_night() -> None:
    state = ping(HeartbeatState(), f"{MEMOAPP.id}/start", BERLIN_0200 - DAY)
    state = ping(state, f"{MEMOAPP.id}/0", BERLIN_0200 - DAY + timedelta(minutes=7))
    verdict = judge(MEMOAPP, state, BERLIN_0200 - timedelta(minutes=1), started_at=T0 - 3 * DAY)
    assert verdict.status is HeartbeatStatus.UP
    assert verdict.due_at == BERLIN_0200
    assert "next due 2026-11-24 02:00 CET" in verdict.reason
    assert "last ping 2026-11-23 02:07 CET" in verdict.reason


def test_memoapp_backup_that_did_not_run_is_late_then_down() -> None:
    state = ping(HeartbeatState(), f"{MEMOAPP.id}/0", BERLIN_0200 - DAY + timedelta(minutes=7))
    started = T0 - 3 * DAY
    late = judge(MEMOAPP, state, BERLIN_0200 + timedelta(minutes=30), started_at=started)
    assert (late.status, late.changes_at) == (HeartbeatStatus.LATE, BERLIN_0200 + HOUR)
    down = judge(MEMOAPP, state, BERLIN_0200 + HOUR, started_at=started)
    assert down.status is HeartbeatStatus.DOWN
    assert down.reason == (
        "last ping 2026-11-23 02:07 CET; next was due 2026-11-24 02:00 CET, "
        "grace ended 2026-11-24 03:00 CET"
    )


def test_memoapp_backup_that_hangs_is_down_after_max_runtime() -> None:
    state = ping(HeartbeatState(), f"{MEMOAPP.id}/0", BERLIN_0200 - DAY + timedelta(minutes=7))
    state = ping(state, f"{MEMOAPP.id}/start", BERLIN_0200)
    started = T0 - 3 * DAY
    running = judge(MEMOAPP, state, BERLIN_0200 + 30 * timedelta(minutes=1), started_at=started)
    assert (running.status, running.changes_at) == (HeartbeatStatus.RUNNING, BERLIN_0200 + HOUR)
    # past the grace, the deadline wins over a run still inside max_runtime
    assert (
        judge(MEMOAPP, state, BERLIN_0200 + HOUR, started_at=started).status is HeartbeatStatus.DOWN
    )
    hung = judge(MEMOAPP, state, BERLIN_0200 + 2 * HOUR, started_at=started)
    assert hung.status is HeartbeatStatus.DOWN
    assert "has not finished within max_runtime 2h" in hung.reason


def test_max_runtime_shorter_than_the_grace() -> None:
    quick = MEMOAPP.model_copy(update={"max_runtime": timedelta(minutes=20)})
    state = ping(HeartbeatState(), f"{MEMOAPP.id}/0", BERLIN_0200 - DAY)
    state = ping(state, f"{MEMOAPP.id}/start", BERLIN_0200 - timedelta(minutes=5))
    running = judge(quick, state, BERLIN_0200 - timedelta(minutes=1), started_at=T0 - 3 * DAY)
    assert running.changes_at == BERLIN_0200  # the due time comes before the overrun
    at_due = judge(quick, state, BERLIN_0200, started_at=T0 - 3 * DAY)
    assert (at_due.status, at_due.changes_at) == (
        HeartbeatStatus.RUNNING,
        BERLIN_0200 + timedelta(minutes=15),
    )
    assert (
        judge(quick, state, BERLIN_0200 + timedelta(minutes=15), started_at=T0 - 3 * DAY).status
        is HeartbeatStatus.DOWN
    )


def test_practice_app_backup_failed_exit_1() -> None:
    # ERROR - Backup failed! ... exit 1  ->  curl /ping/<uuid>/$?  ->  /ping/<uuid>/1
    state = ping(HeartbeatState(), f"{MEMOAPP.id}/start", BERLIN_0200)
    state = ping(state, f"{MEMOAPP.id}/1", BERLIN_0200 + timedelta(minutes=4))
    verdict = judge(MEMOAPP, state, BERLIN_0200 + timedelta(minutes=5), started_at=T0 - 3 * DAY)
    assert verdict.status is HeartbeatStatus.FAILED
    assert verdict.reason == "last run failed at 2026-11-24 02:04 CET with exit status 1"


def test_review_engine_daily_at_3_am_utc_never_pinged() -> None:
    started = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    first_fire = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
    assert (
        judge(REVIEW_ENGINE, HeartbeatState(), first_fire - HOUR, started_at=started).status
        is HeartbeatStatus.NEW
    )
    down = judge(
        REVIEW_ENGINE, HeartbeatState(), first_fire + timedelta(minutes=30), started_at=started
    )
    assert (down.status, down.due_at) == (HeartbeatStatus.DOWN, first_fire)
    assert "next was due 2026-11-24 03:00 UTC" in down.reason


def test_schedule_without_timezone_uses_the_project_timezone() -> None:
    local = REVIEW_ENGINE.model_copy(update={"timezone": None})
    verdict = judge(local, HeartbeatState(), T0, started_at=T0, default_zone="Asia/Tokyo")
    assert verdict.due_at == datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # 03:00 JST
    assert "JST" in verdict.reason


def test_a_ping_right_at_the_fire_time_covers_that_fire() -> None:
    state = ping(HeartbeatState(), str(REVIEW_ENGINE.id), datetime(2026, 11, 24, 3, 0, tzinfo=UTC))
    verdict = judge(REVIEW_ENGINE, state, datetime(2026, 11, 24, 3, 45, tzinfo=UTC), started_at=T0)
    assert (verdict.status, verdict.due_at) == (
        HeartbeatStatus.UP,
        datetime(2026, 11, 25, 3, 0, tzinfo=UTC),
    )


def test_daylight_saving_night_02_00_does_not_exist() -> None:
    # 2026-03-29 in Berlin jumps from 02:00 to 03:00; the job runs at 03:00 CEST.
    last = datetime(2026, 3, 28, 1, 5, tzinfo=UTC)
    state = ping(HeartbeatState(), str(MEMOAPP.id), last)
    verdict = judge(MEMOAPP, state, last + HOUR, started_at=last)
    assert verdict.due_at == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


# --- alerts --------------------------------------------------------------------------------


def down_verdict() -> tuple[HeartbeatState, Verdict]:
    state = ping(HeartbeatState(), ID, T0)
    return state, judge(NIGHTLY, state, T0 + DAY + HOUR, started_at=T0)


def test_down_fires_heartbeat_missing() -> None:
    _, verdict = down_verdict()
    [alert] = heartbeat_alerts(NIGHTLY, verdict, T0 + DAY + HOUR)
    assert dict(alert.labels) == {
        "alertname": "HeartbeatMissing",
        "heartbeat": "nightly-backup",
        "severity": "P2",
        "service": "database",
    }
    assert alert.state is AlertState.FIRING and alert.level is Level.CRITICAL
    assert alert.rule == "heartbeat:nightly-backup"
    assert alert.fired_at == T0 + DAY + HOUR
    assert alert.annotations["summary"] == (
        "Heartbeat nightly-backup is down: last ping 2026-11-23 12:00 UTC; "
        "next was due 2026-11-24 12:00 UTC, grace ended 2026-11-24 13:00 UTC"
    )
    assert alert.annotations["description"] == (
        "Expected to ping every 1d (+1h grace).\n\n"
        "Daily pg_dump at 02:00 (practice-app runbook, Backup Procedures)"
    )
    assert alert.annotations["due_at"] == (T0 + DAY).isoformat()


def test_a_firing_alert_continues_then_resolves() -> None:
    state, verdict = down_verdict()
    [first] = heartbeat_alerts(NIGHTLY, verdict, T0 + DAY + HOUR)
    later = judge(NIGHTLY, state, T0 + 2 * DAY, started_at=T0)
    [same] = heartbeat_alerts(NIGHTLY, later, T0 + 2 * DAY, [first])
    assert same.fingerprint == first.fingerprint and same.fired_at == first.fired_at
    assert same.updated_at == T0 + 2 * DAY
    back = ping(state, ID, T0 + 2 * DAY)
    [resolved] = heartbeat_alerts(
        NIGHTLY, judge(NIGHTLY, back, T0 + 2 * DAY, started_at=T0), T0 + 2 * DAY, [same]
    )
    assert resolved.state is AlertState.RESOLVED and resolved.resolved_at == T0 + 2 * DAY
    assert resolved.fingerprint == first.fingerprint
    assert (
        heartbeat_alerts(
            NIGHTLY, judge(NIGHTLY, back, T0 + 2 * DAY, started_at=T0), T0 + 2 * DAY, [resolved]
        )
        == []
    )


def test_healthy_without_history_is_no_alert() -> None:
    verdict = judge(NIGHTLY, HeartbeatState(), T0, started_at=T0)
    assert heartbeat_alerts(NIGHTLY, verdict, T0) == []
    assert judge(NIGHTLY, HeartbeatState(), T0 + DAY, started_at=T0).status is HeartbeatStatus.LATE
    assert (
        heartbeat_alerts(NIGHTLY, judge(NIGHTLY, HeartbeatState(), T0 + DAY, started_at=T0), T0)
        == []
    )


def test_missing_then_failed_switches_alerts() -> None:
    state, verdict = down_verdict()
    [missing] = heartbeat_alerts(NIGHTLY, verdict, T0 + DAY + HOUR)
    failed_state = ping(state, f"{ID}/1", T0 + DAY + 2 * HOUR)
    failed = judge(NIGHTLY, failed_state, T0 + DAY + 2 * HOUR, started_at=T0)
    resolved, firing = heartbeat_alerts(NIGHTLY, failed, T0 + DAY + 2 * HOUR, [missing])
    assert resolved.fingerprint == missing.fingerprint and resolved.state is AlertState.RESOLVED
    assert firing.labels["alertname"] == "HeartbeatFailed" and firing.is_firing
    assert firing.annotations["summary"].startswith(
        "Heartbeat nightly-backup reported a failure: last run failed"
    )


def test_cron_expectation_in_the_description() -> None:
    state = ping(HeartbeatState(), str(MEMOAPP.id), BERLIN_0200 - DAY)
    verdict = judge(MEMOAPP, state, BERLIN_0200 + HOUR, started_at=T0)
    [alert] = heartbeat_alerts(MEMOAPP, verdict, BERLIN_0200 + HOUR)
    assert (
        alert.annotations["description"]
        == "Expected to ping at '0 2 * * *' Europe/Berlin (+1h grace)."
    )


# --- config ---------------------------------------------------------------------------------

CONFIG = f"""
project: {{name: memoapp, timezone: Europe/Berlin}}
heartbeats:
  - name: nightly-backup
    id: {ID}
    period: 1d
    grace: 1h
    service: database
    severity: P2
    description: "Daily pg_dump at 02:00 (practice-app runbook, Backup Procedures)"
    max_runtime: 2h
  - name: memoapp-backup
    id: 6f1d8c2a-3b4e-4c5d-8e9f-0a1b2c3d4e5f
    schedule: "0 2 * * *"
    timezone: Europe/Berlin
    severity: P2
"""


def test_the_config_loads() -> None:
    config = load_config_text(CONFIG, environ={})
    nightly, memoapp = config.heartbeats
    assert nightly == NIGHTLY.model_copy(update={"max_runtime": 2 * HOUR})
    assert memoapp.schedule == "0 2 * * *" and memoapp.grace == HOUR


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "give either period"),
        ({"period": "1d", "schedule": "0 2 * * *"}, "give either period"),
        ({"period": "1d", "timezone": "Europe/Berlin"}, "timezone applies to schedule only"),
        ({"period": "30s"}, "at least 1m"),
        ({"schedule": "0 25 * * *"}, "invalid cron expression"),
        ({"schedule": "0 0 30 2 *"}, "never fires"),
        ({"schedule": "0 2 * * *", "timezone": "Mars/Olympus"}, "unknown timezone"),
        ({"period": "1d", "max_runtime": "0s"}, "max_runtime"),
        ({"period": "1d", "id": "not-a-uuid"}, "UUID"),
        ({"period": "1d", "grace": "soon"}, "duration"),
    ],
)
def test_config_errors(fields: dict[str, str], message: str) -> None:
    data = {"name": "x", "id": ID, "severity": "P2", **fields}
    with pytest.raises(ValidationError) as caught:
        Heartbeat.model_validate(data)
    assert message in str(caught.value)


def test_config_errors_are_located() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config_text(CONFIG.replace('"0 2 * * *"', '"0 2 * *"'), environ={})
    assert str(caught.value) == (
        "opsbook.yaml:14:15 heartbeats[1].schedule: invalid cron expression '0 2 * *'; "
        "expected like '0 2 * * *'"
    )
