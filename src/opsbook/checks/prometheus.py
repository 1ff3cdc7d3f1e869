"""`prometheus`: numbers from a /metrics endpoint or from a PromQL query.

The runbooks read metrics by hand: ``curl https://api.../metrics | grep
http_request_duration`` or open Prometheus at :9090 and type a query. In ``scrape`` mode
this check reads a Prometheus text exposition and turns selected series into samples; in
``query`` mode it asks a Prometheus server's HTTP API for an instant value.
"""

from __future__ import annotations

import json
import math
import re
import ssl
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

import aiohttp
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from opsbook.checks.base import CheckKind, Observation, ProbeConfig, ProbeFailure
from opsbook.checks.context import ProbeContext
from opsbook.checks.http import client_failure
from opsbook.config.types import ByteSize
from opsbook.status import Status

Aggregate = Literal["sum", "max", "min", "avg", "count"]
Empty = Literal["ok", "warning", "critical", "unknown"]
_EMPTY_STATUS = {
    "ok": Status.OK,
    "warning": Status.WARNING,
    "critical": Status.CRITICAL,
    "unknown": Status.UNKNOWN,
}
_SAMPLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_SCRAPE_ACCEPT = "text/plain;version=0.0.4;q=1,*/*;q=0.1"


def _label_text(value: object) -> object:
    """Label values are strings; accept ``code: 500`` as the "500" it means."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


LabelValue = Annotated[str, BeforeValidator(_label_text)]


def _sample_name(value: str) -> str:
    if not _SAMPLE_NAME.match(value):
        raise ValueError(f"sample name {value!r} must be snake_case, e.g. errors_total")
    return value


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
    return value


class PrometheusSeries(BaseModel):
    """One sample taken from a scrape: the samples of `metric` whose labels include `labels`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sample: str = Field(description="Name of the sample this series becomes.")
    metric: str = Field(description="Metric name as shown in /metrics, e.g. http_requests_total.")
    labels: dict[str, LabelValue] = Field(
        default_factory=dict, description="Labels the series must have (others may exist)."
    )
    aggregate: Aggregate = Field(default="sum", description="How several matches combine.")

    _check_sample = field_validator("sample")(_sample_name)

    @field_validator("metric")
    @classmethod
    def _metric_name(cls, value: str) -> str:
        if not _METRIC_NAME.match(value):
            raise ValueError(f"{value!r} is not a Prometheus metric name")
        return value


class PrometheusCheck(ProbeConfig):
    scrape: str | None = Field(default=None, description="URL of a /metrics endpoint to read.")
    series: list[PrometheusSeries] = Field(
        default_factory=list, description="scrape mode: the series to turn into samples."
    )
    query: str | None = Field(default=None, description="PromQL instant query (needs server).")
    server: str | None = Field(default=None, description="Prometheus base URL for query.")
    sample: str = Field(default="value", description="query mode: name of the sample.")
    aggregate: Aggregate = Field(
        default="sum", description="query mode: how a vector of several series combines."
    )
    empty: Empty = Field(
        default="critical", description="Status when a series or the query has no data."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Request headers, e.g. Authorization for a token."
    )
    verify_tls: bool = True
    max_body: ByteSize = Field(default=10_000_000, description="Largest response accepted.")

    _check_sample = field_validator("sample")(_sample_name)

    @field_validator("scrape", "server")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        return _http_url(value) if value is not None else None

    @field_validator("query")
    @classmethod
    def _query_text(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("query is empty")
        return value

    @field_validator("headers")
    @classmethod
    def _no_newlines(cls, value: dict[str, str]) -> dict[str, str]:
        for key, item in value.items():
            if any(c in key + item for c in "\r\n\0"):
                raise ValueError(f"header {key!r} contains a line break or NUL")
        return value

    @model_validator(mode="after")
    def _one_mode(self) -> PrometheusCheck:
        if (self.scrape is None) == (self.query is None):
            raise ValueError("set exactly one of scrape (a /metrics URL) or query (PromQL)")
        if self.scrape is not None:
            if not self.series:
                raise ValueError("scrape needs series: [{sample: ..., metric: ...}]")
            misplaced = {"server", "sample", "aggregate"} & self.model_fields_set
            if misplaced:
                raise ValueError(f"{', '.join(sorted(misplaced))} only apply to query mode")
            names = [s.sample for s in self.series]
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"duplicate series sample names: {', '.join(duplicates)}")
        else:
            if self.server is None:
                raise ValueError("query needs server: the Prometheus base URL")
            if self.series:
                raise ValueError("series only apply to scrape mode")
        return self


# --- pure parts ----------------------------------------------------------------------------


def aggregate(values: Iterable[float], how: Aggregate) -> float | None:
    """Combine values as PromQL's aggregation operators do; None when there are none."""
    items = list(values)
    if not items:
        return None
    if how == "count":
        return float(len(items))
    if how == "sum":
        return math.fsum(items)
    if how == "avg":  # clamped: rounding must not put the mean outside the values
        return min(max(math.fsum(items) / len(items), min(items)), max(items))
    return max(items) if how == "max" else min(items)


def parse_exposition(text: str) -> list[Metric]:
    """Metric families of a Prometheus text exposition; ValueError if it is not one."""
    try:
        return list(text_string_to_metric_families(text))
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None


def select(families: Iterable[Metric], series: PrometheusSeries) -> list[float]:
    """Values of `series.metric` whose labels include `series.labels`.

    The name is the one /metrics shows. The parser reports counters exposed without the
    ``_total`` suffix under ``<name>_total``; such a counter still matches its bare name.
    """
    values = []
    wanted = series.labels.items()
    for family in families:
        for sample in family.samples:
            name_matches = sample.name == series.metric or (
                family.type == "counter"
                and family.name == series.metric
                and sample.name == f"{series.metric}_total"
            )
            if name_matches and wanted <= sample.labels.items():
                values.append(float(sample.value))
    return values


def query_values(document: Any) -> list[float]:
    """Values of a successful /api/v1/query answer (instant vector or scalar).

    Raises ValueError for an answer that is not one of those.
    """
    if not isinstance(document, Mapping) or document.get("status") != "success":
        raise ValueError("not a successful Prometheus API answer")
    data = document.get("data")
    kind = data.get("resultType") if isinstance(data, Mapping) else None
    if kind == "matrix":
        raise ValueError("query returned a range vector; use an instant vector or a scalar")
    if kind not in ("scalar", "vector"):
        raise ValueError(f"unsupported result type {kind!r}")
    assert isinstance(data, Mapping)
    result: Any = data.get("result")
    try:
        if kind == "scalar":
            return [float(result[1])]
        return [float(item["value"][1]) for item in result]
    except (TypeError, ValueError, KeyError, IndexError):
        raise ValueError(f"malformed {kind} result") from None


def api_warnings(document: Any) -> list[str]:
    warnings = document.get("warnings") if isinstance(document, Mapping) else None
    return [str(w) for w in warnings] if isinstance(warnings, list) else []


def _format(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:.0f}" if value.is_integer() else f"{value:.4g}"


# --- I/O -----------------------------------------------------------------------------------


async def _fetch(
    cfg: PrometheusCheck, ctx: ProbeContext, url: str, params: Mapping[str, str] | None = None
) -> tuple[int, bytes]:
    session = ctx.http(keepalive=False)
    headers = {"Accept": _SCRAPE_ACCEPT} if cfg.scrape is not None else {}
    headers.update(cfg.headers)
    try:
        async with session.get(
            url, params=params, headers=headers, ssl=cfg.verify_tls, allow_redirects=True
        ) as response:
            body = await response.content.read(cfg.max_body + 1)
            code = response.status
    except (aiohttp.ClientError, ssl.SSLError) as exc:
        raise client_failure(exc) from None
    if len(body) > cfg.max_body:
        raise ProbeFailure(Status.CRITICAL, f"response larger than max_body ({cfg.max_body} B)")
    return code, body


async def _scrape(cfg: PrometheusCheck, ctx: ProbeContext) -> Observation:
    assert cfg.scrape is not None
    code, body = await _fetch(cfg, ctx, cfg.scrape)
    if code != 200:
        raise ProbeFailure(Status.CRITICAL, f"HTTP {code} from {cfg.scrape}")
    try:
        families = parse_exposition(body.decode("utf-8", errors="replace"))
    except ValueError as exc:
        raise ProbeFailure(Status.CRITICAL, f"cannot parse metrics: {exc}") from None
    samples: dict[str, float] = {}
    parts, missing = [], []
    for item in cfg.series:
        value = aggregate(select(families, item), item.aggregate)
        if value is None:
            labels = ",".join(f'{k}="{v}"' for k, v in item.labels.items())
            missing.append(f"{item.metric}{{{labels}}}" if labels else item.metric)
            continue
        samples[item.sample] = value
        parts.append(f"{item.sample} {_format(value)}")
    if missing:
        parts.append(f"no samples of {', '.join(missing)}")
    status = _EMPTY_STATUS[cfg.empty] if missing else Status.OK
    return Observation(status, "; ".join(parts), samples)


def _api_error(code: int, body: bytes) -> str:
    try:
        document = json.loads(body)
    except ValueError:
        return f"HTTP {code} from Prometheus API (not a JSON answer)"
    if isinstance(document, Mapping) and document.get("status") == "error":
        kind = document.get("errorType") or "error"
        return f"Prometheus {kind}: {document.get('error') or 'no details'}"
    return f"HTTP {code} from Prometheus API"


async def _query(cfg: PrometheusCheck, ctx: ProbeContext) -> Observation:
    assert cfg.server is not None and cfg.query is not None
    url = cfg.server.rstrip("/") + "/api/v1/query"
    # Prometheus stops evaluating after this; it takes plain seconds.
    params = {"query": cfg.query, "timeout": f"{cfg.timeout.total_seconds():g}"}
    code, body = await _fetch(cfg, ctx, url, params)
    if code != 200:
        raise ProbeFailure(Status.CRITICAL, _api_error(code, body))
    try:
        document = json.loads(body)
    except ValueError:
        raise ProbeFailure(Status.CRITICAL, _api_error(code, body)) from None
    try:
        values = query_values(document)
    except ValueError as exc:
        raise ProbeFailure(Status.CRITICAL, f"unexpected answer to {cfg.query}: {exc}") from None
    notes = "".join(f"; warning: {w}" for w in api_warnings(document))
    value = aggregate(values, cfg.aggregate)
    if value is None:
        return Observation(_EMPTY_STATUS[cfg.empty], f"no data for {cfg.query}{notes}")
    series = f" ({len(values)} series, {cfg.aggregate})" if len(values) > 1 else ""
    message = f"{cfg.sample} {_format(value)}{series}{notes}"
    return Observation(Status.OK, message, {cfg.sample: value})


async def probe(cfg: PrometheusCheck, ctx: ProbeContext) -> Observation:
    return await (_scrape(cfg, ctx) if cfg.scrape is not None else _query(cfg, ctx))


def _samples(cfg: PrometheusCheck) -> frozenset[str]:
    if cfg.scrape is not None:
        return frozenset(s.sample for s in cfg.series)
    return frozenset({cfg.sample})


KIND = CheckKind(
    name="prometheus",
    config_model=PrometheusCheck,
    probe=probe,
    summary="Read series from a /metrics endpoint or a PromQL query's value from Prometheus.",
    samples=_samples,
)
