"""`opsbook incident …`, `opsbook ack ID` and `opsbook resolve ID`.

The CLI writes to the store directly (the engine need not run): the engine's timers read
the same rows, so an ack from here stops the next escalation step within a second.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from opsbook.cli.common import ConfigOption, DbOption, JsonOption, fail, load, open_store, out

if TYPE_CHECKING:
    from opsbook.incidents.service import IncidentDesk, Outcome

app = typer.Typer(help="Incidents: declare, list, show, update, annotate, resolve, postmortem.")
action_app = typer.Typer(help="Action items of an incident (tracked in the postmortem).")
app.add_typer(action_app, name="action")

IncidentId = Annotated[int, typer.Argument(help="Incident number, e.g. 12.", min=1)]
ActorOption = Annotated[
    str | None,
    typer.Option("--as", help="Who is acting (recorded on the timeline). Default: your user."),
]
STATUS_STYLE = {
    "investigating": "bold red",
    "identified": "yellow",
    "monitoring": "cyan",
    "resolved": "green",
}


@contextmanager
def _desk(config: Path | None, db: str | None) -> Iterator[IncidentDesk]:
    from opsbook.incidents.service import IncidentDesk, IncidentError

    loaded = load(config)
    with open_store(db, loaded) as store:
        try:
            yield IncidentDesk(loaded, store)
        except IncidentError as exc:
            fail(str(exc), 1 if exc.status != 404 else 3)


def _actor(value: str | None) -> str:
    return value or getpass.getuser()


def _stamp(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


def _report(outcome: Outcome, as_json: bool) -> None:
    from opsbook.incidents.serialize import incident_json

    if as_json:
        out.print_json(json.dumps({**incident_json(outcome.incident), "message": outcome.message}))
        return
    incident = outcome.incident
    out.print(f"#{incident.id} [{STATUS_STYLE[incident.status.value]}]{incident.status.value}[/]: "
              f"{outcome.message}")  # fmt: skip


def _act(
    config: Path | None, db: str | None, as_json: bool, step: Callable[[IncidentDesk], Outcome]
) -> None:
    with _desk(config, db) as desk:
        _report(step(desk), as_json)


# -- top-level shortcuts ---------------------------------------------------------------------


def ack(
    incident: IncidentId,
    as_: ActorOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Acknowledge an incident: escalation stops (until the policy's ack_timeout)."""
    _act(config, db, as_json, lambda d: d.acknowledge(incident, _actor(as_), "cli"))


def resolve(
    incident: IncidentId,
    message: Annotated[str, typer.Option("--message", "-m", help="What fixed it.")] = "",
    as_: ActorOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Resolve an incident: escalation and reminders stop; the resolution is sent."""
    _act(config, db, as_json, lambda d: d.resolve(incident, _actor(as_), message))


app.command("ack")(ack)
app.command("resolve")(resolve)


# -- declare, list, show -------------------------------------------------------------------


@app.command()
def declare(
    title: Annotated[str, typer.Argument(help='What is wrong, e.g. "API Service Down".')],
    severity: Annotated[str, typer.Option("--severity", "-s", help="e.g. P1 or SEV1.")],
    service: Annotated[
        list[str] | None, typer.Option("--service", help="Affected service (repeatable).")
    ] = None,
    impact: Annotated[str, typer.Option("--impact", help="Who is affected and how.")] = "",
    commander: Annotated[str | None, typer.Option("--commander", help="Person in charge.")] = None,
    as_: ActorOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Declare an incident by hand (the review-engine runbook's create-incident.sh): it is
    paged through the escalation policy like an alert's incident."""
    _act(
        config,
        db,
        as_json,
        lambda d: d.declare(
            title=title,
            severity=severity,
            services=service or [],
            actor=_actor(as_),
            impact=impact,
            commander=commander,
        ),
    )


@app.command("list")
def list_incidents(
    status: Annotated[
        str, typer.Option("--status", help="open (default), all, or a status name.")
    ] = "open",
    severity: Annotated[str | None, typer.Option("--severity")] = None,
    service: Annotated[str | None, typer.Option("--service")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    config: ConfigOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Incidents, newest first."""
    from opsbook.incidents.model import IncidentStatus
    from opsbook.incidents.serialize import incident_json

    if status not in ("open", "all", *(s.value for s in IncidentStatus)):
        fail(f"unknown status {status!r}; use open, all, or {', '.join(IncidentStatus)}", 2)
    with _desk(config, db) as desk:
        found = desk.store.incidents.list(
            status=None if status == "all" else status,
            severity=severity,
            service=service,
            limit=limit,
        )
    if as_json:
        out.print_json(json.dumps([incident_json(i) for i in found]))
        return
    table = Table(title=f"{len(found)} incidents ({status})", title_justify="left")
    for column in ("#", "Severity", "Status", "Title", "Services", "Opened", "Acked by"):
        table.add_column(column, no_wrap=column != "Title")
    for i in found:
        table.add_row(
            str(i.id),
            i.severity,
            f"[{STATUS_STYLE[i.status.value]}]{i.status.value}[/]",
            i.title,
            ", ".join(i.services) or "-",
            _stamp(i.opened_at),
            i.acknowledged_by or "-",
        )
    out.print(table)


@app.command()
def show(
    incident: IncidentId,
    config: ConfigOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """An incident with its whole timeline and action items."""
    from opsbook.incidents.serialize import action_json, entry_json, incident_json

    with _desk(config, db) as desk:
        found = desk.require(incident)
        timeline = desk.store.incidents.timeline(incident)
        actions = desk.store.incidents.actions(incident)
    if as_json:
        body = {
            **incident_json(found),
            "timeline": [entry_json(e) for e in timeline],
            "actions": [action_json(a) for a in actions],
        }
        out.print_json(json.dumps(body))
        return
    out.print(f"[bold]#{found.id} {found.title}[/]")
    out.print(
        f"{found.severity} · [{STATUS_STYLE[found.status.value]}]{found.status.value}[/] · "
        f"services: {', '.join(found.services) or '-'} · commander: {found.commander or '-'}"
    )
    out.print(
        f"opened {_stamp(found.opened_at)} · acknowledged {_stamp(found.acknowledged_at)}"
        f"{' by ' + found.acknowledged_by if found.acknowledged_by else ''} · "
        f"resolved {_stamp(found.resolved_at)}"
    )
    if found.next_escalation_at:
        out.print(f"next escalation step: {_stamp(found.next_escalation_at)}")
    table = Table(title="Timeline", title_justify="left")
    for column in ("Time (UTC)", "Event", "Actor", "What"):
        table.add_column(column, no_wrap=column != "What")
    for entry in timeline:
        table.add_row(
            entry.at.strftime("%Y-%m-%d %H:%M:%S"), entry.kind.value, entry.actor, entry.text
        )
    out.print(table)
    for item in actions:
        mark = "x" if item.done else " "
        out.print(f"- [{mark}] {item.id}. {item.text}" + (f" ({item.owner})" if item.owner else ""))


# -- changes -----------------------------------------------------------------------------------


@app.command()
def update(
    incident: IncidentId,
    message: Annotated[
        str | None, typer.Argument(help="A status update to post (optional).")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="investigating, identified, monitoring, resolved"),
    ] = None,
    severity: Annotated[str | None, typer.Option("--severity", help="e.g. P0.")] = None,
    private: Annotated[
        bool, typer.Option("--private", help="Keep the update off the public status page.")
    ] = False,
    as_: ActorOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change status and/or severity, and/or post a status update (sent to
    `incidents.updates_to`; resets the update reminder)."""
    from opsbook.incidents.model import IncidentStatus

    if message is None and status is None and severity is None:
        fail("nothing to update: give a message, --status or --severity", 2)
    wanted = None
    if status is not None:
        try:
            wanted = IncidentStatus(status)
        except ValueError:
            fail(f"unknown status {status!r}; use {', '.join(IncidentStatus)}", 2)
    actor = _actor(as_)
    with _desk(config, db) as desk:
        outcomes = []
        if severity is not None:
            outcomes.append(desk.set_severity(incident, severity, actor))
        if message is not None:
            outcomes.append(desk.post_update(incident, message, actor, not private))
        if wanted is not None:  # last: resolving stops reminders the update would reset
            outcomes.append(desk.set_status(incident, wanted, actor))
        for outcome in outcomes[:-1]:
            if not as_json:
                _report(outcome, False)
        _report(outcomes[-1], as_json)


@app.command()
def note(
    incident: IncidentId,
    text: Annotated[str, typer.Argument(help="The note.")],
    section: Annotated[
        str | None,
        typer.Option(
            "--section",
            help="Postmortem section it fills: summary, root_cause, impact, resolution, "
            "lessons_learned.",
        ),
    ] = None,
    as_: ActorOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a note to the timeline."""
    _act(config, db, as_json, lambda d: d.note(incident, text, _actor(as_), section))


@app.command()
def assign(
    incident: IncidentId,
    person: Annotated[str, typer.Argument(help="Who (a name from `people`).")],
    role: Annotated[str, typer.Option("--role", help="commander, communications, …")] = (
        "commander"
    ),
    as_: ActorOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Give someone a role on the incident (commander by default)."""
    _act(config, db, as_json, lambda d: d.assign(incident, role, person, _actor(as_)))


@app.command("status")
def set_status(
    incident: IncidentId,
    status: Annotated[str, typer.Argument(help="investigating, identified, monitoring, resolved")],
    as_: ActorOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move the incident along investigating → identified → monitoring → resolved."""
    from opsbook.incidents.model import IncidentStatus

    try:
        wanted = IncidentStatus(status)
    except ValueError:
        fail(f"unknown status {status!r}; use {', '.join(IncidentStatus)}", 2)
    _act(config, db, as_json, lambda d: d.set_status(incident, wanted, _actor(as_)))


@app.command("severity")
def set_severity(
    incident: IncidentId,
    severity: Annotated[str, typer.Argument(help="The new severity, e.g. P0.")],
    as_: ActorOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change the severity (recorded on the timeline)."""
    _act(config, db, as_json, lambda d: d.set_severity(incident, severity, _actor(as_)))


@app.command()
def postmortem(
    incident: IncidentId,
    html: Annotated[bool, typer.Option("--html", help="HTML instead of Markdown.")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file.")
    ] = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Render the postmortem: computed timeline, impact and metrics; the parts only
    people can write are left as marked blanks (or filled from `note --section`)."""
    with _desk(config, db) as desk:
        text = desk.postmortem(incident, "html" if html else "markdown")
    if output is None:
        out.print(text, markup=False, highlight=False)
        return
    output.write_text(text, encoding="utf-8")
    out.print(f"wrote {output}")


@action_app.command("add")
def action_add(
    incident: IncidentId,
    text: Annotated[str, typer.Argument(help="What must be done.")],
    owner: Annotated[str | None, typer.Option("--owner", help="Who does it.")] = None,
    as_: ActorOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Add an action item (listed in the postmortem)."""
    with _desk(config, db) as desk:
        item = desk.add_action(incident, text, owner, _actor(as_))
    out.print(f"action item {item.id} added to #{incident}")


@action_app.command("done")
def action_done(
    incident: IncidentId,
    action: Annotated[int, typer.Argument(help="Action item number.", min=1)],
    as_: ActorOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Mark an action item done."""
    with _desk(config, db) as desk:
        item = desk.finish_action(incident, action, _actor(as_))
    out.print(f"action item {item.id} of #{incident} done: {item.text}")
