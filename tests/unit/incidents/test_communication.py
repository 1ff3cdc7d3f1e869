"""Status updates and update reminders, as the people on the incident channel read them.

memoapp.md, "Communication Templates", which the defaults follow line by line:
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from opsbook.config.redact import Redactor
from opsbook.incidents.communication import (
    CommunicationTemplates,
    default_template,
    reminder_due,
    reminder_text,
    render_status_update,
    update_due_at,
)
from opsbook.incidents.model import IncidentStatus
from tests.unit.incidents.scenario import actions, at, incident

INCIDENT_NOTIFICATION = """\
INCIDENT ALERT - [Severity Level]
Service: MemoApp
Issue: [Brief description]
Impact: [User impact description]
Status: Investigating
ETA: [Estimated resolution time]
Updates: Will provide updates every 30 minutes"""

RESOLUTION_NOTIFICATION = """\
INCIDENT RESOLVED
Service: MemoApp
Issue: [Brief description]
Resolution: [What was done to fix]
Duration: [Total downtime]
Next Steps: [Any follow-up actions]"""

THIRTY = timedelta(minutes=30)
OPEN = incident(
    status=IncidentStatus.INVESTIGATING,
    acknowledged_at=None,
    acknowledged_by=None,
    resolved_at=None,
    last_update_at=None,
)


def labels(text: str) -> list[str]:
    return [line.split(":")[0] for line in text.splitlines() if ":" in line and line[0] != "-"]


def test_initial_reads_like_the_memoapp_incident_notification() -> None:
    title, body = render_status_update(
        "initial",
        OPEN,
        "",
        now=at("10:18:00"),
        next_update_in=THIRTY,
        eta="15 minutes",
        templates=None,
    )
    assert title == "INCIDENT ALERT - P1 - review-engine, api: API Service Down"
    assert body == (
        "INCIDENT ALERT - P1\n"
        "Service: review-engine, api\n"
        "Issue: API Service Down\n"
        "Impact: Reviews could not be loaded or saved; mobile sync failed for all users.\n"
        "Status: Investigating\n"
        "ETA: 15 minutes\n"
        "Updates: Will provide updates every 30 minutes"
    )
    assert labels(body) == labels(INCIDENT_NOTIFICATION)
    assert body.splitlines()[0].startswith("INCIDENT ALERT - ")


def test_initial_message_and_missing_values_are_left_out_not_invented() -> None:
    bare = OPEN.evolve(services=(), impact="")
    _, body = render_status_update(
        "initial",
        bare,
        "Investigating production outage.",
        now=at("10:18:00"),
        next_update_in=None,
        eta=None,
        templates=None,
    )
    assert body == (
        "INCIDENT ALERT - P1\n"
        "Issue: API Service Down\n"
        "Status: Investigating\n"
        "Details: Investigating production outage."
    )


def test_update_says_what_changed_and_when_the_next_one_comes() -> None:
    identified = OPEN.evolve(status=IncidentStatus.IDENTIFIED)
    title, body = render_status_update(
        "update",
        identified,
        "Connection leak in 2.14.0; rolling back.",
        now=at("10:24:00"),
        next_update_in=THIRTY,
        eta="10 minutes",
        templates=None,
        timezone="Europe/Berlin",
    )
    assert title == "INCIDENT UPDATE - P1 - review-engine, api: API Service Down"
    assert body == (
        "INCIDENT UPDATE - P1\n"
        "Service: review-engine, api\n"
        "Issue: API Service Down\n"
        "Impact: Reviews could not be loaded or saved; mobile sync failed for all users.\n"
        "Status: Identified\n"
        "Update: Connection leak in 2.14.0; rolling back.\n"
        "ETA: 10 minutes\n"
        "Next update: in 30 minutes (by 2026-03-10 11:54 CET)"
    )


def test_resolution_reads_like_the_memoapp_resolution_notification() -> None:
    title, body = render_status_update(
        "resolution",
        incident(),
        "Rolled back to 2.13.2 and restarted the service.",
        now=at("10:46:00"),
        next_update_in=THIRTY,  # no further updates promised once resolved
        eta="ignored",
        templates=None,
        actions=actions(),
    )
    assert title == "INCIDENT RESOLVED - review-engine, api: API Service Down"
    assert body == (
        "INCIDENT RESOLVED\n"
        "Service: review-engine, api\n"
        "Issue: API Service Down\n"
        "Resolution: Rolled back to 2.13.2 and restarted the service.\n"
        "Duration: 45m 10s\n"
        "Next Steps:\n"
        "- Alert on database connections_used_pct > 80% for 5 minutes (Owner: @alice)\n"
        "- Update the runbook: API Service Down step 5 should check the pool first"
    )
    assert labels(body) == labels(RESOLUTION_NOTIFICATION)


def test_resolution_without_open_actions_has_no_next_steps() -> None:
    done = [a for a in actions() if a.done]
    _, body = render_status_update(
        "resolution", incident(), "", now=at("10:46:00"), next_update_in=None, eta=None,
        templates=None, actions=done,
    )  # fmt: skip
    assert "Next Steps" not in body and "Resolution:" not in body
    assert body.endswith("Duration: 45m 10s")


def test_an_override_sees_the_documented_variables() -> None:
    templates = CommunicationTemplates(
        update=(
            "[{{ severity }}] {{ issue }} is {{ status_value }} ({{ duration }} so far). "
            "{{ message }} Commander: {{ commander }}. Next: {{ next_update_at }}. "
            "{% for a in open_actions %}{{ a.owner or '-' }} {% endfor %}#{{ incident_id }}"
        )
    )
    title, body = render_status_update(
        "update", OPEN, "Still looking.", now=at("10:30:05"), next_update_in=THIRTY, eta=None,
        templates=templates, actions=actions(),
    )  # fmt: skip
    assert title == "INCIDENT UPDATE - P1 - review-engine, api: API Service Down"
    assert body == (
        "[P1] API Service Down is investigating (30m 15s so far). Still looking. "
        "Commander: bob. Next: 2026-03-10 11:00 UTC. alice - #42"
    )


def test_only_the_overridden_kind_changes() -> None:
    templates = CommunicationTemplates(initial="custom {{ issue }}")
    args = {"now": at("10:18:00"), "next_update_in": None, "eta": None}
    _, custom = render_status_update("initial", OPEN, "", templates=templates, **args)  # type: ignore[arg-type]
    _, update = render_status_update("update", OPEN, "x", templates=templates, **args)  # type: ignore[arg-type]
    _, default = render_status_update("update", OPEN, "x", templates=None, **args)  # type: ignore[arg-type]
    assert custom == "custom API Service Down"
    assert update == default


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{{ (1).__class__.__subclasses__() }}", "SecurityError"),  # the sandbox says no
        ("{{ duration + 1 }}", "TypeError"),
    ],
)
def test_a_failing_override_falls_back_to_the_default_and_says_so(text: str, error: str) -> None:
    args = {"now": at("10:18:00"), "next_update_in": THIRTY, "eta": None}
    _, default = render_status_update("update", OPEN, "x", templates=None, **args)  # type: ignore[arg-type]
    _, body = render_status_update(
        "update",
        OPEN,
        "x",
        templates=CommunicationTemplates(update=text),
        **args,  # type: ignore[arg-type]
    )
    assert body.startswith(default + "\n\n(note: the update template failed (")
    assert error in body
    assert body.endswith("the default template was used)")


def test_an_override_that_renders_nothing_falls_back_too() -> None:
    _, body = render_status_update(
        "initial", OPEN, "", now=at("10:18:00"), next_update_in=None, eta=None,
        templates=CommunicationTemplates(initial="{{ ''.__class__ }}  "),
    )  # fmt: skip
    assert body.startswith("INCIDENT ALERT - P1\n")
    assert body.endswith(
        "(note: the initial template rendered nothing; the default template was used)"
    )


def test_syntax_errors_and_unknown_keys_are_refused_at_load() -> None:
    with pytest.raises(ValidationError, match="template error on line 1"):
        CommunicationTemplates(update="{% for a in open_actions %}{{ a.text }}")
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        CommunicationTemplates.model_validate({"initial": "x", "reminder": "y"})
    with pytest.raises(ValidationError, match="longer than"):
        CommunicationTemplates(resolution="x" * 20_001)


def test_secrets_are_masked_and_text_is_bounded() -> None:
    secret = "s3cr3t-db-password"
    for templates in (None, CommunicationTemplates(update="{{ message }}{{ 'y' * 40000 }}")):
        title, body = render_status_update(
            "update", OPEN.evolve(title=f"DB auth failing with {secret}"),
            f"tried {secret}", now=at("10:18:00"), next_update_in=None, eta=None,
            templates=templates, redactor=Redactor([secret]),
        )  # fmt: skip
        assert secret not in title + body and "***" in title + body
        assert len(body) <= 30_000


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown status update kind 'postmortem'"):
        render_status_update(
            "postmortem",  # type: ignore[arg-type]
            OPEN, "", now=at("10:18:00"), next_update_in=None, eta=None, templates=None,
        )  # fmt: skip


def test_defaults_are_packaged_templates() -> None:
    assert "Updates: Will provide updates every" in default_template("initial")
    assert "Next Steps:" in default_template("resolution")
    assert "Next update:" in default_template("update")


# Reminders. P1: "Communicate status updates every 30 minutes" (practice-app on-call duties);
# P0 updates every 10 minutes (api-backend "Total System Outage": "Update every 10 minutes").


def test_first_update_is_due_one_interval_after_opening() -> None:
    opened = OPEN.opened_at  # 10:00:05
    assert update_due_at(OPEN, THIRTY) == opened + THIRTY
    assert reminder_due(OPEN, THIRTY, opened + THIRTY - timedelta(seconds=1)) is None
    assert reminder_due(OPEN, THIRTY, opened + THIRTY) == opened + THIRTY
    assert reminder_due(OPEN, THIRTY, opened + 2 * THIRTY) == opened + THIRTY


def test_posting_an_update_restarts_the_clock() -> None:
    updated = OPEN.evolve(last_update_at=at("10:22:00"))
    assert update_due_at(updated, THIRTY) == at("10:52:00")
    assert reminder_due(updated, THIRTY, at("10:40:00")) is None


def test_p0_updates_every_ten_minutes() -> None:
    p0 = OPEN.evolve(severity="P0")
    assert reminder_due(p0, timedelta(minutes=10), at("10:10:05")) == at("10:10:05")


def test_a_sent_reminder_pushes_the_next_one_out() -> None:
    reminded = OPEN.evolve(next_reminder_at=at("11:00:05"))
    assert update_due_at(reminded, THIRTY) == at("11:00:05")
    assert reminder_due(reminded, THIRTY, at("10:45:00")) is None
    # A status update after the reminder wins when it is later.
    fresh = reminded.evolve(last_update_at=at("10:50:00"))
    assert update_due_at(fresh, THIRTY) == at("11:20:00")


def test_no_reminders_without_an_interval_or_once_resolved() -> None:
    assert update_due_at(OPEN, None) is None
    assert reminder_due(OPEN, None, at("23:00:00")) is None
    assert update_due_at(incident(), THIRTY) is None
    monitoring = OPEN.evolve(status=IncidentStatus.MONITORING)  # still open: still due
    assert update_due_at(monitoring, THIRTY) == OPEN.opened_at + THIRTY


def test_reminder_text_names_the_incident_the_delay_and_the_commander() -> None:
    assert reminder_text(OPEN, timedelta(minutes=5, seconds=30)) == (
        "Status update due for incident #42 (P1, investigating): API Service Down, "
        "overdue by 5m 30s. Commander: bob."
    )
    nobody = OPEN.evolve(roles={})
    assert reminder_text(nobody, timedelta(0)) == (
        "Status update due for incident #42 (P1, investigating): API Service Down. "
        "No commander assigned: anyone on the incident can post it."
    )
