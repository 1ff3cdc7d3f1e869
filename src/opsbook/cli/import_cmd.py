"""`opsbook import RUNBOOK.md`: a Markdown runbook as playbooks for opsbook.yaml."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from opsbook.cli.common import err, fail, out


def import_runbook(
    runbook: Annotated[Path, typer.Argument(help="The Markdown runbook to read.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the YAML here (default: standard output)."),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Write the report here as JSON (default: text on stderr)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite --output if it exists.")
    ] = False,
) -> None:
    """Turn a Markdown runbook into playbooks (a `playbooks:` fragment for opsbook.yaml)
    and report what was mapped and what is left for a person."""
    from opsbook.playbooks.importer import RunbookTooLargeError, import_runbook
    from opsbook.playbooks.importer.emit import problems

    try:
        data = runbook.read_bytes()
    except OSError as exc:
        fail(f"cannot read {runbook}: {exc.strerror or exc}")
    if output is not None and output.exists() and not force:
        fail(f"{output} exists; use --force to overwrite it")
    try:
        result = import_runbook(data, runbook.name)
    except RunbookTooLargeError as exc:
        fail(str(exc))
    issues = problems(result.document)
    if issues:
        for issue in issues:
            err.print(issue, markup=False)
        fail("the imported playbooks do not load as config; nothing was written")
    text = result.yaml
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
    totals = result.report.totals()
    if report is not None:
        report.write_text(result.report.to_json(), encoding="utf-8")
        err.print(
            f"{runbook.name}: {totals['playbooks']} playbooks, {totals['steps']} steps; "
            f"report in {report}",
            markup=False,
        )
    else:
        err.print(result.report.render(), markup=False, end="")
    if output is not None:
        out.print(f"wrote {output}", markup=False)
