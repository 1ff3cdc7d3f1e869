"""The `opsbook` command line: thin wrappers over the domain packages."""

from __future__ import annotations

import typer

from opsbook.cli import (
    alerts_cmd,
    check_cmd,
    config_cmds,
    demo_cmd,
    import_cmd,
    incident_cmd,
    notify_cmd,
    oncall_cmd,
    run_cmd,
    serve_cmd,
    test_cmd,
    token_cmd,
    user_cmd,
)

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
app.command()(demo_cmd.demo)
app.command()(serve_cmd.serve)
app.command()(alerts_cmd.alerts)
app.add_typer(alerts_cmd.silence_app, name="silence")
app.add_typer(test_cmd.app, name="test")
app.add_typer(notify_cmd.app, name="notify")
app.add_typer(incident_cmd.app, name="incident")
app.command("ack")(incident_cmd.ack)
app.command("resolve")(incident_cmd.resolve)
app.add_typer(token_cmd.app, name="token")
app.add_typer(user_cmd.app, name="user")
app.command("audit")(user_cmd.audit)
app.add_typer(oncall_cmd.app, name="oncall")
app.command("run")(run_cmd.run)
app.command("import")(import_cmd.import_runbook)
app.add_typer(run_cmd.app, name="runs")


def main() -> None:
    app()
