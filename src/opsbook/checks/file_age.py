"""`file_age`: the newest file matching a glob must be recent and not empty.

The runbooks' "Last backup" check (``ls -lh /backups/subjunctive/ | head -5``): the backup
script writes ``backup_YYYYmmdd_HHMMSS.dump.gz`` daily, so a newest file older than a day
(or an empty one) means the backup job failed, whatever its own exit code said.
"""

from __future__ import annotations

import asyncio
import glob
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import Field, field_validator

from opsbook.checks.base import CheckKind, Observation, ProbeConfig
from opsbook.checks.context import ProbeContext
from opsbook.config.types import ByteSize, Duration
from opsbook.status import Status, worst

DEFAULT_MAX_FILES = 100_000


class FileAgeCheck(ProbeConfig):
    path: str = Field(
        min_length=1,
        description="Glob of the files to consider, relative to the config file's directory; "
        "`**` matches any depth, e.g. /backups/subjunctive/backup_*.dump.gz.",
    )
    max_age: Duration = Field(description="The newest file must be younger than this.")
    min_size: ByteSize = Field(
        default=1, description="The newest file must be at least this big (empty = failed)."
    )
    max_files: int = Field(
        default=DEFAULT_MAX_FILES,
        ge=1,
        description="Stop scanning after this many matching files (and say so).",
    )

    @field_validator("path")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\0" in value:
            raise ValueError("contains a NUL byte")
        return value

    @field_validator("max_age")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("max_age must be longer than 0s")
        return value


@dataclass(frozen=True, slots=True)
class Scan:
    """What a glob found: the newest regular file (if any) and how many there were."""

    files: int
    capped: bool
    newest: str | None = None
    mtime: float = 0.0
    size: int = 0


def scan(pattern: str, max_files: int) -> Scan:
    """Newest regular file by mtime among the matches of `pattern` (blocking I/O)."""
    files = 0
    newest: tuple[float, str, int] | None = None
    # glob, not Path.glob: patterns may be absolute and `**` must follow glob's rules.
    for match in glob.iglob(pattern, recursive=True):  # noqa: PTH207
        try:
            info = Path(match).stat()
        except OSError:  # vanished (rotation) or unreadable: not a file we can judge
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        files += 1
        if newest is None or info.st_mtime > newest[0]:
            newest = (info.st_mtime, match, info.st_size)
        if files >= max_files:
            break
    capped = files >= max_files
    if newest is None:
        return Scan(files, capped)
    return Scan(files, capped, newest[1], newest[0], newest[2])


def human_duration(seconds: float, units: int = 2) -> str:
    """The largest unit and the ones after it, `units` in all, truncated, zeros left out.

    '3d 4h', '5h 12m', '4m 3s', '12s'; 1 day and 30 seconds is '1d' with two units.
    """
    if seconds < 0:
        return f"{human_duration(-seconds, units)} in the future"
    total = int(seconds)
    counts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, total = divmod(total, size)
        counts.append((count, unit))
    first = next((i for i, (count, _) in enumerate(counts) if count), len(counts) - 1)
    parts = [f"{count}{unit}" for count, unit in counts[first : first + units] if count]
    return " ".join(parts) or "0s"


def human_size(size: float) -> str:
    """Decimal units, as sizes are written in opsbook.yaml: '0 B', '512 B', '12.3 MB'."""
    if size < 1000:
        return f"{size:.0f} B"
    for unit in ("KB", "MB", "GB", "TB"):
        size /= 1000
        if size < 1000 or unit == "TB":
            break
    return f"{size:.1f} {unit}"


def _pattern(cfg: FileAgeCheck, ctx: ProbeContext) -> str:
    path = Path(cfg.path).expanduser()
    if path.is_absolute():
        return str(path)
    # The config directory is a literal path: its own [ ] * ? must not act as a glob.
    return str(Path(glob.escape(str(ctx.base_dir))) / cfg.path)


def _age_text(age: float) -> str:
    if age < 0:  # clock skew between the writer and this machine
        return f"is dated {human_duration(-age)} in the future"
    return f"is {human_duration(age)} old"


def judge(cfg: FileAgeCheck, found: Scan, now: datetime) -> Observation:
    """Status and message for a scan result: pure, `now` injected."""
    if found.newest is None:
        return Observation(
            Status.CRITICAL, f"no file matches {cfg.path}", {"files": float(found.files)}
        )
    mtime = datetime.fromtimestamp(found.mtime, UTC)
    age = (now - mtime).total_seconds()
    samples = {"age_s": age, "size_bytes": float(found.size), "files": float(found.files)}
    name = Path(found.newest).name
    statuses = [Status.OK]
    problems = []
    limit = cfg.max_age.total_seconds()
    if age > limit:
        statuses.append(Status.CRITICAL)
        problems.append(f"is {human_duration(age)} old (limit {human_duration(limit, 4)})")
    if found.size < cfg.min_size:
        statuses.append(Status.CRITICAL)
        problems.append(f"is {human_size(found.size)} (minimum {human_size(cfg.min_size)})")
    if problems:
        message = f"newest {name} " + " and ".join(problems)
    else:
        message = f"newest {name} {_age_text(age)}, {human_size(found.size)}"
    message += f"; {found.files} file{'s' if found.files != 1 else ''}"
    if found.capped:
        # The true newest file may be among those not scanned: never report a clean OK.
        statuses.append(Status.WARNING)
        message += f" (scan stopped at max_files {cfg.max_files}; narrow the pattern)"
    return Observation(worst(statuses), message, samples)


async def probe(cfg: FileAgeCheck, ctx: ProbeContext) -> Observation:
    found = await asyncio.to_thread(scan, _pattern(cfg, ctx), cfg.max_files)
    return judge(cfg, found, ctx.now())


KIND = CheckKind(
    name="file_age",
    config_model=FileAgeCheck,
    probe=probe,
    summary="The newest file matching a glob must be younger than max_age and not empty.",
    samples=lambda _cfg: frozenset({"age_s", "size_bytes", "files"}),
)
