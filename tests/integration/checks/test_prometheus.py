"""The prometheus check: scrape mode against a real prometheus_client exposition served by
aiohttp, query mode against a real Prometheus server scraping such an endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from opsbook.status import Status
from tests.checkutil import run
from tests.integration.httpserver import Handler, serve, stopped_port_url
from tests.integration.prometheus_server import (
    PrometheusServer,
    metrics_endpoint,
    running_prometheus,
)

TOKEN = "s3cret-scrape-token"


def app_registry() -> CollectorRegistry:
    """What an API service exposes: requests by code, a queue gauge, a latency histogram."""
    registry = CollectorRegistry()
    requests = Counter("http_requests_total", "Requests.", ["method", "code"], registry=registry)
    requests.labels("GET", "200").inc(940)
    requests.labels("POST", "200").inc(40)
    requests.labels("GET", "500").inc(12)
    requests.labels("POST", "500").inc(8)
    Gauge("queue_depth", "Jobs waiting.", ["queue"], registry=registry).labels("email").set(7)
    latency = Histogram(
        "http_request_duration_seconds",
        "Latency.",
        ["route"],
        buckets=(0.1, 0.5, 1.0, 5.0),
        registry=registry,
    )
    for seconds in (0.05, 0.2, 0.3, 0.7, 6.0):
        latency.labels("/api/v1/health").observe(seconds)
    return registry


REGISTRY = app_registry()


async def metrics(request: web.Request) -> web.Response:
    return web.Response(
        body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


async def protected(request: web.Request) -> web.Response:
    if request.headers.get("Authorization") != f"Bearer {TOKEN}":
        return web.Response(status=401, text="unauthorized")
    return await metrics(request)


async def html(_: web.Request) -> web.Response:
    return web.Response(text="<html><body>not metrics</body></html>", content_type="text/html")


async def unavailable_metrics(_: web.Request) -> web.Response:
    return web.Response(status=503, text="starting")


async def old_style_counter(_: web.Request) -> web.Response:
    return web.Response(text="# TYPE jobs_processed counter\njobs_processed 41\n")


async def slow_metrics(request: web.Request) -> web.Response:
    await asyncio.sleep(1)
    return await metrics(request)


ROUTES: dict[str, Handler] = {
    "/metrics": metrics,
    "/protected": protected,
    "/html": html,
    "/unavailable": unavailable_metrics,
    "/old": old_style_counter,
    "/slow": slow_metrics,
}


def scrape(url: str, *series: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"scrape": url, "series": list(series), **extra}


# --- scrape mode --------------------------------------------------------------------------


async def test_scrape_selects_counter_by_exposition_name_and_labels() -> None:
    async with serve(ROUTES) as base:
        result = await run(
            "prometheus",
            scrape(
                f"{base}/metrics",
                {
                    "sample": "errors_total",
                    "metric": "http_requests_total",
                    "labels": {"code": 500},
                },
                {"sample": "requests_total", "metric": "http_requests_total"},
                {
                    "sample": "get_errors_total",
                    "metric": "http_requests_total",
                    "labels": {"code": "500", "method": "GET"},
                },
            ),
        )
    assert result.status is Status.OK, result.message
    assert result.samples == {"errors_total": 20, "requests_total": 1000, "get_errors_total": 12}
    assert "errors_total 20" in result.message


async def test_scrape_gauge_histogram_parts_and_aggregates() -> None:
    health = {"route": "/api/v1/health"}
    async with serve(ROUTES) as base:
        result = await run(
            "prometheus",
            scrape(
                f"{base}/metrics",
                {"sample": "queue_depth", "metric": "queue_depth", "labels": {"queue": "email"}},
                {
                    "sample": "slow_requests",
                    "metric": "http_request_duration_seconds_bucket",
                    "labels": {**health, "le": "1.0"},
                },
                {
                    "sample": "requests_count",
                    "metric": "http_request_duration_seconds_count",
                    "labels": health,
                },
                {"sample": "max_code_count", "metric": "http_requests_total", "aggregate": "max"},
                {"sample": "min_code_count", "metric": "http_requests_total", "aggregate": "min"},
                {"sample": "avg_code_count", "metric": "http_requests_total", "aggregate": "avg"},
                {"sample": "series_count", "metric": "http_requests_total", "aggregate": "count"},
            ),
        )
    assert result.status is Status.OK, result.message
    assert result.samples == {
        "queue_depth": 7,
        "slow_requests": 4,  # 0.05, 0.2, 0.3, 0.7 are <= 1.0; 6.0 is not
        "requests_count": 5,
        "max_code_count": 940,
        "min_code_count": 8,
        "avg_code_count": 250,
        "series_count": 4,
    }


async def test_counter_exposed_without_total_suffix_matches_its_name() -> None:
    async with serve(ROUTES) as base:
        result = await run(
            "prometheus", scrape(f"{base}/old", {"sample": "jobs", "metric": "jobs_processed"})
        )
    assert result.status is Status.OK, result.message
    assert result.samples == {"jobs": 41}


async def test_scrape_thresholds_apply_to_series_samples() -> None:
    async with serve(ROUTES) as base:
        result = await run(
            "prometheus",
            scrape(f"{base}/metrics", {"sample": "queue_depth", "metric": "queue_depth"}),
            thresholds={"queue_depth": {"warning": "> 5", "critical": "> 50"}},
        )
    assert result.status is Status.WARNING
    assert result.message.startswith("queue_depth 7 > 5")


@pytest.mark.parametrize(
    ("empty", "status"),
    [
        (None, Status.CRITICAL),
        ("warning", Status.WARNING),
        ("unknown", Status.UNKNOWN),
        ("ok", Status.OK),
    ],
)
async def test_series_without_match_is_absent_with_status_per_empty(
    empty: str | None, status: Status
) -> None:
    extra = {"empty": empty} if empty else {}
    async with serve(ROUTES) as base:
        result = await run(
            "prometheus",
            scrape(
                f"{base}/metrics",
                {"sample": "queue_depth", "metric": "queue_depth"},
                {"sample": "teapots", "metric": "http_requests_total", "labels": {"code": "418"}},
                **extra,
            ),
        )
    assert result.status is status, result.message
    assert result.samples == {"queue_depth": 7}
    assert 'no samples of http_requests_total{code="418"}' in result.message


async def test_bearer_token_header_reaches_the_endpoint() -> None:
    series = {"sample": "queue_depth", "metric": "queue_depth"}
    async with serve(ROUTES) as base:
        refused = await run("prometheus", scrape(f"{base}/protected", series))
        allowed = await run(
            "prometheus",
            scrape(f"{base}/protected", series, headers={"Authorization": f"Bearer {TOKEN}"}),
        )
    assert refused.status is Status.CRITICAL
    assert "HTTP 401" in refused.message
    assert TOKEN not in refused.message
    assert allowed.status is Status.OK, allowed.message
    assert allowed.samples == {"queue_depth": 7}


async def test_broken_endpoints_are_critical_with_reason() -> None:
    series = {"sample": "queue_depth", "metric": "queue_depth"}
    async with serve(ROUTES) as base:
        not_metrics = await run("prometheus", scrape(f"{base}/html", series))
        down = await run("prometheus", scrape(f"{base}/unavailable", series))
        too_big = await run("prometheus", scrape(f"{base}/metrics", series, max_body="1KB"))
        slow = await run("prometheus", scrape(f"{base}/slow", series, timeout="200ms"))
    refused = await run("prometheus", scrape(f"{await stopped_port_url()}/metrics", series))
    assert not_metrics.status is Status.CRITICAL
    assert "cannot parse metrics" in not_metrics.message
    assert down.status is Status.CRITICAL
    assert "HTTP 503" in down.message
    assert too_big.status is Status.CRITICAL
    assert "larger than max_body" in too_big.message
    assert slow.status is Status.CRITICAL
    assert "timed out" in slow.message
    assert refused.status is Status.CRITICAL
    assert "cannot connect" in refused.message


# --- query mode against a real Prometheus -------------------------------------------------

SCRAPE_INCREMENT = 5  # the app counter grows this much per scrape (once a second)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    registry = CollectorRegistry()
    jobs = Counter("jobs_done_total", "Jobs done.", ["queue"], registry=registry)
    Gauge("queue_depth", "Jobs waiting.", ["queue"], registry=registry).labels("email").set(7)

    def grow() -> None:
        jobs.labels("email").inc(SCRAPE_INCREMENT)

    with (
        metrics_endpoint(registry, on_scrape=grow) as url,
        running_prometheus(tmp_path_factory.mktemp("prometheus"), {"app": url}) as server,
    ):
        server.wait_for_data('up{job="app"} == 1')
        server.wait_for_data('up{job="prometheus"} == 1')
        yield server


def query(server: PrometheusServer, promql: str, **extra: Any) -> dict[str, Any]:
    return {"server": server.url, "query": promql, **extra}


async def test_query_up_sums_the_vector_by_default(prometheus: PrometheusServer) -> None:
    result = await run("prometheus", query(prometheus, "up"))
    assert result.status is Status.OK, result.message
    assert result.samples == {"value": 2}  # the app and Prometheus itself
    assert "2 series, sum" in result.message

    counted = await run("prometheus", query(prometheus, "up", aggregate="count", sample="targets"))
    one = await run("prometheus", query(prometheus, 'up{job="app"}', sample="app_up"))
    assert counted.samples == {"targets": 2}
    assert one.samples == {"app_up": 1}


async def test_query_gauge_value_and_threshold(prometheus: PrometheusServer) -> None:
    result = await run(
        "prometheus",
        query(prometheus, 'queue_depth{queue="email"}', sample="queue_depth"),
        thresholds={"queue_depth": {"critical": "> 5"}},
    )
    assert result.samples == {"queue_depth": 7}
    assert result.status is Status.CRITICAL
    assert result.message.startswith("queue_depth 7 > 5")


async def test_query_rate_of_a_growing_counter(prometheus: PrometheusServer) -> None:
    promql = "sum(rate(jobs_done_total[5s]))"
    await asyncio.to_thread(prometheus.wait_for_data, f"{promql} > 0")
    result = await run("prometheus", query(prometheus, promql, sample="jobs_per_s"))
    assert result.status is Status.OK, result.message
    # About SCRAPE_INCREMENT per second; scrape jitter and extrapolation blur it a little.
    assert 2 <= result.samples["jobs_per_s"] <= 12


async def test_query_scalar_result(prometheus: PrometheusServer) -> None:
    result = await run("prometheus", query(prometheus, "scalar(sum(up)) * 10"))
    assert result.status is Status.OK, result.message
    assert result.samples == {"value": 20}


async def test_invalid_promql_is_critical_with_prometheus_error(
    prometheus: PrometheusServer,
) -> None:
    result = await run("prometheus", query(prometheus, "sum(rate(up[5m]"))
    assert result.status is Status.CRITICAL
    assert "bad_data" in result.message
    assert "parse error" in result.message
    assert result.samples == {}


async def test_range_vector_is_critical(prometheus: PrometheusServer) -> None:
    result = await run("prometheus", query(prometheus, "up[1m]"))
    assert result.status is Status.CRITICAL
    assert "range vector" in result.message


@pytest.mark.parametrize(
    ("empty", "status"),
    [(None, Status.CRITICAL), ("unknown", Status.UNKNOWN), ("ok", Status.OK)],
)
async def test_empty_query_result_status_per_empty(
    prometheus: PrometheusServer, empty: str | None, status: Status
) -> None:
    extra = {"empty": empty} if empty else {}
    result = await run("prometheus", query(prometheus, 'up{job="no-such-job"}', **extra))
    assert result.status is status, result.message
    assert "no data" in result.message
    assert result.samples == {}


async def test_query_server_down_or_not_prometheus_is_critical() -> None:
    down = await run("prometheus", {"server": await stopped_port_url(), "query": "up"})
    async with serve(ROUTES) as base:  # answers 404 for /api/v1/query
        wrong = await run("prometheus", {"server": base, "query": "up"})
    assert down.status is Status.CRITICAL
    assert "cannot connect" in down.message
    assert wrong.status is Status.CRITICAL
    assert "HTTP 404" in wrong.message
