"""A private PostgreSQL primary with a streaming replica, for replication-lag tests.

Built with the server's own tools (initdb, pg_basebackup, pg_ctl) in a temporary
directory on free ports; the shared server on 5432 is never touched. PostgreSQL refuses
to run as root, so as root the tools run as the ``postgres`` system user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.services import free_port, unavailable

TOOL_TIMEOUT = 60
# Everyone logs in without a password (trust), except this role: it needs its password,
# so tests can see a real "password authentication failed".
PASSWORD_ROLE = "opsbook_pw_user"


@dataclass(frozen=True)
class Cluster:
    primary_port: int
    replica_port: int

    @property
    def primary_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.primary_port}/postgres"

    def url(self, user: str, password: str) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.primary_port}/postgres"

    @property
    def replica_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.replica_port}/postgres"


def _bindir() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb is not None:
        return Path(initdb).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _runner() -> tuple[list[str], int | None]:
    """Command prefix and uid to own the data directory."""
    if os.geteuid() != 0:
        return [], None
    try:
        uid = pwd.getpwnam("postgres").pw_uid
    except KeyError:
        unavailable("running as root and there is no 'postgres' user to run a server")
        raise AssertionError from None  # unreachable
    runuser = shutil.which("runuser")
    if runuser is None:
        unavailable("running as root without runuser to start PostgreSQL as 'postgres'")
    return [str(runuser), "-u", "postgres", "--"], uid


def _run(prefix: list[str], *argv: str) -> None:
    result = subprocess.run(
        [*prefix, *argv], capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{Path(argv[0]).name} failed: {result.stderr[-2000:]}")


def _start(prefix: list[str], bindir: Path, data: Path, port: int, sockets: Path) -> None:
    options = (
        f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={sockets} "
        "-c wal_level=replica -c max_wal_senders=4 -c fsync=off -c wal_receiver_status_interval=1s"
    )
    _run(prefix, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
         str(data.parent / f"{data.name}.log"), "-w", "-t", "30", "start")  # fmt: skip


@contextlib.contextmanager
def primary_with_replica() -> Iterator[Cluster]:
    bindir = _bindir()
    if bindir is None:
        unavailable("PostgreSQL server binaries (initdb) not installed")
        raise AssertionError  # unreachable
    prefix, uid = _runner()
    root = Path(tempfile.mkdtemp(prefix="opsbook-pgcluster-"))
    if uid is not None:
        os.chown(root, uid, -1)
    primary, replica = root / "primary", root / "replica"
    cluster = Cluster(free_port(), free_port())
    started: list[Path] = []
    try:
        _run(prefix, str(bindir / "initdb"), "-D", str(primary), "-U", "postgres",
             "--auth=trust", "--no-sync")  # fmt: skip
        hba = primary / "pg_hba.conf"
        rule = f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n"
        hba.write_text(rule + hba.read_text())
        _start(prefix, bindir, primary, cluster.primary_port, root)
        started.append(primary)
        _run(prefix, str(bindir / "pg_basebackup"), "-h", "127.0.0.1",
             "-p", str(cluster.primary_port), "-U", "postgres", "-D", str(replica),
             "-R", "-X", "stream", "--no-sync")  # fmt: skip
        _start(prefix, bindir, replica, cluster.replica_port, root)
        started.append(replica)
        yield cluster
    finally:
        for data in reversed(started):
            subprocess.run(
                [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=TOOL_TIMEOUT,
                check=False,
            )
        shutil.rmtree(root, ignore_errors=True)
