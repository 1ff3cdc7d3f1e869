"""What every place that runs a program needs when it has to stop one: kill the whole
process group (a shell's children too), and wait for a pipe or an exit without letting
a timeout cancel the thing being waited for."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


async def wait_at_most(future: asyncio.Future[None], seconds: float) -> None:
    """Wait for `future` up to `seconds`; the future itself is never cancelled."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await asyncio.shield(future)
