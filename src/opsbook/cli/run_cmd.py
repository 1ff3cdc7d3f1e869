"""`opsbook run PLAYBOOK` and `opsbook runs list/show/resume/approve/confirm/abandon`."""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from opsbook.cli.common import ConfigOption, DbOption, JsonOption, fail, load, open_store, out

if TYPE_CHECKING:
    from opsbook.config.models import Config
    from opsbook.playbooks.records import RunRecord
    from opsbook.playbooks.runner import PlaybookRunner, RunEvent
    from opsbook.store import Store

app = typer.Typer(help="Playbook runs: the audit record; resume, approve, confirm.")

ActorOption = Annotated[
    str | None, typer.Option("--as", help="Who acts (recorded). Default: your user.")
]
RunId = Annotated[int, typer.Argument(help="Run number, e.g. 7.", min=1)]
STATUS_STYLE = {
    "ok": "green",
    "succeeded": "green",
    "skipped": "dim",
    "failed": "bold red",
    "waiting": "yellow",
    "running": "cyan",
    "interrupted": "magenta",
    "abandoned": "dim",
}
EXIT = {"succeeded": 0, "failed": 1, "waiting": 4, "interrupted": 5, "abandoned": 1}


def _actor(value: str | None) -> str:
    return value or getpass.getuser()


def _styled(status: str) -> str:
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"


@contextmanager
def _runner(config: Path | None, db: str | None, live: bool) -> Iterator[PlaybookRunner]:
    from opsbook.incidents.model import EventKind
    from opsbook.incidents.service import IncidentDesk
    from opsbook.playbooks.runner import PlaybookError, PlaybookRunner
    from opsbook.store.runs import RunLockedError

    loaded = load(config)
    with open_store(db, loaded) as store:
        desk = IncidentDesk(loaded, store)
        printer = _Progress() if live else None
        runner = PlaybookRunner(
            loaded,
            store,
            on_event=printer.show if printer else None,
            timeline=lambda incident, actor, text, data: desk.record(
                incident, actor, text, data, EventKind.PLAYBOOK
            ),
        )
        try:
            yield runner
        except (PlaybookError, RunLockedError) as exc:
            fail(loaded.redactor(str(exc)), 2 if isinstance(exc, PlaybookError) else 3)


class _Progress:
    """The live view: each step as it starts, its output as it streams, its outcome."""

    def __init__(self) -> None:
        self.started: dict[int, float] = {}

    def show(self, event: RunEvent) -> None:
        if event.kind == "started":
            out.print(f"[bold]run #{event.run_id}[/]: playbook {event.text}")
        elif event.kind == "step" and event.step is not None:
            self.started[event.position] = time.monotonic()
            out.print(f"[bold cyan]▶ {event.position + 1}. {event.step.label}[/]")
            out.print(f"  [dim]{event.text}[/]", markup=True, highlight=False)
        elif event.kind == "output":
            out.print(f"  │ {event.text}", markup=False, highlight=False)
        elif event.kind == "finished" and event.step is not None and event.result is not None:
            began = self.started.pop(event.position, None)
            took = f" ({time.monotonic() - began:.1f}s)" if began is not None else ""
            status = event.result.status.value
            label = f"{event.position + 1}. {event.step.label}"
            out.print(f"  {_styled(status)} {label}{took}: {event.text}")
        elif event.kind == "run" and event.status is not None:
            message = f": {event.text}" if event.text else ""
            out.print(f"[bold]run #{event.run_id} {_styled(event.status.value)}[/]{message}")


def _parse_params(values: list[str] | None) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            fail(f"--param takes NAME=VALUE, got {item!r}", 2)
        params[name] = value
    return params


def run(
    playbook: Annotated[str, typer.Argument(help="The playbook to run.")],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE (repeatable).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print exactly what would run; touch nothing.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="Allow steps marked dangerous without an approval.")
    ] = False,
    incident: Annotated[
        int | None, typer.Option("--incident", help="Put every step on this incident's timeline.")
    ] = None,
    as_: ActorOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Run a playbook with live progress; exit 0 succeeded, 1 failed, 4 waiting for a
    person (confirm or approve, then `opsbook runs resume`)."""
    from opsbook.playbooks.runner import RunRequest

    request = RunRequest(
        playbook, _parse_params(param), _actor(as_), dry_run=dry_run, yes=yes,
        incident_id=incident,
    )  # fmt: skip
    with _runner(config, db, live=not dry_run) as runner:
        if dry_run:
            _print_plan(runner, request)
            return
        record = asyncio.run(runner.start(request))
        _summary(runner.store, record)
    raise typer.Exit(EXIT.get(record.status.value, 1))


def _print_plan(runner: PlaybookRunner, request: Any) -> None:
    plan = runner.plan(request)
    out.print(f"[bold]dry run of {request.playbook}[/]: {len(plan)} steps; nothing is executed")
    for index, item in enumerate(plan, start=1):
        when = f"  [dim](only if {item.condition})[/]" if item.condition else ""
        out.print(f"{index}. [bold]{item.step.label}[/] ({item.step.kind}){when}")
        out.print(f"   {item.rendered}", markup=False, highlight=False)


def _summary(store: Store, record: RunRecord) -> None:
    table = Table(title=f"run #{record.id}: {record.playbook}", title_justify="left")
    for column in ("#", "Step", "Status", "Exit", "Took"):
        table.add_column(column)
    for step in store.runs.steps(record.id):
        took = step.duration_s
        table.add_row(
            str(step.position + 1),
            step.name,
            _styled(step.status),
            "-" if step.exit_code is None else str(step.exit_code),
            "-" if took is None else f"{took:.1f}s",
        )
    out.print(table)


# -- runs ----------------------------------------------------------------------------------------


def _record_json(store: Store, record: RunRecord, with_steps: bool) -> dict[str, Any]:
    def stamp(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    body: dict[str, Any] = {
        "id": record.id,
        "playbook": record.playbook,
        "status": record.status.value,
        "params": dict(record.params),
        "started_by": record.started_by,
        "started_at": stamp(record.started_at),
        "finished_at": stamp(record.finished_at),
        "incident": record.incident_id,
        "alert": record.alert,
        "parent": record.parent_id,
        "error": record.error,
    }
    if with_steps:
        body["steps"] = [
            {
                "position": s.position + 1,
                "name": s.name,
                "kind": s.kind,
                "status": s.status,
                "rendered": s.rendered,
                "output": s.output,
                "exit_code": s.exit_code,
                "vars": dict(s.vars),
                "attempts": s.attempts,
                "started_at": stamp(s.started_at),
                "finished_at": stamp(s.finished_at),
                "duration_s": s.duration_s,
                "error": s.error,
                "confirmed_by": s.confirmed_by,
            }
            for s in store.runs.steps(record.id)
        ]
    return body


@contextmanager
def _store(config: Path | None, db: str | None) -> Iterator[tuple[Config, Store]]:
    from opsbook.playbooks.runner import STALE_AFTER

    loaded = load(config)
    with open_store(db, loaded) as store:
        store.runs.mark_interrupted(datetime.now(UTC) - STALE_AFTER)
        yield loaded, store


@app.command("list")
def list_runs(
    playbook: Annotated[str | None, typer.Option("--playbook")] = None,
    status: Annotated[str | None, typer.Option("--status")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    config: ConfigOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Runs, newest first (a run whose process died shows as interrupted)."""
    with _store(config, db) as (_, store):
        records = store.runs.list(playbook=playbook, status=status, limit=limit)
        if as_json:
            out.print_json(json.dumps([_record_json(store, r, False) for r in records]))
            return
    table = Table(title=f"{len(records)} runs", title_justify="left")
    for column in ("#", "Playbook", "Status", "By", "Started", "Incident"):
        table.add_column(column)
    for r in records:
        table.add_row(
            str(r.id),
            r.playbook,
            _styled(r.status.value),
            r.started_by,
            r.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            f"#{r.incident_id}" if r.incident_id else "-",
        )
    out.print(table)


@app.command()
def show(
    run_id: RunId, config: ConfigOption = None, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """The audit record: who, when, parameters, each step's command, output, exit code."""
    with _store(config, db) as (_, store):
        record = store.runs.get(run_id)
        if record is None:
            fail(f"no run #{run_id}", 3)
        body = _record_json(store, record, True)
    if as_json:
        out.print_json(json.dumps(body))
        return
    params = " ".join(f"{k}={v}" for k, v in body["params"].items()) or "-"
    out.print(f"[bold]run #{record.id}[/] {record.playbook}: {_styled(record.status.value)}")
    out.print(f"started {body['started_at']} by {record.started_by}; params: {params}",
              markup=False)  # fmt: skip
    if record.error:
        out.print(f"error: {record.error}", markup=False)
    for step in body["steps"]:
        took = "" if step["duration_s"] is None else f" in {step['duration_s']:.1f}s"
        code = "" if step["exit_code"] is None else f", exit {step['exit_code']}"
        out.print(f"{step['position']}. {step['name']} ({step['kind']}): "
                  f"{_styled(step['status'])}{code}{took}")  # fmt: skip
        if step["rendered"]:
            out.print(f"   $ {step['rendered']}", markup=False, highlight=False)
        for line in step["output"].splitlines()[-20:]:
            out.print(f"   │ {line}", markup=False, highlight=False)
        if step["error"]:
            out.print(f"   error: {step['error']}", markup=False)


@app.command()
def resume(
    run_id: RunId,
    yes: Annotated[bool, typer.Option("--yes", help="Allow dangerous steps.")] = False,
    as_: ActorOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Continue an interrupted or waiting run from its first unfinished step."""
    with _runner(config, db, live=True) as runner:
        record = asyncio.run(runner.resume(run_id, _actor(as_), yes))
        _summary(runner.store, record)
    raise typer.Exit(EXIT.get(record.status.value, 1))


@app.command()
def approve(
    run_id: RunId, as_: ActorOption = None, config: ConfigOption = None, db: DbOption = None
) -> None:
    """Approve the step a run waits at (an approval gate or a dangerous step)."""
    with _runner(config, db, live=False) as runner:
        step = runner.approve(run_id, _actor(as_))
    out.print(f"run #{run_id}: {step} approved by {_actor(as_)}; `opsbook runs resume {run_id}`")


@app.command()
def confirm(
    run_id: RunId, as_: ActorOption = None, config: ConfigOption = None, db: DbOption = None
) -> None:
    """Confirm the manual step a run waits at is done."""
    with _runner(config, db, live=False) as runner:
        step = runner.confirm(run_id, _actor(as_))
    out.print(f"run #{run_id}: {step} confirmed by {_actor(as_)}; `opsbook runs resume {run_id}`")


@app.command()
def abandon(
    run_id: RunId, as_: ActorOption = None, config: ConfigOption = None, db: DbOption = None
) -> None:
    """Give up a waiting or interrupted run (its lock is released)."""
    from opsbook.playbooks.records import RunStatus

    with _store(config, db) as (_, store):
        record = store.runs.get(run_id)
        if record is None:
            fail(f"no run #{run_id}", 3)
        if record.status not in (RunStatus.WAITING, RunStatus.INTERRUPTED):
            fail(f"run #{run_id} is {record.status.value}; only waiting or interrupted runs", 2)
        store.runs.set_status(
            run_id, RunStatus.ABANDONED, datetime.now(UTC), f"abandoned by {_actor(as_)}"
        )
    out.print(f"run #{run_id} abandoned")
    sys.stdout.flush()
