"""The tls check against real TLS servers on 127.0.0.1 with generated certificates.

The thresholds are the runbooks': practice-app alerts on "SSL Certificate Expiring:
< 7 days", api-backend on "SSL Certificate Expiring (14 days)".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsbook.checks.context import ProbeContext
from opsbook.status import Status
from tests.checkutil import run
from tests.integration.certs import CertFiles, self_signed
from tests.integration.tcpserver import banner, serve_tcp, silent, stopped_port

LOCAL = "127.0.0.1"


def spec(port: int, **extra: object) -> dict[str, object]:
    return {"host": LOCAL, "port": port, "server_name": "localhost", **extra}


def trusting(cert: CertFiles, port: int, **extra: object) -> dict[str, object]:
    """Verification on, trusting the self-signed certificate as its own CA."""
    return spec(port, ca_file=str(cert.cert), **extra)


@pytest.mark.parametrize(
    "days,expected",
    [(90, Status.OK), (10, Status.WARNING), (3, Status.CRITICAL), (-1, Status.CRITICAL)],
)
async def test_expiry_levels_with_default_thresholds(
    tmp_path: Path, days: float, expected: Status
) -> None:
    cert = self_signed(tmp_path, days_valid=days)
    async with serve_tcp(silent, cert.server_context()) as port:
        result = await run("tls", spec(port, verify=False))
    assert result.status is expected, result.message
    assert result.samples["cert_days_left"] == pytest.approx(days, abs=0.01)
    assert result.samples["latency_ms"] > 0 and result.samples["handshake_ms"] > 0


async def test_ok_message_shows_expiry_days_and_issuer(tmp_path: Path) -> None:
    cert = self_signed(tmp_path, days_valid=90)
    async with serve_tcp(silent, cert.server_context()) as port:
        result = await run("tls", trusting(cert, port))
    assert result.status is Status.OK, result.message
    expiry = (datetime.now(UTC) + timedelta(days=90)).strftime("%Y-%m-%d")
    assert re.fullmatch(
        rf"certificate for localhost expires {expiry} \((89\.9|90\.0) days\), issuer opsbook test",
        result.message,
    ), result.message


async def test_warning_names_the_breached_bound(tmp_path: Path) -> None:
    cert = self_signed(tmp_path, days_valid=10)
    async with serve_tcp(silent, cert.server_context()) as port:
        result = await run("tls", trusting(cert, port))
    assert result.status is Status.WARNING
    assert result.message.startswith("cert_days_left 10 < 14; certificate for localhost expires ")


async def test_expired_is_critical_even_without_thresholds(tmp_path: Path) -> None:
    cert = self_signed(tmp_path, days_valid=-1)
    async with serve_tcp(silent, cert.server_context()) as port:
        # thresholds that would never fire: the expiry itself must still be CRITICAL
        loose = {"cert_days_left": {"warning": "< -100", "critical": "< -200"}}
        unverified = await run("tls", spec(port, verify=False), thresholds=loose)
        verified = await run("tls", trusting(cert, port), thresholds=loose)
    assert unverified.status is Status.CRITICAL
    assert re.search(r"expired \d{4}-\d\d-\d\d \(1\.0 days ago\)", unverified.message)
    assert verified.status is Status.CRITICAL
    assert verified.message.startswith("certificate verification failed: certificate has expired; ")
    assert "certificate for localhost expired " in verified.message
    assert verified.samples["cert_days_left"] == pytest.approx(-1, abs=0.01)


async def test_self_signed_with_verification_is_critical_with_details(tmp_path: Path) -> None:
    cert = self_signed(tmp_path, days_valid=90)
    async with serve_tcp(silent, cert.server_context()) as port:
        result = await run("tls", spec(port))
    assert result.status is Status.CRITICAL
    assert result.message.startswith(
        "certificate verification failed: self-signed certificate; certificate for localhost "
        "expires "
    )
    assert result.message.endswith("issuer opsbook test")
    # the unverified second look still records the days left, for graphs and rules
    assert result.samples["cert_days_left"] == pytest.approx(90, abs=0.01)


async def test_name_mismatch_is_critical(tmp_path: Path) -> None:
    cert = self_signed(tmp_path, days_valid=90, names=("other.example.com",))
    async with serve_tcp(silent, cert.server_context()) as port:
        unverified = await run("tls", spec(port, verify=False))
        verified = await run("tls", trusting(cert, port))
        unchecked = await run("tls", spec(port, verify=False, expected_names=[]))
    assert unverified.status is Status.CRITICAL
    assert unverified.message.startswith(
        "certificate does not cover localhost (it names other.example.com); certificate for"
    )
    assert verified.status is Status.CRITICAL
    assert verified.message.startswith(
        "certificate verification failed: Hostname mismatch, certificate is not valid for "
        "'localhost'."
    )
    assert unchecked.status is Status.OK, unchecked.message


async def test_wildcard_and_expected_names(tmp_path: Path) -> None:
    cert = self_signed(tmp_path, days_valid=90, names=("*.example.com", "example.com"))
    async with serve_tcp(silent, cert.server_context()) as port:
        base = {"host": LOCAL, "port": port, "ca_file": str(cert.cert)}
        sni = await run("tls", {**base, "server_name": "api.example.com"})
        covered = await run(
            "tls",
            {**base, "server_name": "api.example.com", "expected_names": ["www.example.com"]},
        )
        deep = await run(
            "tls",
            {**base, "server_name": "example.com", "expected_names": ["a.b.example.com"]},
        )
    assert sni.status is Status.OK, sni.message
    assert sni.message.startswith("certificate for api.example.com expires ")
    assert covered.status is Status.OK, covered.message
    assert deep.status is Status.CRITICAL
    assert "does not cover a.b.example.com (it names *.example.com, example.com)" in deep.message


async def test_issuer_contains(tmp_path: Path) -> None:
    cert = self_signed(tmp_path, days_valid=90, common_name="Opsbook Test CA")
    async with serve_tcp(silent, cert.server_context()) as port:
        ok = await run("tls", trusting(cert, port, issuer_contains="opsbook test"))
        other = await run("tls", trusting(cert, port, issuer_contains="Let's Encrypt"))
    assert ok.status is Status.OK, ok.message
    assert other.status is Status.CRITICAL
    assert other.message.startswith(
        "issuer 'CN=Opsbook Test CA' does not contain \"Let's Encrypt\"; certificate for"
    )


async def test_days_left_follow_the_injected_clock(tmp_path: Path) -> None:
    cert = self_signed(tmp_path, days_valid=90)
    later = datetime.now(UTC) + timedelta(days=85)
    async with (
        serve_tcp(silent, cert.server_context()) as port,
        ProbeContext(clock=lambda: later) as ctx,
    ):
        result = await run("tls", spec(port, verify=False), ctx)
    assert result.status is Status.CRITICAL
    assert result.samples["cert_days_left"] == pytest.approx(5, abs=0.01)


async def test_user_thresholds_replace_the_defaults(tmp_path: Path) -> None:
    cert = self_signed(tmp_path, days_valid=10)
    async with serve_tcp(silent, cert.server_context()) as port:
        result = await run(
            "tls",
            trusting(cert, port),
            thresholds={"cert_days_left": {"warning": "< 5", "critical": "< 2"}},
        )
    assert result.status is Status.OK, result.message


async def test_ca_file_relative_to_config_directory(tmp_path: Path) -> None:
    cert = self_signed(tmp_path, days_valid=90)
    async with serve_tcp(silent, cert.server_context()) as port:
        async with ProbeContext(base_dir=tmp_path) as ctx:
            ok = await run("tls", spec(port, ca_file="server.crt"), ctx)
            missing = await run("tls", spec(port, ca_file="nope.pem"), ctx)
        (tmp_path / "junk.pem").write_text("not a certificate\n")
        async with ProbeContext(base_dir=tmp_path) as ctx:
            junk = await run("tls", spec(port, ca_file="junk.pem"), ctx)
    assert ok.status is Status.OK, ok.message
    assert missing.status is Status.UNKNOWN
    assert (
        missing.message == f"cannot load ca_file {tmp_path / 'nope.pem'}: No such file or directory"
    )
    assert junk.status is Status.UNKNOWN
    assert junk.message.startswith(f"cannot load ca_file {tmp_path / 'junk.pem'}: ")


async def test_stopped_port_is_critical() -> None:
    port = await stopped_port()
    result = await run("tls", {"host": LOCAL, "port": port})
    assert result.status is Status.CRITICAL
    assert result.message == f"cannot connect to 127.0.0.1:{port}: Connection refused"


async def test_plain_text_server_fails_the_handshake() -> None:
    async with serve_tcp(banner(b"SSH-2.0-OpenSSH_9.6\r\n")) as port:
        result = await run("tls", spec(port))
    assert result.status is Status.CRITICAL
    assert result.message.startswith(f"TLS handshake with 127.0.0.1:{port} failed: ")
    assert "latency_ms" in result.samples


async def test_server_that_never_answers_times_out_in_handshake() -> None:
    async with serve_tcp(silent) as port:
        result = await run("tls", spec(port, timeout="1s"))
    assert result.status is Status.CRITICAL
    assert result.message == f"TLS handshake with 127.0.0.1:{port} timed out"
    assert result.duration_s < 1  # the probe's own deadline, not the runner's
