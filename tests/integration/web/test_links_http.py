"""Signed one-click links from real pages, clicked over real HTTP.

Timeline (escalate_after 1s): the API goes down at t=0 → an incident opens → alice,
bob and then the manager are paged, each page carrying its own Acknowledge and Resolve
links → a GET only previews → a tampered link is refused → alice's ack link acts once
→ bob's resolve link resolves → the manager's links, clicked after that, say so.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from opsbook.demo.target import running_target
from opsbook.inbound.signing import sign
from opsbook.incidents.model import EventKind, IncidentStatus
from opsbook.store import Store
from opsbook.store.tables import used_tokens
from tests.integration.engine.harness import set_mode
from tests.integration.incidents.scenario import config_text, page_link
from tests.integration.receivers import WebhookRecorder
from tests.integration.web.harness import Reply, Served, reserve_port, send, serving

pytestmark = pytest.mark.asyncio(loop_scope="module")

PEOPLE = ("alice", "bob", "manager")


@dataclass
class Paged:
    served: Served
    links: dict[tuple[str, str], str]  # (person, purpose) -> URL
    incident: int


@contextlib.asynccontextmanager
async def paged_incident(
    directory: Path, escalate_after: str, people: tuple[str, ...], extra: str = ""
) -> AsyncIterator[Paged]:
    """A real target goes down and the engine pages; yields the links of `people` once
    each of them has been paged."""
    async with running_target() as target, WebhookRecorder() as hook:
        port, public = reserve_port()
        path = directory / "opsbook.yaml"
        path.write_text(config_text(target, hook.base_url, public, escalate_after) + extra)
        async with serving(path, port) as served:
            await set_mode(target, "down")
            for person in people:
                await hook.wait_for(1, f"/{person}", timeout=20)
            links = {
                (person, purpose): page_link(hook.on(f"/{person}")[0], purpose)
                for person in people
                for purpose in ("ack", "resolve")
            }
            [incident] = served.store.incidents.list()
            await settled(served.store, incident.id)
            yield Paged(served, links, incident.id)


async def settled(store: Store, number: int) -> None:
    """Until the incident's escalation is over (exhausted, or not due for an hour): from
    then on only a click can change it."""
    for _ in range(100):
        incident = store.incidents.get(number)
        assert incident is not None
        kinds = [entry.kind for entry in store.incidents.timeline(number)]
        due = incident.next_escalation_at
        if EventKind.ESCALATION_EXHAUSTED in kinds or (
            due is not None and due > datetime.now(UTC) + timedelta(minutes=5)
        ):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("escalation did not settle")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def paged(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Paged]:
    async with paged_incident(tmp_path_factory.mktemp("links"), "1s", PEOPLE) as value:
        yield value


def state(paged: Paged) -> tuple[Any, ...]:
    """What a click can change: the incident, its timeline and the used nonces."""
    store = paged.served.store
    with store.engine.connect() as conn:
        used = sorted(row.key for row in conn.execute(select(used_tokens.c.key)))
    return store.incidents.get(paged.incident), store.incidents.timeline(paged.incident), used


async def click(url: str, method: str = "POST") -> Reply:
    return await send(method, url)


def page_says(reply: Reply, status: int, *texts: str) -> None:
    assert reply.status == status, f"expected {status}, got {reply.status}: {reply.text[:300]}"
    assert reply.headers["content-type"].startswith("text/html"), reply.headers
    assert reply.headers.get("cache-control") == "no-store"
    for text in texts:
        assert text in reply.text, (text, reply.text)


def one_changed(url: str, index: int) -> str:
    base, _, token = url.rpartition("/")
    replacement = "A" if token[index] != "A" else "B"
    return f"{base}/{token[:index]}{replacement}{token[index + 1 :]}"


async def test_pages_carry_links_per_person(paged: Paged) -> None:
    urls = list(paged.links.values())
    assert len(set(urls)) == len(urls) == 6, "every page gets links of its own"
    for url in urls:
        assert url.startswith(paged.served.base_url + "/links/")


async def test_get_previews_without_acting(paged: Paged) -> None:
    before = state(paged)
    for person in PEOPLE:
        reply = await click(paged.links[(person, "ack")], "GET")
        page_says(reply, 200, f"Acknowledge incident #{paged.incident}?", f"acting as {person}")
        assert '<form method="post">' in reply.text
        reply = await click(paged.links[(person, "resolve")], "GET")
        page_says(reply, 200, f"Resolve incident #{paged.incident}?")
    assert state(paged) == before
    incident = paged.served.store.incidents.get(paged.incident)
    assert incident is not None and incident.acknowledged_at is None


async def test_one_changed_character_is_refused_and_does_nothing(paged: Paged) -> None:
    url = paged.links[("alice", "ack")]
    token = url.rpartition("/")[2]
    dot = token.index(".")
    positions = sorted(
        {
            0,
            1,
            dot // 2,
            dot - 1,
            dot,
            dot + 1,
            (dot + len(token)) // 2,
            len(token) - 2,
            len(token) - 1,
            *range(3, len(token), 11),
        }
    )
    before = state(paged)
    for index in positions:
        forged = one_changed(url, index)
        for method in ("GET", "POST"):
            reply = await click(forged, method)
            if index < dot:  # the signed text itself: a forgery
                page_says(reply, 403, "Link not valid", "signature")
            else:  # the separator or the signature: tampered or no longer well-formed
                assert reply.status in (400, 403), (index, reply.status, reply.text)
                page_says(reply, reply.status, "Link not valid")
    assert state(paged) == before


async def test_links_signed_for_something_else_are_refused(paged: Paged) -> None:
    store = paged.served.store
    key = store.tokens.secret("link-signing-key")
    later = datetime.now(UTC) + timedelta(hours=1)
    base = paged.served.url("/links/")
    before = state(paged)

    snooze = sign(key, "snooze", f"incident:{paged.incident}", later, "nonce-snooze", actor="eve")
    page_says(await click(base + snooze), 400, "Link not valid")
    user = sign(key, "ack", "user:1", later, "nonce-user-1", actor="eve")
    page_says(await click(base + user), 400, "not about an incident")
    other_key = sign(
        b"k" * 32, "ack", f"incident:{paged.incident}", later, "nonce-other-key", actor="eve"
    )
    page_says(await click(base + other_key), 403, "signature")
    for garbage in ("x", "a.b", "." * 3, "A" * 3000, "%00.%00", "eyJ9.eyJ9"):
        reply = await click(base + garbage)
        assert reply.status in (400, 404), (garbage, reply.status)
    assert state(paged) == before

    missing = sign(key, "ack", "incident:999999", later, "nonce-missing", actor="eve")
    page_says(await click(base + missing, "GET"), 404, "does not exist")


async def test_post_acts_once(paged: Paged) -> None:
    url = paged.links[("alice", "ack")]
    reply = await click(url)
    page_says(reply, 200, "Acknowledged by alice")
    incident = paged.served.store.incidents.get(paged.incident)
    assert incident is not None and incident.acknowledged_by == "alice"
    [ack] = [
        e
        for e in paged.served.store.incidents.timeline(paged.incident)
        if e.kind is EventKind.ACKNOWLEDGED
    ]
    assert ack.actor == "alice" and ack.data["via"] == "link"

    before = state(paged)
    again = await click(url)
    page_says(again, 409, "Link already used")
    assert state(paged) == before


async def test_concurrent_clicks_act_once(paged: Paged) -> None:
    url = paged.links[("bob", "ack")]
    replies = await asyncio.gather(*(click(url) for _ in range(6)))
    assert sorted(r.status for r in replies) == [200] + [409] * 5
    incident = paged.served.store.incidents.get(paged.incident)
    assert incident is not None and incident.acknowledged_by == "alice", "the first ack stands"


async def test_resolve_link_resolves_and_later_links_say_so(paged: Paged) -> None:
    reply = await click(paged.links[("bob", "resolve")])
    page_says(reply, 200, "Resolved by bob")
    incident = paged.served.store.incidents.get(paged.incident)
    assert incident is not None and incident.status is IncidentStatus.RESOLVED
    assert incident.acknowledged_by == "alice"

    before = state(paged)
    preview = await click(paged.links[("manager", "ack")], "GET")
    page_says(preview, 200, "status resolved")
    refused = await click(paged.links[("manager", "ack")])
    page_says(refused, 409, "Nothing done", f"incident #{paged.incident} is resolved")
    incident, timeline, _ = state(paged)
    assert (incident, timeline) == before[:2], "a refused ack changed the incident"

    late = await click(paged.links[("manager", "resolve")])
    page_says(late, 200, "already resolved")
    incident, timeline, _ = state(paged)
    assert (incident, timeline) == before[:2]


async def test_expired_link_is_410_and_does_nothing(tmp_path: Path) -> None:
    async with paged_incident(tmp_path, "1h", ("alice",), "  link_ttl: 1s\n") as expiring:
        await asyncio.sleep(2.1)  # past the 1 s link_ttl, whole seconds
        before = state(expiring)
        for purpose in ("ack", "resolve"):
            url = expiring.links[("alice", purpose)]
            page_says(await click(url, "GET"), 410, "Link not valid", "expired")
            page_says(await click(url), 410, "Link not valid", "expired")
        assert state(expiring) == before
        incident = expiring.served.store.incidents.get(expiring.incident)
        assert incident is not None and incident.acknowledged_at is None
        assert incident.status is IncidentStatus.INVESTIGATING
