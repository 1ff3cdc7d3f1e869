"""The page cache: one build per period however many requests, ETags compared as RFC 9110
says."""

from __future__ import annotations

import asyncio

from opsbook.statuspage import StatusPage
from opsbook.web.status_page import Body, SnapshotCache, etag_matches
from tests.unit.status.factory import page


async def test_one_build_per_period_even_for_concurrent_requests() -> None:
    clock = [100.0]
    builds = []

    def build() -> StatusPage:
        builds.append(clock[0])
        return page()

    cache = SnapshotCache(build, ttl=10, clock=lambda: clock[0])
    first = await asyncio.gather(*(cache.get() for _ in range(20)))
    assert len(builds) == 1 and all(s is first[0] for s in first)
    clock[0] = 109.9
    assert await cache.get() is first[0]
    clock[0] = 110.0
    again = await cache.get()
    assert again is not first[0] and builds == [100.0, 110.0]


async def test_bodies_are_rendered_once_per_snapshot() -> None:
    cache = SnapshotCache(page, ttl=10, clock=lambda: 0.0)
    snapshot = await cache.get()
    calls = []

    def render(p: StatusPage) -> Body:
        calls.append(p)
        return Body.of(p.name.encode(), "text/plain")

    assert snapshot.body("x", render) is snapshot.body("x", render)
    assert len(calls) == 1


def test_etags_match_weakly_in_lists_and_for_star() -> None:
    tag = Body.of(b"hello", "text/plain").etag
    assert tag.startswith('"') and tag.endswith('"')
    assert etag_matches(tag, tag)
    assert etag_matches(f'"other", W/{tag}', tag)
    assert etag_matches("*", tag)
    assert not etag_matches(None, tag)
    assert not etag_matches('"other"', tag)
    assert not etag_matches(tag.strip('"'), tag)
