"""`shell`: run a program as a step, e.g. the review-engine's ``systemctl restart
review-engine`` or ``kubectl rollout undo deployment/review-engine``.

A template fills exactly one argv item and is never split or re-read by a shell, so a
parameter such as ``x; rm -rf /`` reaches the program as that text. A `script` is shell
code, so it takes no templates at all: parameters reach it as ``$OPSBOOK_PARAM_<NAME>``
environment variables, which the shell expands as data.

The program runs in a process group of its own; on timeout or cancellation the whole
group is killed, and whatever it leaves behind after exiting is killed too. Output is read
as it arrives (each line goes to `ctx.on_output`) and only the first 64 KiB is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator, model_validator

from opsbook.config.base import Section
from opsbook.config.redact import Redactor
from opsbook.config.types import format_duration
from opsbook.playbooks.steps.base import (
    MAX_OUTPUT,
    StepContext,
    StepKind,
    StepResult,
    StepStatus,
    clip,
)
from opsbook.playbooks.steps.expect import (
    ITEM_MAP_SCHEMA,
    ITEMS_SCHEMA,
    SaveMap,
    TextExpect,
    extract_vars,
    text_item,
)
from opsbook.playbooks.templating import (
    TemplateError,
    TemplateText,
    forbid_template,
    has_template,
)
from opsbook.subprocesses import (
    SHELL,
    check_argv_or_script,
    check_env,
    kill_group,
    wait_at_most,
)

DEFAULT_TIMEOUT = timedelta(minutes=5)
# After the program exits (and its leftovers are killed), how long the pipes may take to
# deliver what is still buffered; only a process that left the group can hold them open.
PIPE_DRAIN_S = 1.0
REAP_S = 5.0
_RESERVED_ENV = ("OPSBOOK_PARAM_", "OPSBOOK_VAR_", "OPSBOOK_ALERT_")


def _argv_list(value: object) -> object:
    if isinstance(value, str):
        raise ValueError(
            "argv is a list with one item per argument, e.g. [systemctl, restart, "
            "review-engine]; a single string is never split (shell syntax needs "
            "shell: true and script)"
        )
    if isinstance(value, list):
        return [text_item(item, f"argument {i}") for i, item in enumerate(value)]
    return value


def _env_map(value: object) -> object:
    if isinstance(value, dict):
        return {key: text_item(item, f"env {key}") for key, item in value.items()}
    return value


class ShellConfig(Section):
    argv: Annotated[list[TemplateText], BeforeValidator(_argv_list), ITEMS_SCHEMA] | None = Field(
        default=None,
        min_length=1,
        description="Program and arguments, one item each; a template fills one item.",
    )
    shell: bool = Field(default=False, description="Allow `script` (run by /bin/sh -c).")
    script: str | None = Field(
        default=None,
        min_length=1,
        description="Shell text for /bin/sh -c; needs shell: true; no templates "
        "(read $OPSBOOK_PARAM_<NAME> instead).",
    )
    cwd: str | None = Field(
        default=None, description="Working directory, relative to the config file's directory."
    )
    env: Annotated[dict[str, TemplateText], BeforeValidator(_env_map), ITEM_MAP_SCHEMA] = Field(
        default_factory=dict, description="Extra environment variables (templates allowed)."
    )
    expect_exit: list[Annotated[int, Field(ge=0, le=255)]] = Field(
        default_factory=lambda: [0], min_length=1, description="Exit codes that mean success."
    )
    expect: TextExpect | None = Field(
        default=None, description="What stdout must show: contains, regex, json."
    )
    save: SaveMap = Field(
        default_factory=dict,
        description="Variables for later steps: NAME: '$.json.path' or 'regex (with) one group'.",
    )

    @field_validator("argv")
    @classmethod
    def _program_is_fixed(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if not value[0]:
                raise ValueError("the program (first item) is empty")
            if has_template(value[0]):
                raise ValueError(
                    "the program (first item) cannot be a template: a parameter must not "
                    "choose what runs; use separate steps with `when:` instead"
                )
            for index, item in enumerate(value):
                if "\0" in item:
                    raise ValueError(f"argument {index} contains a NUL byte")
        return value

    @field_validator("script")
    @classmethod
    def _no_templates(cls, value: str | None) -> str | None:
        if value is not None:
            forbid_template(
                value,
                "script",
                'read parameters as "$OPSBOOK_PARAM_<NAME>" and saved variables as '
                '"$OPSBOOK_VAR_<NAME>" (environment variables, always double-quoted), or '
                "use argv, where a template fills exactly one argument",
            )
            if "\0" in value:
                raise ValueError("script contains a NUL byte")
        return value

    @field_validator("cwd")
    @classmethod
    def _fixed_cwd(cls, value: str | None) -> str | None:
        if value is not None:
            forbid_template(value, "cwd", "give a fixed directory")
            if "\0" in value:
                raise ValueError("cwd contains a NUL byte")
        return value

    @field_validator("env")
    @classmethod
    def _valid_env(cls, value: dict[str, str]) -> dict[str, str]:
        return check_env(value, _RESERVED_ENV)

    @model_validator(mode="after")
    def _argv_or_script(self) -> ShellConfig:
        check_argv_or_script(self.argv, self.script, self.shell, "a shell step")
        return self


def _command(spec: ShellConfig, ctx: StepContext) -> list[str]:
    if spec.script is not None:
        return [SHELL, "-c", spec.script]
    assert spec.argv is not None  # guaranteed by the validator
    return [ctx.render(item) for item in spec.argv]


def _cwd(spec: ShellConfig, ctx: StepContext) -> Path:
    if spec.cwd is None:
        return ctx.config.base_dir
    path = Path(spec.cwd).expanduser()
    return path if path.is_absolute() else ctx.config.base_dir / path


def _mentions(script: str, name: str) -> bool:
    return re.search(rf"\$\{{?{re.escape(name)}(?![A-Za-z0-9_])", script) is not None


def describe(spec: ShellConfig, ctx: StepContext) -> str:
    parts = [f"cd {shlex.quote(str(_cwd(spec, ctx)))} &&"] if spec.cwd is not None else []
    given = {k: ctx.render(v) for k, v in spec.env.items()}
    if spec.script is not None:  # the values the script will read, as it will see them
        given |= {k: v for k, v in ctx.env.items() if _mentions(spec.script, k)}
    parts += [f"{k}={shlex.quote(v)}" for k, v in given.items()]
    parts.append(shlex.join(_command(spec, ctx)))
    return ctx.redactor(" ".join(parts))


class _Transcript:
    """The lines of a run as they arrive: redacted, streamed, and kept up to the cap.

    stdout is also kept raw (up to the cap) for `expect` and `save`.
    """

    def __init__(self, redactor: Redactor, on_output: Callable[[str], None]) -> None:
        self._redactor = redactor
        self._on_output = on_output
        self._lines: list[str] = []
        self._size = 0
        self._dropped = 0
        self.stdout = bytearray()

    def add(self, fd: int, raw: bytes) -> None:
        if fd == 1 and len(self.stdout) < MAX_OUTPUT:
            self.stdout += raw[: MAX_OUTPUT - len(self.stdout)] + b"\n"
        line = self._redactor(raw.decode("utf-8", errors="replace").rstrip("\r"))
        self._on_output(line)
        if self._size + len(line) + 1 <= MAX_OUTPUT:
            self._lines.append(line)
            self._size += len(line) + 1
        else:
            self._dropped += len(line) + 1

    def text(self) -> str:
        text = "\n".join(self._lines)
        if self._dropped:
            text += f"\n[… {self._dropped} more characters not kept]"
        return text


class _Pipes(asyncio.SubprocessProtocol):
    """Splits both pipes into lines as data arrives; notes exit and pipe close apart (a
    leftover grandchild may hold the pipes open after the program exits)."""

    def __init__(self, transcript: _Transcript, loop: asyncio.AbstractEventLoop) -> None:
        self._transcript = transcript
        self._pending = {1: bytearray(), 2: bytearray()}
        self._open = 2
        self.exited: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        pending = self._pending[fd]
        pending += data.encode() if isinstance(data, str) else data
        while (end := pending.find(b"\n")) >= 0:
            self._transcript.add(fd, bytes(pending[:end]))
            del pending[: end + 1]
        while len(pending) >= MAX_OUTPUT:  # one endless line: never buffer without bound
            self._transcript.add(fd, bytes(pending[:MAX_OUTPUT]))
            del pending[:MAX_OUTPUT]

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if self._pending[fd]:
            self._transcript.add(fd, bytes(self._pending[fd]))
            self._pending[fd].clear()
        self._open -= 1
        if self._open <= 0 and not self.closed.done():
            self.closed.set_result(None)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)


async def _execute(
    argv: list[str], cwd: Path, env: dict[str, str], transcript: _Transcript, limit: float
) -> int | None:
    """The exit code (negative: killed by that signal), or None on timeout."""
    loop = asyncio.get_running_loop()
    transport, pipes = await loop.subprocess_exec(
        lambda: _Pipes(transcript, loop),
        *argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=env,
        start_new_session=True,  # its own process group, killed as a whole
    )
    pgid = transport.get_pid()
    timed_out = False
    try:
        try:
            async with asyncio.timeout(limit):
                await asyncio.shield(pipes.exited)  # the future outlives the timeout
        except TimeoutError:
            timed_out = True
        # Leftovers keep the group id alive; with nothing left this kill finds no one.
        kill_group(pgid)
        await wait_at_most(pipes.exited, REAP_S)
        await wait_at_most(pipes.closed, PIPE_DRAIN_S)
    except BaseException:  # cancellation: nothing of the group may survive
        kill_group(pgid)
        with contextlib.suppress(asyncio.CancelledError):
            await wait_at_most(pipes.exited, REAP_S)
        raise
    finally:
        transport.close()
    return None if timed_out else transport.get_returncode()


def _exit_text(code: int) -> str:
    if code >= 0:
        return f"exit {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def _failed(summary: str, output: str = "", code: int | None = None) -> StepResult:
    return StepResult(StepStatus.FAILED, summary, output, code, error=summary)


async def run(spec: ShellConfig, ctx: StepContext) -> StepResult:
    try:
        argv = _command(spec, ctx)
        extra = {k: ctx.render(v) for k, v in spec.env.items()}
    except TemplateError as exc:
        return _failed(str(exc))
    bad = [f"argument {i}" for i, item in enumerate(argv) if "\0" in item]
    bad += [f"env {k}" for k, v in extra.items() if "\0" in v]
    if bad:
        return _failed(f"a rendered value contains a NUL byte: {bad[0]}")
    cwd = _cwd(spec, ctx)
    if not cwd.is_dir():
        return _failed(f"working directory {cwd} does not exist")
    transcript = _Transcript(ctx.redactor, ctx.on_output)
    started = time.monotonic()
    try:
        code = await _execute(
            argv, cwd, {**os.environ, **ctx.env, **extra}, transcript, ctx.timeout.total_seconds()
        )
    except FileNotFoundError:
        return _failed(f"command not found: {argv[0]}")
    except PermissionError:
        return _failed(f"command not executable: {argv[0]} (permission denied)")
    except OSError as exc:
        return _failed(f"cannot run {argv[0]}: {exc.strerror or exc}")
    elapsed = time.monotonic() - started
    output = clip(transcript.text())
    if code is None:
        return _failed(
            f"timed out after {format_duration(ctx.timeout)}; the process group was killed",
            output,
        )
    return _judge(spec, ctx, code, elapsed, output, bytes(transcript.stdout))


def _judge(
    spec: ShellConfig, ctx: StepContext, code: int, elapsed: float, output: str, stdout: bytes
) -> StepResult:
    summary = f"{_exit_text(code)} after {elapsed:.2f}s"
    problems: list[str] = []
    if code not in spec.expect_exit:
        allowed = ", ".join(str(c) for c in spec.expect_exit)
        problems.append(f"expected exit {allowed}")
    text = stdout.decode("utf-8", errors="replace")
    if not problems and spec.expect is not None:
        try:
            problems += spec.expect.failures(text, ctx.render)
        except TemplateError as exc:
            problems.append(str(exc))
    saved: dict[str, Any] = {}
    if not problems and spec.save:
        saved, missing = extract_vars(spec.save, text)
        problems += missing
    if problems:
        reason = ctx.redactor(f"{summary}: {'; '.join(problems)}")
        return _failed(reason, output, code)
    return StepResult(StepStatus.OK, summary, output, code, vars=saved)


def _default_timeout(_spec: ShellConfig) -> timedelta:
    return DEFAULT_TIMEOUT


KIND = StepKind(
    "shell",
    ShellConfig,
    run,
    describe,
    "Run a program (argv) or a /bin/sh script; check exit code and output.",
    default_timeout=_default_timeout,
)
