"""`receivers:` in opsbook.yaml: located errors, channel registry, retry policy, secrets."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsbook.config.loader import load_config_text
from opsbook.errors import ConfigError
from opsbook.notify.channels import CHANNELS
from opsbook.notify.channels.apprise import AppriseConfig, url_secrets
from opsbook.notify.deliver import redactor_for
from opsbook.notify.receivers import RetryPolicy
from tests.notifyutil import make_receiver

ROOT = Path(__file__).resolve().parents[3]

FULL = """
project: {name: memoapp}
route: {receiver: team-email}
receivers:
  - name: oncall-webhook
    webhook:
      url: http://127.0.0.1:9000/hook
      headers: {Authorization: "Bearer ${ENV:HOOK_TOKEN}"}
      timeout: 5s
      max_alerts: 20
  - name: team-email
    email:
      to: [oncall@memoapp.example]
      from: opsbook@memoapp.example
      smarthost: 127.0.0.1:25
      username: opsbook
      password: ${ENV:SMTP_PASSWORD}
      starttls: never
    send_resolved: false
  - name: chat
    apprise:
      urls: ["json://127.0.0.1:9/hook"]
    templates:
      title: "{{ issue }}"
    retry: {max_attempts: 3, backoff: 1s, max_backoff: 1m}
    concurrency: 2
"""
ENV = {"HOOK_TOKEN": "hook-token-123", "SMTP_PASSWORD": "smtp-password-456"}


def issues_of(text: str) -> list[tuple[str, int | None, str]]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, environ=ENV)
    return [(i.path, i.line, i.message) for i in caught.value.issues]


def test_full_example_loads_with_defaults_filled_in() -> None:
    config = load_config_text(FULL, environ=ENV)
    hook, mail, chat = config.receivers
    assert (hook.channel_name, mail.channel_name, chat.channel_name) == (
        "webhook",
        "email",
        "apprise",
    )
    assert hook.timeout == timedelta(seconds=5) and mail.timeout == timedelta(seconds=10)
    assert hook.send_resolved and not mail.send_resolved
    assert hook.retry == RetryPolicy()
    assert chat.retry.max_attempts == 3 and chat.concurrency == 2
    assert chat.templates.title == "{{ issue }}" and chat.templates.body is None


def test_secrets_from_env_and_channel_blocks_are_masked() -> None:
    config = load_config_text(FULL, environ=ENV)
    redact = redactor_for(config.receivers, config.redactor)
    assert redact("auth hook-token-123 pw smtp-password-456") == "auth *** pw ***"


@pytest.mark.parametrize(
    ("block", "path", "line", "message"),
    [
        (
            "    webhok: {url: 'http://x/'}",
            "receivers[0].webhok",
            4,
            "unknown key 'webhok'; did you mean 'webhook'?",
        ),
        (
            "    send_resolved: true",
            "receivers[0]",
            3,
            "a receiver needs one channel block: webhook, email, apprise",
        ),
        (
            "    webhook: {url: 'http://x/'}\n    email: {to: [a@b.c], from: o@b.c, smarthost: 'h:25'}",
            "receivers[0]",
            3,
            "a receiver has exactly one channel, found webhook, email; define one receiver "
            "per channel",
        ),
        (
            "    webhook: {url: 'http://x/', timeout: 10}",
            "receivers[0].webhook.timeout",
            4,
            "expected a duration like '5s', got the number 10: add a unit",
        ),
        (
            "    email: {to: [a@b.c], from: o@b.c, smarthost: 'h:25'}\n    retry: {max_attempts: 0}",
            "receivers[0].retry.max_attempts",
            5,
            "should be greater than or equal to 1",
        ),
        (
            "    webhook: {url: 'http://x/'}\n    retry: {backoff: 10m, max_backoff: 1m}",
            "receivers[0].retry",
            5,
            "max_backoff (1m) is shorter than backoff (10m)",
        ),
        (
            "    webhook: {url: 'http://x/'}\n    send_resolved: maybe",
            "receivers[0].send_resolved",
            5,
            "expected true or false, got a string 'maybe'",
        ),
    ],
)
def test_located_errors(block: str, path: str, line: int, message: str) -> None:
    text = f"project: {{name: memoapp}}\nreceivers:\n  - name: r\n{block}\n"
    assert issues_of(text) == [(path, line, message)]


def test_duplicate_receiver_names() -> None:
    text = """
project: {name: memoapp}
receivers:
  - name: team
    webhook: {url: "http://127.0.0.1:9/a"}
  - name: team
    webhook: {url: "http://127.0.0.1:9/b"}
"""
    assert issues_of(text) == [
        ("receivers[1].name", 6, "duplicate receiver name 'team' (first at line 4)")
    ]


def test_a_bad_apprise_url_is_reported_without_echoing_its_tokens() -> None:
    text = """
project: {name: memoapp}
receivers:
  - name: chat
    apprise:
      urls: ["slak://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"]
"""
    [(path, line, message)] = issues_of(text)
    assert (path, line) == ("receivers[0].apprise.urls[0]", 6)
    assert "slak://" in message and "did you mean 'slack'?" in message
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in message


def test_apprise_url_tokens_are_secrets() -> None:
    url = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general"
    secrets = set(url_secrets(url))
    assert {url, "T1JJ3T3L2", "A1BRTD4JD", "TIiajkdnlazkcOXrIdevi7FQ"} <= secrets
    config = AppriseConfig.model_validate({"urls": [url]})
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in repr(config)
    # DNS names, IPs and short parts stay readable in messages; a URL without anything
    # token-like is not a secret at all.
    assert set(url_secrets("json://hooks.example.com/alerts")) == set()
    assert set(url_secrets("json://127.0.0.1:9000/a?format=text")) == set()
    assert set(url_secrets("json://bot:pw@127.0.0.1/a")) == {"json://bot:pw@127.0.0.1/a"}


def test_every_channel_has_a_config_model_docs_and_tests() -> None:
    docs = (ROOT / "docs" / "notifications.md").read_text()
    for name, channel in CHANNELS.items():
        assert channel.name == name
        assert "timeout" in channel.config_model.model_fields
        assert f"### `{name}`" in docs, f"docs/notifications.md lacks a section for {name}"
        assert (ROOT / "tests" / "integration" / "notify" / f"test_{name}.py").exists()


def test_receiver_exposes_its_channel() -> None:
    receiver = make_receiver(webhook={"url": "http://127.0.0.1:9/hook", "timeout": "3s"})
    assert receiver.channel is CHANNELS["webhook"]
    assert receiver.timeout == timedelta(seconds=3)


def test_backoff_schedule_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(backoff=timedelta(seconds=5), max_backoff=timedelta(minutes=1))
    bases = [policy.base_delay(n).total_seconds() for n in range(1, 8)]
    assert bases == [5, 10, 20, 40, 60, 60, 60]


@given(
    failures=st.integers(min_value=1, max_value=200),
    backoff_ms=st.integers(min_value=1, max_value=600_000),
    cap_factor=st.integers(min_value=1, max_value=1000),
    seed=st.integers(),
)
def test_jittered_delay_stays_between_half_and_all_of_the_base(
    failures: int, backoff_ms: int, cap_factor: int, seed: int
) -> None:
    backoff = timedelta(milliseconds=backoff_ms)
    policy = RetryPolicy(backoff=backoff, max_backoff=backoff * cap_factor)
    base = policy.base_delay(failures)
    delay = policy.delay(failures, random.Random(seed))
    assert base / 2 <= delay <= base
    assert base <= policy.max_backoff
    assert policy.base_delay(failures + 1) >= base
