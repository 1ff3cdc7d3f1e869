"""Maintenance windows: planned time ranges, one-off or recurring by cron, that silence
notifications for matching alerts and mark services "under maintenance".

The runbooks plan them ("Schedule maintenance window", review-engine's daily 3 AM and
Sunday 2 AM jobs); opsbook makes the plan suppress the pages it would otherwise cause.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from pydantic import AwareDatetime, Field, field_validator, model_validator

from opsbook.alerts.matchers import Matcher, Matchers
from opsbook.config.base import Name, Section
from opsbook.config.types import Duration, Timezone


class MaintenanceWindow(Section):
    name: Name
    description: str = ""
    services: list[Name] = Field(
        default_factory=list, description="Services under maintenance during the window."
    )
    matchers: Matchers = Field(
        default_factory=list,
        description="Also silence alerts matching these (beyond the listed services).",
    )
    schedule: str | None = Field(
        default=None, description="Cron expression for a recurring window, e.g. '0 2 * * 0'."
    )
    duration: Duration | None = Field(default=None, description="Length of each recurrence.")
    timezone: Timezone | None = Field(
        default=None, description="Timezone of the cron schedule; default: project.timezone."
    )
    start: AwareDatetime | None = Field(default=None, description="One-off window start.")
    end: AwareDatetime | None = None

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None and not croniter.is_valid(value):
            raise ValueError(f"invalid cron expression {value!r}; expected like '0 2 * * 0'")
        return value

    @model_validator(mode="after")
    def _one_shape(self) -> MaintenanceWindow:
        recurring = self.schedule is not None
        one_off = self.start is not None or self.end is not None
        if recurring == one_off:
            raise ValueError("give either schedule + duration (recurring) or start + end (one-off)")
        if recurring and self.duration is None:
            raise ValueError("a recurring window needs a duration")
        if one_off and (self.start is None or self.end is None or self.end <= self.start):
            raise ValueError("a one-off window needs start and a later end")
        if not self.services and not self.matchers:
            raise ValueError("a maintenance window needs services or matchers")
        return self

    def current(self, now: datetime, default_zone: str = "UTC") -> tuple[datetime, datetime] | None:
        """The (start, end) of the occurrence containing `now`, or None."""
        if self.start is not None and self.end is not None:
            return (self.start, self.end) if self.start <= now < self.end else None
        assert self.schedule is not None and self.duration is not None
        zone = ZoneInfo(self.timezone or default_zone)
        local = now.astimezone(zone)
        # +1s so an occurrence starting exactly now counts (cron has minute resolution).
        began: datetime = croniter(self.schedule, local + timedelta(seconds=1)).get_prev(datetime)
        ends = began + self.duration
        return (began, ends) if began <= local < ends else None

    def next_start(self, now: datetime, default_zone: str = "UTC") -> datetime | None:
        """When the next occurrence begins (for "scheduled maintenance" listings)."""
        if self.start is not None:
            return self.start if self.start > now else None
        assert self.schedule is not None
        zone = ZoneInfo(self.timezone or default_zone)
        upcoming: datetime = croniter(self.schedule, now.astimezone(zone)).get_next(datetime)
        return upcoming

    def all_matchers(self) -> list[list[Matcher]]:
        """Each inner list is one way to match: a listed service, or the extra matchers."""
        ways = [[Matcher("service", "=", service)] for service in self.services]
        if self.matchers:
            ways.append(list(self.matchers))
        return ways


def active_windows(
    windows: Iterable[MaintenanceWindow], now: datetime, default_zone: str = "UTC"
) -> list[MaintenanceWindow]:
    return [w for w in windows if w.current(now, default_zone) is not None]


def services_under_maintenance(
    windows: Iterable[MaintenanceWindow], now: datetime, default_zone: str = "UTC"
) -> set[str]:
    return {s for w in active_windows(windows, now, default_zone) for s in w.services}
