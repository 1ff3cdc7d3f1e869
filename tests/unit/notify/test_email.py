"""The mail built for a notification, and the email channel's config rules."""

from __future__ import annotations

import pytest

from opsbook.notify.channels.email import (
    IDEMPOTENCY_HEADER,
    EmailConfig,
    build_message,
    message_id,
)
from opsbook.notify.model import Rendered
from tests.notifyutil import make_notification

CONFIG = EmailConfig.model_validate(
    {
        "to": ["oncall@memoapp.example", "Team Lead <lead@memoapp.example>"],
        "from": "opsbook@memoapp.example",
        "smarthost": "127.0.0.1:25",
    }
)
RENDERED = Rendered(
    title="INCIDENT ALERT - P1 - memoapp: Error rate 6.2%",
    body="INCIDENT ALERT - P1\nService: memoapp\nIssue: <b>not bold</b> & raw",
)


def test_message_headers() -> None:
    notification = make_notification()
    message = build_message(CONFIG, notification, RENDERED)
    assert message["Subject"] == "INCIDENT ALERT - P1 - memoapp: Error rate 6.2%"
    assert message["From"] == "opsbook@memoapp.example"
    assert message["To"] == "oncall@memoapp.example, Team Lead <lead@memoapp.example>"
    assert message["Date"] == "Mon, 23 Nov 2026 09:05:00 +0000"
    assert message[IDEMPOTENCY_HEADER] == notification.idempotency_key
    assert message["Message-ID"] == message_id(notification.idempotency_key, CONFIG.from_)
    assert message["Auto-Submitted"] == "auto-generated"


def test_message_id_is_stable_per_key_and_distinct_across_keys() -> None:
    first = message_id("group@t0#1", "opsbook@memoapp.example")
    assert first == message_id("group@t0#1", "Ops <opsbook@memoapp.example>")
    assert first != message_id("group@t0#2", "opsbook@memoapp.example")
    assert first.startswith("<opsbook.") and first.endswith("@memoapp.example>")


def test_text_body_and_escaped_html_alternative() -> None:
    message = build_message(CONFIG, make_notification(), RENDERED)
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content() == RENDERED.body + "\n"
    content = html.get_content()
    assert "&lt;b&gt;not bold&lt;/b&gt; &amp; raw" in content
    assert "<h2" in content and "INCIDENT ALERT - P1 - memoapp" in content


def test_a_multi_line_title_becomes_one_subject_line() -> None:
    rendered = Rendered(title="two\nlines", body="b")
    assert build_message(CONFIG, make_notification(), rendered)["Subject"] == "two lines"


@pytest.mark.parametrize(
    ("host", "expected"),
    [("smtp.example.com:587", ("smtp.example.com", 587)), ("[::1]:2525", ("::1", 2525))],
)
def test_smarthost_forms(host: str, expected: tuple[str, int]) -> None:
    config = EmailConfig.model_validate({"to": ["a@b.c"], "from": "o@b.c", "smarthost": host})
    assert (config.host, config.port) == expected


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"smarthost": "smtp.example.com"}, "expected host:port"),
        ({"smarthost": "smtp.example.com:0"}, "expected host:port"),
        ({"smarthost": "smtp.example.com:99999"}, "expected host:port"),
        ({"to": []}, "at least 1 item"),
        ({"to": ["not-an-address"]}, "expected a mail address"),
        ({"from": "nobody"}, "expected a mail address"),
        ({"username": "bot"}, "username and password go together"),
        ({"password": "pw"}, "username and password go together"),
        ({"tls": True, "starttls": "always"}, "STARTTLS cannot be used"),
        ({"starttls": "sometimes"}, "'auto', 'always' or 'never'"),
    ],
)
def test_config_validation(changes: dict[str, object], message: str) -> None:
    spec = {"to": ["a@b.c"], "from": "o@b.c", "smarthost": "h:25", **changes}
    with pytest.raises(ValueError, match=message):
        EmailConfig.model_validate(spec)


def test_password_is_a_secret() -> None:
    config = EmailConfig.model_validate(
        {
            "to": ["a@b.c"],
            "from": "o@b.c",
            "smarthost": "h:25",
            "username": "u",
            "password": "pw-123",
        }
    )
    assert "pw-123" not in repr(config)
    assert list(config.secrets()) == ["pw-123"]
