"""docs/notifications.md stays true: its example validates, its defaults are the code's,
its sample payload is what the webhook channel builds."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from opsbook.config.loader import load_config_text
from opsbook.notify.channels.webhook import build_payload
from opsbook.notify.routing import RoutingTree
from opsbook.notify.templates import (
    DEFAULT_BODY,
    DEFAULT_TITLE,
    TemplateSettings,
    render_notification,
)
from tests.notifyutil import make_alert, make_notification

DOC = (Path(__file__).parents[3] / "docs" / "notifications.md").read_text()
ENV = {
    "HOOK_TOKEN": "hook-token-123",
    "SMTP_PASSWORD": "smtp-password-456",
    "PAGERDUTY_URL": "pagerduty://b1f2c3d4e5f6a7b8c9d0e1f2a3b4c5d6@u+e4kzrF7ZXvR2M9QqsA",
    "TWILIO_URL": "twilio://AC735c307c62944b5a:e29dfbcebf390dee9@+15551234567/+15557654321",
    "SLACK_INCIDENTS_URL": "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#incidents",
}


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, re.DOTALL)


def test_the_example_validates() -> None:
    [example] = blocks("yaml")
    config = load_config_text(example, environ=ENV)
    assert [(r.name, r.channel_name) for r in config.receivers] == [
        ("oncall-webhook", "webhook"),
        ("team-email", "email"),
        ("pager", "apprise"),
        ("sms", "apprise"),
        ("slack-incidents", "apprise"),
    ]
    assert config.route is not None and config.route.receiver is not None
    tree = RoutingTree(config.route, config.route.receiver)
    routed = {
        severity: [r.receiver for r in tree.match({"alertname": "x", "severity": severity})]
        for severity in ("P0", "P2", "P3")
    }
    assert routed == {  # as the comments in the example say
        "P0": ["oncall-webhook", "pager", "sms", "team-email"],
        "P2": ["oncall-webhook", "slack-incidents", "team-email"],
        "P3": ["oncall-webhook", "team-email"],
    }


def test_the_documented_defaults_are_the_real_ones() -> None:
    title, body = blocks("jinja")
    assert title == DEFAULT_TITLE + "\n"
    assert body == DEFAULT_BODY + "\n"


def test_the_documented_output_is_what_the_defaults_render() -> None:
    alert = make_alert(
        "high-error-rate",
        summary="Error rate 6.2% (> 5% for 5 minutes)",
        description="Users get HTTP 500 on save",
        runbook_url="https://runbooks.example.com/memoapp#high-error-rate",
    )
    settings = TemplateSettings(severities=("P1",), update_intervals={"P1": timedelta(minutes=30)})
    rendered = render_notification(make_notification(alert), settings=settings)
    assert f"```\n{rendered.title}\n\n{rendered.body}\n```" in DOC


def test_the_documented_payload_is_what_the_webhook_sends() -> None:
    [documented] = [json.loads(b) for b in blocks("json")]
    alert = make_alert(
        "high-error-rate",
        summary="Error rate 6.2% (> 5% for 5 minutes)",
        description="Users get HTTP 500 on save",
    )
    notification = make_notification(
        alert, receiver="oncall-webhook", group_labels={"service": "memoapp"}
    )
    payload = build_payload(notification)
    payload["groupKey"] = documented["groupKey"]  # made by grouping; shown in its real form
    assert payload == documented
