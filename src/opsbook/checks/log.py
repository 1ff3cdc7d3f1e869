"""`log`: error rate, latency percentiles and pattern counts from an application log file.

Replaces the runbooks' log greps: ``docker logs content-service --tail 1000 | grep -c
'"status":500'``, ``grep "duration_ms"`` and ``journalctl -u backend --since "1 hour ago" |
grep -i error | wc -l``. Each run reads only the bytes appended since the last run; the
reduced form of recent entries (timestamp, status, duration, match flags) is kept in probe
state so the statistics cover a time window, not "the last N lines".
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import Field, field_validator, model_validator

from opsbook.checks.base import CheckKind, Observation, ProbeConfig, ProbeFailure
from opsbook.checks.context import ProbeContext
from opsbook.config.types import Bound, BoundType, ByteSize, Duration, format_duration
from opsbook.status import Status

MAX_ENTRIES = 100_000  # reduced entries kept for the window; bounds memory and state size
STATE_VERSION = 1
DEFAULT_TIME_FIELDS = ("time", "timestamp", "ts")
_UNPARSED = 1  # flag bit 0; bit i + 1 is set when matches[i] matched the line
_SAMPLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_BUILTIN_SAMPLES = frozenset({"lines", "error_rate_pct", "unparsed"})


class LogCheck(ProbeConfig):
    path: str = Field(description="Log file to follow; relative to the config file.")
    format: Literal["json", "regex", "text"] = Field(
        default="text",
        description="json: one JSON object per line; regex: fields from `pattern`; text: lines.",
    )
    pattern: str | None = Field(
        default=None,
        description="For format regex: a regex with named groups, e.g. (?P<status>\\d{3}).",
    )
    window: Duration = Field(
        default=timedelta(minutes=5), description="Statistics cover entries this recent."
    )
    time_field: str | None = Field(
        default=None,
        description="Key or group with an ISO-8601 or epoch timestamp; default time/timestamp/ts.",
    )
    status_field: str = Field(default="status", description="Key or group with a status code.")
    duration_field: str | None = Field(
        default=None, description="Key or group with a duration, e.g. duration_ms."
    )
    error_status: BoundType = Field(
        default=">= 500",
        validate_default=True,
        description="Which status values count as errors, e.g. '>= 500' or '== 503'.",
    )
    matches: dict[str, str] = Field(
        default_factory=dict,
        description="Sample name -> regex; counts the lines in the window that match.",
    )
    missing_ok: bool = Field(default=False, description="A missing file is OK, not CRITICAL.")
    max_read: ByteSize = Field(
        default=1_000_000,
        description="Most bytes read per run; on the first run only the file's tail is read.",
    )
    max_line: ByteSize = Field(default=65_536, description="Longer lines are truncated.")

    @field_validator("pattern")
    @classmethod
    def _valid_pattern(cls, value: str | None) -> str | None:
        if value is not None and not _compile(value).groupindex:
            raise ValueError("pattern needs named groups, e.g. (?P<status>\\d{3})")
        return value

    @field_validator("matches")
    @classmethod
    def _valid_matches(cls, value: dict[str, str]) -> dict[str, str]:
        for name, regex in value.items():
            if not _SAMPLE_NAME.match(name):
                raise ValueError(f"match name {name!r} must be snake_case, e.g. errors")
            if name in _BUILTIN_SAMPLES:
                raise ValueError(f"match name {name!r} clashes with a built-in sample")
            _compile(regex)
        return value

    @field_validator("window", "max_read", "max_line")
    @classmethod
    def _positive(cls, value: Any) -> Any:
        if not value:
            raise ValueError("must be greater than zero")
        return value

    @model_validator(mode="after")
    def _fields_fit_format(self) -> LogCheck:
        if self.format == "regex" and self.pattern is None:
            raise ValueError("format regex needs a pattern")
        if self.format != "regex" and self.pattern is not None:
            raise ValueError("pattern is only used with format regex")
        named = {"time_field", "status_field", "duration_field"} & self.model_fields_set
        if self.format == "text" and named:
            raise ValueError(f"format text has no fields: remove {', '.join(sorted(named))}")
        if self.format == "regex":
            groups = set(_compile(self.pattern or "").groupindex)
            for key in sorted(named):
                value = getattr(self, key)
                if value is not None and value not in groups:
                    raise ValueError(f"{key} {value!r} is not a named group of pattern")
        if self.duration_field is not None:
            stem = duration_prefix(self.duration_field)
            clash = sorted({f"{stem}_p95", f"{stem}_p50"} & set(self.matches))
            if clash:
                raise ValueError(f"match name {clash[0]!r} clashes with a duration sample")
        return self


def _compile(regex: str) -> re.Pattern[str]:
    try:
        return re.compile(regex)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {regex!r}: {exc}") from None


# --- pure parsing --------------------------------------------------------------------------


class Entry(NamedTuple):
    """The reduced form of one log line: all the window statistics need."""

    ts: float  # epoch seconds
    status: int | None
    duration: float | None
    flags: int  # bit 0: unparsed; bit i + 1: matches[i] matched


@dataclass(frozen=True)
class LineParser:
    format: Literal["json", "regex", "text"]
    pattern: re.Pattern[str] | None
    time_fields: tuple[str, ...]
    status_field: str | None
    duration_field: str | None
    matches: tuple[re.Pattern[str], ...]

    @classmethod
    def from_config(cls, cfg: LogCheck) -> LineParser:
        pattern = re.compile(cfg.pattern) if cfg.pattern is not None else None
        if cfg.time_field is not None:
            time_fields: tuple[str, ...] = (cfg.time_field,)
        elif pattern is not None:
            time_fields = tuple(f for f in DEFAULT_TIME_FIELDS if f in pattern.groupindex)
        else:
            time_fields = DEFAULT_TIME_FIELDS
        return cls(
            format=cfg.format,
            pattern=pattern,
            time_fields=time_fields,
            status_field=cfg.status_field,
            duration_field=cfg.duration_field,
            matches=tuple(re.compile(r) for r in cfg.matches.values()),
        )


def _epoch_seconds(value: float) -> float | None:
    """Epoch seconds from s, ms, µs or ns since 1970 (told apart by magnitude)."""
    if not math.isfinite(value) or value < 0:
        return None
    for limit, scale in ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3)):
        if value >= limit:
            return value / scale
    return value


def parse_timestamp(value: object) -> float | None:
    """Epoch seconds from an ISO-8601 string or an epoch number; None if neither.

    Timestamps without a zone are taken as UTC.
    """
    if isinstance(value, bool):
        return None
    number = _number(value)
    if number is not None:
        return _epoch_seconds(number)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    except (ValueError, OverflowError):
        return None


def _number(value: object) -> float | None:
    """A finite float from a JSON number or a numeric string; None otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _status(value: object) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number.is_integer() else None


def _lookup(fields: Mapping[str, Any], key: str | None) -> Any:
    """A field by key, or by dotted path into nested objects (``http.status``)."""
    if key is None:
        return None
    if key in fields:
        return fields[key]
    node: Any = fields
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _fields(text: str, parser: LineParser) -> Mapping[str, Any] | None:
    if parser.format == "json":
        try:
            document = json.loads(text)
        except ValueError:
            return None
        return document if isinstance(document, dict) else None
    assert parser.pattern is not None
    match = parser.pattern.search(text)
    return match.groupdict() if match else None


def parse_line(text: str, parser: LineParser, read_time: float) -> Entry:
    """Reduce one line; lines without a usable timestamp count as seen at `read_time`."""
    flags = 0
    for index, regex in enumerate(parser.matches):
        if regex.search(text):
            flags |= 1 << (index + 1)
    if parser.format == "text":
        return Entry(read_time, None, None, flags)
    fields = _fields(text, parser)
    if fields is None:
        return Entry(read_time, None, None, flags | _UNPARSED)
    ts = None
    for key in parser.time_fields:
        ts = parse_timestamp(_lookup(fields, key))
        if ts is not None:
            break
    return Entry(
        read_time if ts is None else ts,
        _status(_lookup(fields, parser.status_field)),
        _number(_lookup(fields, parser.duration_field)),
        flags,
    )


def nearest_rank(ordered: Sequence[float], percent: int) -> float:
    """The nearest-rank percentile of sorted, non-empty values (percent in 1..100)."""
    rank = max(1, -(-percent * len(ordered) // 100))
    return ordered[rank - 1]


@dataclass(frozen=True)
class WindowStats:
    lines: int
    unparsed: int
    with_status: int
    errors: int
    durations: tuple[float, ...]  # sorted
    match_counts: tuple[int, ...]

    @property
    def error_rate_pct(self) -> float | None:
        return self.errors / self.with_status * 100 if self.with_status else None


def window_stats(
    entries: Iterable[Entry], start: float, end: float, error_status: Bound, match_count: int
) -> WindowStats:
    """Statistics over the entries stamped within start..end (both inclusive)."""
    lines = unparsed = with_status = errors = 0
    durations: list[float] = []
    counts = [0] * match_count
    for entry in entries:
        if not start <= entry.ts <= end:
            continue
        lines += 1
        unparsed += entry.flags & _UNPARSED
        if entry.status is not None:
            with_status += 1
            errors += error_status.breached_by(entry.status)
        if entry.duration is not None:
            durations.append(entry.duration)
        for index in range(match_count):
            if entry.flags >> (index + 1) & 1:
                counts[index] += 1
    durations.sort()
    return WindowStats(lines, unparsed, with_status, errors, tuple(durations), tuple(counts))


def retain(entries: Sequence[Entry], oldest: float, limit: int = MAX_ENTRIES) -> list[Entry]:
    """Entries still needed for the window (not older than `oldest`), the newest `limit`."""
    kept = [e for e in entries if e.ts >= oldest]
    return kept[-limit:] if len(kept) > limit else kept


def duration_prefix(field: str) -> str:
    """Sample-name stem for a duration field: ``jsonPayload.duration_ms`` -> ``duration_ms``."""
    last = field.rsplit(".", 1)[-1]
    return re.sub(r"[^0-9a-z]+", "_", last.lower()).strip("_") or "duration"


# --- pure reading plan ---------------------------------------------------------------------


class Cursor(NamedTuple):
    """Where the next run continues: the file's identity and the offset of unread bytes."""

    device: int
    inode: int
    offset: int


MISSING = Cursor(-1, -1, 0)  # the file was absent: when it appears, read it from its start


class ReadPlan(NamedTuple):
    start: int  # first byte to read
    align: bool  # start is mid-file: skip to the next full line
    rotated: bool
    skipped: int  # unread bytes passed over to respect max_read


def plan_read(previous: Cursor | None, current: Cursor, max_read: int) -> ReadPlan:
    """Decide where to read `current` (offset = file size) given where the last run stopped.

    A new inode or a file shorter than the saved offset means rotation: start at 0 of the
    new file. A file that was `MISSING` last time is read from 0 too. More than `max_read`
    unread bytes: read only the last `max_read`, from the next full line; `skipped` counts
    the unread bytes passed over (not on a first run, where starting at the tail is the
    plan).
    """
    size = current.offset
    rotated = (
        previous is not None
        and previous != MISSING
        and (
            (previous.device, previous.inode) != (current.device, current.inode)
            or size < previous.offset
        )
    )
    start = previous.offset if previous is not None and not rotated else 0
    if size - start > max_read:
        skipped = size - max_read - start if previous is not None else 0
        return ReadPlan(size - max_read, True, rotated, skipped)
    return ReadPlan(start, False, rotated, 0)


def split_lines(data: bytes, *, align: bool, at_budget: bool) -> tuple[list[bytes], int]:
    """Complete lines in `data` and how many bytes they consumed.

    With `align`, data starts one byte before the planned start: everything through the
    first newline belongs to a line that began earlier and is dropped. A trailing partial
    line is left for the next run, unless the read filled the whole budget (`at_budget`)
    without any newline: then it is taken as one (over-long) line so the reader never stalls.
    """
    begin = 0
    if align:
        first = data.find(b"\n")
        if first < 0:
            return [], len(data)
        begin = first + 1
    end = data.rfind(b"\n") + 1
    if end <= begin:
        if at_budget and len(data) > begin:
            return [data[begin:]], len(data)
        return [], begin
    return data[begin : end - 1].split(b"\n"), end


# --- I/O -----------------------------------------------------------------------------------


class Chunk(NamedTuple):
    cursor: Cursor
    entries: list[Entry]
    rotated: bool
    skipped: int


def _read_new(
    path: Path, previous: Cursor | None, cfg: LogCheck, parser: LineParser, now: float
) -> Chunk:
    with path.open("rb") as handle:
        info = os.fstat(handle.fileno())
        current = Cursor(info.st_dev, info.st_ino, info.st_size)
        plan = plan_read(previous, current, cfg.max_read)
        read_from = plan.start - 1 if plan.align else plan.start
        handle.seek(read_from)
        data = handle.read(current.offset - read_from)
    lines, consumed = split_lines(
        data, align=plan.align, at_budget=len(data) - int(plan.align) >= cfg.max_read
    )
    entries = []
    for raw in lines:
        text = raw[: cfg.max_line].decode("utf-8", errors="replace").rstrip("\r")
        if text.strip():
            entries.append(parse_line(text, parser, now))
    cursor = Cursor(current.device, current.inode, read_from + consumed)
    return Chunk(cursor, entries, plan.rotated, plan.skipped)


# --- probe state ---------------------------------------------------------------------------


def state_key(cfg: LogCheck, path: Path) -> str:
    """Per file and per parsing config, so changing the config starts afresh."""
    relevant = cfg.model_dump_json(exclude={"timeout", "missing_ok"})
    digest = hashlib.sha256(relevant.encode()).hexdigest()[:16]
    return f"log:{path.resolve()}:{digest}"


def encode_state(cursor: Cursor | None, entries: Sequence[Entry]) -> dict[str, Any]:
    return {
        "v": STATE_VERSION,
        "cursor": list(cursor) if cursor is not None else None,
        "ts": [round(e.ts, 3) for e in entries],
        "status": [e.status for e in entries],
        "duration": [e.duration for e in entries],
        "flags": [e.flags for e in entries],
    }


def decode_state(state: Mapping[str, Any] | None) -> tuple[Cursor | None, list[Entry]]:
    """The saved cursor and entries; anything unreadable means a fresh start."""
    if not state or state.get("v") != STATE_VERSION:
        return None, []
    try:
        raw_cursor = state["cursor"]
        cursor = Cursor(*(int(v) for v in raw_cursor)) if raw_cursor is not None else None
        columns = state["ts"], state["status"], state["duration"], state["flags"]
        if len({len(c) for c in columns}) != 1:
            return None, []
        entries = [
            Entry(
                float(ts),
                None if st is None else int(st),
                None if du is None else float(du),
                int(fl),
            )
            for ts, st, du, fl in zip(*columns, strict=True)
        ]
    except (KeyError, TypeError, ValueError):
        return None, []
    return cursor, entries


# --- probe ---------------------------------------------------------------------------------


def _samples_from(stats: WindowStats, cfg: LogCheck) -> dict[str, float]:
    samples = {"lines": float(stats.lines)}
    if cfg.format != "text":
        samples["unparsed"] = float(stats.unparsed)
    if stats.error_rate_pct is not None:
        samples["error_rate_pct"] = stats.error_rate_pct
    if cfg.duration_field is not None and stats.durations:
        stem = duration_prefix(cfg.duration_field)
        samples[f"{stem}_p95"] = nearest_rank(stats.durations, 95)
        samples[f"{stem}_p50"] = nearest_rank(stats.durations, 50)
    for name, count in zip(cfg.matches, stats.match_counts, strict=True):
        samples[name] = float(count)
    return samples


def _format_number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 or value.is_integer() else f"{value:.3g}"


def _message(stats: WindowStats, cfg: LogCheck, chunk: Chunk | None, path: Path) -> str:
    parts = [f"{stats.lines} lines in last {format_duration(cfg.window)}"]
    if chunk is None:
        parts[0] += f" (no file at {path})"
    if stats.error_rate_pct is not None:
        parts.append(
            f"error rate {stats.error_rate_pct:.3g}% ({stats.errors} of {stats.with_status})"
        )
    if cfg.duration_field is not None and stats.durations:
        p95 = _format_number(nearest_rank(stats.durations, 95))
        p50 = _format_number(nearest_rank(stats.durations, 50))
        parts.append(f"{duration_prefix(cfg.duration_field)} p95 {p95} p50 {p50}")
    parts += [
        f"{name} {count}" for name, count in zip(cfg.matches, stats.match_counts, strict=True)
    ]
    if stats.unparsed:
        parts.append(f"{stats.unparsed} unparsed")
    if chunk is not None and chunk.rotated:
        parts.append("file rotated")
    if chunk is not None and chunk.skipped:
        parts.append(f"skipped {chunk.skipped} bytes over max_read")
    if stats.lines >= MAX_ENTRIES:
        parts.append(f"capped at {MAX_ENTRIES} entries")
    return "; ".join(parts)


async def probe(cfg: LogCheck, ctx: ProbeContext) -> Observation:
    path = ctx.resolve_path(cfg.path)
    key = state_key(cfg, path)
    # Store-backed state is database I/O and the saved entries can be large: off the loop.
    cursor, entries = decode_state(await asyncio.to_thread(ctx.state.load, key))
    now = ctx.now().timestamp()
    parser = LineParser.from_config(cfg)
    chunk: Chunk | None = None
    try:
        chunk = await asyncio.to_thread(_read_new, path, cursor, cfg, parser, now)
    except FileNotFoundError:
        if not cfg.missing_ok:
            raise ProbeFailure(Status.CRITICAL, f"log file not found: {path}") from None
        cursor = MISSING
    except PermissionError:
        raise ProbeFailure(
            Status.CRITICAL, f"cannot read log file {path}: permission denied"
        ) from None
    except IsADirectoryError:
        raise ProbeFailure(Status.CRITICAL, f"log path is a directory: {path}") from None
    if chunk is not None:
        cursor = chunk.cursor
        entries = [*entries, *chunk.entries]
    start = now - cfg.window.total_seconds()
    entries = retain(entries, start)
    await asyncio.to_thread(ctx.state.save, key, encode_state(cursor, entries))
    stats = window_stats(entries, start, now, cfg.error_status, len(cfg.matches))
    return Observation(Status.OK, _message(stats, cfg, chunk, path), _samples_from(stats, cfg))


def _samples(cfg: LogCheck) -> frozenset[str]:
    names = {"lines", *cfg.matches}
    if cfg.format != "text":
        names |= {"unparsed", "error_rate_pct"}
    if cfg.duration_field is not None:
        stem = duration_prefix(cfg.duration_field)
        names |= {f"{stem}_p95", f"{stem}_p50"}
    return frozenset(names)


KIND = CheckKind(
    name="log",
    config_model=LogCheck,
    probe=probe,
    summary="Follow a log file; error rate, duration percentiles and pattern counts over a window.",
    samples=_samples,
    default_thresholds={"error_rate_pct": {"warning": "> 1", "critical": "> 5"}},
)
