"""`opsbook user add/list/passwd/disable` and `opsbook audit`: who may sign in to the
dashboard, and the record of what was done."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from opsbook.cli.common import ConfigOption, DbOption, JsonOption, fail, load, open_store, out

if TYPE_CHECKING:
    from opsbook.store import Store

app = typer.Typer(help="Local users who sign in to the dashboard: viewer, responder, admin.")

PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input."
    ),
]


def cli_actor() -> str:
    """How the audit log names a change made on this machine's command line."""
    return f"cli:{getpass.getuser()}"


def record(store: Store, action: str, target: str, **detail: Any) -> None:
    store.audit.record(cli_actor(), action, target, datetime.now(UTC), detail=detail)


def _password(from_stdin: bool) -> str:
    from opsbook.store.users import password_problem

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    problem = password_problem(password)
    if problem:
        fail(problem, 2)
    return password


@app.command()
def add(
    name: Annotated[str, typer.Argument(help="The name to sign in with, e.g. alice.")],
    role: Annotated[str, typer.Option("--role", help="viewer, responder or admin.")] = "viewer",
    password_stdin: PasswordStdin = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Add a user. The password (12 characters at least) is asked for twice."""
    from opsbook.errors import UsageError
    from opsbook.store.api_tokens import Role
    from opsbook.store.users import name_problem

    if role not in {r.value for r in Role}:
        fail(f"unknown role {role!r}; use viewer, responder or admin", 2)
    problem = name_problem(name)
    if problem:
        fail(problem, 2)
    loaded = load(config)
    password = _password(password_stdin)
    with open_store(db, loaded) as store:
        try:
            user = store.users.add(name, password, Role(role), datetime.now(UTC))
        except UsageError as exc:
            fail(str(exc), 3)
        record(store, "user.add", f"user:{user.name}", role=user.role.value)
    out.print(f"user {user.name} ({user.role.value}) added")


@app.command("list")
def list_users(
    config: ConfigOption = None, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """Users with their role, and when they were disabled."""
    loaded = load(config)
    with open_store(db, loaded) as store:
        users = store.users.list()
    if as_json:
        rows = [
            {
                "name": u.name,
                "role": u.role.value,
                "created_at": u.created_at.isoformat(),
                "disabled_at": u.disabled_at.isoformat() if u.disabled_at else None,
            }
            for u in users
        ]
        out.print_json(json.dumps(rows))
        return
    table = Table(title=f"{len(users)} users", title_justify="left")
    for column in ("Name", "Role", "Created", "Disabled"):
        table.add_column(column)
    for u in users:
        table.add_row(
            u.name,
            u.role.value,
            f"{u.created_at:%Y-%m-%d %H:%M}",
            f"{u.disabled_at:%Y-%m-%d %H:%M}" if u.disabled_at else "-",
        )
    out.print(table)


@app.command()
def passwd(
    name: Annotated[str, typer.Argument(help="The user whose password changes.")],
    password_stdin: PasswordStdin = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Set a new password; the user's browser sessions end."""
    loaded = load(config)
    with open_store(db, loaded) as store:
        if store.users.get(name) is None:
            fail(f"no user {name!r}", 3)
        if not store.users.set_password(name, _password(password_stdin)):
            fail(f"no user {name!r}", 3)
        record(store, "user.passwd", f"user:{name}")
    out.print(f"password of {name} changed; their sessions have ended")


@app.command()
def disable(
    name: Annotated[str, typer.Argument(help="The user who may no longer sign in.")],
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Disable a user: signing in is refused and their sessions end at once."""
    loaded = load(config)
    with open_store(db, loaded) as store:
        if not store.users.disable(name, datetime.now(UTC)):
            fail(f"no enabled user {name!r}", 3)
        record(store, "user.disable", f"user:{name}")
    out.print(f"user {name} disabled")


def audit(
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="Newest N.")] = 50,
    config: ConfigOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """The audit log, newest first: sign-ins, user and token changes, and every request
    that changed something through the API or the dashboard."""
    loaded = load(config)
    with open_store(db, loaded) as store:
        entries = store.audit.list(limit)
    if as_json:
        rows = [
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "target": e.target,
                "detail": e.detail,
                "ip": e.ip,
            }
            for e in entries
        ]
        out.print_json(json.dumps(rows))
        return
    table = Table(title=f"{len(entries)} audit entries, newest first", title_justify="left")
    for column in ("At (UTC)", "Actor", "Action", "Target", "Detail", "From"):
        table.add_column(column)
    for e in entries:
        detail = " ".join(f"{k}={v}" for k, v in e.detail.items())
        table.add_row(f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor, e.action, e.target, detail, e.ip or "-")
    out.print(table)
