"""`tcp`: connect to a port, optionally over TLS, optionally send a line and expect a reply.

For what the runbooks check without HTTP: ``redis-cli ping`` becomes ``send: "PING\\r\\n"``
with ``expect: "+PONG"``, a database or SMTP port that must accept connections, a banner
that must read ``SSH-2.0``. The connection functions here are shared with the `tls` kind.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import os
import re
import socket
import ssl
import time
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, field_validator, model_validator

from opsbook.checks.base import CheckKind, Observation, ProbeConfig, ProbeFailure
from opsbook.checks.certs import parse_certificate
from opsbook.checks.context import ProbeContext
from opsbook.config.types import ByteSize, valid_regex
from opsbook.status import Status

# Connect, handshake and reading each end by this share of the check's timeout, so the
# probe can say which phase stalled and what it had received; the runner's own timeout
# stays the backstop.
PHASE_SHARE = 0.9
CLOSE_WAIT_S = 0.25
MAX_READ = 16 * 1024 * 1024
SNIPPET_CHARS = 60


def _valid_host(value: object) -> object:
    if not isinstance(value, str):
        return value  # the str type reports the wrong type
    host = value.strip()
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"expected a host name or IP address, got {value!r}")
    if "://" in host or "/" in host:
        raise ValueError(f"expected a host name, not a URL: {value!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(
                f"expected a host name without a port, got {value!r}: put the port in `port`"
            ) from None
    return host


def _valid_port(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("expected a port number from 1 to 65535, got true/false")
    number = value
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value)
    if isinstance(number, int) and not 1 <= number <= 65535:
        raise ValueError(f"expected a port number from 1 to 65535, got {value!r}")
    return number


Host = Annotated[str, BeforeValidator(_valid_host)]
Port = Annotated[int, Field(ge=1, le=65535), BeforeValidator(_valid_port)]


def endpoint(host: str, port: int) -> str:
    """``host:port`` as people write it, with brackets around an IPv6 address."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def format_ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 10 else f"{value:.0f} ms"


def phase_deadline(timeout: timedelta) -> float:
    """Event-loop time by which connect, handshake and reading must be over."""
    return asyncio.get_running_loop().time() + timeout.total_seconds() * PHASE_SHARE


def _os_reason(exc: OSError) -> str:
    if exc.errno:
        return os.strerror(exc.errno)
    return str(exc) or type(exc).__name__


def ssl_reason(exc: ssl.SSLError) -> str:
    """OpenSSL's reason without its tags: 'wrong version number', not '[SSL: …] … (_ssl.c:…)'."""
    text = exc.strerror or str(exc)
    text = re.sub(r"^\[[A-Z0-9_]+: [A-Z0-9_]+\]\s*", "", text)
    return re.sub(r"\s*\(_ssl\.c:\d+\)$", "", text) or type(exc).__name__


class CertificateRejected(ProbeFailure):
    """TLS verification refused the peer's certificate; `reason` is OpenSSL's verify message."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(Status.CRITICAL, f"TLS certificate of {where} rejected: {reason}")
        self.reason = reason


@functools.cache
def _system_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def client_context(verify: bool, ca_file: Path | None = None) -> ssl.SSLContext:
    """A client TLS context: chain + hostname verification against system CAs or `ca_file`."""
    if not verify:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if ca_file is None:
        return _system_context()
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except ssl.SSLError as exc:
        reason = ssl_reason(exc)
    except OSError as exc:
        reason = _os_reason(exc)
    raise ProbeFailure(Status.UNKNOWN, f"cannot load ca_file {ca_file}: {reason}")


async def connect(
    host: str, port: int, deadline: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, float]:
    """Open a TCP connection; returns reader, writer and the connect time in ms."""
    where = endpoint(host, port)
    started = time.perf_counter()
    try:
        async with asyncio.timeout_at(deadline):
            reader, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        raise ProbeFailure(Status.CRITICAL, f"timed out connecting to {where}") from None
    except socket.gaierror as exc:
        reason = exc.strerror or str(exc)
        raise ProbeFailure(Status.CRITICAL, f"cannot resolve host {host!r}: {reason}") from None
    except OSError as exc:
        raise ProbeFailure(
            Status.CRITICAL, f"cannot connect to {where}: {_os_reason(exc)}"
        ) from None
    return reader, writer, (time.perf_counter() - started) * 1000


async def start_tls(
    writer: asyncio.StreamWriter,
    context: ssl.SSLContext,
    server_name: str,
    where: str,
    deadline: float,
) -> float:
    """Upgrade a connection to TLS (SNI = `server_name`); returns the handshake time in ms."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout_at(deadline):
            await writer.start_tls(context, server_hostname=server_name)
    except TimeoutError:
        reason = "timed out"
    except ssl.SSLCertVerificationError as exc:
        raise CertificateRejected(where, exc.verify_message or ssl_reason(exc)) from None
    except ssl.SSLError as exc:
        reason = f"failed: {ssl_reason(exc)}"
    except OSError as exc:
        reason = f"failed: {_os_reason(exc)}"
    else:
        return (time.perf_counter() - started) * 1000
    raise ProbeFailure(Status.CRITICAL, f"TLS handshake with {where} {reason}")


def peer_certificate(writer: asyncio.StreamWriter) -> bytes | None:
    """The server certificate (DER) of a TLS connection, verified or not."""
    ssl_object = writer.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject):
        return None
    return ssl_object.getpeercert(binary_form=True)


async def close(writer: asyncio.StreamWriter, deadline: float) -> None:
    """Close politely (TLS close_notify), but abort at once past the deadline."""
    writer.close()
    until = min(asyncio.get_running_loop().time() + CLOSE_WAIT_S, deadline)
    try:
        async with asyncio.timeout_at(until):
            await writer.wait_closed()
    except (TimeoutError, OSError):
        writer.transport.abort()


class TcpCheck(ProbeConfig):
    host: Host = Field(description="Host name or IP address to connect to.")
    port: Port = Field(description="TCP port, 1-65535.")
    send: str | None = Field(
        default=None,
        description='Text sent after connecting (UTF-8). Use YAML double quotes for "\\r\\n".',
    )
    expect: str | None = Field(
        default=None, description="Substring the server's reply must contain, e.g. '+PONG'."
    )
    expect_regex: str | None = Field(
        default=None, description="Regular expression the server's reply must match."
    )
    max_bytes: ByteSize = Field(
        default=4096, description="Read at most this much of the reply while waiting for it."
    )
    tls: bool = Field(default=False, description="Speak TLS after connecting.")
    verify_tls: bool = Field(
        default=True, description="Verify the certificate chain and host name (with tls)."
    )
    server_name: Host | None = Field(
        default=None, description="TLS server name (SNI and verification); defaults to host."
    )
    ca_file: str | None = Field(
        default=None,
        description="PEM file of CA certificates to trust instead of the system's (with tls).",
    )

    @field_validator("send", "expect")
    @classmethod
    def _not_empty(cls, value: str | None) -> str | None:
        if value is not None and not value:
            raise ValueError("must not be empty; leave the key out instead")
        return value

    @field_validator("expect_regex")
    @classmethod
    def _valid_regex(cls, value: str | None) -> str | None:
        return valid_regex(value)

    @field_validator("max_bytes")
    @classmethod
    def _read_cap(cls, value: int) -> int:
        if not 1 <= value <= MAX_READ:
            raise ValueError(f"must be between 1 byte and 16MiB, got {value}")
        return value

    @model_validator(mode="after")
    def _tls_options_need_tls(self) -> TcpCheck:
        if not self.tls:
            stray = [k for k in ("server_name", "ca_file") if getattr(self, k) is not None]
            if not self.verify_tls:
                stray.append("verify_tls")
            if stray:
                raise ValueError(f"only used with `tls: true`: {', '.join(stray)}")
        if self.ca_file is not None and not self.verify_tls:
            raise ValueError("ca_file has no effect with `verify_tls: false`")
        return self

    @property
    def reads_reply(self) -> bool:
        return self.send is not None or self.expects

    @property
    def expects(self) -> bool:
        return self.expect is not None or self.expect_regex is not None


def reply_matches(cfg: TcpCheck, reply: str) -> bool:
    """Whether `reply` meets the expectation; with only `send`, any reply will do."""
    if not cfg.expects:
        return bool(reply)
    if cfg.expect is not None and cfg.expect not in reply:
        return False
    return cfg.expect_regex is None or re.search(cfg.expect_regex, reply) is not None


def describe_expectation(cfg: TcpCheck) -> str:
    parts = []
    if cfg.expect is not None:
        parts.append(repr(cfg.expect))
    if cfg.expect_regex is not None:
        parts.append(f"/{cfg.expect_regex}/")
    return " and ".join(parts) if parts else "a reply"


def snippet(reply: str) -> str:
    """The start of a reply as one short line with escapes visible ('-ERR x\\r\\n')."""
    if len(reply) <= SNIPPET_CHARS:
        return repr(reply)
    return repr(reply[:SNIPPET_CHARS]) + "…"


async def _read_reply(
    reader: asyncio.StreamReader, cfg: TcpCheck, deadline: float
) -> tuple[str, str]:
    """Read until the expectation is met; returns the reply and why reading stopped."""
    buffer = bytearray()
    while len(buffer) < cfg.max_bytes:
        try:
            async with asyncio.timeout_at(deadline):
                chunk = await reader.read(cfg.max_bytes - len(buffer))
        except TimeoutError:
            return buffer.decode("utf-8", errors="replace"), "timeout"
        if not chunk:
            return buffer.decode("utf-8", errors="replace"), "eof"
        buffer += chunk
        text = buffer.decode("utf-8", errors="replace")
        if reply_matches(cfg, text):
            return text, "matched"
    return buffer.decode("utf-8", errors="replace"), "full"


def _reply_failure(cfg: TcpCheck, where: str, reply: str, why: str, waited_s: float) -> str:
    wanted = describe_expectation(cfg)
    got = f"got {snippet(reply)}" if reply else "got nothing"
    if why == "eof":
        if not reply:
            return f"{where} closed the connection without replying"
        return f"{where} closed the connection: reply lacks {wanted}; {got}"
    if why == "full":
        return f"no {wanted} in the first {cfg.max_bytes} bytes from {where}; {got}"
    if not reply:
        return f"no reply from {where} within {waited_s:.2g}s"
    return f"no {wanted} from {where} within {waited_s:.2g}s; {got}"


async def _converse(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    cfg: TcpCheck,
    deadline: float,
    summary: str,
) -> float:
    """Send, then wait for the expected reply; returns response_ms or raises ProbeFailure."""
    where = endpoint(cfg.host, cfg.port)
    started = time.perf_counter()
    try:
        if cfg.send is not None:
            writer.write(cfg.send.encode())
            async with asyncio.timeout_at(deadline):
                await writer.drain()
        reply, why = await _read_reply(reader, cfg, deadline)
    except TimeoutError:
        reason = f"timed out sending to {where}"
    except ssl.SSLError as exc:
        reason = f"TLS error talking to {where}: {ssl_reason(exc)}"
    except OSError as exc:
        reason = f"connection to {where} failed: {_os_reason(exc)}"
    else:
        elapsed_s = time.perf_counter() - started
        if why == "matched":
            return elapsed_s * 1000
        reason = _reply_failure(cfg, where, reply, why, elapsed_s)
    raise ProbeFailure(Status.CRITICAL, f"{reason}; {summary}")


def _cert_days_left(writer: asyncio.StreamWriter, ctx: ProbeContext) -> float | None:
    der = peer_certificate(writer)
    try:
        return parse_certificate(der).days_left(ctx.now()) if der else None
    except ValueError:  # a certificate cryptography cannot read: no sample, not a failure
        return None


async def probe(cfg: TcpCheck, ctx: ProbeContext) -> Observation:
    where = endpoint(cfg.host, cfg.port)
    deadline = phase_deadline(cfg.timeout)
    context = None
    if cfg.tls:
        ca_file = ctx.resolve_path(cfg.ca_file) if cfg.ca_file is not None else None
        context = client_context(cfg.verify_tls, ca_file)
    reader, writer, connect_ms = await connect(cfg.host, cfg.port, deadline)
    samples = {"latency_ms": connect_ms}
    summary = f"connected to {where} in {format_ms(connect_ms)}"
    try:
        if context is not None:
            server_name = cfg.server_name or cfg.host
            handshake_ms = await start_tls(writer, context, server_name, where, deadline)
            samples["handshake_ms"] = handshake_ms
            summary += f", TLS in {format_ms(handshake_ms)}"
            days_left = _cert_days_left(writer, ctx)
            if days_left is not None:
                samples["cert_days_left"] = days_left
        if not cfg.reads_reply:
            return Observation(Status.OK, summary, samples)
        response_ms = await _converse(reader, writer, cfg, deadline, summary)
    except ProbeFailure as failure:
        failure.samples = {**samples, **failure.samples}
        raise
    finally:
        await close(writer, deadline)
    samples["response_ms"] = response_ms
    what = describe_expectation(cfg) if cfg.expects else "reply"
    return Observation(Status.OK, f"{summary}; {what} in {format_ms(response_ms)}", samples)


def _samples(cfg: TcpCheck) -> frozenset[str]:
    names = {"latency_ms"}
    if cfg.reads_reply:
        names.add("response_ms")
    if cfg.tls:
        names |= {"handshake_ms", "cert_days_left"}
    return frozenset(names)


KIND = CheckKind(
    name="tcp",
    config_model=TcpCheck,
    probe=probe,
    summary="Connect to a TCP port (optionally TLS); optionally send text and expect a reply.",
    samples=_samples,
    default_thresholds={"cert_days_left": {"warning": "< 14", "critical": "< 7"}},
)
