"""`command`: run a program and read it as a Nagios plugin (exit code, text, perfdata).

This makes every Nagios / monitoring-plugins check usable as is (``check_disk``,
``check_tcp``, ``check_procs``, in-house scripts), and covers the runbooks' shell one-liners
that have no dedicated kind. Exit 0/1/2/3 mean ok/warning/critical/unknown; the first line
is the message and performance data become samples.

The program runs from an argv list, never through a shell, unless the check sets
``shell: true`` and gives a ``script``. It runs in a session (process group) of its own:
when it times out or the probe is cancelled, the whole group is killed, and whatever it
leaves running after it exits is killed too, so no orphans survive a check.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator, model_validator

from opsbook.checks.base import CheckKind, Observation, ProbeConfig, ProbeFailure
from opsbook.checks.context import ProbeContext
from opsbook.checks.perfdata import parse_plugin_output, perf_samples
from opsbook.config.types import ByteSize
from opsbook.status import Status
from opsbook.subprocesses import (
    SHELL,
    check_argv_or_script,
    check_env,
    kill_group,
    wait_at_most,
)

DEFAULT_MAX_OUTPUT = 64 * 1024
# After the program exits (and its leftovers are killed), how long to wait for the pipes
# to deliver what is still buffered; only a process that left the group can hold them.
PIPE_DRAIN_S = 1.0
# How long to wait for a killed program to be reaped before giving up on it.
REAP_S = 5.0
# The message is one line; a plugin's first line longer than this is cut.
MAX_TEXT = 300


def _text_item(value: object, what: str) -> object:
    # YAML turns `6379` into an int: that one is unambiguous. Floats and booleans are not
    # (1.10 -> 1.1, yes -> True), so they must be quoted to reach the program as written.
    if isinstance(value, bool | float) or value is None:
        raise ValueError(
            f"{what} is {value!r} after YAML parsing; quote it so the program "
            "receives exactly the text you wrote"
        )
    return str(value) if isinstance(value, int) else value


def _argv_list(value: object) -> object:
    if isinstance(value, str):
        raise ValueError(
            "argv is a list with one item per argument, e.g. "
            "['/usr/lib/nagios/plugins/check_disk', '-w', '20%']; a single string is "
            "never split (shell syntax needs shell: true and script)"
        )
    if isinstance(value, list):
        return [_text_item(item, f"argument {i}") for i, item in enumerate(value)]
    return value


def _env_map(value: object) -> object:
    if isinstance(value, dict):
        return {key: _text_item(item, f"env {key}") for key, item in value.items()}
    return value


_TEXT_OR_INT = {"anyOf": [{"type": "string"}, {"type": "integer"}]}
Argv = Annotated[
    list[str],
    BeforeValidator(_argv_list),
    WithJsonSchema(
        {
            "type": "array",
            "items": _TEXT_OR_INT,
            "minItems": 1,
            "examples": [["/usr/lib/nagios/plugins/check_disk", "-w", "20%", "-p", "/"]],
        }
    ),
]
EnvMap = Annotated[
    dict[str, str],
    BeforeValidator(_env_map),
    WithJsonSchema({"type": "object", "additionalProperties": _TEXT_OR_INT}),
]


class CommandCheck(ProbeConfig):
    argv: Argv | None = Field(
        default=None,
        min_length=1,
        description="Program and arguments, one list item each; never run through a shell.",
    )
    shell: bool = Field(
        default=False,
        description="Allow `script` to run through /bin/sh -c. Off unless set explicitly.",
    )
    script: str | None = Field(
        default=None,
        min_length=1,
        description="Shell text for /bin/sh -c; needs shell: true. Never put untrusted text here.",
    )
    env: EnvMap = Field(
        default_factory=dict,
        description="Extra environment variables, added to the engine's environment.",
    )
    cwd: str | None = Field(
        default=None,
        description="Working directory, relative to the config file's directory (the default).",
    )
    max_output: ByteSize = Field(
        default=DEFAULT_MAX_OUTPUT,
        ge=1,
        description="Cap on captured stdout + stderr together; the rest is read and dropped.",
    )

    @field_validator("argv")
    @classmethod
    def _no_nul_argv(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if not value[0]:
                raise ValueError("the program (first item) is empty")
            for index, item in enumerate(value):
                if "\0" in item:
                    raise ValueError(f"argument {index} contains a NUL byte")
        return value

    @field_validator("script", "cwd")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\0" in value:
            raise ValueError("contains a NUL byte")
        return value

    @field_validator("env")
    @classmethod
    def _valid_env(cls, value: dict[str, str]) -> dict[str, str]:
        return check_env(value)

    @model_validator(mode="after")
    def _argv_or_script(self) -> CommandCheck:
        check_argv_or_script(self.argv, self.script, self.shell, "a command check")
        return self

    def command_line(self) -> list[str]:
        if self.script is not None:
            return [SHELL, "-c", self.script]
        assert self.argv is not None  # guaranteed by the validator
        return list(self.argv)


class _CappedCapture(asyncio.SubprocessProtocol):
    """Collects stdout and stderr up to a shared byte budget; notes exit and pipe close.

    Output past the budget is still read (so the program never blocks on a full pipe) but
    dropped. Exit is signalled on its own: a leftover grandchild may hold the pipes open.
    """

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        self.output = {1: bytearray(), 2: bytearray()}
        self.remaining = limit
        self.truncated = False
        self.exited: asyncio.Future[None] = loop.create_future()
        self.pipes_closed: asyncio.Future[None] = loop.create_future()
        self._open_pipes = 2

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        chunk = data.encode() if isinstance(data, str) else data
        take = min(len(chunk), self.remaining)
        if take:
            self.output[fd] += chunk[:take]
            self.remaining -= take
        if take < len(chunk):
            self.truncated = True

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self._open_pipes -= 1
        if self._open_pipes <= 0 and not self.pipes_closed.done():
            self.pipes_closed.set_result(None)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)


async def _spawn(
    argv: list[str], cwd: Path, env: dict[str, str], limit: int
) -> tuple[asyncio.SubprocessTransport, _CappedCapture]:
    loop = asyncio.get_running_loop()
    try:
        return await loop.subprocess_exec(
            lambda: _CappedCapture(limit, loop),
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            start_new_session=True,  # own session and process group, killed as a whole
        )
    except FileNotFoundError:
        raise ProbeFailure(Status.UNKNOWN, f"command not found: {argv[0]}") from None
    except PermissionError:
        raise ProbeFailure(
            Status.UNKNOWN, f"command not executable: {argv[0]} (permission denied)"
        ) from None
    except OSError as exc:
        raise ProbeFailure(Status.UNKNOWN, f"cannot run {argv[0]}: {exc.strerror or exc}") from None


async def _run(
    argv: list[str], cwd: Path, env: dict[str, str], limit: int
) -> tuple[int, _CappedCapture]:
    transport, capture = await _spawn(argv, cwd, env, limit)
    pgid = transport.get_pid()  # start_new_session: the program leads its own group
    try:
        await capture.exited
        # Whatever the program left running keeps its group id alive (the kernel does not
        # hand out an id a group still uses); with nothing left this kill finds no one.
        kill_group(pgid)
        await wait_at_most(capture.pipes_closed, PIPE_DRAIN_S)
    except BaseException:  # timeout, cancellation: nothing of the group may survive
        kill_group(pgid)
        # Reap it before re-raising; a second cancellation must not stop that either.
        with contextlib.suppress(asyncio.CancelledError):
            await wait_at_most(capture.exited, REAP_S)
        raise
    finally:
        transport.close()
    code = transport.get_returncode()
    return (code if code is not None else -int(signal.SIGKILL)), capture


def _first_line(data: bytes) -> str:
    for line in data.decode("utf-8", errors="replace").splitlines():
        if line.strip():
            return line.strip()
    return ""


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def interpret(
    returncode: int, stdout: bytes, stderr: bytes, truncated_at: int | None = None
) -> Observation:
    """The observation for a finished plugin: Nagios exit codes, text and perfdata.

    `returncode` is negative when a signal killed the program (-9 for SIGKILL), as
    asyncio and subprocess report it.
    """
    parsed = parse_plugin_output(stdout.decode("utf-8", errors="replace"))
    text = parsed.text
    if not text:
        err = _first_line(stderr)
        text = f"(no output on stdout) stderr: {err}" if err else ""
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 1] + "…"
    if 0 <= returncode <= 3:
        status = Status(returncode)
        text = text or "(no output)"
    else:
        status = Status.UNKNOWN
        if returncode < 0:
            reason = f"killed by {_signal_name(-returncode)}"
        else:
            reason = f"exit code {returncode}"
        text = f"{reason}: {text}" if text else reason
    if truncated_at is not None:
        text += f" [output truncated at {truncated_at} bytes]"
    samples = perf_samples(parsed.perfdata)
    samples["exit_code"] = float(returncode if returncode >= 0 else 128 - returncode)
    return Observation(status, text, samples)


async def probe(cfg: CommandCheck, ctx: ProbeContext) -> Observation:
    argv = cfg.command_line()
    cwd = ctx.resolve_path(cfg.cwd) if cfg.cwd is not None else ctx.base_dir
    if not cwd.is_dir():
        raise ProbeFailure(Status.UNKNOWN, f"working directory {cwd} does not exist")
    env = {**os.environ, **cfg.env}
    code, capture = await _run(argv, cwd, env, cfg.max_output)
    return interpret(
        code,
        bytes(capture.output[1]),
        bytes(capture.output[2]),
        cfg.max_output if capture.truncated else None,
    )


KIND = CheckKind(
    name="command",
    config_model=CommandCheck,
    probe=probe,
    summary="Run a program as a Nagios plugin: exit code is the status, perfdata are samples.",
    # samples: the default (None), as names come from the plugin's performance data.
)
