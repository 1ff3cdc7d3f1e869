"""Server-Sent Events for the live parts of pages (incident timeline, run output).

Each event names what the browser does with it (`live.js`): `replace` swaps the element
with the same id, `append` adds HTML to an element, `text` adds plain text to one,
`end` closes the stream. A stream ends by itself after `LIFETIME` seconds and the
browser reconnects (with Last-Event-ID), so a server shutting down never waits on open
pages for longer than that.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from fastapi import Request
from fastapi.responses import StreamingResponse

LIFETIME = 10.0  # seconds one response streams before the browser reconnects
RETRY_MS = 1000  # how long the browser waits before reconnecting
KEEPALIVE = 5.0  # seconds between comments on a quiet stream (finds closed connections)
HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def event(kind: str, data: str, event_id: int | str | None = None) -> str:
    """One event; `data` may span lines (each becomes a `data:` line)."""
    lines = [f"event: {kind}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    text = data.replace("\r\n", "\n").replace("\r", "\n")
    lines.extend(f"data: {line}" for line in text.split("\n"))
    return "\n".join(lines) + "\n\n"


def replace(html: str) -> str:
    return event("replace", html)


def append(target: str, html: str, event_id: int | None = None) -> str:
    return event("append", f"{target}\n{html}", event_id)


def text(target: str, line: str) -> str:
    return event("text", f"{target}\n{line}")


def end() -> str:
    return event("end", "done")


def last_event_id(request: Request, fallback: int) -> int:
    """Where a reconnecting browser left off (its Last-Event-ID), else `fallback`."""
    given = request.headers.get("last-event-id", "")
    return int(given) if given.isdigit() and len(given) < 16 else fallback


class Stream:
    """Bounds one response: its lifetime and the client's presence."""

    def __init__(self, request: Request, lifetime: float = LIFETIME) -> None:
        self.request = request
        self.deadline = time.monotonic() + lifetime
        self.last_sent = time.monotonic()

    async def open(self) -> bool:
        """Whether to keep streaming: time left and the client still there."""
        if time.monotonic() >= self.deadline:
            return False
        return not await self.request.is_disconnected()

    def keepalive(self) -> str | None:
        if time.monotonic() - self.last_sent >= KEEPALIVE:
            self.last_sent = time.monotonic()
            return ": keepalive\n\n"
        return None

    def sent(self) -> None:
        self.last_sent = time.monotonic()

    async def pause(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, min(seconds, self.deadline - time.monotonic())))


def respond(events: AsyncIterator[str]) -> StreamingResponse:
    async def body() -> AsyncIterator[str]:
        yield f"retry: {RETRY_MS}\n\n"
        async for chunk in events:
            yield chunk

    return StreamingResponse(body(), media_type="text/event-stream", headers=HEADERS)
