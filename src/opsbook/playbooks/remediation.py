"""Automatic remediation: a rule names a playbook to run when its alert fires ("health
check failures > 3 → restart the service; if still failing, roll back"), with guards.

The guards are pure (`should_run`): only the listed severities, never while a
maintenance window mutes the alert, at most N runs per hour per alert. The last guard,
never a dangerous step without approval, is the runner's: an automatic run waits at such
a step like any run started without --yes.
"""

from __future__ import annotations

from pydantic import Field

from opsbook.alerts.model import Alert
from opsbook.config.base import Name, Section
from opsbook.playbooks.templating import TemplateText


class Remediation(Section):
    playbook: Name = Field(description="The playbook to run when the alert fires.")
    params: dict[Name, TemplateText] = Field(
        default_factory=dict,
        description="Parameters; templates see the alert as labels.X / annotations.X.",
    )
    severities: list[Name] = Field(
        default_factory=list, description="Only for alerts of these severities (default: any)."
    )
    max_per_hour: int = Field(
        default=1, ge=1, le=60, description="At most this many runs per alert in an hour."
    )
    notify: list[Name] = Field(
        default_factory=list,
        description="Receivers told when a run starts and ends (default: the route's receiver).",
    )


def should_run(
    remediation: Remediation, alert: Alert, muted: str | None, runs_last_hour: int
) -> str | None:
    """None if the playbook may run for this alert now; otherwise why not."""
    if remediation.severities and alert.severity not in remediation.severities:
        return f"severity {alert.severity or '(none)'} is not in {remediation.severities}"
    if muted is not None and muted.startswith("maintenance window"):
        return f"in {muted}"
    if runs_last_hour >= remediation.max_per_hour:
        return (
            f"already ran {runs_last_hour} time(s) for this alert in the last hour "
            f"(max_per_hour {remediation.max_per_hour})"
        )
    return None
