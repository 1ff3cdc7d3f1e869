"""Default and overridden notification templates, as the text people actually receive.

The defaults follow the memoapp runbook's communication templates:
"INCIDENT ALERT - [Severity Level] / Service / Issue / Impact / Status / ETA / Updates:
Will provide updates every 30 minutes" and "INCIDENT RESOLVED / Service / Issue /
Resolution / Duration / Next Steps".
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsbook.alerts.model import AlertState
from opsbook.config.loader import load_config_text
from opsbook.config.redact import Redactor
from opsbook.notify.templates import (
    Templates,
    TemplateSettings,
    human_duration,
    human_interval,
    render_notification,
    template_context,
)
from tests.notifyutil import T0, make_alert, make_notification

# The P0–P4 scale and update intervals the runbooks share (P1: "update every 30 minutes").
SETTINGS = TemplateSettings(
    severities=("P0", "P1", "P2", "P3", "P4"),
    update_intervals={
        "P0": timedelta(minutes=10),
        "P1": timedelta(minutes=30),
        "P2": timedelta(hours=1),
        "P3": None,
    },
)

ERROR_RATE = make_alert(
    "high-error-rate",
    summary="Error rate 6.2% (> 5% for 5 minutes)",
    description="Users get HTTP 500 on save",
    runbook_url="https://runbooks.example.com/memoapp#high-error-rate",
)
LATENCY = make_alert(
    "slow-response-time",
    severity="P2",
    value=240.0,
    summary="p95 240 ms (> 200ms for 10 minutes)",
)
CERT = make_alert(
    "ssl-certificate-expiring",
    AlertState.RESOLVED,
    severity="P3",
    value=60.0,
    summary="Certificate expires in < 7 days",
    playbook="renew-certificate",
)


def test_firing_single_alert_golden() -> None:
    rendered = render_notification(make_notification(ERROR_RATE), settings=SETTINGS)
    assert rendered.title == "INCIDENT ALERT - P1 - memoapp: Error rate 6.2% (> 5% for 5 minutes)"
    assert rendered.body == (
        "INCIDENT ALERT - P1\n"
        "Service: memoapp\n"
        "Issue: Error rate 6.2% (> 5% for 5 minutes)\n"
        "Impact: Users get HTTP 500 on save\n"
        "Status: Firing since 2026-11-23 09:00 UTC (5m)\n"
        "Value: 6.2\n"
        "Runbook: https://runbooks.example.com/memoapp#high-error-rate\n"
        "Updates: Will provide updates every 30 minutes"
    )
    assert rendered.notes == ()


def test_resolved_single_alert_golden() -> None:
    rendered = render_notification(
        make_notification(CERT, created_at=T0 + timedelta(minutes=13)), settings=SETTINGS
    )
    assert rendered.title == "INCIDENT RESOLVED - memoapp: Certificate expires in < 7 days"
    assert rendered.body == (
        "INCIDENT RESOLVED\n"
        "Service: memoapp\n"
        "Issue: Certificate expires in < 7 days\n"
        "Resolution: Resolved at 2026-11-23 09:12 UTC (last value 60)\n"
        "Duration: 12m (since 2026-11-23 09:00 UTC)\n"
        "Playbook: renew-certificate"
    )


def test_multi_alert_group_golden() -> None:
    notification = make_notification(ERROR_RATE, LATENCY, CERT)
    rendered = render_notification(notification, settings=SETTINGS)
    assert rendered.title == (
        "INCIDENT ALERT - P1 - memoapp: 3 alerts (2 firing, 1 resolved): "
        "high-error-rate, slow-response-time, ssl-certificate-expiring"
    )
    assert rendered.body == (
        "INCIDENT ALERT - P1\n"
        "Service: memoapp\n"
        "Issue: 3 alerts (2 firing, 1 resolved): "
        "high-error-rate, slow-response-time, ssl-certificate-expiring\n"
        "Updates: Will provide updates every 30 minutes\n"
        "\n"
        "[FIRING] high-error-rate - P1\n"
        "  Issue: Error rate 6.2% (> 5% for 5 minutes)\n"
        "  Impact: Users get HTTP 500 on save\n"
        "  Status: Firing since 2026-11-23 09:00 UTC (5m)\n"
        "  Value: 6.2\n"
        "  Runbook: https://runbooks.example.com/memoapp#high-error-rate\n"
        "\n"
        "[FIRING] slow-response-time - P2\n"
        "  Issue: p95 240 ms (> 200ms for 10 minutes)\n"
        "  Status: Firing since 2026-11-23 09:00 UTC (5m)\n"
        "  Value: 240\n"
        "\n"
        "[RESOLVED] ssl-certificate-expiring - P3\n"
        "  Issue: Certificate expires in < 7 days\n"
        "  Resolution: Resolved at 2026-11-23 09:12 UTC (last value 60)\n"
        "  Duration: 12m (since 2026-11-23 09:00 UTC)\n"
        "  Playbook: renew-certificate"
    )


def test_alert_without_annotations_uses_its_name_and_no_updates_without_interval() -> None:
    bare = make_alert("low-disk-space", severity="P3", value=None)
    rendered = render_notification(make_notification(bare), settings=SETTINGS)
    assert rendered.title == "INCIDENT ALERT - P3 - memoapp: low-disk-space"
    assert rendered.body == (
        "INCIDENT ALERT - P3\n"
        "Service: memoapp\n"
        "Issue: low-disk-space\n"
        "Status: Firing since 2026-11-23 09:00 UTC (5m)"
    )


def test_most_severe_firing_alert_sets_the_severity() -> None:
    p0 = make_alert("database-down", severity="P0")
    context = template_context(make_notification(LATENCY, p0, CERT), SETTINGS)
    assert context["severity"] == "P0"
    assert context["update_interval"] == "10 minutes"
    assert [a["alertname"] for a in context["firing"]] == ["slow-response-time", "database-down"]
    assert [a["alertname"] for a in context["resolved"]] == ["ssl-certificate-expiring"]


def test_times_are_shown_in_the_project_timezone() -> None:
    berlin = TemplateSettings(timezone=ZoneInfo("Europe/Berlin"))
    rendered = render_notification(make_notification(ERROR_RATE), settings=berlin)
    assert "Status: Firing since 2026-11-23 10:00 CET (5m)" in rendered.body


def test_non_alert_kinds_use_their_own_title_and_body() -> None:
    update = make_notification(
        ERROR_RATE,
        kind="status_update",
        title="Update 2: rollback in progress",
        body="Rolled back to the previous revision; error rate falling.",
    )
    rendered = render_notification(update, settings=SETTINGS)
    assert rendered.title == "Update 2: rollback in progress"
    assert rendered.body == "Rolled back to the previous revision; error rate falling."


def test_override_templates_see_the_documented_variables() -> None:
    templates = Templates(
        title="[{{ status | upper }}] {{ common_labels.service }} ({{ alerts | length }})",
        body="{% for a in firing %}{{ a.alertname }}={{ a.value }} since {{ a.started_at }}\n"
        "{% endfor %}receiver={{ receiver }} key={{ idempotency_key }}",
    )
    rendered = render_notification(
        make_notification(ERROR_RATE, LATENCY), templates, None, SETTINGS
    )
    assert rendered.title == "[FIRING] memoapp (2)"
    assert rendered.body == (
        "high-error-rate=6.2 since 2026-11-23 09:00 UTC\n"
        "slow-response-time=240 since 2026-11-23 09:00 UTC\n"
        "receiver=team key=route:{service=memoapp}@2026-11-23T09:00:00+00:00#1"
    )
    assert rendered.notes == ()


def test_only_the_overridden_part_changes() -> None:
    rendered = render_notification(
        make_notification(ERROR_RATE), Templates(title="{{ issue }}"), None, SETTINGS
    )
    default = render_notification(make_notification(ERROR_RATE), settings=SETTINGS)
    assert rendered.title == "Error rate 6.2% (> 5% for 5 minutes)"
    assert rendered.body == default.body


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{{ (1).__class__.__subclasses__() }}", "SecurityError"),  # the sandbox says no
        ("{{ alerts[0].value | int + 'x' }}", "TypeError"),
    ],
)
def test_a_failing_override_falls_back_to_the_default_and_says_so(body: str, error: str) -> None:
    default = render_notification(make_notification(ERROR_RATE), settings=SETTINGS)
    rendered = render_notification(
        make_notification(ERROR_RATE), Templates(body=body), None, SETTINGS
    )
    assert rendered.title == default.title
    assert rendered.body.startswith(default.body + "\n\n(note: the receiver's body template failed")
    assert error in rendered.body
    assert rendered.notes and "default template was used" in rendered.notes[0]


def test_an_override_that_renders_nothing_falls_back_too() -> None:
    # Unsafe attributes render as nothing in the sandbox: no leak, and no empty message.
    rendered = render_notification(
        make_notification(ERROR_RATE), Templates(title="{{ ''.__class__ }}"), None, SETTINGS
    )
    assert rendered.title == "INCIDENT ALERT - P1 - memoapp: Error rate 6.2% (> 5% for 5 minutes)"
    assert "title template rendered nothing" in rendered.body


def test_secrets_are_masked_in_everything_rendered() -> None:
    secret = "s3cr3t-db-password"
    leaky = make_alert(
        "database-down",
        labels={"dsn": f"postgresql://app:{secret}@db:5432/memo"},
        summary=f"cannot connect with {secret}",
    )
    templates = Templates(title="{{ alerts[0].labels.dsn }}", body="{{ alerts[0].labels }}")
    for chosen in (None, templates):
        rendered = render_notification(
            make_notification(leaky), chosen, Redactor([secret]), SETTINGS
        )
        assert secret not in rendered.title + rendered.body
        assert "***" in rendered.title + rendered.body


def test_rendered_text_is_bounded() -> None:
    huge = Templates(
        title="{{ 'x' * 5000 }}", body="{% for i in range(50000) %}line {{ i }}\n{% endfor %}"
    )
    rendered = render_notification(make_notification(ERROR_RATE), huge, None, SETTINGS)
    assert len(rendered.title) == 300
    assert len(rendered.body) == 30_000


def test_template_syntax_errors_are_config_errors_with_a_location() -> None:
    from opsbook.errors import ConfigError

    text = """
project: {name: memoapp}
receivers:
  - name: team
    webhook: {url: "http://127.0.0.1:9/hook"}
    templates:
      body: "{% for a in alerts %}{{ a.alertname }}"
"""
    with pytest.raises(ConfigError) as caught:
        load_config_text(text)
    [issue] = caught.value.issues
    assert issue.path == "receivers[0].templates.body"
    assert issue.line == 7
    assert "template error on line 1" in issue.message and "endfor" in issue.message


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(seconds=45), "45s"),
        (timedelta(minutes=12), "12m"),
        (timedelta(minutes=12, seconds=30), "12m 30s"),
        (timedelta(hours=1, minutes=5, seconds=59), "1h 5m"),
        (timedelta(days=2, hours=3), "2d 3h"),
        (timedelta(seconds=-5), "0s"),
    ],
)
def test_human_duration(value: timedelta, text: str) -> None:
    assert human_duration(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(minutes=30), "30 minutes"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(days=1), "1 day"),
        (timedelta(seconds=90), "90 seconds"),
    ],
)
def test_human_interval(value: timedelta, text: str) -> None:
    assert human_interval(value) == text


@given(st.integers(min_value=0, max_value=10**8))
def test_human_duration_leads_with_the_largest_unit(seconds: int) -> None:
    text = human_duration(timedelta(seconds=seconds))
    parts = text.split()
    assert 1 <= len(parts) <= 2
    units = "dhms"
    order = [units.index(p[-1]) for p in parts]
    assert order == sorted(order)
    biggest = {"d": 86400, "h": 3600, "m": 60, "s": 1}[parts[0][-1]]
    assert int(parts[0][:-1]) == seconds // biggest or biggest == 86400
