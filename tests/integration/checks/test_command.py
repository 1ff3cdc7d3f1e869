"""The command kind running real programs: Debian's monitoring-plugins and /bin tools."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from pathlib import Path

import psutil
import pytest

from opsbook.checks.command import probe
from opsbook.checks.context import ProbeContext
from opsbook.status import Status
from tests.checkutil import make_check, run
from tests.services import free_port, unavailable

PLUGINS = Path("/usr/lib/nagios/plugins")


def plugin(name: str) -> str:
    path = PLUGINS / name
    if not os.access(path, os.X_OK):
        unavailable(f"{path} missing: apt-get install monitoring-plugins-basic")
    return str(path)


def gone(pid: int) -> bool:
    """True when `pid` no longer runs (a zombie waiting for a non-reaping init counts)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.02)
    return gone(pid)


def child_named(name: str) -> int | None:
    for child in psutil.Process().children():
        try:
            if child.name() == name:
                return child.pid
        except psutil.NoSuchProcess:
            continue
    return None


async def read_pid(path: Path, timeout: float = 5.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if text.endswith("\n"):
            return int(text)
        await asyncio.sleep(0.01)
    raise AssertionError(f"{path} never got a pid")


# --- real Nagios plugins ----------------------------------------------------------------------


async def test_check_dummy_critical_message() -> None:
    result = await run("command", {"argv": [plugin("check_dummy"), "2", "fail"]})
    assert result.status is Status.CRITICAL
    assert result.message == "CRITICAL: fail"
    assert result.samples == {"exit_code": 2.0}


async def test_check_dummy_unknown_and_warning() -> None:
    unknown = await run("command", {"argv": [plugin("check_dummy"), "3"]})
    warning = await run("command", {"argv": [plugin("check_dummy"), 1, "almost full"]})
    assert unknown.status is Status.UNKNOWN and unknown.message == "UNKNOWN"
    assert warning.status is Status.WARNING and warning.message == "WARNING: almost full"


async def test_check_tcp_against_closed_port_is_critical() -> None:
    result = await run(
        "command", {"argv": [plugin("check_tcp"), "-H", "127.0.0.1", "-p", free_port()]}
    )
    assert result.status is Status.CRITICAL
    assert "Connection refused" in result.message


async def test_check_tcp_against_redis_gives_time_sample(redis_port: int) -> None:
    argv = [plugin("check_tcp"), "-H", "127.0.0.1", "-p", redis_port]
    result = await run("command", {"argv": argv})
    assert result.status is Status.OK, result.message
    assert result.message.startswith("TCP OK")
    assert 0 <= result.samples["time_s"] < 1  # printed in s, stored in s
    # a threshold on the plugin's sample is applied like on any other kind's
    slow = await run("command", {"argv": argv}, thresholds={"time_s": {"critical": ">= 0"}})
    assert slow.status is Status.CRITICAL
    assert slow.message.startswith("time_s ")


async def test_check_disk_perfdata_in_bytes() -> None:
    result = await run(
        "command", {"argv": [plugin("check_disk"), "-w", "20%", "-c", "10%", "-p", "/"]}
    )
    assert result.message.startswith("DISK ")
    assert result.samples["exit_code"] == int(result.status)
    used = shutil.disk_usage("/").used
    assert result.samples["root_bytes"] == pytest.approx(used, rel=0.05)


async def test_check_load_perfdata_match_os() -> None:
    argv = [plugin("check_load"), "-w", "1000,1000,1000", "-c", "2000,2000,2000"]
    result = await run("command", {"argv": argv})
    assert result.status is Status.OK, result.message
    assert {"load1", "load5", "load15"} <= set(result.samples)
    assert result.samples["load15"] == pytest.approx(os.getloadavg()[2], abs=1.0)


# --- process handling -------------------------------------------------------------------------


async def test_timeout_kills_the_program() -> None:
    task = asyncio.create_task(run("command", {"argv": ["/bin/sleep", "10"], "timeout": "200ms"}))
    pid = None
    while pid is None and not task.done():
        pid = child_named("sleep")
        await asyncio.sleep(0.01)
    started = time.monotonic()
    result = await task
    assert result.status is Status.CRITICAL
    assert result.message == "timed out after 0.2s"
    assert time.monotonic() - started < 2
    assert pid is not None and wait_gone(pid)


async def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f"sleep 30 & echo $! > {pids}.child; echo $$ > {pids}; wait"
    result = await run("command", {"argv": ["/bin/sh", "-c", script], "timeout": "500ms"})
    assert result.status is Status.CRITICAL and "timed out" in result.message
    parent = int(pids.read_text())
    child = int(Path(f"{pids}.child").read_text())
    assert wait_gone(parent) and wait_gone(child)


async def test_cancellation_kills_the_group_and_propagates(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    check = make_check(
        "command", {"argv": ["/bin/sh", "-c", f"echo $$ > {pidfile}; exec sleep 30"]}
    )
    async with ProbeContext(tmp_path) as ctx:
        task = asyncio.create_task(probe(check.spec, ctx))
        pid = await read_pid(pidfile)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert wait_gone(pid)


async def test_leftover_background_process_is_killed_and_does_not_block(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    script = f"sleep 30 & echo $! > {pidfile}; echo 'OK - started'"
    started = time.monotonic()
    result = await run("command", {"argv": ["/bin/sh", "-c", script], "timeout": "10s"})
    assert result.status is Status.OK and result.message == "OK - started"
    assert time.monotonic() - started < 3  # the sleep holds stdout open; we do not wait for it
    assert wait_gone(int(pidfile.read_text()))


async def test_output_is_capped_without_hanging() -> None:
    code = "import sys; sys.stdout.write('x' * 10_000_000); sys.stdout.flush()"
    started = time.monotonic()
    result = await run("command", {"argv": [sys.executable, "-c", code], "timeout": "20s"})
    assert time.monotonic() - started < 10
    assert result.status is Status.OK
    assert result.message.endswith(f"[output truncated at {64 * 1024} bytes]")


async def test_output_past_the_cap_is_not_parsed() -> None:
    code = "print('OK | a=1'); print('x' * 5000); print('y | b=2')"
    argv = [sys.executable, "-c", code]
    capped = await run("command", {"argv": argv, "max_output": "1KB"})
    full = await run("command", {"argv": argv})
    assert capped.samples == {"a": 1.0, "exit_code": 0.0}
    assert "output truncated at 1000 bytes" in capped.message
    assert full.samples == {"a": 1.0, "b": 2.0, "exit_code": 0.0}


async def test_endless_output_ends_at_the_timeout() -> None:
    result = await run("command", {"argv": ["/usr/bin/yes"], "timeout": "300ms"})
    assert result.status is Status.CRITICAL and "timed out" in result.message


# --- failures to run --------------------------------------------------------------------------


async def test_missing_program_is_unknown(tmp_path: Path) -> None:
    result = await run("command", {"argv": [str(tmp_path / "check_nothing")]})
    assert result.status is Status.UNKNOWN
    assert result.message == f"command not found: {tmp_path / 'check_nothing'}"
    on_path = await run("command", {"argv": ["opsbook-no-such-plugin"]})
    assert on_path.status is Status.UNKNOWN and "command not found" in on_path.message


async def test_not_executable_is_unknown(tmp_path: Path) -> None:
    script = tmp_path / "check.sh"
    script.write_text("#!/bin/sh\necho OK\n")
    script.chmod(0o644)
    result = await run("command", {"argv": [str(script)]})
    assert result.status is Status.UNKNOWN
    assert "not executable" in result.message


async def test_signal_and_odd_exit_codes_are_unknown() -> None:
    killed = await run("command", {"shell": True, "script": "echo dying; kill -KILL $$"})
    odd = await run("command", {"argv": ["/bin/sh", "-c", "echo bad usage >&2; exit 64"]})
    assert killed.status is Status.UNKNOWN and killed.message == "killed by SIGKILL: dying"
    assert killed.samples["exit_code"] == 137
    assert odd.status is Status.UNKNOWN
    assert odd.message == "exit code 64: (no output on stdout) stderr: bad usage"


async def test_cwd_is_relative_to_the_config_dir_and_env_is_added(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    spec = {
        "argv": ["/bin/sh", "-c", 'echo "$(pwd) $OPSBOOK_GREETING $HOME"'],
        "cwd": "scripts",
        "env": {"OPSBOOK_GREETING": "hello"},
    }
    async with ProbeContext(tmp_path) as ctx:
        result = await run("command", spec, ctx)
        default = await run("command", {"argv": ["/bin/pwd"]}, ctx)
        missing = await run("command", {"argv": ["/bin/pwd"], "cwd": "nope"}, ctx)
    home = os.environ.get("HOME", "")
    assert result.message == f"{tmp_path / 'scripts'} hello {home}".strip()
    assert default.message == str(tmp_path)
    assert missing.status is Status.UNKNOWN
    assert missing.message == f"working directory {tmp_path / 'nope'} does not exist"


async def test_relative_program_runs_from_cwd(tmp_path: Path) -> None:
    script = tmp_path / "check_backup.sh"
    script.write_text(
        "#!/bin/sh\necho 'WARNING - backup is 25h old | age=90000s;86400;172800'\nexit 1\n"
    )
    script.chmod(0o755)
    async with ProbeContext(tmp_path) as ctx:
        result = await run("command", {"argv": ["./check_backup.sh"]}, ctx)
    assert result.status is Status.WARNING
    assert result.samples["age_s"] == 90000


async def test_shell_script_when_enabled() -> None:
    script = "n=$(printf 'a\\nb\\nc\\n' | wc -l); echo \"WARNING - $n lines | lines=$n\"; exit 1"
    result = await run("command", {"shell": True, "script": script})
    assert result.status is Status.WARNING
    assert result.samples["lines"] == 3


# --- nothing from config reaches a shell ----------------------------------------------------


async def test_argv_items_are_passed_verbatim_and_execute_nothing(tmp_path: Path) -> None:
    marker = "pwned"  # relative: any shell run in the check's cwd (tmp_path) would create it
    hostile = [
        f"; touch {marker}",
        f"$(touch {marker})",
        f"`touch {marker}`",
        f"&& touch {marker} #",
        f"' \"; touch {marker}; echo \"'",
        f"line1\ntouch {marker}",
        f"| touch {marker}",
        "${IFS}*",
    ]
    async with ProbeContext(tmp_path) as ctx:
        for item in hostile:
            result = await run("command", {"argv": ["/usr/bin/printf", "%s", item]}, ctx)
            assert result.status is Status.OK
            first = item.split("\n")[0].split("|")[0].strip()
            assert result.message == (first or "(no output)"), item
        echoed = await run("command", {"argv": ["/bin/echo", *hostile[:5]]}, ctx)
        env = await run(
            "command", {"argv": ["/usr/bin/printenv", "X"], "env": {"X": hostile[1]}}, ctx
        )
    assert echoed.message == " ".join(hostile[:5])
    assert env.message == hostile[1]
    assert list(tmp_path.iterdir()) == []
