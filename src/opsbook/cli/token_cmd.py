"""`opsbook token create/list/revoke`: API tokens for the HTTP API."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from opsbook.cli.common import ConfigOption, DbOption, JsonOption, fail, load, open_store, out
from opsbook.cli.user_cmd import record

app = typer.Typer(help="API tokens: viewer (read), responder (act on incidents), admin.")


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="What uses it, e.g. grafana or alice-laptop.")],
    role: Annotated[str, typer.Option("--role", help="viewer, responder or admin.")] = "viewer",
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Create a token. It is printed once; only a hash of it is stored."""
    from opsbook.store.api_tokens import Role

    if role not in {r.value for r in Role}:
        fail(f"unknown role {role!r}; use viewer, responder or admin", 2)
    if not name.strip() or len(name) > 100:
        fail("a token name needs 1 to 100 characters", 2)
    loaded = load(config)
    with open_store(db, loaded) as store:
        token, secret = store.api_tokens.create(
            name.strip(), Role(role), getpass.getuser(), datetime.now(UTC)
        )
        record(store, "token.create", f"token:{token.id}", name=token.name, role=token.role.value)
    out.print(f"token {token.id} ({token.role.value}) for {token.name}; store it now, it is "
              "not shown again:")  # fmt: skip
    print(secret)


@app.command("list")
def list_tokens(
    config: ConfigOption = None, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """Tokens with their role and last use (never their secret)."""
    loaded = load(config)
    with open_store(db, loaded) as store:
        tokens = store.api_tokens.list()
    if as_json:
        rows = [
            {
                "id": t.id,
                "name": t.name,
                "role": t.role.value,
                "created_by": t.created_by,
                "created_at": t.created_at.isoformat(),
                "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
            }
            for t in tokens
        ]
        out.print_json(json.dumps(rows))
        return
    table = Table(title=f"{len(tokens)} API tokens", title_justify="left")
    for column in ("Id", "Name", "Role", "Created", "Last used", "Revoked"):
        table.add_column(column)
    for t in tokens:
        table.add_row(
            t.id,
            t.name,
            t.role.value,
            f"{t.created_at:%Y-%m-%d} by {t.created_by}",
            f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "-",
            f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "-",
        )
    out.print(table)


@app.command()
def revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (from `opsbook token list`).")],
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Revoke a token: requests with it get 401 from now on."""
    loaded = load(config)
    with open_store(db, loaded) as store:
        if not store.api_tokens.revoke(token_id, datetime.now(UTC)):
            fail(f"no live token {token_id!r}", 3)
        record(store, "token.revoke", f"token:{token_id}")
    out.print(f"token {token_id} revoked")
