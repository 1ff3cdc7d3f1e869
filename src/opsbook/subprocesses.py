"""What every place that runs a program (the command check, the shell step) shares:
the checks on how it is written (argv or a `/bin/sh -c` script, environment names), and
when it has to stop one, killing the whole process group (a shell's children too) and
waiting for a pipe or an exit without letting a timeout cancel the thing waited for."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from collections.abc import Sequence

SHELL = "/bin/sh"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_env(env: dict[str, str], reserved: Sequence[str] = ()) -> dict[str, str]:
    """A config validator: variable names a shell accepts, none starting with a reserved
    prefix, no NUL byte (a C string would end there)."""
    for key, item in env.items():
        if not _ENV_NAME.match(key):
            raise ValueError(f"{key!r} is not a valid environment variable name")
        if reserved and key.startswith(tuple(reserved)):
            raise ValueError(f"{key} is set by opsbook from the run's values")
        if "\0" in item:
            raise ValueError(f"the value of {key} contains a NUL byte")
    return env


def check_argv_or_script(
    argv: Sequence[str] | None, script: str | None, shell: bool, what: str
) -> None:
    """A config validator: a program is either an argv list or, only with an explicit
    `shell: true`, a script for /bin/sh -c."""
    if argv is not None and script is not None:
        raise ValueError("give either argv or script, not both")
    if script is not None and not shell:
        raise ValueError(
            "script runs through /bin/sh -c; set shell: true to allow that, or use argv"
        )
    if shell and script is None:
        raise ValueError("shell: true needs script (the text for /bin/sh -c)")
    if argv is None and script is None:
        raise ValueError(f"{what} needs argv (program and arguments as a list)")


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


async def wait_at_most(future: asyncio.Future[None], seconds: float) -> None:
    """Wait for `future` up to `seconds`; the future itself is never cancelled."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await asyncio.shield(future)
