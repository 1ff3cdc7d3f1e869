"""Shared CLI plumbing: option types, config loading with located errors, the store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from opsbook.errors import ConfigError, OpsbookError

if TYPE_CHECKING:  # loaded by the commands that need them, not by every start-up
    from opsbook.config.models import Config
    from opsbook.store import Store

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config file. Default: $OPSBOOK_CONFIG, else ./opsbook.yaml.",
        show_default=False,
    ),
]
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (postgresql://...). Default: $OPSBOOK_DB, else a SQLite file "
        "next to the config.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

EXIT_CONFIG = 2


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", markup=True)
    raise typer.Exit(code)


def print_config_error(error: ConfigError) -> None:
    for issue in error.issues:
        err.print(f"[red]{issue}[/]", markup=True)
    count = len(error.issues)
    err.print(f"{count} error{'s' if count != 1 else ''} in config", style="bold red")


def load(config: Path | None, exit_code: int = EXIT_CONFIG) -> Config:
    """Load the config or print every located error and exit with `exit_code`."""
    from opsbook.config.loader import find_config_path, load_config

    path = find_config_path(config)
    try:
        return load_config(path)
    except ConfigError as error:
        print_config_error(error)
        raise typer.Exit(exit_code) from None


def open_store(db: str | None, config: Config, exit_code: int = 1) -> Store:
    from opsbook.store import Store, resolve_url

    url = resolve_url(db, config.path)
    try:
        return Store.open(url)
    except OpsbookError as exc:
        fail(config.redactor(str(exc)), exit_code)
    except Exception as exc:  # driver errors: say what failed, without the password
        fail(f"cannot open the store: {config.redactor(str(exc).splitlines()[0])}", exit_code)
