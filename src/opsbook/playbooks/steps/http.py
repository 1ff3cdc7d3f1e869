"""`http`: one request with assertions, e.g. the api-backend rollback's "Verify rollback:
``curl https://api.guesslyfe.com/api/v1/health``" or a deploy hook's POST.

Status ranges, JSON assertions and connection error messages are the http check's, so a
step judges a response exactly as the check would. Templates may fill the path, query,
headers and body, never the scheme or host: a parameter cannot send the request, and the
headers that come with it, to another server. A value filled into the URL is
percent-encoded whole (`/` and `&` included), so it stays one path segment or one query
value.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit

import aiohttp
from pydantic import ConfigDict, Field, field_validator, model_validator

from opsbook.checks.http import StatusRanges, client_failure
from opsbook.config.base import Section
from opsbook.config.redact import MASK
from opsbook.config.types import ByteSize, format_duration
from opsbook.playbooks.steps.base import StepContext, StepKind, StepResult, StepStatus, clip
from opsbook.playbooks.steps.expect import SaveMap, TextExpect, extract_vars
from opsbook.playbooks.templating import TemplateError, TemplateText, check_template, render

DEFAULT_TIMEOUT = timedelta(seconds=30)
# Scheme and host must be written out: templates may only follow the first / ? or #.
_FIXED_ORIGIN = re.compile(r"^https?://[^\s/?#{}]+(?:[/?#]|$)")
# Shown as *** in a dry run and the audit record whatever their value.
SENSITIVE_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-api-key"})


class HttpExpect(TextExpect):
    status: StatusRanges = Field(
        default=((200, 299),), description="Accepted status codes: 200, '2xx', '200-399', a list."
    )


def _check_json_templates(value: Any) -> Any:
    if isinstance(value, str):
        check_template(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_json_templates(key)
            _check_json_templates(item)
    elif isinstance(value, list):
        for item in value:
            _check_json_templates(item)
    return value


class HttpStepConfig(Section):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    url: TemplateText = Field(
        description="http:// or https:// URL; templates allowed after the host, their "
        "values percent-encoded."
    )
    headers: dict[str, TemplateText] = Field(
        default_factory=dict, description="Request headers (templates allowed in values)."
    )
    json_body: Any = Field(
        default=None,
        alias="json",
        description="A JSON request body; its strings and keys may be templates.",
    )
    body: TemplateText | None = Field(
        default=None, description="A text request body (templates allowed)."
    )
    expect: HttpExpect = Field(
        default_factory=HttpExpect,
        description="status (default 2xx), contains, regex, json assertions on the body.",
    )
    save: SaveMap = Field(
        default_factory=dict,
        description="Variables for later steps: NAME: '$.json.path' (or a regex with one group).",
    )
    follow_redirects: bool = True
    verify_tls: bool = True
    max_body: ByteSize = Field(default=1024 * 1024, description="Read at most this much body.")

    @field_validator("url")
    @classmethod
    def _fixed_origin(cls, value: str) -> str:
        if not _FIXED_ORIGIN.match(value):
            raise ValueError(
                f"expected an http:// or https:// URL with a fixed host, got {value!r}; "
                "templates may fill the path, query or fragment only"
            )
        return value

    @field_validator("headers")
    @classmethod
    def _no_newlines(cls, value: dict[str, str]) -> dict[str, str]:
        for key, item in value.items():
            if any(c in key + item for c in "\r\n\0"):
                raise ValueError(f"header {key!r} contains a line break or NUL")
        return value

    @field_validator("json_body")
    @classmethod
    def _templates_compile(cls, value: Any) -> Any:
        return _check_json_templates(value)

    @model_validator(mode="after")
    def _one_body(self) -> HttpStepConfig:
        if self.json_body is not None and self.body is not None:
            raise ValueError("give either json or body, not both")
        return self


def _render_json(value: Any, ctx: StepContext) -> Any:
    if isinstance(value, str):
        return ctx.render(value)
    if isinstance(value, dict):
        return {ctx.render(str(k)): _render_json(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_json(v, ctx) for v in value]
    return value


def _percent_encoded(value: Any) -> Any:
    """Values as they must appear in a URL to stay one value: a parameter `a/../admin` or
    `x&admin=1` must not add path segments or query fields."""
    if isinstance(value, str):
        return quote(value, safe="")
    if isinstance(value, Mapping):
        return {k: _percent_encoded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_percent_encoded(v) for v in value]
    return value


def _render_url(spec: HttpStepConfig, ctx: StepContext) -> str:
    url = render(spec.url, _percent_encoded(ctx.values))
    if not _FIXED_ORIGIN.match(url) or any(c in url for c in "\r\n\0 "):
        raise TemplateError(f"the rendered URL {url!r} is not a valid URL")
    path = urlsplit(url).path
    if any(unquote(segment) in (".", "..") for segment in path.split("/")):
        raise TemplateError(f"the rendered URL {url!r} has a . or .. path segment")
    return url


class _Request:
    """The request of this run, templates filled, checked like the config was."""

    def __init__(self, spec: HttpStepConfig, ctx: StepContext) -> None:
        self.url = _render_url(spec, ctx)
        self.headers = {k: ctx.render(v) for k, v in spec.headers.items()}
        for key, value in self.headers.items():
            if any(c in value for c in "\r\n\0"):
                raise TemplateError(f"the rendered header {key!r} contains a line break or NUL")
        self.json = _render_json(spec.json_body, ctx) if spec.json_body is not None else None
        self.body = ctx.render(spec.body) if spec.body is not None else None

    def text(self, method: str) -> str:
        lines = [f"{method} {self.url}"]
        for key, value in self.headers.items():
            lines.append(f"{key}: {MASK if key.lower() in SENSITIVE_HEADERS else value}")
        if self.json is not None:
            lines += ["", json.dumps(self.json, ensure_ascii=False)]
        elif self.body is not None:
            lines += ["", self.body]
        return "\n".join(lines)


def describe(spec: HttpStepConfig, ctx: StepContext) -> str:
    return ctx.redactor(_Request(spec, ctx).text(spec.method))


async def _read_body(content: aiohttp.StreamReader, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit and (chunk := await content.read(limit - size)):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _failed(summary: str, output: str = "") -> StepResult:
    return StepResult(StepStatus.FAILED, summary, output, error=summary)


async def run(spec: HttpStepConfig, ctx: StepContext) -> StepResult:
    try:
        request = _Request(spec, ctx)
    except TemplateError as exc:
        return _failed(str(exc))
    started = time.perf_counter()
    try:
        async with (
            asyncio.timeout(ctx.timeout.total_seconds()),
            aiohttp.ClientSession(
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None),  # asyncio.timeout is the limit
                headers={"User-Agent": "opsbook-playbook"},
            ) as session,
            session.request(
                spec.method,
                request.url,
                headers=request.headers or None,
                json=request.json,
                data=request.body,
                allow_redirects=spec.follow_redirects,
                ssl=spec.verify_tls,
            ) as response,
        ):
            raw = await _read_body(response.content, spec.max_body)
            code = response.status
    except TimeoutError:
        return _failed(f"timed out after {format_duration(ctx.timeout)}")
    except aiohttp.TooManyRedirects:
        return _failed("too many redirects")
    except (aiohttp.ClientError, ssl.SSLError) as exc:
        return _failed(ctx.redactor(client_failure(exc).message))
    elapsed_ms = (time.perf_counter() - started) * 1000
    text = raw.decode("utf-8", errors="replace")
    output = clip(ctx.redactor(text))
    for line in output.splitlines():
        ctx.on_output(line)
    summary = f"HTTP {code} in {elapsed_ms:.0f} ms"
    if not any(lo <= code <= hi for lo, hi in spec.expect.status):
        expected = ", ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in spec.expect.status)
        return _failed(f"{summary} (expected {expected})", output)
    try:
        problems = spec.expect.failures(text, ctx.render)
    except TemplateError as exc:
        problems = [str(exc)]
    saved: dict[str, Any] = {}
    if not problems and spec.save:
        saved, problems = extract_vars(spec.save, text)
    if problems:
        return _failed(ctx.redactor(f"{summary}: {'; '.join(problems)}"), output)
    return StepResult(StepStatus.OK, summary, output, vars=saved)


def _default_timeout(_spec: HttpStepConfig) -> timedelta:
    return DEFAULT_TIMEOUT


KIND = StepKind(
    "http",
    HttpStepConfig,
    run,
    describe,
    "Send an HTTP request; check status, body and JSON; save values from the answer.",
    default_timeout=_default_timeout,
)
