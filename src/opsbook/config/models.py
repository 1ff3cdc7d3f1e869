"""The root model of opsbook.yaml and its top-level sections."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, PrivateAttr, model_validator

from opsbook.alerts.maintenance import MaintenanceWindow
from opsbook.checks.spec import Check
from opsbook.config.base import Name, Section
from opsbook.config.redact import Redactor
from opsbook.config.types import Duration, Timezone
from opsbook.engine.settings import EngineSettings
from opsbook.inbound.heartbeats import Heartbeat
from opsbook.inbound.integrations import Integration
from opsbook.incidents.settings import IncidentSettings
from opsbook.notify.receivers import Receiver
from opsbook.notify.routing import Route
from opsbook.oncall.escalation import EscalationPolicy
from opsbook.oncall.people import Person
from opsbook.oncall.schedules import Schedule
from opsbook.playbooks.model import Connection, Playbook
from opsbook.rules.model import Rule


class Project(Section):
    name: str = Field(min_length=1, max_length=200)
    timezone: Timezone = "UTC"
    description: str = ""


class Service(Section):
    name: Name
    description: str = ""
    owner: str = ""
    slo: float | None = Field(
        default=None,
        gt=0,
        le=100,
        description="Availability objective in percent, e.g. 99.9 (the runbooks' SLA column).",
    )
    depends_on: list[Name] = Field(default_factory=list)
    public: bool = Field(default=False, description="Show on the public status page.")
    url: str | None = None
    escalation_policy: Name | None = Field(
        default=None, description="Policy paged for this service's incidents."
    )


class Severity(Section):
    name: Name
    description: str = ""
    response_time: Duration = Field(description="Time to acknowledge, e.g. 15m for P1.")
    update_interval: Duration | None = Field(
        default=None, description="How often the commander must post a status update."
    )


def _default_severities() -> list[Severity]:
    """The P0–P4 scale the runbooks share (practice-app, api-backend, review-engine)."""
    hour = timedelta(hours=1)
    return [
        Severity(
            name="P0",
            description="Critical: complete outage, data loss, security breach",
            response_time=timedelta(minutes=5),
            update_interval=timedelta(minutes=10),
        ),
        Severity(
            name="P1",
            description="High: major feature broken, error rate > 5 %",
            response_time=timedelta(minutes=15),
            update_interval=timedelta(minutes=30),
        ),
        Severity(
            name="P2",
            description="Medium: minor feature broken, performance degraded",
            response_time=hour,
            update_interval=hour,
        ),
        Severity(
            name="P3",
            description="Low: non-critical issue (SSL expiring, disk warning)",
            response_time=4 * hour,
        ),
        Severity(
            name="P4",
            description="Cosmetic: next business day",
            response_time=24 * hour,
        ),
    ]


class Config(Section):
    """The whole opsbook.yaml: validated fully at load, then passed around read-only."""

    project: Project
    services: list[Service] = Field(default_factory=list)
    severities: list[Severity] = Field(
        default_factory=_default_severities,
        description="Most severe first. Defaults to P0–P4; rename freely (SEV1–SEV4).",
    )
    checks: list[Check] = Field(default_factory=list)
    rules: list[Rule] = Field(
        default_factory=list,
        description="Alert rules over check samples: warning/critical bounds, for, labels.",
    )
    receivers: list[Receiver] = Field(
        default_factory=list,
        description="Where notifications go: webhook, email or Apprise URLs, with templates.",
    )
    route: Route | None = Field(
        default=None,
        description="The routing tree: which receiver gets which alerts, and grouping.",
    )
    maintenance: list[MaintenanceWindow] = Field(
        default_factory=list,
        description="Planned windows (one-off or cron) that silence matching alerts.",
    )
    integrations: list[Integration] = Field(
        default_factory=list,
        description="Inbound endpoints: Alertmanager webhooks and trigger/ack/resolve events.",
    )
    heartbeats: list[Heartbeat] = Field(
        default_factory=list,
        description="Jobs that must ping /ping/<id> on time (cron backups); silence alerts.",
    )
    people: list[Person] = Field(
        default_factory=list,
        description="Who can be on call, and the contacts (channel blocks) a page reaches.",
    )
    schedules: list[Schedule] = Field(
        default_factory=list,
        description="On-call rotations: layers (primary, secondary) in a timezone, overrides.",
    )
    escalation_policies: list[EscalationPolicy] = Field(
        default_factory=list,
        description="Who is paged first, and who next when nobody acknowledges in time.",
    )
    engine: EngineSettings = Field(
        default_factory=EngineSettings, description="How `opsbook serve` runs."
    )
    incidents: IncidentSettings = Field(
        default_factory=IncidentSettings,
        description="When alerts open incidents, who is paged, where updates go.",
    )
    playbooks: list[Playbook] = Field(
        default_factory=list,
        description="The runbooks' procedures as steps: opsbook run NAME --param k=v.",
    )
    connections: list[Connection] = Field(
        default_factory=list,
        description="Databases playbook steps may use (sql: and redis: steps name them).",
    )

    _path: Path | None = PrivateAttr(default=None)
    _redactor: Redactor = PrivateAttr(default_factory=Redactor)

    @model_validator(mode="after")
    def _bind_rules(self) -> Config:
        """Give each rule what it needs from the rest of the file: the severity scale
        (for default severities) and the checks' services and intervals."""
        services = {c.name: c.service for c in self.checks}
        intervals = {c.name: c.interval for c in self.checks}
        severities = [s.name for s in self.severities]
        for rule in self.rules:
            rule.bind(severities, services, intervals)
        return self

    def rule(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)

    @property
    def path(self) -> Path | None:
        """The file this config was loaded from (None when built in code)."""
        return self._path

    @property
    def redactor(self) -> Redactor:
        return self._redactor

    @property
    def base_dir(self) -> Path:
        return self._path.parent if self._path else Path.cwd()

    def attach_source(self, path: Path | None, redactor: Redactor) -> None:
        self._path = path
        self._redactor = redactor

    def service(self, name: str) -> Service | None:
        return next((s for s in self.services if s.name == name), None)

    def severity(self, name: str) -> Severity | None:
        return next((s for s in self.severities if s.name == name), None)

    def person(self, name: str) -> Person | None:
        return next((p for p in self.people if p.name == name), None)

    def schedule(self, name: str) -> Schedule | None:
        return next((s for s in self.schedules if s.name == name), None)

    def escalation_policy(self, name: str) -> EscalationPolicy | None:
        return next((p for p in self.escalation_policies if p.name == name), None)

    def playbook(self, name: str) -> Playbook | None:
        return next((p for p in self.playbooks if p.name == name), None)

    def connection(self, name: str) -> Connection | None:
        return next((c for c in self.connections if c.name == name), None)
