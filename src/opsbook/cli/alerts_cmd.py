"""`opsbook alerts` and `opsbook silence add/list/expire`."""

from __future__ import annotations

import getpass
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from opsbook.alerts.matchers import parse_matcher
from opsbook.alerts.model import AlertState
from opsbook.alerts.silences import Silence
from opsbook.cli.common import ConfigOption, DbOption, JsonOption, fail, load, open_store, out
from opsbook.config.types import format_duration, parse_duration

STATE_STYLE = {"firing": "bold red", "pending": "yellow", "resolved": "green", "inactive": "dim"}


def _stamp(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


def alerts(
    config: ConfigOption = None,
    db: DbOption = None,
    state: Annotated[
        list[str] | None,
        typer.Option("--state", "-s", help="firing, pending, resolved (repeatable). Default: all."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List alerts with their state, value and why they are muted (silence, maintenance,
    inhibition). Muted alerts are still evaluated and listed; they are just not notified."""
    states = state or []
    for name in states:
        if name not in {s.value for s in AlertState}:
            fail(f"unknown state {name!r}; use firing, pending, resolved or inactive")
    loaded = load(config)
    with open_store(db, loaded) as store:
        rows = store.alerts.browse(states)
    if as_json:
        out.print_json(json.dumps([{**a.to_json(), "muted": muted} for a, muted in rows]))
        return
    table = Table(title=f"{len(rows)} alerts", title_justify="left")
    for column in ("State", "Alert", "Severity", "Service", "Value", "Since", "Notified"):
        table.add_column(column, no_wrap=column != "Notified")
    for alert, muted in rows:
        since = alert.fired_at if alert.state is AlertState.FIRING else alert.active_since
        value = "-" if alert.value is None else f"{alert.value:g}"
        table.add_row(
            f"[{STATE_STYLE[alert.state.value]}]{alert.state.value}[/]",
            alert.labels.get("alertname", alert.rule) + (" (flapping)" if alert.flapping else ""),
            alert.severity or "-",
            alert.service or "-",
            value,
            _stamp(since or alert.resolved_at),
            muted or "yes",
        )
    out.print(table)


silence_app = typer.Typer(help="Mute notifications for alerts matching label matchers.")


@silence_app.command("add")
def silence_add(
    matchers: Annotated[
        list[str], typer.Argument(help='Label matchers: service="api" severity=~"P2|P3"')
    ],
    duration: Annotated[str, typer.Option("--duration", "-d", help="How long, e.g. 2h.")] = "1h",
    comment: Annotated[str, typer.Option("--comment", "-m", help="Why (required).")] = "",
    author: Annotated[str | None, typer.Option("--author", help="Default: your user.")] = None,
    starts: Annotated[
        str | None, typer.Option("--starts", help="ISO time to start (default: now).")
    ] = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Create a silence. Matching alerts are still evaluated and listed, not notified."""
    try:
        parsed = tuple(parse_matcher(m) for m in matchers)
        length = parse_duration(duration)
        start = datetime.fromisoformat(starts) if starts else datetime.now(UTC)
    except ValueError as exc:
        fail(str(exc))
    if start.tzinfo is None:
        fail("--starts needs a timezone, e.g. 2026-12-01T02:00:00Z")
    if not comment.strip():
        fail("a silence needs --comment saying why (it is shown to whoever gets paged next)")
    if length.total_seconds() <= 0:
        fail("--duration must be positive")
    loaded = load(config)
    silence = Silence(
        id=str(uuid.uuid4()),
        matchers=parsed,
        starts_at=start,
        ends_at=start + length,
        created_by=author or getpass.getuser(),
        comment=comment.strip(),
    )
    with open_store(db, loaded) as store:
        store.silences.add(silence, datetime.now(UTC))
    out.print(
        f"silence {silence.id} until {_stamp(silence.ends_at)} ({format_duration(length)}): "
        + " ".join(str(m) for m in parsed)
    )


@silence_app.command("list")
def silence_list(
    config: ConfigOption = None,
    db: DbOption = None,
    expired: Annotated[bool, typer.Option("--expired", help="Include expired ones.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List silences (running and pending; --expired for all)."""
    loaded = load(config)
    now = datetime.now(UTC)
    with open_store(db, loaded) as store:
        found = store.silences.browse(None if expired else now)
    if as_json:
        out.print_json(
            json.dumps(
                [
                    {
                        "id": s.id,
                        "matchers": [str(m) for m in s.matchers],
                        "starts_at": s.starts_at.isoformat(),
                        "ends_at": s.ends_at.isoformat(),
                        "created_by": s.created_by,
                        "comment": s.comment,
                        "status": s.status_at(now),
                    }
                    for s in found
                ]
            )
        )
        return
    table = Table(title=f"{len(found)} silences", title_justify="left")
    for column in ("ID", "Status", "Matchers", "Ends", "By", "Comment"):
        table.add_column(column)
    for s in found:
        table.add_row(
            s.id,
            s.status_at(now),
            " ".join(str(m) for m in s.matchers),
            _stamp(s.ends_at),
            s.created_by,
            s.comment,
        )
    out.print(table)


@silence_app.command("expire")
def silence_expire(
    silence_id: Annotated[str, typer.Argument(help="The silence ID (from `silence list`).")],
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """End a silence now."""
    loaded = load(config)
    with open_store(db, loaded) as store:
        if not store.silences.expire(silence_id, datetime.now(UTC)):
            fail(f"no running silence {silence_id!r}")
    out.print(f"silence {silence_id} expired")
