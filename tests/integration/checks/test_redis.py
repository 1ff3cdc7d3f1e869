"""The redis check against the shared Redis on 127.0.0.1 and private redis-servers.

The shared server's config is never changed: memory limits, passwords and counter
resets happen on a private redis-server of the test's own.
"""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from opsbook.checks.context import ProbeContext
from opsbook.status import Status
from tests.checkutil import run
from tests.services import free_port, private_redis

CHUNK = "x" * 10_000


def client(port: int, password: str | None = None) -> Redis:
    return Redis(host="127.0.0.1", port=port, password=password, protocol=2)


async def fill_until(redis: Redis, pct: float) -> None:
    """Write 10 kB values until used_memory reaches `pct` of maxmemory (or Redis refuses)."""
    info = await redis.info("memory")
    index = 0
    while info["used_memory"] < info["maxmemory"] * pct / 100:
        try:
            await redis.set(f"fill:{index}", CHUNK)
        except ResponseError as exc:  # OOM under noeviction: as full as it gets
            assert "OOM" in str(exc)
            return
        index += 1
        info = await redis.info("memory")


async def test_healthy_shared_redis_is_ok(redis_port: int) -> None:
    result = await run("redis", {"url": f"redis://127.0.0.1:{redis_port}/0"})
    assert result.status is Status.OK, result.message
    assert result.message.startswith("PONG in ")
    samples = result.samples
    assert samples["latency_ms"] > 0
    assert samples["used_memory_bytes"] > 100_000
    assert samples["connected_clients"] >= 1  # the probe itself
    assert samples["evicted_keys"] >= 0
    assert samples["ops_per_sec"] >= 0


async def test_memory_filling_up_crosses_default_thresholds(tmp_path: Path) -> None:
    args = ("--maxmemory", "2mb", "--maxmemory-policy", "noeviction")
    with private_redis(tmp_path, *args) as port:
        url = f"redis://127.0.0.1:{port}"
        redis = client(port)
        try:
            empty = await run("redis", {"url": url})
            await fill_until(redis, 85)
            warm = await run("redis", {"url": url})
            await fill_until(redis, 97)
            full = await run("redis", {"url": url})
        finally:
            await redis.aclose()
    assert empty.status is Status.OK, empty.message
    assert 0 < empty.samples["used_memory_pct"] < 80
    assert "of 2.0 MiB maxmemory, noeviction" in empty.message
    assert warm.status is Status.WARNING, warm.message
    assert 80 < warm.samples["used_memory_pct"] <= 95
    assert warm.message.startswith("used_memory_pct ") and "> 80" in warm.message
    assert full.status is Status.CRITICAL, full.message
    assert full.samples["used_memory_pct"] > 95
    assert full.message.startswith("used_memory_pct ") and "> 95" in full.message
    expected = full.samples["used_memory_bytes"] / (2 * 1024 * 1024) * 100
    assert full.samples["used_memory_pct"] == pytest.approx(expected)


async def test_user_thresholds_replace_the_memory_defaults(tmp_path: Path) -> None:
    with private_redis(tmp_path, "--maxmemory", "2mb") as port:
        redis = client(port)
        try:
            await fill_until(redis, 85)
            # a cache that is meant to be full switches the default off with empty bounds
            relaxed = await run(
                "redis", {"url": f"redis://127.0.0.1:{port}"}, thresholds={"used_memory_pct": {}}
            )
            strict = await run(
                "redis",
                {"url": f"redis://127.0.0.1:{port}"},
                thresholds={"used_memory_pct": {"critical": "> 50"}},
            )
        finally:
            await redis.aclose()
    assert relaxed.status is Status.OK, relaxed.message
    assert strict.status is Status.CRITICAL
    assert "> 50" in strict.message


async def test_no_maxmemory_means_no_used_memory_pct(tmp_path: Path) -> None:
    with private_redis(tmp_path) as port:
        result = await run("redis", {"url": f"redis://127.0.0.1:{port}"})
    assert result.status is Status.OK
    assert "used_memory_pct" not in result.samples
    assert "(no maxmemory)" in result.message


async def test_list_length_is_reported(redis_port: int) -> None:
    key = f"opsbook-test:{uuid.uuid4().hex}:sync_queue"
    redis = client(redis_port)
    try:
        await redis.rpush(key, "a", "b", "c")
        result = await run(
            "redis",
            {"url": f"redis://127.0.0.1:{redis_port}/0", "lists": [key]},
            thresholds={f"llen_{key.replace(':', '_').replace('-', '_')}": {"warning": "> 2"}},
        )
    finally:
        await redis.delete(key)
        await redis.aclose()
    name = "llen_" + key.replace(":", "_").replace("-", "_")
    assert result.samples[name] == 3
    assert result.status is Status.WARNING
    assert result.message.startswith(f"{name} 3 > 2")
    assert f"{key} 3" in result.message


async def test_missing_list_is_empty_and_wrong_type_is_critical(redis_port: int) -> None:
    missing = f"opsbook-test:{uuid.uuid4().hex}:missing"
    text = f"opsbook-test:{uuid.uuid4().hex}:text"
    redis = client(redis_port)
    try:
        await redis.set(text, "not a list")
        result = await run(
            "redis", {"url": f"redis://127.0.0.1:{redis_port}/0", "lists": [missing, text]}
        )
    finally:
        await redis.delete(text)
        await redis.aclose()
    assert result.status is Status.CRITICAL
    assert result.message.startswith(f"LLEN {text} failed: WRONGTYPE")
    missing_name = "llen_" + missing.replace(":", "_").replace("-", "_")
    assert result.samples[missing_name] == 0
    assert "used_memory_bytes" in result.samples


async def test_hit_rate_from_real_lookups_since_last_probe(tmp_path: Path) -> None:
    with private_redis(tmp_path) as port:
        url = f"redis://127.0.0.1:{port}"
        thresholds = {"hit_rate_pct": {"warning": "< 90"}}  # review-engine: P3 below 90 %
        redis = client(port)
        try:
            async with ProbeContext(tmp_path) as ctx:
                await redis.set("present", "1")
                idle = await run("redis", {"url": url}, ctx, thresholds=thresholds)
                for _ in range(9):
                    await redis.get("present")
                await redis.get("absent")
                first = await run("redis", {"url": url}, ctx, thresholds=thresholds)
                await redis.get("present")
                for _ in range(3):
                    await redis.get("absent")
                second = await run("redis", {"url": url}, ctx, thresholds=thresholds)
                await redis.config_resetstat()
                await redis.get("present")
                after_reset = await run("redis", {"url": url}, ctx, thresholds=thresholds)
        finally:
            await redis.aclose()
    assert "hit_rate_pct" not in idle.samples
    assert "no key lookups since counters started" in idle.message
    assert first.samples["hit_rate_pct"] == 90  # 9 hits, 1 miss
    assert first.status is Status.OK, first.message
    assert "hit rate 90.0% since last probe" in first.message
    # 1 hit and 3 misses since the last probe: 25 %, though 10 of 14 overall (71 %)
    assert second.samples["hit_rate_pct"] == 25
    assert second.status is Status.WARNING
    assert second.message.startswith("hit_rate_pct 25 < 90")
    assert after_reset.samples["hit_rate_pct"] == 100  # counters went back: since reset
    assert "since counters started" in after_reset.message


async def test_first_probe_uses_counters_since_start(tmp_path: Path) -> None:
    with private_redis(tmp_path) as port:
        redis = client(port)
        try:
            await redis.set("present", "1")
            for key in ("present", "present", "absent", "absent"):
                await redis.get(key)
            result = await run("redis", {"url": f"redis://127.0.0.1:{port}"})
        finally:
            await redis.aclose()
    assert result.samples["hit_rate_pct"] == 50
    assert "hit rate 50.0% since counters started" in result.message


async def test_probe_lookups_do_not_count_in_the_hit_rate(tmp_path: Path) -> None:
    with private_redis(tmp_path) as port:
        spec = {"url": f"redis://127.0.0.1:{port}", "lists": ["sync_queue", "other_queue"]}
        async with ProbeContext(tmp_path) as ctx:
            first = await run("redis", spec, ctx)
            second = await run("redis", spec, ctx)
    assert first.samples["llen_sync_queue"] == 0
    # LLEN of a missing key counts as a miss; the probe's own two must not show up
    assert "hit_rate_pct" not in second.samples
    assert "no key lookups since last probe" in second.message


async def test_wrong_password_is_critical_without_leaking_it(tmp_path: Path) -> None:
    with private_redis(tmp_path, "--requirepass", "correct-horse-42") as port:
        in_url = await run("redis", {"url": f"redis://:wrong-staple-17@127.0.0.1:{port}/0"})
        in_field = await run(
            "redis", {"url": f"redis://127.0.0.1:{port}/0", "password": "wrong-staple-17"}
        )
        missing = await run("redis", {"url": f"redis://127.0.0.1:{port}/0"})
        right = await run(
            "redis", {"url": f"redis://127.0.0.1:{port}/0", "password": "correct-horse-42"}
        )
        right_in_url = await run("redis", {"url": f"redis://:correct-horse-42@127.0.0.1:{port}"})
    for result in (in_url, in_field):
        assert result.status is Status.CRITICAL
        assert result.message.startswith(f"authentication to 127.0.0.1:{port} failed")
        assert "wrong-staple" not in result.message
        assert "correct-horse" not in result.message
    assert missing.status is Status.CRITICAL
    assert "Authentication required" in missing.message
    assert right.status is Status.OK, right.message
    assert right_in_url.status is Status.OK, right_in_url.message


async def test_stopped_port_is_critical() -> None:
    port = free_port()
    result = await run("redis", {"url": f"redis://:s3cret-pw@127.0.0.1:{port}/0"})
    assert result.status is Status.CRITICAL
    assert result.message == f"cannot connect to 127.0.0.1:{port}: Connection refused"
    assert result.samples == {}


async def test_silent_server_times_out() -> None:
    with socket.socket() as listener:  # accepts TCP connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        started = time.monotonic()
        result = await run("redis", {"url": f"redis://127.0.0.1:{port}", "timeout": "500ms"})
    assert result.status is Status.CRITICAL
    assert "0.5s" in result.message
    assert time.monotonic() - started < 3


async def test_unix_socket(tmp_path: Path) -> None:
    sock = tmp_path / "redis.sock"
    with private_redis(tmp_path, "--unixsocket", str(sock), "--unixsocketperm", "700"):
        result = await run("redis", {"url": f"unix://{sock}"})
    assert result.status is Status.OK, result.message
    assert result.samples["connected_clients"] >= 1
