"""The `opsbook` command line: thin wrappers over the domain packages."""

from __future__ import annotations

import typer

from opsbook.cli import check_cmd, config_cmds

app = typer.Typer(
    name="opsbook",
    help="Runbooks that run: checks, alerts, escalation, playbooks and postmortems.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(config_cmds.validate)
app.command()(config_cmds.schema)
app.command()(config_cmds.init)
app.command()(check_cmd.check)


def main() -> None:
    app()
