"""`opsbook oncall who` and `opsbook oncall show`: the rotations as the config defines
them, so a schedule can be checked before anyone is paged by it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from opsbook.cli.common import ConfigOption, JsonOption, load, out

if TYPE_CHECKING:
    from opsbook.config.models import Config
    from opsbook.oncall.people import Person
    from opsbook.oncall.rotation import Shift
    from opsbook.oncall.schedules import Schedule

app = typer.Typer(
    help="On-call schedules: who is on call, and the rotation calendar.",
    no_args_is_help=True,
)

ScheduleArgument = Annotated[
    str | None, typer.Argument(help="A schedule name. Default: every schedule.", show_default=False)
]
OVERRIDE_MARK = "*"


def parse_at(text: str) -> datetime:
    """ISO 8601 with an offset ('2026-03-02T10:00+01:00', '...Z'), or without one: then
    it is the wall-clock time of each schedule's timezone."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"expected an ISO 8601 time like 2026-03-02T10:00 (local to the schedule) or "
            f"2026-03-02T10:00+01:00, got {text!r}",
            param_hint="'--at'",
        ) from None


def parse_start(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"expected a date like 2026-03-02, got {text!r}", param_hint="'--start'"
        ) from None


def _selected(config: Config, name: str | None) -> list[Schedule]:
    if name is None:
        return list(config.schedules)
    found = config.schedule(name)
    if found is None:
        from opsbook.config.semantics import unknown_message

        known = [s.name for s in config.schedules]
        raise typer.BadParameter(unknown_message("schedule", name, known), param_hint="SCHEDULE")
    return [found]


def _local(value: datetime, schedule: Schedule) -> datetime:
    return value.astimezone(schedule.zone)


def _stamp(value: datetime, schedule: Schedule) -> str:
    return _local(value, schedule).strftime("%a %Y-%m-%d %H:%M %Z")


def _short(value: datetime, schedule: Schedule) -> str:
    """Without the zone: the table's title names it."""
    return _local(value, schedule).strftime("%a %b %d %H:%M")


def _iso(value: datetime | None, schedule: Schedule) -> str | None:
    return None if value is None else _local(value, schedule).isoformat()


def _no_schedules(config: Config, as_json: bool) -> bool:
    if config.schedules:
        return False
    if as_json:
        out.print_json("[]")
    else:
        out.print("no schedules in the config (add `schedules:`; see docs/oncall.md)")
    return True


@dataclass(frozen=True)
class _OnCall:
    """One layer of one schedule at the asked instant."""

    layer: str
    shift: Shift | None
    person: Person | None
    until: datetime

    def to_json(self, schedule: Schedule) -> dict[str, Any]:
        shift, person = self.shift, self.person
        return {
            "layer": self.layer,
            "person": shift.person if shift else None,
            "full_name": person.full_name if person else "",
            "handle": person.handle if person else "",
            "email": person.email if person else None,
            "phone": person.phone if person else None,
            "reachable": person.reachable if person else False,
            "override": shift.override if shift else False,
            "reason": shift.reason if shift else "",
            "since": _iso(shift.start if shift else None, schedule),
            "until": _iso(self.until, schedule),
        }


def who(
    schedule: ScheduleArgument = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="ISO 8601 time, e.g. 2026-12-24T20:00 (the schedule's local time) or "
            "2026-12-24T19:00Z. Default: now.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Who is on call on every layer, since when, until the next handoff, and overrides."""
    from opsbook.oncall.localtime import to_utc
    from opsbook.oncall.rotation import current_shift, next_handoff

    when = parse_at(at) if at is not None else datetime.now(UTC)
    loaded = load(config)
    chosen = _selected(loaded, schedule)
    if _no_schedules(loaded, as_json):
        return
    report: list[dict[str, Any]] = []
    for sched in chosen:
        moment = to_utc(when, sched.zone)
        rows = []
        for layer in sched.layers:
            shift = current_shift(sched, moment, layer.name)
            person = loaded.person(shift.person) if shift else None
            rows.append(_OnCall(layer.name, shift, person, next_handoff(sched, layer.name, moment)))
        if as_json:
            report.append(
                {
                    "schedule": sched.name,
                    "timezone": sched.timezone,
                    "at": _iso(moment, sched),
                    "layers": [row.to_json(sched) for row in rows],
                }
            )
        else:
            out.print(_who_table(sched, moment, rows))
    if as_json:
        out.print_json(json.dumps(report))


def _who_table(schedule: Schedule, at: datetime, rows: list[_OnCall]) -> Table:
    table = Table(
        title=f"{schedule.name} at {_stamp(at, schedule)} ({schedule.timezone})",
        title_justify="left",
    )
    for column in ("Layer", "On call", "Contact", "Since", "Next handoff", "Note"):
        table.add_column(column)
    for row in rows:
        until = _short(row.until, schedule)
        shift, person = row.shift, row.person
        if shift is None:
            table.add_row(row.layer, "[dim]nobody[/]", "", "", until, "rotation not started")
            continue
        name, notes = shift.person, []
        if shift.override:
            name = f"[bold magenta]{name}{OVERRIDE_MARK}[/]"
            notes.append("override" + (f": {shift.reason}" if shift.reason else ""))
        contact = ""
        if person is not None:
            if person.full_name:
                name += f" ({escape(person.full_name)})"
            contact = " ".join(x for x in (person.handle, person.phone, person.email) if x)
        if person is None or not person.reachable:
            notes.append("no contacts")
        since = _short(shift.start, schedule)
        table.add_row(row.layer, name, escape(contact), since, until, escape("; ".join(notes)))
    return table


def show(
    schedule: ScheduleArgument = None,
    days: Annotated[int, typer.Option("--days", min=1, max=366, help="How many days.")] = 14,
    start: Annotated[
        str | None,
        typer.Option(
            "--start", help="First day, YYYY-MM-DD. Default: today in the schedule's timezone."
        ),
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """The rotation calendar: a row per day, a column per layer, overrides starred.

    Where a shift changes during a day the cell shows the handoff time, so a
    schedule can be checked against the runbook before anyone is paged by it."""
    from opsbook.oncall.localtime import instant
    from opsbook.oncall.rotation import shifts

    first_day = parse_start(start) if start is not None else None
    loaded = load(config)
    chosen = _selected(loaded, schedule)
    if _no_schedules(loaded, as_json):
        return
    report: list[dict[str, Any]] = []
    for sched in chosen:
        day = first_day or datetime.now(UTC).astimezone(sched.zone).date()
        begin = instant(day, time(), sched.zone)
        end = instant(day + timedelta(days=days), time(), sched.zone)
        found = shifts(sched, begin, end)
        if not as_json:
            _print_calendar(sched, day, days, found)
        report.append(
            {
                "schedule": sched.name,
                "timezone": sched.timezone,
                "start": _iso(begin, sched),
                "end": _iso(end, sched),
                "shifts": [
                    {
                        "layer": s.layer,
                        "person": s.person,
                        "start": _iso(s.start, sched),
                        "end": _iso(s.end, sched),
                        "override": s.override,
                        "reason": s.reason,
                    }
                    for s in found
                ],
            }
        )
    if as_json:
        out.print_json(json.dumps(report))


def day_cell(day_shifts: list[Shift], day_start: datetime, schedule: Schedule) -> str:
    """'alice', or 'alice, 09:00 bob' when the shift changes during the day; an
    override is marked with a star."""
    parts = []
    for shift in day_shifts:
        label = shift.person + (OVERRIDE_MARK if shift.override else "")
        if shift.override:
            label = f"[bold magenta]{label}[/]"
        if shift.start > day_start:
            label = f"{_local(shift.start, schedule):%H:%M} {label}"
        parts.append(label)
    return ", ".join(parts) if parts else "[dim]-[/]"


def _print_calendar(schedule: Schedule, first: date, days: int, found: list[Shift]) -> None:
    from opsbook.oncall.localtime import instant

    last = first + timedelta(days=days - 1)
    table = Table(
        title=f"{schedule.name} ({schedule.timezone}), {first} to {last}", title_justify="left"
    )
    table.add_column("Day", no_wrap=True)
    for layer in schedule.layers:
        table.add_column(layer.name)
    for offset in range(days):
        day = first + timedelta(days=offset)
        start = instant(day, time(), schedule.zone)
        end = instant(day + timedelta(days=1), time(), schedule.zone)
        cells = []
        for layer in schedule.layers:
            today = [s for s in found if s.layer == layer.name and s.start < end and s.end > start]
            cells.append(day_cell(today, start, schedule))
        table.add_row(f"{day:%a %Y-%m-%d}", *cells)
    out.print(table)
    for shift in (s for s in found if s.override):
        window = f"{_stamp(shift.start, schedule)} to {_stamp(shift.end, schedule)}"
        because = f": {shift.reason}" if shift.reason else ""
        out.print(
            f"{OVERRIDE_MARK} override: {shift.person} on {shift.layer}, {window}{because}",
            markup=False,
        )


app.command("who")(who)
app.command("show")(show)
