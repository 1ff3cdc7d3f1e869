"""Generic trigger / acknowledge / resolve events, in the body format of PagerDuty's
Events API v2, so the scripts, cron jobs and tools that already page through PagerDuty
can page through opsbook by changing one URL.

The dedup key is the event's identity: a trigger opens (or refreshes) the alert with
that key, an acknowledge or resolve addresses the same alert, because its fingerprint
is derived from the integration and the key alone, never from the payload.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opsbook.alerts.model import Alert, AlertState, Level, fingerprint
from opsbook.inbound.integrations import Integration
from opsbook.inbound.limits import (
    MAX_ANNOTATION,
    MAX_DETAILS_DEPTH,
    MAX_DETAILS_KEYS,
    MAX_LABEL_VALUE,
    check_label_value,
    check_text,
    from_validation_error,
    parse_timestamp,
    problem,
    read_json,
)

MAX_DEDUP_KEY = 255
MAX_SUMMARY = 1024
MAX_LINKS = 20
"""Links, and separately images, on one event."""
MAX_URL = 2048
WARNING_SEVERITIES = frozenset({"warning", "info"})
_WEB_URL = re.compile(r"https?://[^\s]+", re.IGNORECASE)


class EventAction(StrEnum):
    TRIGGER = "trigger"
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, populate_by_name=True)


class EventPayload(_Strict):
    summary: str = Field(min_length=1, max_length=MAX_SUMMARY)
    source: str = Field(min_length=1, max_length=MAX_LABEL_VALUE)
    severity: Literal["critical", "error", "warning", "info"]
    timestamp: str | None = None
    component: str | None = Field(default=None, max_length=MAX_LABEL_VALUE)
    group: str | None = Field(default=None, max_length=MAX_LABEL_VALUE)
    class_: str | None = Field(default=None, alias="class", max_length=MAX_LABEL_VALUE)
    custom_details: dict[str, Any] | None = None


class EventLink(_Strict):
    href: str = Field(max_length=MAX_URL)
    text: str = Field(default="", max_length=MAX_SUMMARY)


class EventImage(_Strict):
    src: str = Field(max_length=MAX_URL)
    href: str | None = Field(default=None, max_length=MAX_URL)
    alt: str = Field(default="", max_length=MAX_SUMMARY)


class EventRequest(_Strict):
    """An events body, checked but not yet bound to an integration: its `routing_key`
    may be the very credential that says which integration it is for."""

    event_action: EventAction = Field(strict=False)  # from its string value, as JSON has it
    routing_key: str | None = Field(default=None, max_length=MAX_DEDUP_KEY)
    dedup_key: str | None = Field(default=None, min_length=1, max_length=MAX_DEDUP_KEY)
    payload: EventPayload | None = None
    links: list[EventLink] = Field(default_factory=list, max_length=MAX_LINKS)
    images: list[EventImage] = Field(default_factory=list, max_length=MAX_LINKS)
    client: str | None = Field(default=None, max_length=MAX_SUMMARY)
    client_url: str | None = Field(default=None, max_length=MAX_URL)


@dataclass(frozen=True, slots=True)
class Link:
    href: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class Image:
    src: str
    href: str | None = None
    alt: str = ""


@dataclass(frozen=True, slots=True)
class InboundEvent:
    """One accepted event. `alert` is set for a trigger (the alert to open or refresh);
    acknowledge and resolve carry only the `fingerprint` of the alert they address."""

    action: EventAction
    integration: str
    dedup_key: str
    fingerprint: str
    received_at: datetime
    alert: Alert | None = None
    links: tuple[Link, ...] = ()
    images: tuple[Image, ...] = ()
    client: str | None = None
    client_url: str | None = None
    custom_details: Mapping[str, Any] | None = None
    routing_key: str | None = field(default=None, repr=False)


def read_event(body: bytes, content_type: str | None) -> EventRequest:
    """Check an events body on its own (400/413/415/422), before authentication: the
    route needs its `routing_key` to know whether the sender may send it."""
    document = read_json(body, content_type)
    try:
        request = EventRequest.model_validate(document)
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    _check_request(request)
    return request


def build_event(
    request: EventRequest,
    integration: Integration,
    now: datetime,
    *,
    severities: Collection[str] = (),
) -> InboundEvent:
    """The event for an authenticated request; a trigger without a dedup key gets one
    derived from its payload, so a retried POST does not open a second alert."""
    dedup_key = request.dedup_key or _derived_key(request.payload)
    identity = fingerprint({"integration": integration.name, "dedup_key": dedup_key})
    alert = None
    if request.event_action is EventAction.TRIGGER:
        assert request.payload is not None  # _check_request guarantees it
        alert = _trigger_alert(
            request.payload, dedup_key, identity, integration, now, severities, request
        )
    return InboundEvent(
        action=request.event_action,
        integration=integration.name,
        dedup_key=dedup_key,
        fingerprint=identity,
        received_at=now,
        alert=alert,
        links=tuple(Link(link.href, link.text) for link in request.links),
        images=tuple(Image(image.src, image.href, image.alt) for image in request.images),
        client=request.client,
        client_url=request.client_url,
        custom_details=request.payload.custom_details if request.payload else None,
        routing_key=request.routing_key,
    )


def parse_event(
    body: bytes,
    content_type: str | None,
    integration: Integration,
    now: datetime,
    *,
    severities: Collection[str] = (),
) -> InboundEvent:
    """`read_event` then `build_event`, for a request already authenticated by header."""
    return build_event(read_event(body, content_type), integration, now, severities=severities)


def response_body(event: InboundEvent) -> dict[str, str]:
    """PagerDuty's answer to an accepted event (sent with status 202): senders read the
    dedup key from it to acknowledge or resolve later."""
    return {"status": "success", "message": "Event processed", "dedup_key": event.dedup_key}


def _check_request(request: EventRequest) -> None:
    action = request.event_action
    if action is not EventAction.TRIGGER and request.dedup_key is None:
        raise problem(422, ["dedup_key"], f"required for event_action {action.value!r}")
    if action is EventAction.TRIGGER and request.payload is None:
        raise problem(422, ["payload"], "required for event_action 'trigger'")
    if request.dedup_key is not None:
        check_label_value(request.dedup_key, ["dedup_key"])
    if request.routing_key is not None:
        check_label_value(request.routing_key, ["routing_key"])
    payload = request.payload
    if payload is not None:
        check_text(payload.summary, ["payload", "summary"], MAX_SUMMARY)
        for name in ("source", "component", "group"):
            value = getattr(payload, name)
            if value is not None:
                check_label_value(value, ["payload", name])
        if payload.class_ is not None:
            check_label_value(payload.class_, ["payload", "class"])
        if payload.timestamp is not None:
            parse_timestamp(payload.timestamp, ["payload", "timestamp"])
        if payload.custom_details is not None:
            _check_details(payload.custom_details)
    for index, link in enumerate(request.links):
        _check_url(link.href, ["links", index, "href"])
        check_text(link.text, ["links", index, "text"], MAX_SUMMARY)
    for index, image in enumerate(request.images):
        _check_url(image.src, ["images", index, "src"])
        if image.href is not None:
            _check_url(image.href, ["images", index, "href"])
        check_text(image.alt, ["images", index, "alt"], MAX_SUMMARY)
    if request.client is not None:
        check_text(request.client, ["client"], MAX_SUMMARY)
    if request.client_url is not None:
        _check_url(request.client_url, ["client_url"])


def _check_url(value: str, path: list[str | int]) -> None:
    """Only web links: they are rendered as clickable links, and a ``javascript:`` one
    would run in the reader's session."""
    if not _WEB_URL.fullmatch(value) or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise problem(422, path, "expected an http:// or https:// URL")


def _check_details(details: dict[str, Any]) -> None:
    """Bounded so one event cannot make every page that shows it huge or slow."""
    keys = 0
    stack: list[tuple[Any, list[str | int], int]] = [(details, ["payload", "custom_details"], 1)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, dict | list) and depth > MAX_DETAILS_DEPTH:
            raise problem(422, path, f"custom_details nested deeper than {MAX_DETAILS_DEPTH}")
        if isinstance(node, dict):
            keys += len(node)
            if keys > MAX_DETAILS_KEYS:
                raise problem(422, path, f"custom_details has more than {MAX_DETAILS_KEYS} keys")
            stack.extend((v, [*path, k], depth + 1) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, [*path, i], depth + 1) for i, v in enumerate(node))
    if len(_canonical(details)) > MAX_ANNOTATION:
        raise problem(
            422, ["payload", "custom_details"], f"larger than {MAX_ANNOTATION} characters as JSON"
        )


def _trigger_alert(
    payload: EventPayload,
    dedup_key: str,
    identity: str,
    integration: Integration,
    now: datetime,
    severities: Collection[str],
    request: EventRequest,
) -> Alert:
    labels = {
        "alertname": payload.class_ or "event",
        "dedup_key": dedup_key,
        "source": payload.source,
        "severity": integration.map_severity(payload.severity, severities),
    }
    if payload.component:
        labels["component"] = payload.component
    if payload.group:
        labels["group"] = payload.group
    if integration.service is not None:
        labels["service"] = integration.service
    labels["integration"] = integration.name
    annotations = {"summary": payload.summary}
    if payload.custom_details:
        annotations["custom_details"] = _canonical(payload.custom_details)
    if request.client:
        annotations["client"] = request.client
    if request.client_url:
        annotations["client_url"] = request.client_url
    started = (
        parse_timestamp(payload.timestamp, ["payload", "timestamp"])
        if payload.timestamp is not None
        else now
    )
    level = Level.WARNING if payload.severity in WARNING_SEVERITIES else Level.CRITICAL
    return Alert(
        fingerprint=identity,
        rule=f"inbound:{integration.name}",
        level=level,
        labels=labels,
        annotations=annotations,
        state=AlertState.FIRING,
        active_since=started,
        fired_at=started,
        last_true_at=now,
        updated_at=now,
    )


def _derived_key(payload: EventPayload | None) -> str:
    """32 hex digits like the keys PagerDuty hands out, but a function of the payload
    (the fields opsbook reads, so an ignored extra key does not make a new alert)."""
    fields = payload.model_dump(by_alias=True, exclude_none=True) if payload else {}
    return hashlib.sha256(_canonical(fields).encode()).hexdigest()[:32]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
