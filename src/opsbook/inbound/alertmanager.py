"""Alertmanager's webhook (version 4) in: alerts from an existing Prometheus setup enter
opsbook's pipeline like its own rule transitions, so one on-call rota and one incident
timeline cover both.

The model is the body Alertmanager's ``webhook_configs`` POSTs, and therefore also the
body opsbook's own ``webhook`` channel sends: one opsbook can feed another.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opsbook.alerts.model import Alert, AlertState, Level, fingerprint
from opsbook.inbound.integrations import Integration
from opsbook.inbound.limits import (
    MAX_ALERTS,
    MAX_LABEL_VALUE,
    check_annotations,
    check_labels,
    check_text,
    from_validation_error,
    parse_timestamp,
    problem,
    read_json,
)

GO_ZERO_TIME = "0001-01-01T00:00:00Z"
"""What Alertmanager writes for "no time" (the endsAt of a firing alert)."""
WARNING_SEVERITIES = frozenset({"warning", "info"})
"""Sender severities that make an inbound alert `Level.WARNING`; all others are critical."""


class _Strict(BaseModel):
    # Alertmanager adds fields across versions: unknown keys are ignored, but every key
    # opsbook reads must have the type Alertmanager gives it.
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, populate_by_name=True)


class AlertmanagerAlert(_Strict):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: str = Field(alias="startsAt")
    ends_at: str = Field(default=GO_ZERO_TIME, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL", max_length=MAX_LABEL_VALUE)
    fingerprint: str = Field(default="", max_length=MAX_LABEL_VALUE)


class AlertmanagerPayload(_Strict):
    version: Literal["4"]
    status: Literal["firing", "resolved"]
    alerts: list[AlertmanagerAlert] = Field(max_length=MAX_ALERTS)
    group_key: str = Field(default="", alias="groupKey")
    truncated_alerts: int = Field(default=0, ge=0, alias="truncatedAlerts")
    receiver: str = ""
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")


def parse_alertmanager(
    body: bytes,
    content_type: str | None,
    integration: Integration,
    now: datetime,
    *,
    severities: Collection[str] = (),
) -> list[Alert]:
    """The alerts of one webhook request, or an `InboundError` (400/413/415/422).

    `severities` are the configured severity names: a sender label that already is one
    is kept as it is (see `Integration.map_severity`). All alerts are checked before
    any is returned, so a request is taken whole or not at all.
    """
    document = read_json(body, content_type)
    try:
        payload = AlertmanagerPayload.model_validate(document)
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    return [
        _to_alert(item, index, integration, now, severities)
        for index, item in enumerate(payload.alerts)
    ]


def _to_alert(
    item: AlertmanagerAlert,
    index: int,
    integration: Integration,
    now: datetime,
    severities: Collection[str],
) -> Alert:
    path: list[str | int] = ["alerts", index]
    check_labels(item.labels, [*path, "labels"])
    check_annotations(item.annotations, [*path, "annotations"])
    check_text(item.generator_url, [*path, "generatorURL"], MAX_LABEL_VALUE)
    starts_at = parse_timestamp(item.starts_at, [*path, "startsAt"])
    ends_at = (
        None if item.ends_at == GO_ZERO_TIME else parse_timestamp(item.ends_at, [*path, "endsAt"])
    )
    if ends_at is not None and ends_at < starts_at:
        raise problem(422, [*path, "endsAt"], "endsAt is before startsAt")

    sent_severity = item.labels.get("severity")
    labels = dict(item.labels)
    labels["severity"] = integration.map_severity(sent_severity, severities)
    if integration.service is not None:
        labels.setdefault("service", integration.service)
    labels["integration"] = integration.name  # set last: a sender cannot claim another
    level = Level.WARNING if (sent_severity or "").lower() in WARNING_SEVERITIES else Level.CRITICAL
    firing = item.status == "firing"
    return Alert(
        fingerprint=fingerprint(labels),
        rule=f"inbound:{integration.name}",
        level=level,
        labels=labels,
        annotations=dict(item.annotations),
        state=AlertState.FIRING if firing else AlertState.RESOLVED,
        active_since=starts_at if firing else None,
        fired_at=starts_at,
        resolved_at=None if firing else (ends_at or now),
        last_true_at=now if firing else None,
        updated_at=now,
    )
