"""Real notification receivers on 127.0.0.1 for tests and benchmarks.

`WebhookRecorder` is an aiohttp server that records every request (body, headers,
arrival time), deduplicates by ``Idempotency-Key`` the way a careful receiver would
(counting the duplicates), and can be told to fail or hang. `SmtpSink` is an aiosmtpd
server that records messages and can reject them or require a login.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.services import free_port


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def key(self) -> str | None:
        return self.headers.get("Idempotency-Key")


@dataclass
class WebhookRecorder:
    """Answers 200 unless told otherwise; `accepted` holds the first request per key."""

    requests: list[Request] = field(default_factory=list)
    accepted: dict[str, Request] = field(default_factory=dict)
    duplicates: int = 0
    script: list[int] = field(default_factory=list)  # statuses for the next requests
    hang_paths: set[str] = field(default_factory=set)  # requests here never get an answer
    # Requests here are accepted (counted, deduplicated) and then never answered: the
    # sender cannot know it succeeded, as when it dies between sending and recording.
    accept_then_hang: set[str] = field(default_factory=set)
    status_for: dict[str, int] = field(default_factory=dict)  # fixed status per path
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    base_url: str = ""

    async def __aenter__(self) -> WebhookRecorder:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._release.set()
        assert self._runner is not None
        await self._runner.cleanup()

    def url(self, path: str = "/hook") -> str:
        return self.base_url + path

    def fail_next(self, *statuses: int) -> None:
        self.script.extend(statuses)

    def on(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def accepted_on(self, path: str) -> list[Request]:
        return [r for r in self.accepted.values() if r.path == path]

    async def wait_for(self, count: int, path: str | None = None, timeout: float = 5.0) -> None:
        """Until `count` requests (to `path`, if given) have arrived."""
        deadline = time.monotonic() + timeout
        while len(self.on(path) if path else self.requests) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{count} requests did not arrive within {timeout}s")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), remaining)
            except TimeoutError:
                continue

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        record = Request(request.path, dict(request.headers), body, time.monotonic())
        self.requests.append(record)
        self.arrived.set()
        if request.path in self.hang_paths:
            await self._release.wait()
            return web.Response(status=503, text="released at shutdown")
        status = self.script.pop(0) if self.script else self.status_for.get(request.path, 200)
        if status >= 300:
            return web.Response(status=status, text=f"scripted failure {status}")
        self._accept(record)
        if request.path in self.accept_then_hang:
            await self._release.wait()
        return web.json_response({"status": "ok"}, status=status)

    def _accept(self, record: Request) -> None:
        key = record.key
        if key is not None:
            if key in self.accepted:
                self.duplicates += 1
            else:
                self.accepted[key] = record


class _SmtpHandler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.sink.refuse_recipients:
            return self.sink.refuse_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.sink.data_reply is not None:
            return self.sink.data_reply
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.sink.messages.append(message)
        self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.sink.logins.append(getattr(session, "auth_data", None))
        return "250 Message accepted for delivery"


class SmtpSink:
    """An SMTP server in a thread of its own; use as a context manager.

    `data_reply` (e.g. "451 4.3.0 try later") replaces the success answer to DATA;
    `refuse_recipients` maps an address to its RCPT answer; `credentials` requires AUTH
    (PLAIN/LOGIN over plain text, which is fine on 127.0.0.1).
    """

    def __init__(
        self,
        data_reply: str | None = None,
        refuse_recipients: dict[str, str] | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.data_reply = data_reply
        self.refuse_recipients = refuse_recipients or {}
        self.credentials = credentials
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.logins: list[Any] = []
        self.port = free_port()
        auth: dict[str, Any] = {}
        if credentials is not None:
            auth = {
                "authenticator": self._authenticate,
                "auth_required": True,
                "auth_require_tls": False,
            }
        self._controller = Controller(
            _SmtpHandler(self), hostname="127.0.0.1", port=self.port, **auth
        )

    @property
    def smarthost(self) -> str:
        return f"127.0.0.1:{self.port}"

    def message_ids(self) -> Counter[str]:
        return Counter(str(m["Message-ID"]) for m in self.messages)

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and self.credentials is not None
            and (data.login.decode(), data.password.decode()) == self.credentials
        )
        # handled=False: aiosmtpd answers a failure with 535 itself.
        return AuthResult(success=ok, handled=ok)

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


async def silent_server() -> tuple[str, Callable[[], asyncio.Future[None]]]:
    """A TCP server that accepts connections and never says a word (a hung SMTP or HTTP
    server). Returns "127.0.0.1:port" and a coroutine function that closes it."""
    writers: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    def close() -> asyncio.Future[None]:
        for writer in writers:
            writer.close()
        server.close()
        return asyncio.ensure_future(server.wait_closed())

    return f"127.0.0.1:{port}", close
