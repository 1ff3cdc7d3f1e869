"""Run a server binary (Prometheus, Alertmanager) for a test: start it with its output in
a log file, wait until its ready URL answers 200, and stop it by PID at the end."""

from __future__ import annotations

import contextlib
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

START_TIMEOUT_S = 30.0


@contextlib.contextmanager
def ready_daemon(name: str, argv: Sequence[str], log_path: Path, ready_url: str) -> Iterator[int]:
    """The running process's PID, once `ready_url` answers 200."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        _wait_ready(name, proc, ready_url, log_path)
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_ready(name: str, proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    def tail() -> str:
        return log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}: {tail()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{name} not ready within {START_TIMEOUT_S}s: {tail()}")
