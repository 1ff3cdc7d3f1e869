"""The webhook channel against a real aiohttp receiver on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from opsbook.errors import DeliveryError
from opsbook.notify.channels.webhook import WebhookConfig, build_payload, send
from opsbook.notify.model import Rendered
from tests.integration.httpserver import stopped_port_url
from tests.integration.receivers import WebhookRecorder
from tests.notifyutil import make_notification

RENDERED = Rendered(title="t", body="b")


async def test_posts_the_alertmanager_payload_with_idempotency_key() -> None:
    notification = make_notification()
    async with WebhookRecorder() as hook:
        config = WebhookConfig.model_validate(
            {"url": hook.url("/alerts"), "headers": {"Authorization": "Bearer tok-1"}}
        )
        await send(config, notification, RENDERED)
    [request] = hook.requests
    assert request.path == "/alerts"
    assert request.json == build_payload(notification)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == notification.idempotency_key
    assert request.headers["Authorization"] == "Bearer tok-1"


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (503, True), (429, True), (408, True), (400, False), (404, False)],
)
async def test_error_statuses(status: int, retryable: bool) -> None:
    async with WebhookRecorder() as hook:
        hook.fail_next(status)
        config = WebhookConfig(url=hook.url())
        with pytest.raises(DeliveryError) as caught:
            await send(config, make_notification(), RENDERED)
    assert caught.value.retryable is retryable
    assert caught.value.message.startswith(f"HTTP {status} ")
    assert f"scripted failure {status}" in caught.value.message


async def test_connection_refused_is_retryable() -> None:
    url = await stopped_port_url()
    with pytest.raises(DeliveryError) as caught:
        await send(WebhookConfig(url=url + "/hook"), make_notification(), RENDERED)
    assert caught.value.retryable
    assert caught.value.message == f"cannot connect to {url[7:]}: Connection refused"


async def test_a_hanging_receiver_times_out_within_the_configured_timeout() -> None:
    async with WebhookRecorder(hang_paths={"/slow"}) as hook:
        config = WebhookConfig.model_validate({"url": hook.url("/slow"), "timeout": "300ms"})
        started = time.monotonic()
        with pytest.raises(DeliveryError) as caught:
            await send(config, make_notification(), RENDERED)
        elapsed = time.monotonic() - started
    assert caught.value.retryable
    assert caught.value.message.endswith("within 300ms")
    assert 0.25 < elapsed < 2


async def test_password_in_the_url_is_not_in_the_error() -> None:
    url = await stopped_port_url()
    secret_url = url.replace("http://", "http://bot:pa55word@") + "/hook"
    with pytest.raises(DeliveryError) as caught:
        await send(WebhookConfig(url=secret_url), make_notification(), RENDERED)
    assert "pa55word" not in caught.value.message


async def test_redirects_are_not_followed() -> None:
    async with WebhookRecorder() as hook:
        hook.fail_next(307)
        with pytest.raises(DeliveryError) as caught:
            await send(WebhookConfig(url=hook.url()), make_notification(), RENDERED)
    assert not caught.value.retryable and "redirects are not followed" in caught.value.message
    assert len(hook.requests) == 1
