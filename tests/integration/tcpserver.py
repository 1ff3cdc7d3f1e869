"""Real asyncio TCP servers on 127.0.0.1 (plain or TLS) for the tcp and tls check tests."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def serve_tcp(
    handler: Handler, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[int]:
    """Serve `handler` on a free port of 127.0.0.1; yields the port."""
    connections: set[asyncio.StreamWriter] = set()

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.add(writer)
        try:
            await handler(reader, writer)
        except (ConnectionError, ssl.SSLError):
            pass  # the probe hung up first, or refused our certificate
        finally:
            connections.discard(writer)
            writer.close()

    server = await asyncio.start_server(tracked, "127.0.0.1", 0, ssl=ssl_context)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        for writer in list(connections):
            writer.transport.abort()
        await server.wait_closed()


async def stopped_port() -> int:
    """A port where nothing listens (connection refused)."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()
    return port


def banner(text: bytes, *, then_close: bool = False) -> Handler:
    """Greets like SSH or SMTP, then keeps the connection open (or closes it)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(text)
        await writer.drain()
        if not then_close:
            await reader.read()  # until the client hangs up

    return handle


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers each chunk with 'echo: <chunk>'."""
    while data := await reader.read(4096):
        writer.write(b"echo: " + data)
        await writer.drain()


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accepts and never says anything."""
    await reader.read()


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Reads the request and closes without a word."""
    await reader.read(1)
