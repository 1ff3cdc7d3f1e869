"""The Apprise channel, through Apprise's own json:// and form:// services to a real
aiohttp receiver on 127.0.0.1."""

from __future__ import annotations

import pytest

from opsbook.errors import DeliveryError
from opsbook.notify.channels.apprise import AppriseConfig, send
from opsbook.notify.model import Rendered
from tests.integration.httpserver import stopped_port_url
from tests.integration.receivers import WebhookRecorder
from tests.notifyutil import make_alert, make_notification

RENDERED = Rendered(
    title="INCIDENT ALERT - P1 - memoapp: Error rate 6.2%",
    body="INCIDENT ALERT - P1\nService: memoapp\nIssue: Error rate 6.2%",
)


def apprise_url(base: str, scheme: str = "json", path: str = "/apprise") -> str:
    return base.replace("http://", f"{scheme}://") + path


async def test_title_and_body_arrive_with_the_alert_type() -> None:
    async with WebhookRecorder() as hook:
        config = AppriseConfig.model_validate({"urls": [apprise_url(hook.base_url)]})
        await send(config, make_notification(), RENDERED)
        await send(config, make_notification(make_alert(state="resolved")), RENDERED)  # type: ignore[arg-type]
    firing, resolved = (r.json for r in hook.on("/apprise"))
    assert firing["title"] == RENDERED.title
    assert firing["message"] == RENDERED.body
    assert firing["type"] == "failure"
    assert resolved["type"] == "success"


async def test_several_urls_are_all_notified() -> None:
    async with WebhookRecorder() as hook:
        urls = [apprise_url(hook.base_url, "json", "/a"), apprise_url(hook.base_url, "form", "/b")]
        await send(AppriseConfig.model_validate({"urls": urls}), make_notification(), RENDERED)
    assert [r.path for r in sorted(hook.requests, key=lambda r: r.path)] == ["/a", "/b"]
    assert hook.on("/b")[0].body.decode().count("INCIDENT+ALERT") >= 1


async def test_a_failing_service_is_a_retryable_error_naming_it_without_secrets() -> None:
    async with WebhookRecorder(status_for={"/apprise": 500}) as hook:
        url = apprise_url(hook.base_url).replace("json://", "json://bot:s3cret-pass@")
        with pytest.raises(DeliveryError) as caught:
            await send(AppriseConfig.model_validate({"urls": [url]}), make_notification(), RENDERED)
    assert caught.value.retryable
    assert "JSON" in caught.value.message and "500" in caught.value.message
    assert "s3cret-pass" not in caught.value.message


async def test_an_unreachable_service_is_retryable() -> None:
    url = apprise_url(await stopped_port_url())
    with pytest.raises(DeliveryError) as caught:
        await send(AppriseConfig.model_validate({"urls": [url]}), make_notification(), RENDERED)
    assert caught.value.retryable
