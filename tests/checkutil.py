"""Build checks from plain dicts and run them, as the CLI would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opsbook.checks.base import CheckResult
from opsbook.checks.context import ProbeContext
from opsbook.checks.runner import run_check
from opsbook.checks.spec import Check, CheckBase


def make_check(kind: str, spec: dict[str, Any], **fields: Any) -> CheckBase:
    return Check.model_validate({"name": fields.pop("name", "probe"), kind: spec, **fields})


async def run(
    kind: str, spec: dict[str, Any], ctx: ProbeContext | None = None, **fields: Any
) -> CheckResult:
    check = make_check(kind, spec, **fields)
    if ctx is not None:
        return await run_check(check, ctx)
    async with ProbeContext(Path.cwd()) as own:
        return await run_check(check, own)
