"""The `engine:` section of opsbook.yaml: how `opsbook serve` runs."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from opsbook.config.base import Name, Section
from opsbook.config.types import Duration


class Retention(Section):
    raw: Duration = Field(
        default=timedelta(hours=48), description="Keep raw results and samples this long."
    )
    minutes: Duration = Field(
        default=timedelta(days=30), description="Keep one-minute roll-ups this long."
    )
    hours: Duration = Field(default=timedelta(days=400), description="Keep hourly roll-ups.")


class Flapping(Section):
    window: Duration = Field(default=timedelta(minutes=10))
    flips: int = Field(
        default=4,
        ge=0,
        description="Starts/stops of firing within `window` that make an alert flapping; 0 = off.",
    )


class EngineSettings(Section):
    listen: str = Field(
        default="127.0.0.1:8080", description="host:port of the HTTP server (/metrics, API)."
    )
    evaluation_interval: Duration = Field(
        default=timedelta(seconds=1),
        description="How often every rule is re-evaluated (rules also run on each new result).",
    )
    max_spread: Duration = Field(
        default=timedelta(seconds=30),
        description="Checks are spread over min(interval, max_spread) by a fixed per-check phase.",
    )
    max_concurrency: int = Field(default=1000, ge=1, description="Probes in flight at once.")
    retention: Retention = Field(default_factory=Retention)
    flapping: Flapping = Field(default_factory=Flapping)
    fallback_receiver: Name | None = Field(
        default=None,
        description="Receiver told when another receiver keeps failing (and for engine alerts).",
    )
    failing_receiver_after: int = Field(
        default=3, ge=1, description="Failed attempts in a row that make a receiver 'failing'."
    )

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"expected host:port like 127.0.0.1:8080, got {value!r}")
        return value

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])
