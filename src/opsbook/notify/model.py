"""The notification record: what the outbox stores and every channel sends.

A `Notification` is a snapshot: the alerts it carries are copies taken when it was
planned, so a retry an hour later says exactly what the first attempt said. Its
`idempotency_key` is the identity used everywhere a duplicate could arise: the outbox
ignores a second row with the same key, webhooks get it as an ``Idempotency-Key`` header
and mails derive their ``Message-ID`` from it, so receivers can drop repeats of an
at-least-once delivery.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from opsbook.alerts.model import Alert, AlertState, Level, fingerprint
from opsbook.config.redact import Redactor

MAX_KEY_LENGTH = 500
"""Keys longer than this (group keys of many labels) are shortened deterministically:
a prefix and a digest of the whole key, so they still fit headers and indexes."""


def bounded_key(key: str) -> str:
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: MAX_KEY_LENGTH - len(digest) - 1]}~{digest}"


@dataclass(frozen=True)
class Notification:
    idempotency_key: str
    receiver: str
    group_key: str
    group_labels: Mapping[str, str]
    status: str  # "firing" | "resolved"
    alerts: tuple[Alert, ...]
    created_at: datetime
    kind: str = "alert"
    title: str | None = None  # for non-alert kinds
    body: str | None = None

    def __post_init__(self) -> None:
        if not self.idempotency_key:
            raise ValueError("a notification needs an idempotency key")
        if self.status not in ("firing", "resolved"):
            raise ValueError(f"status must be 'firing' or 'resolved', got {self.status!r}")
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")
        object.__setattr__(self, "idempotency_key", bounded_key(self.idempotency_key))

    @property
    def firing(self) -> tuple[Alert, ...]:
        return tuple(a for a in self.alerts if a.state is AlertState.FIRING)

    @property
    def resolved(self) -> tuple[Alert, ...]:
        return tuple(a for a in self.alerts if a.state is not AlertState.FIRING)

    def without_resolved(self) -> Notification | None:
        """This notification with only its firing alerts (a receiver with
        ``send_resolved: false``); None when nothing firing is left to say."""
        if self.kind != "alert":
            return self
        firing = self.firing
        if not firing:
            return None
        if len(firing) == len(self.alerts):
            return self
        return replace(self, alerts=firing, status="firing")

    def redacted(self, redactor: Redactor) -> Notification:
        """A copy with every label, annotation, title and body passed through `redactor`."""

        def masked(values: Mapping[str, str]) -> dict[str, str]:
            return {k: redactor(v) for k, v in values.items()}

        return replace(
            self,
            group_labels=masked(self.group_labels),
            alerts=tuple(
                a.evolve(labels=masked(a.labels), annotations=masked(a.annotations))
                for a in self.alerts
            ),
            title=redactor(self.title) if self.title is not None else None,
            body=redactor(self.body) if self.body is not None else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "idempotency_key": self.idempotency_key,
            "receiver": self.receiver,
            "group_key": self.group_key,
            "group_labels": dict(self.group_labels),
            "status": self.status,
            "alerts": [a.to_json() for a in self.alerts],
            "created_at": self.created_at.isoformat(),
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Notification:
        return cls(
            idempotency_key=str(data["idempotency_key"]),
            receiver=str(data["receiver"]),
            group_key=str(data["group_key"]),
            group_labels={str(k): str(v) for k, v in dict(data["group_labels"]).items()},
            status=str(data["status"]),
            alerts=tuple(Alert.from_json(a) for a in data["alerts"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            kind=str(data.get("kind", "alert")),
            title=data.get("title"),
            body=data.get("body"),
        )

    def dumps(self) -> str:
        """The outbox payload: compact JSON."""
        return json.dumps(self.to_json(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def loads(cls, text: str) -> Notification:
        return cls.from_json(json.loads(text))


@dataclass(frozen=True, slots=True)
class Rendered:
    """The text a channel sends: already templated and redacted."""

    title: str
    body: str
    notes: tuple[str, ...] = field(default=())  # e.g. "body template failed: ...; default used"


def make_test_notification(receiver: str, now: datetime) -> Notification:
    """A firing alert that is obviously a test, for `opsbook notify test`: it goes through
    the receiver's real templates and payload, so what arrives looks like a real alert."""
    labels = {"alertname": "OpsbookTest", "service": "opsbook", "severity": "test"}
    alert = Alert(
        fingerprint=fingerprint(labels),
        rule="OpsbookTest",
        level=Level.WARNING,
        labels=labels,
        annotations={
            "summary": f"Test notification to receiver {receiver}",
            "description": "Sent by `opsbook notify test`; no action needed.",
        },
        state=AlertState.FIRING,
        active_since=now,
        fired_at=now,
        updated_at=now,
    )
    return Notification(
        idempotency_key=f"test:{receiver}:{now.isoformat()}",
        receiver=receiver,
        group_key=f"test:{receiver}",
        group_labels={"alertname": "OpsbookTest"},
        status="firing",
        alerts=(alert,),
        created_at=now,
        kind="test",
    )
