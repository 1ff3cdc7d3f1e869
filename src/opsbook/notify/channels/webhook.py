"""`webhook`: POST the Alertmanager webhook payload (version "4") to a URL.

Anything written for Alertmanager's ``webhook_configs`` works unchanged: the same JSON
body, the same ``max_alerts`` truncation. opsbook adds an ``Idempotency-Key`` header
(the notification's key) so a receiver can drop the repeats an at-least-once delivery
may produce.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from pydantic import Field, field_validator

from opsbook.alerts.model import Alert, AlertState
from opsbook.config.types import format_duration
from opsbook.errors import DeliveryError
from opsbook.notify.channels.base import Channel, ChannelConfig
from opsbook.notify.model import Notification, Rendered

GO_ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt of a firing alert
MAX_ERROR_BODY = 300
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_SENSITIVE = re.compile(r"auth|token|key|secret|password|cookie|signature", re.IGNORECASE)


class WebhookConfig(ChannelConfig):
    url: str = Field(description="http:// or https:// URL the payload is POSTed to.")
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="Extra request headers, e.g. Authorization: 'Bearer ${ENV:HOOK_TOKEN}'.",
    )
    max_alerts: int = Field(
        default=0,
        ge=0,
        description="Send at most this many alerts (the rest are counted in truncatedAlerts); "
        "0 sends all.",
    )
    external_url: str = Field(
        default="", description="Put in the payload's externalURL (a link back to opsbook)."
    )
    verify_tls: bool = Field(default=True, description="Verify the server's certificate.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            scheme = value.split("://", 1)[0] if "://" in value else ""
            got = f"a URL with scheme {scheme!r}" if scheme else "something that is not a URL"
            raise ValueError(f"expected an http:// or https:// URL, got {got}")
        return value

    @field_validator("headers")
    @classmethod
    def _valid_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if not _HEADER_NAME.match(name):
                raise ValueError(f"invalid header name {name!r}")
            if "\r" in value or "\n" in value:
                raise ValueError(f"header {name!r} contains a line break")
            if name.lower() in ("content-type", "idempotency-key", "content-length"):
                raise ValueError(f"header {name!r} is set by opsbook and cannot be overridden")
        return headers

    def secrets(self) -> Iterable[str]:
        for name, value in self.headers.items():
            if _SENSITIVE.search(name):
                yield value
                scheme, _, credential = value.partition(" ")
                if credential and scheme.isalpha():
                    yield credential  # the token alone, as it may appear elsewhere
        parts = urlsplit(self.url)
        if parts.password:
            yield parts.password
        for name, value in parse_qsl(parts.query):
            if _SENSITIVE.search(name):
                yield value


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def alert_status(alert: Alert) -> str:
    return "firing" if alert.state is AlertState.FIRING else "resolved"


def common_pairs(mappings: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """The key/value pairs every mapping has (Alertmanager's commonLabels)."""
    if not mappings:
        return {}
    first, *rest = mappings
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in rest)}


def _alert_payload(alert: Alert, fallback_start: datetime) -> dict[str, Any]:
    labels = dict(alert.labels)
    labels.setdefault("alertname", alert.rule)
    started = alert.fired_at or alert.active_since or fallback_start
    firing = alert.state is AlertState.FIRING
    ended = None if firing else (alert.resolved_at or alert.updated_at or fallback_start)
    return {
        "status": alert_status(alert),
        "labels": labels,
        "annotations": dict(alert.annotations),
        "startsAt": rfc3339(started),
        "endsAt": rfc3339(ended) if ended is not None else GO_ZERO_TIME,
        "generatorURL": "",
        "fingerprint": alert.fingerprint,
    }


def build_payload(
    notification: Notification, max_alerts: int = 0, external_url: str = ""
) -> dict[str, Any]:
    """The Alertmanager webhook body (version 4) for a notification. Pure."""
    alerts = list(notification.alerts)
    truncated = 0
    if max_alerts and len(alerts) > max_alerts:
        truncated = len(alerts) - max_alerts
        alerts = alerts[:max_alerts]
    items = [_alert_payload(a, notification.created_at) for a in alerts]
    return {
        "version": "4",
        "groupKey": notification.group_key,
        "truncatedAlerts": truncated,
        "status": notification.status,
        "receiver": notification.receiver,
        "groupLabels": dict(notification.group_labels),
        "commonLabels": common_pairs([i["labels"] for i in items]),
        "commonAnnotations": common_pairs([i["annotations"] for i in items]),
        "externalURL": external_url,
        "alerts": items,
    }


def classify_status(status: int, reason: str, body: str) -> DeliveryError | None:
    """None for 2xx; otherwise the error, retryable for 408, 429 and 5xx."""
    if 200 <= status < 300:
        return None
    detail = " ".join(body.split())[:MAX_ERROR_BODY]
    message = f"HTTP {status} {reason}".rstrip() + (f": {detail}" if detail else "")
    if 300 <= status < 400:
        return DeliveryError(f"{message} (redirects are not followed; use the final URL)", False)
    retryable = status in (408, 429) or status >= 500
    return DeliveryError(message, retryable)


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else url


async def send(config: WebhookConfig, notification: Notification, rendered: Rendered) -> None:
    payload = build_payload(notification, config.max_alerts, config.external_url)
    if notification.kind != "alert":
        # Pages, reminders and status updates carry their text; Alertmanager-style
        # receivers ignore the extra key, opsbook-aware ones read it.
        payload["opsbook"] = {
            "kind": notification.kind,
            "title": rendered.title,
            "body": rendered.body,
        }
    headers = {
        "User-Agent": "opsbook",
        **config.headers,
        "Content-Type": "application/json",
        "Idempotency-Key": notification.idempotency_key,
    }
    seconds = config.timeout.total_seconds()
    host = _host(config.url)
    try:
        async with (
            aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=seconds),
                cookie_jar=aiohttp.DummyCookieJar(),
            ) as session,
            session.post(
                config.url,
                data=json.dumps(payload).encode(),
                headers=headers,
                allow_redirects=False,
                ssl=config.verify_tls,
            ) as response,
        ):
            body = (await response.content.read(4096)).decode("utf-8", "replace")
            error = classify_status(response.status, response.reason or "", body)
    except TimeoutError:
        raise DeliveryError(
            f"no response from {host} within {format_duration(config.timeout)}", True
        ) from None
    except aiohttp.ClientConnectorCertificateError as exc:
        raise DeliveryError(
            f"TLS certificate of {host} rejected: {exc.certificate_error}", True
        ) from None
    except aiohttp.ClientConnectorError as exc:
        cause = exc.os_error
        # errno's wording ("Connection refused"), not asyncio's "Connect call failed (...)"
        errno = cause.errno if not isinstance(cause, socket.gaierror) else None
        reason = os.strerror(errno) if errno else cause.strerror or str(cause)
        raise DeliveryError(f"cannot connect to {host}: {reason}", True) from None
    except (aiohttp.ClientError, asyncio.IncompleteReadError, OSError) as exc:
        reason = str(exc) or type(exc).__name__
        raise DeliveryError(f"request to {host} failed: {reason}", True) from None
    if error is not None:
        raise error


CHANNEL = Channel(
    name="webhook",
    config_model=WebhookConfig,
    send=send,
    summary="POST the Alertmanager-compatible JSON payload (version 4) to a URL.",
)
