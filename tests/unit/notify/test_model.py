"""The notification record: JSON round trip for the outbox, keys, filtering, redaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsbook.alerts.model import Alert, AlertState, Level
from opsbook.config.redact import Redactor
from opsbook.notify.model import MAX_KEY_LENGTH, Notification, bounded_key, make_test_notification
from tests.notifyutil import T0, make_alert, make_notification

texts = st.text(min_size=0, max_size=30)
label_maps = st.dictionaries(st.text(min_size=1, max_size=15), texts, max_size=5)


def test_alert_json_round_trip_keeps_every_field_it_carries() -> None:
    alert = make_alert(summary="Error rate 6.2%", description="Users see 500s").evolve(
        flapping=True, resolved_at=T0 + timedelta(minutes=3)
    )
    assert Alert.from_json(json.loads(json.dumps(alert.to_json()))) == alert


def test_alert_from_json_accepts_fields_to_json_leaves_out() -> None:
    data = make_alert().to_json() | {
        "last_true_at": T0.isoformat(),
        "flips": [T0.isoformat()],
        "updated_at": T0.isoformat(),
    }
    alert = Alert.from_json(data)
    assert alert.last_true_at == T0 and alert.flips == (T0,) and alert.updated_at == T0


@given(
    labels=label_maps,
    annotations=label_maps,
    value=st.none() | st.floats(allow_nan=False, allow_infinity=False),
    title=st.none() | texts,
    kind=st.sampled_from(["alert", "incident", "reminder", "status_update", "test"]),
)
def test_notification_survives_the_outbox_payload(
    labels: dict[str, str],
    annotations: dict[str, str],
    value: float | None,
    title: str | None,
    kind: str,
) -> None:
    alert = Alert(
        fingerprint="0123456789abcdef",
        rule="high-error-rate",
        level=Level.WARNING,
        labels=labels,
        annotations=annotations,
        state=AlertState.RESOLVED,
        fired_at=T0,
        resolved_at=T0 + timedelta(minutes=12),
        value=value,
    )
    original = make_notification(alert, kind=kind, title=title, body="body")
    assert Notification.loads(original.dumps()) == original


def test_long_keys_are_shortened_deterministically() -> None:
    long = "route:" + "x" * 2000
    assert len(bounded_key(long)) == MAX_KEY_LENGTH
    assert bounded_key(long) == bounded_key(long)
    assert bounded_key(long) != bounded_key(long + "y")
    assert make_notification(key=long).idempotency_key == bounded_key(long)
    assert bounded_key("short") == "short"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": "pending"}, "status must be"),
        ({"key": ""}, "idempotency key"),
        ({"created_at": datetime(2026, 1, 1)}, "timezone-aware"),
    ],
)
def test_invalid_notifications_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_notification(**fields)  # type: ignore[arg-type]


def test_without_resolved_keeps_only_firing_alerts() -> None:
    firing = make_alert("api-latency")
    resolved = make_alert("high-error-rate", AlertState.RESOLVED)
    mixed = make_notification(firing, resolved)
    assert mixed.without_resolved() == make_notification(firing)
    assert make_notification(resolved).without_resolved() is None
    only_firing = make_notification(firing)
    assert only_firing.without_resolved() is only_firing
    incident = make_notification(resolved, kind="incident", title="t", body="b")
    assert incident.without_resolved() is incident


def test_redacted_masks_labels_annotations_title_and_body() -> None:
    secret = "hunter2-token"
    alert = make_alert(labels={"dsn": f"postgres://app:{secret}@db/app"}, summary=secret)
    n = make_notification(
        alert, title=f"t {secret}", body=f"b {secret}", group_labels={"x": secret}
    )
    masked = n.redacted(Redactor([secret]))
    assert secret not in masked.dumps()
    assert masked.alerts[0].labels["dsn"] == "postgres://app:***@db/app"
    assert masked.title == "t ***" and masked.body == "b ***"


def test_test_notification_looks_like_a_real_firing_alert() -> None:
    now = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    n = make_test_notification("oncall", now)
    assert n.kind == "test" and n.status == "firing" and n.receiver == "oncall"
    assert n.alerts[0].labels["alertname"] == "OpsbookTest"
    assert n.alerts[0].state is AlertState.FIRING
    assert (
        n.idempotency_key
        != make_test_notification("oncall", now + timedelta(seconds=1)).idempotency_key
    )
