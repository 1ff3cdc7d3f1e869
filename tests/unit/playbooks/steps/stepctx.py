"""Build step configs and the context a runner gives a step, as the runner builds them."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opsbook.config.base import Section
from opsbook.config.loader import load_config, load_config_text
from opsbook.config.models import Config
from opsbook.playbooks.params import as_text
from opsbook.playbooks.runner import env_name
from opsbook.playbooks.steps import STEP_KINDS
from opsbook.playbooks.steps.base import StepContext, StepResult

HEAD = "project:\n  name: review-engine\n"


def config(body: str = "", environ: Mapping[str, str] | None = None) -> Config:
    return load_config_text(HEAD + textwrap.dedent(body), environ=dict(environ or {}))


def config_file(
    directory: Path, body: str = "", environ: Mapping[str, str] | None = None
) -> Config:
    """A config loaded from a file, so relative paths resolve against `directory`."""
    path = directory / "opsbook.yaml"
    path.write_text(HEAD + textwrap.dedent(body))
    return load_config(path, environ=dict(environ or {}))


def spec(kind: str, block: Mapping[str, Any]) -> Section:
    parsed: Section = STEP_KINDS[kind].config_model.model_validate(block)
    return parsed


def context(
    cfg: Config | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    vars: Mapping[str, Any] | None = None,
    alert: Mapping[str, Any] | None = None,
    timeout: timedelta = timedelta(seconds=30),
    lines: list[str] | None = None,
) -> StepContext:
    cfg = cfg if cfg is not None else config()
    values: dict[str, Any] = {
        "params": dict(params or {}),
        "vars": dict(vars or {}),
        "steps": {},
        "alert": dict(alert or {}),
    }
    env = {env_name("PARAM", k): as_text(v) for k, v in values["params"].items()}
    env |= {env_name("VAR", k): str(v) for k, v in values["vars"].items()}
    ctx = StepContext(
        config=cfg,
        values=values,
        env=env,
        redactor=cfg.redactor,
        clock=lambda: datetime.now(UTC),
        timeout=timeout,
    )
    if lines is not None:
        ctx.on_output = lines.append
    return ctx


def describe(kind: str, block: Mapping[str, Any], ctx: StepContext | None = None) -> str:
    return STEP_KINDS[kind].describe(spec(kind, block), ctx or context())


async def run(kind: str, block: Mapping[str, Any], ctx: StepContext | None = None) -> StepResult:
    return await STEP_KINDS[kind].run(spec(kind, block), ctx or context())
