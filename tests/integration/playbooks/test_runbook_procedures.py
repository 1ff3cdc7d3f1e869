"""Runbook procedures from the example configs, run for real against PostgreSQL and Redis
on 127.0.0.1: review-engine's "Sync Conflicts" and "Queue Generation Timeout", and
practice-app's "Immediate: Kill long-running queries".

Redis is a server of the test's own (the playbooks use the runbooks' key names,
`sync_queue` and `queue:*`, which must not touch a shared server); PostgreSQL is a fresh
database. Where a step calls a program that does not exist here
(`./scripts/process-sync-queue.sh`, `systemctl`), the run uses the example's playbook
with that one step replaced or left out, loaded like the example itself.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from redis import Redis

from opsbook.config.loader import load_config, load_config_text
from opsbook.config.models import Config
from opsbook.playbooks.records import RunStatus, StepRecord
from opsbook.playbooks.runner import PlaybookRunner, RunRequest
from opsbook.store import Store
from tests.services import private_redis

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

# Stands in for ./scripts/process-sync-queue.sh: takes up to LIMIT stuck items off the
# sync queue (a real processor would sync each one) and says how many.
PROCESS_SYNC_QUEUE = """
import sys
from redis import Redis
client, limit, done = Redis.from_url(sys.argv[1]), int(sys.argv[2]), 0
while done < limit and client.lpop("sync_queue") is not None:
    done += 1
print(f"processed {done} stuck items")
"""


def derived_config(
    example: str, playbook: str, environ: Mapping[str, str], change: Callable[[Any], None]
) -> Config:
    """The example config with one playbook changed by `change`, loaded the same way."""
    path = EXAMPLES / f"{example}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(next(p for p in data["playbooks"] if p["name"] == playbook))
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return load_config_text(text, file=str(path), base_dir=EXAMPLES, environ=dict(environ))


def step_block(book: dict[str, Any], name: str) -> dict[str, Any]:
    block: dict[str, Any] = next(s for s in book["steps"] if s["name"] == name)
    return block


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[tuple[str, Redis]]:
    with private_redis(tmp_path) as port:
        client = Redis(host="127.0.0.1", port=port, decode_responses=True)
        yield f"redis://127.0.0.1:{port}/0", client
        client.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as opened:
        yield opened


def by_name(steps: list[StepRecord]) -> dict[str, StepRecord]:
    return {s.name: s for s in steps}


def sync_conflicts_config(url: str, limit: int) -> Config:
    def replace_processor(book: dict[str, Any]) -> None:
        step_block(book, "process-stuck-items")["shell"] = {
            "argv": [sys.executable, "-c", PROCESS_SYNC_QUEUE, url, str(limit)]
        }

    return derived_config("review-engine", "sync-conflicts", {"REDIS_URL": url}, replace_processor)


async def test_sync_conflicts_processes_the_queue_and_verifies_it_is_empty(
    redis_server: tuple[str, Redis], store: Store
) -> None:
    url, client = redis_server
    example = load_config(EXAMPLES / "review-engine.yaml", environ={"REDIS_URL": url})
    config = sync_conflicts_config(url, limit=100)
    derived, original = config.playbook("sync-conflicts"), example.playbook("sync-conflicts")
    assert derived is not None and original is not None
    for name in ("check-sync-queue", "verify-queue-empty", "reset-user-sync-state"):
        assert derived.step(name) == original.step(name), f"{name} is the example's step"
    client.rpush("sync_queue", "device-a:review-17", "device-b:review-17", "device-a:pin-3")
    runner = PlaybookRunner(config, store)

    run = await runner.start(RunRequest("sync-conflicts", {}, "oncall"))

    assert run.status is RunStatus.SUCCEEDED, run.error
    steps = store.runs.steps(run.id)
    assert [(s.name, s.status) for s in steps] == [
        ("check-sync-queue", "ok"),
        ("process-stuck-items", "ok"),
        ("verify-queue-empty", "ok"),
        ("reset-user-sync-state", "skipped"),  # no user_id given
    ]
    check, process, verify, _ = steps
    assert check.rendered == "redis on cache: LLEN sync_queue"
    assert check.output == "(integer) 3" and dict(check.vars) == {"length": 3}
    assert process.exit_code == 0 and "processed 3 stuck items" in process.output
    assert verify.output == "(integer) 0"
    assert client.llen("sync_queue") == 0

    again = await runner.start(RunRequest("sync-conflicts", {}, "oncall"))  # lock released
    assert again.status is RunStatus.SUCCEEDED
    statuses = {s.name: s.status for s in store.runs.steps(again.id)}
    assert statuses["process-stuck-items"] == "skipped"  # nothing queued, nothing to process


async def test_sync_conflicts_fails_at_verify_when_the_queue_stays_full(
    redis_server: tuple[str, Redis], store: Store
) -> None:
    url, client = redis_server
    client.rpush("sync_queue", "device-a:review-17", "device-b:review-17", "device-a:pin-3")
    runner = PlaybookRunner(sync_conflicts_config(url, limit=0), store)  # processes nothing

    run = await runner.start(RunRequest("sync-conflicts", {"user_id": "user_4711"}, "oncall"))

    assert run.status is RunStatus.FAILED
    assert run.error == "step verify-queue-empty failed: (integer) 3: reply is 3, expected 0"
    steps = by_name(store.runs.steps(run.id))
    assert list(steps) == ["check-sync-queue", "process-stuck-items", "verify-queue-empty"]
    assert steps["process-stuck-items"].output.strip() == "processed 0 stuck items"
    verify = steps["verify-queue-empty"]
    assert verify.status == "failed" and verify.output == "(integer) 3"
    assert verify.error == "(integer) 3: reply is 3, expected 0"
    assert client.llen("sync_queue") == 3  # reset-user-sync-state never ran


async def test_queue_generation_timeout_deletes_only_queue_keys(
    redis_server: tuple[str, Redis], store: Store
) -> None:
    url, client = redis_server
    client.set("queue:a", "[17, 23]")
    client.rpush("queue:b", "review-1", "review-2")
    client.set("other:c", "kept")

    def only_clear_queue_cache(book: dict[str, Any]) -> None:  # the other steps need systemd
        book["steps"] = [step_block(book, "clear-queue-cache")]

    config = derived_config(
        "review-engine", "queue-generation-timeout", {"REDIS_URL": url}, only_clear_queue_cache
    )
    runner = PlaybookRunner(config, store)

    run = await runner.start(RunRequest("queue-generation-timeout", {}, "oncall"))
    assert run.status is RunStatus.WAITING  # dangerous: nothing deleted without approval
    assert sorted(client.scan_iter()) == ["other:c", "queue:a", "queue:b"]

    runner.approve(run.id, "team-lead")
    done = await runner.resume(run.id, "team-lead")

    assert done.status is RunStatus.SUCCEEDED, done.error
    [clear] = store.runs.steps(run.id)
    assert clear.name == "clear-queue-cache" and clear.status == "ok"
    assert clear.rendered == (
        "redis on cache: SCAN 0 MATCH queue:* COUNT 500, then DEL each batch of matching keys"
    )
    assert clear.output == "(integer) 2"
    assert sorted(client.scan_iter()) == ["other:c"]
    assert client.get("other:c") == "kept"


async def backend_state(url: str, pid: int) -> str | None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT state || CASE WHEN now() - query_start > interval '1.5 seconds'"
            " THEN ' old' ELSE '' END FROM pg_stat_activity WHERE pid = %s",
            [pid],
        )
        row = await cur.fetchone()
        return None if row is None else str(row[0])


async def test_kill_long_running_queries_terminates_the_blocking_query(
    pg_database: str, store: Store
) -> None:
    config = load_config(EXAMPLES / "practice-app-ops.yaml", environ={"DATABASE_URL": pg_database})
    blocker = await psycopg.AsyncConnection.connect(
        pg_database, autocommit=True, application_name="weekly-report"
    )
    pid = blocker.info.backend_pid
    sleeping = asyncio.create_task(blocker.execute("SELECT pg_sleep(60)"))
    try:
        for _ in range(100):  # active, and older than the playbook's 1 second
            if await backend_state(pg_database, pid) == "active old":
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the blocking query did not start")
        runner = PlaybookRunner(config, store)

        run = await runner.start(
            RunRequest("high-database-cpu", {"older_than": "1 second"}, "oncall")
        )

        assert run.status is RunStatus.WAITING  # the kill is dangerous: it waits for approval
        steps = by_name(store.runs.steps(run.id))
        assert str(pid) in steps["check-active-queries"].output  # the investigation saw it
        waiting = steps["kill-long-running-queries"]
        assert waiting.status == "waiting"
        assert waiting.rendered.startswith("sql on database (read-write): SELECT pid")
        assert "older_than = '1 second'" in waiting.rendered
        assert await backend_state(pg_database, pid) == "active old"  # nothing killed yet

        runner.approve(run.id, "team-lead")
        done = await runner.resume(run.id, "team-lead")

        assert done.status is RunStatus.SUCCEEDED, done.error
        kill = by_name(store.runs.steps(run.id))["kill-long-running-queries"]
        assert kill.status == "ok"
        assert str(pid) in kill.output  # which query was terminated, and whose
        assert "weekly-report" in kill.output and "SELECT pg_sleep(60)" in kill.output
        with pytest.raises(psycopg.OperationalError, match="terminat"):
            await asyncio.wait_for(sleeping, timeout=10)
        for _ in range(50):
            if await backend_state(pg_database, pid) is None:
                break
            await asyncio.sleep(0.1)
        assert await backend_state(pg_database, pid) is None
    finally:
        sleeping.cancel()
        await asyncio.gather(sleeping, return_exceptions=True)
        await blocker.close()
