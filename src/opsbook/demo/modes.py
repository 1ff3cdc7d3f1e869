"""What the demo service answers in each mode: pure functions of (settings, request facts).

The service in `opsbook.demo.target` does the I/O; everything here decides. Keeping the
decisions pure makes every mode's answer testable without a socket, and keeps the server
a thin shell that a benchmark can trust.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any


class Mode(StrEnum):
    HEALTHY = "healthy"
    DOWN = "down"
    DOWN_HARD = "down_hard"
    SLOW = "slow"
    ERRORING = "erroring"
    BAD_JSON = "bad_json"
    DEGRADED = "degraded"


MODE_DESCRIPTIONS: dict[Mode, str] = {
    Mode.HEALTHY: "everything answers normally",
    Mode.DOWN: "health and app endpoints answer 503 Service Unavailable",
    Mode.DOWN_HARD: "every service connection is dropped without an answer",
    Mode.SLOW: "every service response is delayed by delay_ms",
    Mode.ERRORING: "health answers 500; a share (error_share) of app requests answer 500",
    Mode.BAD_JSON: "service endpoints answer 200 with an HTML page instead of JSON",
    Mode.DEGRADED: "detailed health reports the database down (overall 'degraded', HTTP 200)",
}

DEFAULT_DELAY_MS = 1500
MAX_DELAY_MS = 60_000
DEFAULT_ERROR_SHARE = 0.5
MAX_MODE_BODY = 4096
MEMORY_CRITICAL_PCT = 90.0
VERSION = "1.4.2"

JSON = "application/json"
HTML = "text/html"
# What a misconfigured proxy or a maintenance page sends back with a cheerful 200.
MAINTENANCE_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Maintenance</title></head>\n"
    "<body><h1>We'll be right back</h1><p>The service is under maintenance.</p></body></html>\n"
)

ITEMS: tuple[dict[str, Any], ...] = (
    {"id": 1, "name": "Alerting runbook", "tags": ["alerts"]},
    {"id": 2, "name": "Backup verification", "tags": ["backups"]},
    {"id": 3, "name": "Certificate renewal", "tags": ["tls"]},
    {"id": 4, "name": "Database failover", "tags": ["database"]},
    {"id": 5, "name": "Rollback procedure", "tags": ["deploys"]},
)

_TRACE_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")


@dataclass(frozen=True, slots=True)
class ModeSettings:
    """The switchable behaviour of the service."""

    mode: Mode = Mode.HEALTHY
    delay_ms: int = DEFAULT_DELAY_MS
    error_share: float = DEFAULT_ERROR_SHARE

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode.value, "delay_ms": self.delay_ms, "error_share": self.error_share}


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer: status, body (JSON-able, or text when content_type is not JSON)."""

    status: int
    body: Any
    content_type: str = JSON

    def text(self) -> str:
        return json.dumps(self.body) if self.content_type == JSON else str(self.body)


@dataclass(frozen=True, slots=True)
class Vitals:
    """Measurements the detailed health reports in every mode."""

    uptime_s: float
    database_ms: float
    redis_ms: float
    memory_used_pct: float


class ModeRequestError(ValueError):
    """A request to change the mode that cannot be applied; carries the HTTP status."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _maintenance() -> Reply:
    return Reply(200, MAINTENANCE_PAGE, HTML)


def delay_s(settings: ModeSettings) -> float:
    """How long a service response waits before it is sent."""
    return settings.delay_ms / 1000 if settings.mode is Mode.SLOW else 0.0


def drops_connection(settings: ModeSettings) -> bool:
    return settings.mode is Mode.DOWN_HARD


def is_failing(index: int, share: float) -> bool:
    """Whether app request number `index` (0-based) fails when `share` of them should.

    Deterministic and exact: of any first N requests, floor(N * share) fail (share rounded
    to 1/1000), spread evenly, so tests and benchmarks see the same pattern every run.
    """
    permille = round(min(max(share, 0.0), 1.0) * 1000)
    return ((index + 1) * permille) // 1000 > (index * permille) // 1000


def health_reply(settings: ModeSettings) -> Reply:
    """GET /health: liveness only, so a dependency outage (degraded) still answers ok."""
    match settings.mode:
        case Mode.DOWN | Mode.DOWN_HARD:
            return Reply(503, {"status": "down"})
        case Mode.ERRORING:
            return Reply(500, {"status": "error"})
        case Mode.BAD_JSON:
            return _maintenance()
        case _:
            return Reply(200, {"status": "ok"})


def _memory(vitals: Vitals) -> dict[str, Any]:
    status = "ok" if vitals.memory_used_pct < MEMORY_CRITICAL_PCT else "critical"
    return {"status": status, "used_pct": round(vitals.memory_used_pct, 1)}


def detailed_health_reply(settings: ModeSettings, vitals: Vitals) -> Reply:
    """GET /api/v1/health/detailed, shaped like the api-backend runbook's component health."""
    match settings.mode:
        case Mode.DOWN | Mode.DOWN_HARD:
            return Reply(503, {"status": "down"})
        case Mode.ERRORING:
            return Reply(500, {"status": "error"})
        case Mode.BAD_JSON:
            return _maintenance()
    database: dict[str, Any] = {"status": "up", "latency_ms": round(vitals.database_ms, 1)}
    if settings.mode is Mode.SLOW:  # the slowness comes from the database, as it usually does
        database["latency_ms"] = round(vitals.database_ms + settings.delay_ms, 1)
    elif settings.mode is Mode.DEGRADED:
        database = {"status": "down", "error": "connection refused (127.0.0.1:5432)"}
    components = {
        "database": database,
        "redis": {"status": "up", "latency_ms": round(vitals.redis_ms, 1)},
        "memory": _memory(vitals),
    }
    healthy = database["status"] == "up" and components["memory"]["status"] == "ok"
    body = {
        "status": "ok" if healthy else "degraded",
        "version": VERSION,
        "uptime_s": round(vitals.uptime_s, 1),
        "components": components,
    }
    return Reply(200, body)


def _app_failure(settings: ModeSettings, failing: bool) -> Reply | None:
    match settings.mode:
        case Mode.DOWN | Mode.DOWN_HARD:
            return Reply(503, {"error": "service unavailable"})
        case Mode.ERRORING if failing:
            return Reply(500, {"error": "internal server error"})
        case Mode.BAD_JSON:
            return _maintenance()
    return None


def _source(settings: ModeSettings) -> str:
    return "cache" if settings.mode is Mode.DEGRADED else "database"


def items_reply(settings: ModeSettings, failing: bool) -> Reply:
    """GET /api/v1/items. `failing`: this request is one of the erroring share."""
    failure = _app_failure(settings, failing)
    if failure is not None:
        return failure
    return Reply(200, {"items": list(ITEMS), "count": len(ITEMS), "source": _source(settings)})


def item_reply(settings: ModeSettings, failing: bool, item_id: str) -> Reply:
    """GET /api/v1/items/{item_id}."""
    failure = _app_failure(settings, failing)
    if failure is not None:
        return failure
    item = next((i for i in ITEMS if str(i["id"]) == item_id), None)
    if item is None:
        return Reply(404, {"error": f"no item {item_id[:40]!r}"})
    return Reply(200, {**item, "source": _source(settings)})


def trace_id_for(header: str | None, fresh: str) -> str:
    """Keep a caller's X-Trace-Id when it looks like one; otherwise use `fresh`."""
    return header if header is not None and _TRACE_ID.match(header) else fresh


def log_level(status: int) -> str:
    return "ERROR" if status >= 500 else "WARN" if status >= 400 else "INFO"


def log_record(
    when: datetime, method: str, path: str, status: int, duration_ms: float, trace_id: str
) -> dict[str, Any]:
    """One structured log line, as the content-service runbook greps them."""
    return {
        "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": log_level(status),
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": round(duration_ms, 1),
        "trace_id": trace_id,
    }


def _number(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ModeRequestError(400, f"{key} must be a number, got {json.dumps(value)[:40]}")
    return float(value)


def parse_mode_change(raw: bytes, current: ModeSettings) -> ModeSettings:
    """Validate a POST /_demo/mode body; returns the new settings or raises ModeRequestError.

    ``{"mode": "slow", "delay_ms": 800}``: `mode` is required; `delay_ms` and `error_share`
    are optional and keep their current value when left out.
    """
    if len(raw) > MAX_MODE_BODY:
        raise ModeRequestError(413, f"body is larger than {MAX_MODE_BODY} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ModeRequestError(400, 'body is not JSON; send {"mode": "down"}') from None
    if not isinstance(data, dict):
        raise ModeRequestError(400, 'expected a JSON object like {"mode": "down"}')
    allowed = ("mode", "delay_ms", "error_share")
    unknown = sorted(k for k in data if k not in allowed)
    if unknown:
        raise ModeRequestError(
            400, f"unknown field {unknown[0][:40]!r}; expected {', '.join(allowed)}"
        )
    if "mode" not in data:
        raise ModeRequestError(400, "missing 'mode'")
    modes = ", ".join(m.value for m in Mode)
    name = data["mode"]
    if not isinstance(name, str) or name not in {m.value for m in Mode}:
        raise ModeRequestError(
            400, f"unknown mode {json.dumps(name)[:40]}; expected one of {modes}"
        )
    delay = _number(data, "delay_ms")
    if delay is not None and not (0 <= delay <= MAX_DELAY_MS and delay.is_integer()):
        raise ModeRequestError(400, f"delay_ms must be a whole number from 0 to {MAX_DELAY_MS}")
    share = _number(data, "error_share")
    if share is not None and not 0 <= share <= 1:
        raise ModeRequestError(400, "error_share must be from 0 to 1")
    return replace(
        current,
        mode=Mode(name),
        delay_ms=current.delay_ms if delay is None else int(delay),
        error_share=current.error_share if share is None else share,
    )
