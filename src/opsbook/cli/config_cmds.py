"""`opsbook validate`, `opsbook schema`, `opsbook init`."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer

from opsbook.cli.common import ConfigOption, err, fail, load, out


def validate(
    file: Annotated[
        Path | None, typer.Argument(help="Config file (overrides -c).", show_default=False)
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Check a config file; print every error with file:line:column and key path (exit 2)."""
    from opsbook.config.loader import find_config_path  # with every kind: not at start-up

    loaded = load(file or config)
    path = find_config_path(file or config)
    counts = {
        ("service", "services"): len(loaded.services),
        ("check", "checks"): len(loaded.checks),
        ("severity", "severities"): len(loaded.severities),
        ("rule", "rules"): len(loaded.rules),
        ("receiver", "receivers"): len(loaded.receivers),
        ("maintenance window", "maintenance windows"): len(loaded.maintenance),
    }
    optional = {  # named only when present, so a small config gets a short line
        ("person", "people"): len(loaded.people),
        ("schedule", "schedules"): len(loaded.schedules),
        ("escalation policy", "escalation policies"): len(loaded.escalation_policies),
        ("integration", "integrations"): len(loaded.integrations),
        ("heartbeat", "heartbeats"): len(loaded.heartbeats),
        ("playbook", "playbooks"): len(loaded.playbooks),
        ("connection", "connections"): len(loaded.connections),
    }
    counts.update({names: n for names, n in optional.items() if n})
    summary = ", ".join(f"{n} {names[n != 1]}" for names, n in counts.items())
    out.print(f"{path}: OK ({summary})", markup=False)


def schema() -> None:
    """Print the JSON Schema of opsbook.yaml (point your editor's YAML plugin at it)."""
    from opsbook.config.schema import config_json_schema

    out.print_json(json.dumps(config_json_schema()), indent=2)


def init(
    path: Annotated[Path, typer.Argument(help="Where to write the file.")] = Path("opsbook.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter opsbook.yaml for a web app on PostgreSQL and Redis."""
    if path.exists() and not force:
        fail(f"{path} exists; use --force to overwrite it")
    starter = files("opsbook.cli").joinpath("starter.yaml").read_text(encoding="utf-8")
    path.write_text(starter, encoding="utf-8")
    err.print(f"wrote {path}; edit it, then run: opsbook validate {path}")
