"""`opsbook test rules FILE...`: run alert-rule unit tests (promtool style) offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from opsbook.cli.common import EXIT_CONFIG, err, out
from opsbook.errors import ConfigError
from opsbook.rules.testing import case_title, format_mismatch, load_rules_tests, run_tests

app = typer.Typer(
    help="Test the config offline against made-up data.",
    no_args_is_help=True,
    add_completion=False,
)

EXIT_FAILED = 1


def _run_file(path: Path) -> tuple[int, int] | None:
    """(cases run, cases failed) for one file; None when the file cannot be used."""
    try:
        loaded = load_rules_tests(path)
    except ConfigError as error:
        for issue in error.issues:
            err.print(str(issue), style="red", markup=False, highlight=False)
        return None
    results = run_tests(loaded)
    for result in results:
        if result.passed:
            line = Text.assemble(("PASS ", "bold green"), f"{path}: {case_title(result)}")
            out.print(line)
            continue
        out.print(Text.assemble(("FAIL ", "bold red"), f"{path}: {case_title(result)}"))
        for mismatch in result.mismatches:
            for text in format_mismatch(mismatch):
                out.print(text, markup=False, highlight=False)
    return len(results), sum(not r.passed for r in results)


@app.command()
def rules(
    files: Annotated[list[Path], typer.Argument(help="Rule test files (YAML).")],
) -> None:
    """Unit-test alert rules (promtool's format); exit 0 pass, 1 failed, 2 malformed.

    Replays each test file's input series through its config's rules and compares the
    firing alerts with the expected ones. See docs/rules.md.
    """
    malformed = False
    total = failed = 0
    for path in files:
        counts = _run_file(path)
        if counts is None:
            malformed = True
            continue
        total += counts[0]
        failed += counts[1]
    summary = f"{total} test{'s' if total != 1 else ''}, {failed} failed"
    if malformed:
        err.print(f"{summary}; some test files could not be used", style="bold red")
        raise typer.Exit(EXIT_CONFIG)
    err.print(summary, style="bold red" if failed else "bold green")
    raise typer.Exit(EXIT_FAILED if failed else 0)
