"""The redis step against the shared Redis on 127.0.0.1. Every key lives under a prefix
of its own test, so nothing else on the server is read or deleted."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from opsbook.playbooks.steps.base import StepContext, StepStatus
from tests.services import free_port
from tests.unit.playbooks.steps.stepctx import config, context, run


@pytest.fixture
async def prefix(redis_port: int) -> AsyncIterator[str]:
    name = f"opsbook-test:{uuid.uuid4().hex}"
    yield name
    client = Redis(host="127.0.0.1", port=redis_port, protocol=2)
    keys = [key async for key in client.scan_iter(match=f"{name}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
async def client(redis_port: int) -> AsyncIterator[Redis]:
    redis = Redis(host="127.0.0.1", port=redis_port, protocol=2, decode_responses=True)
    yield redis
    await redis.aclose()


def ctx_for(port: int, **kwargs: Any) -> StepContext:
    cfg = config(
        f'connections:\n  - name: cache\n    redis: {{url: "redis://127.0.0.1:{port}/0"}}\n'
    )
    return context(cfg, **kwargs)


async def test_sync_queue_length(redis_port: int, prefix: str, client: Redis) -> None:
    # review-engine "Sync Conflicts", step 1: redis-cli LLEN sync_queue
    queue = f"{prefix}:sync_queue"
    await client.rpush(queue, "a", "b", "c")
    ctx = ctx_for(redis_port, params={"queue": queue})
    block: dict[str, Any] = {"connection": "cache", "command": ["LLEN", "{{ params.queue }}"],
                             "expect": {"max": 100}, "save": {"length": "result"}}  # fmt: skip
    result = await run("redis", block, ctx)
    assert result.status is StepStatus.OK, result.summary
    assert result.output == "(integer) 3"
    assert result.vars == {"length": 3}
    backed_up = await run("redis", {**block, "expect": {"max": 2}}, ctx)
    assert backed_up.status is StepStatus.FAILED
    assert backed_up.summary == "(integer) 3: reply is 3, expected at most 2"
    too_short = await run("redis", {**block, "expect": {"min": 5, "equals": 4}}, ctx)
    assert (
        too_short.summary == "(integer) 3: reply is 3, expected 4; reply is 3, expected at least 5"
    )


async def test_emergency_cache_flag(redis_port: int, prefix: str, client: Redis) -> None:
    # review-engine "High Error Rate", step 6: redis-cli SET emergency_cache_enabled true EX 3600
    key = f"{prefix}:emergency_cache_enabled"
    ctx = ctx_for(redis_port)
    result = await run("redis", {"connection": "cache",
                                 "command": ["SET", key, "true", "EX", 3600]}, ctx)  # fmt: skip
    assert result.status is StepStatus.OK, result.summary
    assert result.output == "OK"
    assert 3590 < await client.ttl(key) <= 3600
    read = await run("redis", {"connection": "cache", "command": ["GET", key],
                               "expect": {"equals": "true"}, "save": {"flag": "result"}}, ctx)  # fmt: skip
    assert read.status is StepStatus.OK, read.summary
    assert read.vars == {"flag": "true"}


async def test_a_hostile_value_is_one_argument(redis_port: int, prefix: str, client: Redis) -> None:
    key, other = f"{prefix}:note", f"{prefix}:other"
    await client.set(other, "kept")
    hostile = "x\r\nFLUSHALL\r\n*1\r\n$8\r\nFLUSHALL\r\n"
    ctx = ctx_for(redis_port, params={"note": hostile})
    result = await run("redis", {"connection": "cache",
                                 "command": ["SET", key, "{{ params.note }}"]}, ctx)  # fmt: skip
    assert result.status is StepStatus.OK, result.summary
    assert await client.get(key) == hostile
    assert await client.get(other) == "kept"


async def test_delete_matching_uses_scan_in_batches(
    redis_port: int, prefix: str, client: Redis
) -> None:
    # review-engine "Queue Generation Timeout", step 1: redis-cli DEL "queue:*"
    async with client.pipeline(transaction=False) as pipe:
        for i in range(1234):
            pipe.set(f"{prefix}:queue:{i}", i)
        pipe.set(f"{prefix}:srs:1", "kept")
        await pipe.execute()
    ctx = ctx_for(redis_port, params={"prefix": prefix})
    block = {"connection": "cache", "delete_matching": "{{ params.prefix }}:queue:*",
             "batch": 100, "save": {"deleted": "result"}, "expect": {"min": 1}}  # fmt: skip
    result = await run("redis", block, ctx)
    assert result.status is StepStatus.OK, result.summary
    assert result.vars == {"deleted": 1234}
    assert result.summary == f"deleted 1234 keys matching {prefix}:queue:*"
    assert [k async for k in client.scan_iter(match=f"{prefix}:*")] == [f"{prefix}:srs:1"]
    again = await run("redis", block, ctx)
    assert again.status is StepStatus.FAILED
    assert again.summary.endswith("reply is 0, expected at least 1")


async def test_a_glob_in_a_value_matches_only_itself(
    redis_port: int, prefix: str, client: Redis
) -> None:
    await client.set(f"{prefix}:queue:alice", 1)
    await client.set(f"{prefix}:queue:*", 1)
    ctx = ctx_for(redis_port, params={"user": "*"})
    block = {"connection": "cache", "delete_matching": prefix + ":queue:{{ params.user }}"}
    result = await run("redis", block, ctx)
    assert result.status is StepStatus.OK, result.summary
    assert result.output == "(integer) 1"
    assert await client.exists(f"{prefix}:queue:alice") == 1


async def test_errors_fail_the_step(redis_port: int, prefix: str, client: Redis) -> None:
    key = f"{prefix}:flag"
    await client.set(key, "x")
    wrong_type = await run("redis", {"connection": "cache", "command": ["LLEN", key]},
                           ctx_for(redis_port))  # fmt: skip
    assert wrong_type.status is StepStatus.FAILED
    assert wrong_type.summary == (
        "ResponseError: WRONGTYPE Operation against a key holding the wrong kind of value"
    )
    refused = await run("redis", {"connection": "cache", "command": ["PING"]},
                        ctx_for(free_port()))  # fmt: skip
    assert refused.status is StepStatus.FAILED
    assert refused.summary.startswith("ConnectionError: ")
