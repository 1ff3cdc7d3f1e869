"""`http`: request a URL and judge status, latency, body text and JSON content.

The runbooks' first check everywhere: ``curl -s https://api.../health | jq .``.
"""

from __future__ import annotations

import json
import re
import ssl
import time
from typing import Annotated, Literal

import aiohttp
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from opsbook.checks.base import CheckKind, Observation, ProbeConfig, ProbeFailure
from opsbook.checks.certs import parse_certificate
from opsbook.checks.context import ProbeContext
from opsbook.checks.jsonassert import JsonAssertionType
from opsbook.config.types import ByteSize, valid_regex
from opsbook.status import Status

_RANGE = re.compile(r"^\s*([1-5])xx\s*$|^\s*(\d{3})\s*-\s*(\d{3})\s*$|^\s*(\d{3})\s*$")


def _parse_status_ranges(value: object) -> tuple[tuple[int, int], ...]:
    items = value if isinstance(value, list) else [value]
    ranges = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool) and 100 <= item <= 599:
            ranges.append((item, item))
            continue
        match = _RANGE.match(str(item)) if isinstance(item, str) else None
        if not match:
            raise ValueError(f"expected status codes like 200, '200-299' or '2xx', got {item!r}")
        if match.group(1):
            base = int(match.group(1)) * 100
            ranges.append((base, base + 99))
        elif match.group(2):
            low, high = int(match.group(2)), int(match.group(3))
            if low > high:
                raise ValueError(f"status range {item!r} is reversed")
            ranges.append((low, high))
        else:
            code = int(match.group(4))
            ranges.append((code, code))
    if not ranges:
        raise ValueError("expect_status needs at least one code")
    return tuple(ranges)


def _format_ranges(ranges: tuple[tuple[int, int], ...]) -> list[str]:
    return [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges]


StatusRanges = Annotated[
    tuple[tuple[int, int], ...],
    BeforeValidator(_parse_status_ranges),
    PlainSerializer(_format_ranges),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer"},
                {"type": "string"},
                {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"type": "string"}]}},
            ],
            "examples": [200, "2xx", [200, 204], "200-399"],
        }
    ),
]


class HttpCheck(ProbeConfig):
    url: str = Field(description="http:// or https:// URL to request.")
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = Field(default=None, description="Request body sent as-is.")
    expect_status: StatusRanges = Field(
        default=((200, 299),), description="Accepted status codes: 200, '2xx', '200-399', a list."
    )
    body_contains: list[str] = Field(
        default_factory=list, description="Substrings the body must contain."
    )
    body_not_contains: list[str] = Field(default_factory=list)
    body_regex: str | None = Field(default=None, description="A regex the body must match.")
    json_assertions: list[JsonAssertionType] = Field(
        default_factory=list,
        alias="json",
        description="JSON-path assertions, e.g. '$.status == \"ok\"'.",
    )
    follow_redirects: bool = True
    verify_tls: bool = True
    keepalive: bool = Field(
        default=False,
        description="Reuse connections between runs; off measures a new client's experience.",
    )
    max_body: ByteSize = Field(default=1024 * 1024, description="Read at most this much body.")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value

    @field_validator("body_regex")
    @classmethod
    def _valid_regex(cls, value: str | None) -> str | None:
        return valid_regex(value)

    @field_validator("headers")
    @classmethod
    def _no_newlines(cls, value: dict[str, str]) -> dict[str, str]:
        for key, item in value.items():
            if any(c in key + item for c in "\r\n\0"):
                raise ValueError(f"header {key!r} contains a line break or NUL")
        return value


def _accepts(ranges: tuple[tuple[int, int], ...], code: int) -> bool:
    return any(lo <= code <= hi for lo, hi in ranges)


def _peer_cert_days(response: aiohttp.ClientResponse, ctx: ProbeContext) -> float | None:
    der = getattr(response, "peer_certificate", None)
    return parse_certificate(der).days_left(ctx.now()) if der else None


def client_failure(exc: aiohttp.ClientError | ssl.SSLError) -> ProbeFailure:
    """A failed HTTP request as a check result message that says what went wrong where
    (shared by every kind that speaks HTTP)."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return ProbeFailure(Status.CRITICAL, f"TLS certificate rejected: {exc.certificate_error}")
    if isinstance(exc, aiohttp.ClientSSLError):
        return ProbeFailure(Status.CRITICAL, f"TLS handshake failed: {exc}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or str(exc.os_error)
        return ProbeFailure(Status.CRITICAL, f"cannot connect to {exc.host}:{exc.port}: {reason}")
    return ProbeFailure(Status.CRITICAL, f"HTTP error: {type(exc).__name__}: {exc}")


async def _read_body(content: aiohttp.StreamReader, limit: int) -> bytes:
    """The body up to `limit` bytes. `read(n)` returns what has arrived so far, so a body
    that comes in several pieces needs several reads."""
    raw = await content.read(limit)
    if len(raw) >= limit or content.at_eof():
        return raw  # the usual small answer: one read
    chunks, size = [raw], len(raw)
    while size < limit and (chunk := await content.read(limit - size)):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _body_failures(cfg: HttpCheck, raw: bytes) -> list[str]:
    if not (cfg.body_contains or cfg.body_not_contains or cfg.body_regex or cfg.json_assertions):
        return []  # nothing to judge: skip decoding (up to max_body) on every run
    text = raw.decode("utf-8", errors="replace")
    failures = [f"body lacks {s!r}" for s in cfg.body_contains if s not in text]
    failures += [f"body contains {s!r}" for s in cfg.body_not_contains if s in text]
    if cfg.body_regex is not None and re.search(cfg.body_regex, text) is None:
        failures.append(f"body does not match /{cfg.body_regex}/")
    if cfg.json_assertions:
        try:
            document = json.loads(text)
        except ValueError:
            return [*failures, "body is not valid JSON"]
        failures += [f for a in cfg.json_assertions if (f := a.failure(document)) is not None]
    return failures


async def probe(cfg: HttpCheck, ctx: ProbeContext) -> Observation:
    session = ctx.http(keepalive=cfg.keepalive)
    started = time.perf_counter()
    try:
        async with session.request(
            cfg.method,
            cfg.url,
            headers=cfg.headers or None,
            data=cfg.body,
            allow_redirects=cfg.follow_redirects,
            ssl=cfg.verify_tls,
        ) as response:
            raw = await _read_body(response.content, cfg.max_body)
            cert_days = _peer_cert_days(response, ctx)
            latency_ms = (time.perf_counter() - started) * 1000
            code = response.status
    except aiohttp.TooManyRedirects:
        raise ProbeFailure(Status.CRITICAL, "too many redirects") from None
    except (aiohttp.ClientError, ssl.SSLError) as exc:
        raise client_failure(exc) from None

    samples = {"latency_ms": latency_ms, "status_code": float(code), "body_bytes": float(len(raw))}
    if cert_days is not None:
        samples["cert_days_left"] = cert_days
    summary = f"HTTP {code} in {latency_ms:.0f} ms"
    if not _accepts(cfg.expect_status, code):
        expected = ", ".join(_format_ranges(cfg.expect_status))
        return Observation(Status.CRITICAL, f"{summary} (expected {expected})", samples)
    failures = _body_failures(cfg, raw)
    if failures:
        return Observation(Status.CRITICAL, f"{summary}: {'; '.join(failures)}", samples)
    return Observation(Status.OK, summary, samples)


def _samples(cfg: HttpCheck) -> frozenset[str]:
    names = {"latency_ms", "status_code", "body_bytes"}
    if cfg.url.startswith("https://"):
        names.add("cert_days_left")
    return frozenset(names)


KIND = CheckKind(
    name="http",
    config_model=HttpCheck,
    probe=probe,
    summary="Request a URL; judge status code, latency, body text and JSON content.",
    samples=_samples,
    default_thresholds={"cert_days_left": {"warning": "< 14", "critical": "< 7"}},
)
