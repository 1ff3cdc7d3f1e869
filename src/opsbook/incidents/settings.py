"""The `incidents:` section of opsbook.yaml: when alerts open incidents, who is paged,
where status updates go, and how one-click links are built."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from opsbook.config.base import Name, Section
from opsbook.config.types import Duration
from opsbook.incidents.communication import CommunicationTemplates

LABEL_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class IncidentSettings(Section):
    auto_open: bool = Field(
        default=True, description="Open incidents from firing alerts (false: declare by hand)."
    )
    open_at: Name | None = Field(
        default=None,
        description="Alerts of this severity or worse open an incident. Default: the "
        "second severity of the table (P1 with the default P0–P4 scale).",
    )
    group_by: list[str] = Field(
        default_factory=lambda: ["service"],
        description="Alerts with the same values of these labels join one open incident "
        "instead of opening another.",
    )
    escalation_policy: Name | None = Field(
        default=None,
        description="Policy paged for new incidents; a service's own escalation_policy wins.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8080",
        description="Base URL people reach opsbook at: one-click links in pages use it.",
    )
    link_ttl: Duration = Field(
        default=timedelta(hours=24), description="How long a one-click link stays valid."
    )
    updates_to: list[Name] = Field(
        default_factory=list,
        description="Receivers that get every status update (initial, update, resolution).",
    )
    templates: CommunicationTemplates = Field(
        default_factory=CommunicationTemplates,
        description="Jinja2 overrides of the initial / update / resolution messages.",
    )
    reminders: bool = Field(
        default=True,
        description="Remind the commander when no update was posted within the severity's "
        "update_interval.",
    )

    @field_validator("group_by")
    @classmethod
    def _label_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.match(LABEL_NAME, name):
                raise ValueError(f"{name!r} is not a label name")
        return value

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"expected an http(s) URL like https://ops.example.com, got {value!r}")
        return value.rstrip("/")
