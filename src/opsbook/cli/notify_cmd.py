"""`opsbook notify test RECEIVER`: send a test notification through a receiver now."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.text import Text

from opsbook.cli.common import EXIT_CONFIG, ConfigOption, err, fail, load, out
from opsbook.config.semantics import unknown_message
from opsbook.notify.deliver import redactor_for, send_one
from opsbook.notify.model import make_test_notification
from opsbook.notify.templates import TemplateSettings

app = typer.Typer(
    help="Notifications: try receivers.",
    no_args_is_help=True,
    add_completion=False,
)

EXIT_FAILED = 1


@app.command()
def test(
    receiver: Annotated[str, typer.Argument(help="Name of a receiver in the config.")],
    config: ConfigOption = None,
) -> None:
    """Send a test notification through RECEIVER right now (not through the outbox) and
    print whether it was accepted, or the exact failure. Exit 0: accepted; 1: the
    delivery failed; 2: the config is invalid or has no such receiver."""
    cfg = load(config)
    names = [r.name for r in cfg.receivers]
    found = next((r for r in cfg.receivers if r.name == receiver), None)
    if found is None:
        fail(unknown_message("receiver", receiver, names), EXIT_CONFIG)
    notification = make_test_notification(found.name, datetime.now(UTC))
    redactor = redactor_for(cfg.receivers, cfg.redactor)
    outcome = asyncio.run(
        send_one(found, notification, redactor, TemplateSettings.from_config(cfg))
    )
    ms = outcome.duration.total_seconds() * 1000
    where = f"{found.name!r} ({found.channel_name})"
    if outcome.ok:
        out.print(
            Text.assemble(("OK ", "bold green"), f"test notification accepted by {where} "),
            Text(f"in {ms:.0f} ms"),
        )
        return
    kind = "temporary: a retry could succeed" if outcome.retryable else "permanent"
    err.print(
        Text.assemble(("FAILED ", "bold red"), f"test notification to {where} after {ms:.0f} ms"),
    )
    err.print(Text(f"{outcome.error} ({kind})"), highlight=False)
    raise typer.Exit(EXIT_FAILED)
