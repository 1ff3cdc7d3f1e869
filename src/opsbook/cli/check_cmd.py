"""`opsbook check`: the morning health check, as a table, JSON, and a Nagios exit code."""

from __future__ import annotations

import asyncio
import difflib
import json
import time
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from opsbook.checks.runner import DEFAULT_CONCURRENCY
from opsbook.cli.common import ConfigOption, DbOption, JsonOption, err, fail, load, open_store, out
from opsbook.status import Status, worst

if TYPE_CHECKING:  # the probes and their libraries load when checks run, not at start-up
    from opsbook.checks.base import CheckResult
    from opsbook.checks.spec import CheckBase
    from opsbook.config.models import Config

# Nagios convention: a check that cannot even start is UNKNOWN, not CRITICAL.
EXIT_UNKNOWN = int(Status.UNKNOWN)
STATUS_STYLE = {
    Status.OK: "bold green",
    Status.WARNING: "bold yellow",
    Status.CRITICAL: "bold red",
    Status.UNKNOWN: "bold magenta",
}
KEY_SAMPLES = 3


def select_checks(config: Config, names: Sequence[str], service: str | None) -> list[CheckBase]:
    """Named checks (even disabled ones), else every enabled check; optionally one service."""
    by_name = {c.name: c for c in config.checks}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, list(by_name), n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        fail(f"unknown check {', '.join(hints)}", EXIT_UNKNOWN)
    if service is not None and config.service(service) is None:
        fail(f"unknown service {service!r}", EXIT_UNKNOWN)
    chosen = [by_name[n] for n in names] if names else [c for c in config.checks if c.enabled]
    if service is not None:
        chosen = [c for c in chosen if c.service == service]
    return chosen


def _format_sample(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def key_samples(result: CheckResult, check: CheckBase) -> str:
    """The samples worth a glance: thresholded ones first, then the kind's order."""
    watched = list(check.effective_thresholds())
    names = [n for n in watched if n in result.samples]
    names += [n for n in result.samples if n not in names]
    return "  ".join(f"{n}={_format_sample(result.samples[n])}" for n in names[:KEY_SAMPLES])


def summary_line(results: Sequence[CheckResult], elapsed: float) -> str:
    counts = Counter(r.status for r in results)
    parts = [f"{counts[s]} {s.label}" for s in Status if counts[s]]
    overall = worst(r.status for r in results).name
    return f"{overall}: {len(results)} checks, {', '.join(parts) or 'none run'} in {elapsed:.2f}s"


def render_table(config: Config, results: Sequence[CheckResult]) -> Table:
    checks = {c.name: c for c in config.checks}
    table = Table(title=f"{config.project.name} health check", title_justify="left")
    table.add_column("Service", no_wrap=True)
    table.add_column("Check", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Message", overflow="fold", ratio=3)
    table.add_column("Samples", overflow="fold", ratio=2)
    table.add_column("Time", justify="right", no_wrap=True)
    order = {s.name: i for i, s in enumerate(config.services)}
    grouped = sorted(results, key=lambda r: (order.get(r.service or "", len(order)), r.check))
    previous: str | None = None
    for result in grouped:
        service = result.service or "-"
        if previous is not None and service != previous:
            table.add_section()
        table.add_row(
            service if service != previous else "",
            result.check,
            Text(result.status.name, style=STATUS_STYLE[result.status]),
            result.message,
            key_samples(result, checks[result.check]),
            f"{result.duration_s * 1000:.0f} ms",
        )
        previous = service
    return table


async def _run(
    config: Config, checks: list[CheckBase], db: str | None, concurrency: int, store_results: bool
) -> list[CheckResult]:
    from opsbook.checks.context import ProbeContext
    from opsbook.checks.runner import run_checks

    store = open_store(db, config, EXIT_UNKNOWN) if store_results else None
    try:
        state = store.probe_state if store else None
        async with ProbeContext(config.base_dir, config.redactor, state) as ctx:
            results = await run_checks(checks, ctx, concurrency)
        if store is not None:
            await asyncio.to_thread(store.results.record, results)
        return results
    finally:
        if store is not None:
            store.close()


def check(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Checks to run (default: all enabled).", show_default=False),
    ] = None,
    config: ConfigOption = None,
    db: DbOption = None,
    service: Annotated[
        str | None, typer.Option("--service", "-s", help="Only this service's checks.")
    ] = None,
    as_json: JsonOption = False,
    concurrency: Annotated[
        int, typer.Option(min=1, max=10_000, help="Checks run at once.")
    ] = DEFAULT_CONCURRENCY,
    store_results: Annotated[
        bool, typer.Option("--store/--no-store", help="Record results in the store.")
    ] = True,
) -> None:
    """Run checks now and print the health report. Exit code: the worst status (0/1/2/3)."""
    loaded = load(config, EXIT_UNKNOWN)
    chosen = select_checks(loaded, names or [], service)
    if not chosen:
        fail("no checks to run", EXIT_UNKNOWN)
    started = time.perf_counter()
    results = asyncio.run(_run(loaded, chosen, db, concurrency, store_results))
    elapsed = time.perf_counter() - started
    overall = worst(r.status for r in results)
    if as_json:
        document = {
            "project": loaded.project.name,
            "status": overall.label,
            "exit_code": int(overall),
            "elapsed_s": round(elapsed, 3),
            "results": [r.to_json() for r in results],
        }
        # Plain json.dumps: Rich's print_json re-parses and highlights, which takes
        # seconds for a thousand results; the bytes printed to a pipe are the same.
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        out.print(render_table(loaded, results))
        style = STATUS_STYLE[overall]
        err.print(Text(summary_line(results, elapsed), style=style))
    raise typer.Exit(int(overall))
