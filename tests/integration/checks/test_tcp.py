"""The tcp check against real servers on 127.0.0.1: asyncio servers and the real Redis."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from opsbook.checks.context import ProbeContext
from opsbook.status import Status
from tests.checkutil import run
from tests.integration.certs import self_signed
from tests.integration.tcpserver import (
    banner,
    echo,
    hang_up,
    serve_tcp,
    silent,
    stopped_port,
)

LOCAL = "127.0.0.1"


async def test_open_port_is_ok_with_connect_latency() -> None:
    async with serve_tcp(silent) as port:
        result = await run("tcp", {"host": LOCAL, "port": port})
    assert result.status is Status.OK, result.message
    assert result.message.startswith(f"connected to 127.0.0.1:{port} in ")
    assert result.samples["latency_ms"] > 0
    assert set(result.samples) == {"latency_ms"}


async def test_refused_port_is_critical_with_reason() -> None:
    port = await stopped_port()
    result = await run("tcp", {"host": LOCAL, "port": port})
    assert result.status is Status.CRITICAL
    assert result.message == f"cannot connect to 127.0.0.1:{port}: Connection refused"
    assert result.samples == {}


async def test_unresolvable_host_is_critical() -> None:
    result = await run("tcp", {"host": "opsbook-no-such-host.invalid", "port": 80})
    assert result.status is Status.CRITICAL
    assert result.message.startswith("cannot resolve host 'opsbook-no-such-host.invalid': ")


async def test_real_redis_answers_ping(redis_port: int) -> None:
    # review-engine runbook: `redis-cli ping`
    result = await run(
        "tcp", {"host": LOCAL, "port": redis_port, "send": "PING\r\n", "expect": "+PONG"}
    )
    assert result.status is Status.OK, result.message
    assert "'+PONG' in " in result.message
    assert result.samples["response_ms"] > 0
    assert result.samples["latency_ms"] > 0


async def test_real_redis_wrong_answer_shows_what_came_back(redis_port: int) -> None:
    result = await run(
        "tcp",
        {
            "host": LOCAL,
            "port": redis_port,
            "send": "NOSUCHCMD\r\n",
            "expect": "+PONG",
            "timeout": "1s",
        },
    )
    assert result.status is Status.CRITICAL
    assert re.match(
        rf"no '\+PONG' from 127\.0\.0\.1:{redis_port} within 0\.[89]\d*s; ", result.message
    )
    assert "got \"-ERR unknown command 'NOSUCHCMD'" in result.message
    # connected fine: the connect latency is still recorded, no response time
    assert "latency_ms" in result.samples and "response_ms" not in result.samples


async def test_banner_matches_substring_and_regex() -> None:
    async with serve_tcp(banner(b"SSH-2.0-OpenSSH_9.6\r\n")) as port:
        sub = await run("tcp", {"host": LOCAL, "port": port, "expect": "SSH-2.0"})
        regex = await run(
            "tcp", {"host": LOCAL, "port": port, "expect_regex": r"^SSH-2\.0-\S+\r\n"}
        )
    assert sub.status is Status.OK, sub.message
    assert regex.status is Status.OK, regex.message
    assert "/^SSH-2\\.0-\\S+\\r\\n/ in " in regex.message
    assert regex.samples["response_ms"] >= 0


async def test_wrong_banner_on_open_connection_times_out_with_reply() -> None:
    async with serve_tcp(banner(b"220 mail.example.com ESMTP\r\n")) as port:
        result = await run(
            "tcp", {"host": LOCAL, "port": port, "expect": "SSH-2.0", "timeout": "1s"}
        )
    assert result.status is Status.CRITICAL
    assert "no 'SSH-2.0' from" in result.message
    assert "got '220 mail.example.com ESMTP\\r\\n'" in result.message
    assert result.duration_s < 1  # the probe's read deadline, not the runner's backstop


async def test_wrong_banner_then_close() -> None:
    async with serve_tcp(banner(b"220 ready\r\n", then_close=True)) as port:
        result = await run("tcp", {"host": LOCAL, "port": port, "expect": "+PONG"})
    assert result.status is Status.CRITICAL
    assert result.message.startswith(
        f"127.0.0.1:{port} closed the connection: reply lacks '+PONG'; got '220 ready\\r\\n'"
    )


async def test_regex_and_substring_must_both_match() -> None:
    async with serve_tcp(echo) as port:
        spec = {"host": LOCAL, "port": port, "send": "HELLO 42\n", "timeout": "1s"}
        ok = await run("tcp", {**spec, "expect": "echo:", "expect_regex": r"HELLO \d+"})
        bad = await run("tcp", {**spec, "expect": "echo:", "expect_regex": r"HELLO [a-z]+"})
    assert ok.status is Status.OK, ok.message
    assert bad.status is Status.CRITICAL
    assert "no 'echo:' and /HELLO [a-z]+/ from" in bad.message


async def test_reply_arriving_in_pieces_is_assembled() -> None:
    async def slow_pong(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        for piece in (b"+PO", b"NG", b"\r\n"):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.05)
        await reader.read()

    async with serve_tcp(slow_pong) as port:
        result = await run(
            "tcp", {"host": LOCAL, "port": port, "send": "PING\r\n", "expect": "+PONG\r\n"}
        )
    assert result.status is Status.OK, result.message
    assert result.samples["response_ms"] >= 100


async def test_reply_is_read_up_to_max_bytes() -> None:
    async with serve_tcp(banner(b"x" * 10_000 + b"+PONG\r\n")) as port:
        capped = await run("tcp", {"host": LOCAL, "port": port, "expect": "+PONG"})
        larger = await run(
            "tcp", {"host": LOCAL, "port": port, "expect": "+PONG", "max_bytes": "16KiB"}
        )
    assert capped.status is Status.CRITICAL
    assert capped.message.startswith("no '+PONG' in the first 4096 bytes from")
    assert "got 'xxxx" in capped.message and "…" in capped.message
    assert larger.status is Status.OK, larger.message


async def test_send_without_expect_needs_any_reply() -> None:
    async with serve_tcp(echo) as port:
        ok = await run("tcp", {"host": LOCAL, "port": port, "send": "hi\n"})
    assert ok.status is Status.OK, ok.message
    assert "; reply in " in ok.message and "response_ms" in ok.samples
    async with serve_tcp(hang_up) as port:
        closed = await run("tcp", {"host": LOCAL, "port": port, "send": "hi\n"})
    assert closed.status is Status.CRITICAL
    assert closed.message.startswith(f"127.0.0.1:{port} closed the connection without replying")
    async with serve_tcp(silent) as port:
        quiet = await run("tcp", {"host": LOCAL, "port": port, "send": "hi\n", "timeout": "1s"})
    assert quiet.status is Status.CRITICAL
    assert re.fullmatch(
        rf"no reply from 127\.0\.0\.1:{port} within 0\.[89]\d*s; connected .*", quiet.message
    )


async def test_slow_reply_crosses_response_threshold() -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        await asyncio.sleep(0.2)
        writer.write(b"OK\n")
        await writer.drain()
        await reader.read()

    async with serve_tcp(slow) as port:
        result = await run(
            "tcp",
            {"host": LOCAL, "port": port, "send": "status\n", "expect": "OK"},
            thresholds={"response_ms": {"warning": 100, "critical": 5000}},
        )
    assert result.status is Status.WARNING, result.message
    assert result.message.startswith("response_ms ") and "> 100" in result.message


async def test_tls_banner_with_verification_choices(tmp_path: Path) -> None:
    cert = self_signed(tmp_path, days_valid=90)
    async with serve_tcp(banner(b"+OK ready\r\n"), cert.server_context()) as port:
        spec = {"host": LOCAL, "port": port, "tls": True, "expect": "+OK"}
        unverified = await run("tcp", {**spec, "verify_tls": False})
        untrusted = await run("tcp", spec)
        trusted = await run("tcp", {**spec, "ca_file": str(cert.cert), "server_name": "localhost"})
        wrong_name = await run(
            "tcp", {**spec, "ca_file": str(cert.cert), "server_name": "db.example.com"}
        )
    assert unverified.status is Status.OK, unverified.message
    assert ", TLS in " in unverified.message
    assert unverified.samples["handshake_ms"] > 0
    assert 89.9 < unverified.samples["cert_days_left"] < 90.1
    assert untrusted.status is Status.CRITICAL
    assert (
        untrusted.message
        == f"TLS certificate of 127.0.0.1:{port} rejected: self-signed certificate"
    )
    assert trusted.status is Status.OK, trusted.message
    assert wrong_name.status is Status.CRITICAL
    assert "Hostname mismatch" in wrong_name.message and "db.example.com" in wrong_name.message


async def test_tls_ca_file_relative_to_config_and_missing(tmp_path: Path) -> None:
    cert = self_signed(tmp_path, days_valid=90)
    async with serve_tcp(banner(b"+OK\r\n"), cert.server_context()) as port:
        spec = {"host": LOCAL, "port": port, "tls": True, "server_name": "localhost"}
        async with ProbeContext(base_dir=tmp_path) as ctx:
            relative = await run("tcp", {**spec, "ca_file": "server.crt"}, ctx)
            missing = await run("tcp", {**spec, "ca_file": "missing.pem"}, ctx)
    assert relative.status is Status.OK, relative.message
    assert missing.status is Status.UNKNOWN
    assert (
        missing.message
        == f"cannot load ca_file {tmp_path / 'missing.pem'}: No such file or directory"
    )


async def test_tls_near_expiry_hits_default_thresholds(tmp_path: Path) -> None:
    cert = self_signed(tmp_path, days_valid=3)
    async with serve_tcp(silent, cert.server_context()) as port:
        result = await run("tcp", {"host": LOCAL, "port": port, "tls": True, "verify_tls": False})
    assert result.status is Status.CRITICAL
    assert result.message.startswith("cert_days_left 3 < 7; connected to")


async def test_tls_to_plain_server_fails_handshake() -> None:
    async with serve_tcp(banner(b"220 plain text here\r\n")) as port:
        talking = await run("tcp", {"host": LOCAL, "port": port, "tls": True, "verify_tls": False})
    assert talking.status is Status.CRITICAL
    assert talking.message.startswith(f"TLS handshake with 127.0.0.1:{port} failed: ")
    async with serve_tcp(silent) as port:
        quiet = await run("tcp", {"host": LOCAL, "port": port, "tls": True, "timeout": "1s"})
    assert quiet.status is Status.CRITICAL
    assert quiet.message == f"TLS handshake with 127.0.0.1:{port} timed out"
    assert "latency_ms" in quiet.samples
