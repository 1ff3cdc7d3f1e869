"""Resources probes share during one run or engine lifetime (HTTP pools, probe state)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from aiohttp.connector import Connection

from opsbook.config.redact import Redactor


class ProbeState(Protocol):
    """Small per-check memory that must outlive one probe (e.g. a log file offset)."""

    def load(self, key: str) -> dict[str, Any] | None: ...

    def save(self, key: str, value: dict[str, Any]) -> None: ...


class MemoryProbeState:
    """Probe state kept in memory: enough for tests and a single engine process."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, Any]] = {}

    def load(self, key: str) -> dict[str, Any] | None:
        return self._data.get(key)

    def save(self, key: str, value: dict[str, Any]) -> None:
        self._data[key] = value


class CertificateCapturingResponse(aiohttp.ClientResponse):
    """Keeps the server certificate (DER) so HTTP probes can report its days left.

    The connection, and with it the TLS object, is released as soon as a small body is
    read, so the certificate is taken when the response starts.
    """

    peer_certificate: bytes | None = None

    async def start(self, connection: Connection) -> aiohttp.ClientResponse:
        transport = connection.transport
        ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
        if ssl_object is not None:
            self.peer_certificate = ssl_object.getpeercert(binary_form=True)
        return await super().start(connection)


class ProbeContext:
    """Passed to every probe. Create one per process run; close it when done.

    HTTP probes share two aiohttp sessions: one that opens a fresh connection per request
    (the default, so a probe measures what a new client sees: DNS, TCP, TLS) and one with
    keep-alive for checks that opt in.
    """

    def __init__(
        self,
        base_dir: Path | None = None,
        redactor: Redactor | None = None,
        state: ProbeState | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.now: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.base_dir = base_dir or Path.cwd()
        self.redactor = redactor or Redactor()
        self.state: ProbeState = state or MemoryProbeState()
        self._sessions: dict[bool, aiohttp.ClientSession] = {}

    def http(self, *, keepalive: bool) -> aiohttp.ClientSession:
        session = self._sessions.get(keepalive)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(limit=0, force_close=not keepalive)
            session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                # The runner's per-check timeout is the deadline; aiohttp's own defaults
                # (300 s total, 30 s connect) would only add a timer to every request.
                timeout=aiohttp.ClientTimeout(total=None),
                auto_decompress=True,
                headers={"User-Agent": "opsbook-probe"},
                response_class=CertificateCapturingResponse,
            )
            self._sessions[keepalive] = session
        return session

    def resolve_path(self, path: str) -> Path:
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.base_dir / candidate

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()

    async def __aenter__(self) -> ProbeContext:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
