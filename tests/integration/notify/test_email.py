"""The email channel against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from opsbook.errors import DeliveryError
from opsbook.notify.channels.email import IDEMPOTENCY_HEADER, EmailConfig, message_id, send
from opsbook.notify.model import Rendered
from tests.integration.receivers import SmtpSink, silent_server
from tests.notifyutil import make_notification
from tests.services import free_port

RENDERED = Rendered(
    title="INCIDENT ALERT - P1 - memoapp: Error rate 6.2%",
    body="INCIDENT ALERT - P1\nService: memoapp\nIssue: Error rate 6.2%",
)


def config(smarthost: str, **extra: object) -> EmailConfig:
    return EmailConfig.model_validate(
        {
            "to": ["oncall@memoapp.example", "lead@memoapp.example"],
            "from": "opsbook@memoapp.example",
            "smarthost": smarthost,
            **extra,
        }
    )


async def test_mail_arrives_with_subject_body_and_dedup_headers() -> None:
    notification = make_notification()
    with SmtpSink() as sink:
        await send(config(sink.smarthost), notification, RENDERED)
    [message] = sink.messages
    assert sink.envelopes == [
        ("opsbook@memoapp.example", ["oncall@memoapp.example", "lead@memoapp.example"])
    ]
    assert message["Subject"] == RENDERED.title
    assert message["Message-ID"] == message_id(
        notification.idempotency_key, "opsbook@memoapp.example"
    )
    assert message[IDEMPOTENCY_HEADER] == notification.idempotency_key
    plain = message.get_body(("plain",))
    assert plain is not None
    assert plain.get_content().replace("\r\n", "\n") == RENDERED.body + "\n"
    assert message.get_body(("html",)) is not None


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_login_with_username_and_password() -> None:
    with SmtpSink(credentials=("opsbook", "smtp-pw-1")) as sink:
        await send(
            config(sink.smarthost, username="opsbook", password="smtp-pw-1"),
            make_notification(),
            RENDERED,
        )
        assert len(sink.messages) == 1
        with pytest.raises(DeliveryError) as caught:
            await send(
                config(sink.smarthost, username="opsbook", password="wrong"),
                make_notification(),
                RENDERED,
            )
    assert not caught.value.retryable
    assert "refused the login: 535" in caught.value.message
    assert "wrong" not in caught.value.message


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [
        ("451 4.3.0 Mail server temporarily rejected message", True),
        ("554 5.6.0 Message rejected", False),
    ],
)
async def test_rejected_data(reply: str, retryable: bool) -> None:
    with SmtpSink(data_reply=reply) as sink, pytest.raises(DeliveryError) as caught:
        await send(config(sink.smarthost), make_notification(), RENDERED)
    assert caught.value.retryable is retryable
    assert reply.split()[0] in caught.value.message


async def test_every_recipient_refused_is_permanent() -> None:
    refuse = {
        a: "550 5.1.1 No such user" for a in ("oncall@memoapp.example", "lead@memoapp.example")
    }
    with SmtpSink(refuse_recipients=refuse) as sink, pytest.raises(DeliveryError) as caught:
        await send(config(sink.smarthost), make_notification(), RENDERED)
    assert not caught.value.retryable
    assert "refused every recipient" in caught.value.message and "550" in caught.value.message


async def test_some_recipients_refused_is_reported_and_not_retried() -> None:
    with SmtpSink(refuse_recipients={"lead@memoapp.example": "550 5.1.1 No such user"}) as sink:
        with pytest.raises(DeliveryError) as caught:
            await send(config(sink.smarthost), make_notification(), RENDERED)
        assert sink.envelopes == [("opsbook@memoapp.example", ["oncall@memoapp.example"])]
    assert not caught.value.retryable  # a retry would mail oncall@ a second time
    assert "lead@memoapp.example: 550" in caught.value.message


async def test_starttls_always_refuses_a_server_without_it() -> None:
    with SmtpSink() as sink:
        with pytest.raises(DeliveryError) as caught:
            await send(config(sink.smarthost, starttls="always"), make_notification(), RENDERED)
        assert sink.messages == []
    assert not caught.value.retryable
    assert "STARTTLS" in caught.value.message


async def test_connection_refused_is_retryable() -> None:
    host = f"127.0.0.1:{free_port()}"
    with pytest.raises(DeliveryError) as caught:
        await send(config(host), make_notification(), RENDERED)
    assert caught.value.retryable
    assert caught.value.message == f"cannot connect to {host}: Connection refused"


async def test_a_silent_server_times_out() -> None:
    smarthost, close = await silent_server()
    try:
        started = time.monotonic()
        with pytest.raises(DeliveryError) as caught:
            await send(config(smarthost, timeout="300ms"), make_notification(), RENDERED)
        elapsed = time.monotonic() - started
    finally:
        await close()
    assert caught.value.retryable
    assert "did not answer within 300ms" in caught.value.message
    assert elapsed < 2
